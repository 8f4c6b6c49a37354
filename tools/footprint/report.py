"""tools/footprint/report.py - the footprint report as text: the human table, budget checks,
and the comparison of two reports (MicroPython's code-size report style: every figure with its
absolute and percent delta)."""

from tools import budgets, profiles
from tools.footprint import bill, targets

_SKIP = ("runs",)  # bookkeeping, not figures


def kb(n):
    return "-" if n is None else "%.1f kB" % (n / 1024)


def _k(n):
    """kb() without the unit."""
    return "-" if n is None else "%.1f" % (n / 1024)


def flatten(data):
    """{"lite.rom.total": 41488, ...}: every number of a report (lists count as their length)."""
    out = {}

    def walk(prefix, v):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return
        if isinstance(v, (int, float)):
            out[prefix] = v
        elif isinstance(v, list):
            out[prefix + ".count"] = len(v)
        elif isinstance(v, dict):
            for k in sorted(v):
                if k not in _SKIP:
                    walk(prefix + "." + k if prefix else k, v[k])

    for name, prof in data["profiles"].items():
        walk(name, prof)
    return out


def budget_state(path, value):
    """"" (no budget), "ok", "over soft" or "OVER HARD" for a figure path below a profile."""
    hard, soft = budgets.HARD.get(path), budgets.SOFT.get(path)
    if value is None or (hard is None and soft is None):
        return ""
    if hard is not None and value > hard:
        return "OVER HARD"
    if soft is not None and value > soft:
        return "over soft"
    return "ok"


def breaches(data):
    """[(profile, path, value, limit)] of figures over a hard budget, or not measured (value
    None) unless the report says why they were left out (--no-mp32)."""
    out = []
    for name, prof in data["profiles"].items():
        for path, limit in budgets.HARD.items():
            v = _get(prof, path)
            if (v is None and path.split(".")[0] not in data.get("left_out", ())) or (v is not None and v > limit):
                out.append((name, path, v, limit))
    return out


def _get(d, path):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


# --- the human table ---------------------------------------------------------------------
def _rows(title, names, rows):
    """A table: rows are (label, [value per profile], note)."""
    w = max([len(r[0]) for r in rows] + [len(title)])
    lines = ["%-*s" % (w, title) + "".join("%14s" % n for n in names)]
    for label, vals, note in rows:
        lines.append(("%-*s" % (w, label) + "".join("%14s" % v for v in vals) + ("   " + note if note else "")).rstrip())
    return "\n".join(lines)


RAM_ROWS = (("imports", "heap the imported modules take"), ("imports_qstr", "  of which interned names (qstrs)"),
            ("after_boot", "heap after boot, idle"), ("least_heap", "least heap for the session"),
            ("tls.after_boot", "heap after boot with TLS"), ("tls.least_heap", "least heap with TLS"))
RAM32_ROWS = ("imports", "after_boot", "least_heap", "tls.after_boot", "tls.least_heap")  # no qstr pools when frozen
# the boards' TLS configurations (cli.TLS32), 32-bit only: (figure key, label)
TLS32_ROWS = (("tls_boards", "boards' TLS 2k out/16k in"), ("tls_in2k", "boards' TLS 2k in/2k out"))


def table(data):
    ps = data["profiles"]
    names = list(ps)
    port = data["port"]

    def fig(path, fmt=kb, label=None):
        vals = [_get(ps[n], path) for n in names]
        states = sorted({budget_state(path, v) for v in vals} - {""})
        note = ", ".join(states)
        limits = ["%s %s" % (k, kb(b[path])) for k, b in (("hard", budgets.HARD), ("soft", budgets.SOFT)) if path in b]
        if limits:
            note = "budget %s: %s" % (", ".join(limits), note)
        return (label or path, [fmt(v) for v in vals], note)

    def num(v):
        return "-" if v is None else str(v)

    def ms(v):
        return "-" if v is None else "%.1f ms" % v

    def us(v):
        return "-" if v is None else "%d us" % v

    def mi(v):
        return "-" if v is None else "%.2f M" % (v / 1e6)

    def pair(path, a, b, label):
        """Two figures of path as a/b per profile (e.g. up/down)."""
        return (label, ["%s/%s" % (num(_get(ps[n], "%s.%s" % (path, a))), num(_get(ps[n], "%s.%s" % (path, b))))
                        for n in names], "")

    def records(key, what):
        return [pair("data.%s" % key, "up.largest_record", "down.largest_record",
                     "data: largest TLS record up/down, %s" % what),
                pair("data.%s" % key, "up.max_fragment_length", "down.max_fragment_length",
                     "data: max_fragment_length asked/granted, %s" % what)]

    bits = "%d-bit" % port["bits"]
    b32 = "32-bit frozen"
    v32 = next((p["ram32"]["micropython"] for p in ps.values() if _get(p, "ram32.micropython")), None)
    out = ["OCPP2.Lite footprint - RAM [%s]: MicroPython %s unix port on %s, code from a ROMFS image; "
           "RAM [%s]: %s; ROM: .mpy bytecode at -O%d, the same on every target"
           % (bits, port["micropython"], port["machine"], b32,
              "MicroPython %s 32-bit unix port with the code frozen in (budgeted)" % v32 if v32 else "not measured",
              port["mpy_opt"]),
           "source %s%s%s" % (data["source"]["rev"], " + uncommitted firmware changes" if data["source"]["dirty"] else "",
                              ", --quick (least heaps: 32-bit, whole session, wss:// only with the boards' TLS; no valgrind)" if data["quick"] else ""),
           ""]
    out.append(_rows("summary", names, [
        fig("rom.total", label="ROM: client .mpy total"),
        fig("rom.romfs_image", label="ROM: ROMFS image (with the sim board)"),
        fig("rom.board.device", label="ROM: ESP32/RP2040 board code (hw, drivers)"),
        fig("ram32.static_rom", label="ROM: functions, classes and globals out of the heap [%s]" % b32),
        fig("ram32.static_ram", label="RAM: static module objects, outside the heap [%s]" % b32),
    ] + [fig(key + "." + path, label="RAM: %s [%s]" % (what, tag))
         for key, tag in (("ram32", b32), ("ram", bits)) for path, what in RAM_ROWS
         if key == "ram" or path in RAM32_ROWS] + [
        fig("ram32.%s.%s" % (key, path), label="RAM: %s, %s [%s]" % (what, tls, b32))
        for key, tls in TLS32_ROWS for path, what in (("after_boot", "heap after boot"), ("least_heap", "least heap"))] + [
        fig("ram.tls.mbedtls_peak", label="RAM: mbedTLS peak, libc heap [%s]" % bits),
        fig("flash.bytes", num, "flash: bytes stored after the session"),
        fig("flash.writes", num, "flash: file writes"),
        fig("data.total", num, "data: bytes on the wire, ws://"),
        fig("data.tls.total", num, "data: bytes on the wire, wss://"),
        fig("data.bill.ws.billed", num, "data: billed (IPv4/TCP packets), ws://"),
        fig("data.bill.wss.billed", num, "data: billed (IPv4/TCP packets), wss://"),
        fig("data.deflate.total", num, "data: bytes on the wire, permessage-deflate, ws:// [%s]" % b32),
        fig("data.deflate.tls.total", num, "data: bytes on the wire, permessage-deflate, wss:// [%s, boards' TLS]" % b32),
        fig("data.deflate.bill.ws.billed", num, "data: billed, permessage-deflate, ws:// [%s]" % b32),
        fig("data.deflate.bill.wss.billed", num, "data: billed, permessage-deflate, wss:// [%s, boards' TLS]" % b32),
        fig("ram32.deflate.after_boot", label="RAM: heap after boot, permessage-deflate [%s]" % b32),
        fig("ram32.deflate.least_heap", label="RAM: least heap, permessage-deflate [%s]" % b32),
        fig("ram32.deflate.tls_boards.after_boot", label="RAM: heap after boot, permessage-deflate, boards' TLS [%s]" % b32),
        fig("ram32.deflate.tls_boards.least_heap", label="RAM: least heap, permessage-deflate, boards' TLS [%s]" % b32),
    ] + records("tls", "wss:// [%s]" % bits) + [r for key, tls in TLS32_ROWS for r in records(key, tls)] + [
        fig("cpu.boot_ms", ms, "CPU: process start to BootNotification"),
        fig("cpu.instructions.start", mi, "CPU: instructions to start the interpreter"),
    ]))
    blocks = sorted({b for n in names for b in ps[n]["rom"]["blocks"]})
    out += ["", _rows("ROM per functional block", names, [fig("rom.blocks." + b, label=b) for b in blocks])]
    ram_blocks = sorted({b for n in names for b in (_get(ps[n], "ram32.blocks") or {})})
    if ram_blocks:  # tools/footprint/blocks.py
        out += ["", _rows("RAM per functional block [%s]: code at boot / code when used / state" % b32, names,
                          [(b, ["/".join(_k(_get(ps[n], "ram32.blocks.%s.%s" % (b, k))) for k in ("boot", "used", "state"))
                                for n in names], "kB") for b in ram_blocks])]
    steps = list(ps[names[0]]["session"]["steps"])
    out += ["", _rows("reference session step", names,
                      [(s, [ps[n]["session"]["steps"].get(s, "-").replace("not in this build", "not in build")
                            for n in names], "") for s in steps])]
    for key, label in (("ram32", b32), ("ram", bits)):
        out += ["", _rows("RAM through step [%s]: least heap / live after" % label, names,
                          [(s, ["%s/%s" % (_k(_get(ps[n], "%s.steps.%s.least_heap" % (key, s))),
                                           _k(_get(ps[n], "%s.steps.%s.live" % (key, s)))) for n in names], "kB")
                           for s in steps])]
    out += ["", _rows("RAM allocated during step [%s]" % bits, names,
                      [fig("ram.steps.%s.allocated" % s, label=s) for s in steps])]
    out += ["", _rows("CPU instructions per step (callgrind)", names,
                      [fig("cpu.instructions.steps." + s, mi, s) for s in steps])]
    if any(_get(ps[n], "cpu.deflate.instructions.steps") for n in names):  # the full report
        on32 = any(_get(ps[n], "cpu.deflate.port") for n in names)  # (cli.cpu32: the boards' path)
        out += ["", _rows("CPU instructions per step with permessage-deflate (callgrind%s)" % (
            ", %s" % b32 if on32 else ""), names, [fig("cpu.deflate.instructions.steps." + s, mi, s) for s in steps])]
        if on32:
            out += ["", _rows("CPU instructions per step without it (callgrind, %s)" % b32, names,
                              [fig("cpu.deflate.instructions_off.steps." + s, mi, s) for s in steps])]
    if any(_get(ps[n], "cpu.stalls_ms") for n in names):  # the full report (tools/footprint/stalls.py)
        for key, what in (("cpu", ""), ("cpu.deflate", ", permessage-deflate")):
            out += ["", _rows("CPU: longest loop stall per step%s [ms here]" % what, names,
                              [(s, ["-" if v is None else "%.1f" % v for v in (_get(ps[n], key + ".stalls_ms." + s)
                                                                               for n in names)], "") for s in steps])]
    idle = data.get("idle_day")
    if idle:  # tools/footprint/bill.py
        out += ["", "data: an idle day (%s; HeartbeatInterval %d s, WebSocketPingInterval %d s), billed bytes "
                "(packets): ws:// %s, wss:// %s; with permessage-deflate: ws:// %s, wss:// %s" % (
                    idle["profile"], bill.HEARTBEAT_S, bill.OUR_PING_S,
                    *("%d (%d)" % (idle[k]["billed"], idle[k]["packets"]) for k in ("ws", "wss", "deflate_ws", "deflate_wss")))]
    if data.get("stalls"):
        from tools.footprint import stalls

        out += [""] + stalls.bench_lines(data["stalls"])
    actions = sorted({a for n in names for a in ps[n]["cpu"]["response_us"]})
    out += ["", _rows("CPU: station response time on 127.0.0.1", names,
                      [fig("cpu.response_us." + a, us, a) for a in actions])]
    msgs = sorted({a for n in names for a in ps[n]["data"]["messages"]})
    out += ["", _rows("data per action: n x, CALL + reply bytes", names,
                      [(a, ["%sx %s" % (num(_get(ps[n], "data.messages.%s.n" % a)),
                                        num(_bytes(_get(ps[n], "data.messages." + a)))) for n in names], "")
                       for a in msgs])]
    for n in names:
        out += ["", "%s handles: %s" % (n, " ".join(ps[n]["handled"]) or "-")]
        loose = [m for m in ps[n]["modules"] if profiles.block_of(m) == "unassigned"]
        if loose:
            out.append("%s modules in no functional block (tools/profiles.py BLOCKS): %s" % (n, " ".join(loose)))
        if ps[n]["missing"]:
            out.append("%s names modules not written yet: %s" % (n, " ".join(m.split("/")[-1] for m in ps[n]["missing"])))
        sites = ps[n]["ram"]["tls"]["mbedtls_sites"]
        if sites:
            out.append("%s mbedTLS at its peak (libc malloc, outside the GC heap): %s" % (
                n, ", ".join("%s %d" % kv for kv in sorted(sites.items(), key=lambda kv: -kv[1]))))
    for n in names:
        why = _get(ps[n], "ram32.unavailable")
        if why:
            out.append("%s: no 32-bit figures: %s" % (n, why.splitlines()[0]))
        for key, tls in TLS32_ROWS:
            why = _get(ps[n], "ram32.%s.unavailable" % key)
            if why:
                out.append("%s: no 32-bit figures with the %s: %s" % (n, tls, why.splitlines()[0]))
    if any(_get(p, "ram32.after_boot") for p in ps.values()):
        out += [""] + targets.lines(data)
    out.append("")
    if data.get("left_out"):
        out.append("left out: %s (their budgets not checked)" % ", ".join(data["left_out"]))
    out.append(table_budget_line(data))
    return "\n".join(out)


def table_budget_line(data):
    bad = breaches(data)
    return "hard budgets: " + ("; ".join("%s %s = %s > %s" % (p, f, "not measured" if v is None else kb(v), kb(lim))
                                         for p, f, v, lim in bad) if bad else "all met")


def _bytes(m):
    return None if m is None else m["call"] + m["reply"]


# --- comparing two reports ---------------------------------------------------------------
def compare(a, b):
    """Markdown table of every figure of a (base) and b (new): values, delta, percent."""
    fa, fb = flatten(a), flatten(b)
    lines = ["footprint: %s -> %s" % (_src(a), _src(b)), "",
             "| figure | base | new | delta | % |", "| --- | ---: | ---: | ---: | ---: |"]
    for k in sorted(set(fa) | set(fb)):
        va, vb = fa.get(k), fb.get(k)
        lines.append("| %s | %s | %s | %s | %s |" % (k, _v(va), _v(vb), *delta(va, vb)))
    return "\n".join(lines)


def delta(va, vb):
    """(absolute, percent) change from va to vb as text."""
    if va is None or vb is None:
        return ("new" if va is None else "gone"), ""
    d = vb - va
    pct = "" if va == 0 else "%+.1f %%" % (100.0 * d / va)
    return ("%+d" % d if isinstance(d, int) else "%+.1f" % d), pct


def _v(v):
    return "" if v is None else str(v)


def _src(d):
    return d["source"]["rev"] + ("+" if d["source"]["dirty"] else "")
