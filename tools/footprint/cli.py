"""tools/footprint/cli.py - ROM, RAM, flash, data and CPU of every build profile (`make footprint`).

    python -m tools.footprint [report] [--quick] [--profiles lite,core] [--json F] [--svg F]
    python -m tools.footprint compare A.json B.json
    python -m tools.footprint diff BASE [--quick]

report: build each profile (tools/profiles.py), run the reference session
(tools/footprint/session.py) on the MicroPython unix port with the profile's ROMFS image (the
64-bit PyPI port: "ram") and on a 32-bit unix port with the profile frozen in (tools/mp32.py:
"ram32", the figures a board's are closest to and the ones the RAM budget is checked on), print
the table, write the JSON and the chart, and exit 1 when a hard budget (tools/budgets.py) is
exceeded or cannot be measured. --quick (CI) measures the least heap only where it is
budgeted (32-bit port, whole session: over ws://, and over wss:// with the boards' TLS
configurations, measure_tls32) and leaves out the other TLS bisections and valgrind;
--no-mp32 leaves out the 32-bit port (the RAM budget is then reported as not checked). A full
report (all profiles, both ports, not --quick; --no-docs: not) also writes its table into
docs/footprint.md between the markers DOC_BEGIN and DOC_END. compare: markdown table of every
figure of two reports with deltas. diff: measure git ref BASE in a temporary worktree with this
tool, then the working tree, and compare.
"""

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import os
import pathlib
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from tools import mp32, profiles
from tools.docblock import replace_block
from tools.footprint import bill, blocks, report, rom, stalls, wire
from tools.footprint import session as fs
from tools.footprint import valgrind as vg

ROOT = pathlib.Path(__file__).resolve().parents[2]

OUT = ROOT / "build" / "footprint"
DOC = ROOT / "docs" / "footprint.md"
DOC_BEGIN = "<!-- footprint-report: written by `make footprint`; do not edit -->"
DOC_END = "<!-- footprint-report end -->"
RESOLUTION = 512  # bytes: the least heap is found to within this
MAX_HEAP = 8 << 20


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --- measuring one profile ---------------------------------------------------------------
def services():
    """{service attribute of the station: its module ("ocpp_lite/firmware")}, read from
    firmware/ocpp_lite/station.py: the services it creates at start (self.x = Class(self, ...))
    and the ones its __getattr__ creates when first used (name == "x": from .mod import Class)."""
    src = (rom.FIRMWARE / "ocpp_lite" / "station.py").read_text()
    classes = {cls: mod for mod, cls in re.findall(r"from \.([\w.]+) import (\w+)", src)}
    out = {}
    for name, qual, cls in re.findall(r"self\.(\w+) = (?:(\w+)\.)?(\w+)\(self", src):
        mod = qual or classes.get(cls)
        if mod:
            out[name] = mod
    for name, mod in re.findall(r'name == "(\w+)":[^\n]*\n(?: +try:[^\n]*\n)? +from \.([\w.]+) import', src):
        out[name] = mod
    return {k: "ocpp_lite/" + v.replace(".", "/") for k, v in out.items()}


def handled(mods):
    """Actions of the dispatch table (firmware/ocpp_lite/dispatch.py) whose service's module is
    in mods and defines the handler."""
    disp = rom.FIRMWARE / "ocpp_lite" / "dispatch.py"
    if not disp.exists():  # a BASE from before the services (footprint diff): action -> module
        old = re.findall(r'\("(\w+)", "(\w+)"\)', (rom.FIRMWARE / "ocpp_lite" / "actions.py").read_text())
        return [a for a, m in old if "ocpp_lite/" + m in mods
                and ("def %s(" % a) in ((rom.FIRMWARE / "ocpp_lite" / (m + ".py")).read_text()
                                        if (rom.FIRMWARE / "ocpp_lite" / (m + ".py")).exists() else "")]
    table = re.findall(r'\("(\w+)", "(\w+)"\)', disp.read_text())
    where = services()
    out = []
    for action, service in table:
        mod = where.get(service)
        src = rom.FIRMWARE / ((mod or "-") + ".py")
        if mod in mods and src.exists() and ("def %s(" % action) in src.read_text():
            out.append(action)
    return out


def image_in_heap(image):
    """Heap bytes the image buffer takes on the unix port (boards/unix/main.py reads it into a
    bytearray; on a board it is memory-mapped flash)."""
    code = ("import gc\ngc.collect()\na = gc.mem_alloc()\nb = bytearray(%d)\ngc.collect()\n"
            "print(gc.mem_alloc() - a)" % image.stat().st_size)
    return int(subprocess.run([fs.MICROPYTHON, "-c", code], capture_output=True, text=True, check=True).stdout)


def on_micropython(image, body, exe=None):
    """Run MicroPython code body with image mounted at /rom as the only code (or with the code
    frozen into exe); its stdout."""
    code = ("import gc, os, sys, vfs\nb = bytearray(os.stat(%r)[6])\nopen(%r, 'rb').readinto(b)\n"
            "vfs.mount(vfs.VfsRom(memoryview(b)), '/rom')\nsys.path[:] = ['/rom', '.frozen']\n" % (str(image), str(image))
            ) if image else "import gc, sys\nsys.path[:] = ['.frozen']\n"
    p = subprocess.run([exe or fs.MICROPYTHON, "-c", code + body], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError("MicroPython: %s%s" % (p.stdout, p.stderr))
    return p.stdout


def import_heap(image, mods, exe=None):
    """Heap the modules take once imported from the image (interned names, module, function
    and class objects; the bytecode stays in the image), and how much of it is the qstr pools
    of the interned names (which frozen firmware would keep in flash)."""
    body = ("import micropython\ngc.collect()\nmicropython.qstr_info()\na = gc.mem_alloc()\n"
            "for m in %r:\n    __import__(m)\ngc.collect()\nprint(gc.mem_alloc() - a)\nmicropython.qstr_info()"
            % [m.replace("/", ".") for m in mods if not m.endswith("__init__")])
    out = on_micropython(image, body, exe)
    pools = [int(n) for n in re.findall(r"n_total_bytes=(\d+)", out)]
    return int(out.splitlines()[1]), pools[1] - pools[0]


def session(image, **kw):
    s = fs.Session(image, **kw)
    res = asyncio.run(s.run())
    for v in res["violations"]:
        log("  schema violation: " + v)
    return res, s


def least_heaps(image, ref, tls, lo, exe=None, whole=False, hi=64 << 10, hint=None, extra=()):
    """Per step, the least -X heapsize with which the session completes up to and including that
    step (a parallel bisection: one run tells for every step whether it completed). whole: only
    for the whole session (the other steps None), in fewer runs. lo: a heap too small (the live
    heap after boot); hi: the first guess of one large enough (while it is not, the span
    above lo is doubled). hint
    (whole only): the least heap of a similar tree (the CI base is measured with the working
    tree's): the search brackets it first, stepping out from it by doubling steps, and bisects
    the bracket; the same answer to within RESOLUTION in 2-4 runs instead of 7-8 when the
    trees are alike. extra: more station options (DEFLATE)."""
    names = list(ref)
    n = len(names)
    runs = []

    def completed(heap):
        s = fs.Session(image, tls=tls, heap=heap, exe=exe, extra=extra)
        try:
            asyncio.run(s.run())
        except fs.Failed:
            pass
        done = 0
        while done < s.done and s.res["steps"][names[done]] == ref[names[done]]:
            done += 1
        runs.append((heap, done))
        return done

    if whole and hint and lo < hint < MAX_HEAP:
        lo, hi = bracket(lambda heap: completed(heap) == n, lo, hint)
        if hi is None:
            return None, runs
    else:
        if hi <= lo:  # (the 64-bit port lives above the default first guess)
            hi = 2 * lo
        while completed(hi) < n:
            if hi >= MAX_HEAP:
                return None, runs
            hi = min(MAX_HEAP, 2 * hi - lo)  # the span above lo doubled
    low, high = [lo] * n, [hi] * n
    while True:
        k = n - 1 if whole else max(range(n), key=lambda i: high[i] - low[i])
        if high[k] - low[k] <= RESOLUTION:
            break
        heap = (low[k] + high[k]) // 2
        done = completed(heap)
        for i in range(n):
            if i < done:
                high[i] = min(high[i], heap)
            else:
                low[i] = max(low[i], heap)
        for i in range(n - 1, 0, -1):  # a later step needs at least what an earlier one does
            low[i] = max(low[i], low[i - 1])
    if whole:
        high = [None] * (n - 1) + high[-1:]
    return dict(zip(names, high)), runs


def bracket(ok, lo, hint):
    """(a heap too small, one large enough) around hint: from hint, steps of RESOLUTION doubling
    down while ok(heap) holds (not below lo, known too small) or up while it does not (up to
    MAX_HEAP: (lo, None) when even that is not)."""
    step = RESOLUTION
    if ok(hint):
        hi = hint
        while hi - step > lo:
            if not ok(hi - step):
                return hi - step, hi
            hi -= step
            step *= 2
        return lo, hi
    while hint + step < MAX_HEAP:
        if ok(hint + step):
            return hint, hint + step
        hint += step
        step *= 2
    return hint, (MAX_HEAP if ok(MAX_HEAP) else None)


def measure(name, quick, pki, use32=True, hint=None):
    """The figures of build profile name; hint: its figures in a report of a similar tree, whose
    least heaps start the whole-session bisections (least_heaps)."""
    t0 = time.monotonic()
    log("%s: building" % name)
    rom_fig, missing, image = rom.build(name, OUT)
    mods = sorted(rom_fig["modules"])
    img_heap = image_in_heap(image)
    imports, qstrs = import_heap(image, mods)
    log("%s: reference session" % name)
    res, s = session(image)
    steps = res["steps"]
    log("%s: reference session with TLS" % name)
    res_t, s_t = session(image, tls=pki)
    least, runs, least_t = None, [], None
    if not quick:  # (not budgeted: left to the full report); side by side, as in measure32
        log("%s: least heap, without and with TLS" % name)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            ws = pool.submit(least_heaps, image, steps, None, res["mem"]["boot"]["live"])
            wss = pool.submit(least_heaps, image, steps, pki, res_t["mem"]["boot"]["live"])
            (least, runs), (least_t, runs_t) = ws.result(), wss.result()
        runs += runs_t
    res_z = s_z = s_zt = None
    if not quick:  # (not budgeted)
        log("%s: reference session with permessage-deflate, without and with TLS" % name)
        res_z, s_z = session(image, extra=DEFLATE)
        _, s_zt = session(image, tls=pki, extra=DEFLATE)
        if res_z["steps"] != steps:
            raise fs.Failed("%s: the session with permessage-deflate differs: %s" % (name, res_z["steps"]))
    cpu_i = cpu_z = None
    mbed = {"peak": None, "sites": {}}
    if not quick and vg.available():
        log("%s: callgrind" % name)
        with tempfile.TemporaryDirectory() as d:
            session(image, wrap=vg.callgrind_wrap(d + "/cg"), slow=30)
            start = vg.start_instructions(fs.MICROPYTHON, d + "/start")
            per = vg.step_instructions(d + "/cg", list(steps))
            per["boot"] -= start  # the boot step's part begins at process start
            cpu_i = {"start": start, "steps": per}
            session(image, wrap=vg.callgrind_wrap(d + "/cgz"), slow=30, extra=DEFLATE)
            per = vg.step_instructions(d + "/cgz", list(steps))
            per["boot"] -= start
            cpu_z = {"start": start, "steps": per}
        log("%s: massif (TLS)" % name)
        with tempfile.TemporaryDirectory() as d:
            session(image, tls=pki, wrap=vg.massif_wrap(d + "/ms"), slow=30)
            mbed = vg.mbedtls_heap(d + "/ms")
    stalls_ms = stalls_z = None
    if not quick:  # timings, not budgeted
        log("%s: loop stalls (3 sessions)" % name)
        stalls_ms = stalls.session_stalls(name, image=image)
        log("%s: loop stalls with permessage-deflate (3 sessions)" % name)
        stalls_z = stalls.session_stalls(name, image=image, extra=DEFLATE)
    fig = {
        "modules": mods,
        "missing": missing,
        "handled": handled(mods),
        "session": {"steps": steps},
        "rom": rom_fig,
        "ram": dict(ram_figures(res, res_t, img_heap, least, least_t, mbed), imports=imports, imports_qstr=qstrs),
        "flash": flash_figures(res),
        "data": dict(wire.data_figures(s.relay), tls=wire.tls_figures(s_t.relay),
                     bill={"ws": bill.relay(s.relay), "wss": bill.relay(s_t.relay)},
                     deflate=deflate_figures(s_z, s_zt) if s_z else None),
        "cpu": dict(cpu_figures(res, s, cpu_i), stalls_ms=stalls_ms,
                    deflate=dict(cpu_figures(res_z, s_z, cpu_z), stalls_ms=stalls_z) if s_z else None),
        "runs": {"sessions": 2 + len(runs) + (0 if cpu_i is None else 2), "seconds": 0, "bisection": runs},
    }
    if use32:
        fig["ram32"], runs32, data32 = measure32(name, quick, pki, steps, (hint or {}).get("ram32") or {})
        c32 = data32.pop("cpu32", None)
        if c32 and fig["cpu"]["deflate"]:  # cpu.deflate: the boards' path, beside the same port without
            fig["cpu"]["deflate"]["instructions"] = c32["deflate"]
            fig["cpu"]["deflate"]["instructions_off"] = c32["off"]
            fig["cpu"]["deflate"]["port"] = "32-bit"
        fig["data"].update(data32)
        fig["runs"]["sessions"] += len(runs32)
        fig["runs"]["bisection32"] = runs32
    fig["runs"]["seconds"] = round(time.monotonic() - t0, 1)
    return fig


def measure32(name, quick, pki, ref, hint):
    """RAM of the profile frozen into the 32-bit port: (figures, bisection runs, data figures of
    the boards' TLS configurations). The figures are {"unavailable": why} when the port cannot
    be built here. With MicroPython's default mbedTLS configuration ("tls") and with the boards'
    (measure_tls32: "tls_boards", "tls_in2k", also data.tls_boards, data.tls_in2k)."""
    log("%s: 32-bit port, frozen" % name)
    try:
        exe = str(mp32.build(name))
    except mp32.Unavailable as e:
        log("%s: no 32-bit figures: %s" % (name, e))
        return {"unavailable": str(e)}, [], {}
    mods = sorted(profiles.modules(name, rom.present())[0])
    imports, _ = import_heap(None, mods, exe)
    res, _ = session(None, exe=exe)
    if res["steps"] != ref:
        raise fs.Failed("%s: the 32-bit port's session differs: %s" % (name, res["steps"]))
    res_t, _ = session(None, exe=exe, tls=pki)
    # The bisections run side by side (each run mostly waits for the session's timers; heap
    # figures only: the timings come from the reference sessions above, run alone).
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        ws = pool.submit(least_heaps, None, ref, None, res["mem"]["boot"]["live"], exe, whole=quick,
                         hint=hint.get("least_heap"))
        wss = None if quick else pool.submit(least_heaps, None, ref, pki, res_t["mem"]["boot"]["live"], exe)
        boards = measure_tls32(name, pki, ref, hint, pool)
        zipped, relays = {}, {}
        if not quick:  # permessage-deflate on, ws:// and the boards' TLS (not budgeted)
            for key, (tls, x) in (("ws", (None, exe)), ("tls_boards", (pki, _build32(name, "boards")))):
                if x is None:
                    continue
                res_z, relays[key] = session(None, exe=x, tls=tls, extra=DEFLATE)
                lo = res_z["mem"]["boot"]["live"]
                zipped[key] = (lo, pool.submit(least_heaps, None, ref, tls, lo, x, whole=True,
                                               hi=(lo + TLS32_SPAN) // 1024 * 1024, extra=DEFLATE))
        least, runs = ws.result()
        least_t = None
        if wss:
            least_t, runs_t = wss.result()
            runs += runs_t
        boards = {k: v.result() if isinstance(v, concurrent.futures.Future) else v for k, v in boards.items()}
    fig = ram_figures(res, res_t, 0, least, least_t, {"peak": None, "sites": {}})
    del fig["image_in_heap"]
    fig["deflate"] = None
    for key, (lo, job) in zipped.items():
        least_z, runs_z = job.result()
        runs += runs_z
        one = {"after_boot": lo, "least_heap": least_z[list(ref)[-1]] if least_z else None}
        if key == "ws":
            fig["deflate"] = dict(one, tls_boards=None)
        else:
            fig["deflate"][key] = one
    fig["tls"] = {k: fig["tls"][k] for k in ("after_boot", "least_heap")}  # mbedTLS is in the GC heap here
    fig["imports"] = imports
    fig["micropython"] = mp32.VERSION
    fig["static_rom"] = mp32.static_rom()  # what the resident modules' function objects take in ROM instead
    fig["static_ram"] = mp32.static_ram()  # and their module objects in static RAM, outside the heap
    fig["blocks"] = rows = blocks.measure(exe, mods, on_micropython)  # the RAM table per functional block
    if fig.get("after_boot"):
        rows[blocks.REST] = {"boot": blocks.rest(rows, fig["after_boot"]), "used": 0, "state": 0, "modules": {}}
    data = {}
    for key, (f, d, r) in boards.items():
        fig[key], data[key] = f, d
        runs += r
    if len(relays) == 2:  # the boards' path: what it sends and bills
        data["deflate"] = deflate_figures(relays["ws"], relays["tls_boards"])
    if not quick and vg.available():
        data["cpu32"] = cpu32(name, ref)
    return fig, runs, data


def cpu32(name, ref):
    """Callgrind instructions per step of the reference session on the 32-bit port (a build that
    keeps its symbols: tools/mp32.py build(symbols=True)), without and with DEFLATE:
    {"off": instructions, "deflate": instructions} as cpu_figures takes them, or None."""
    try:
        exe = str(mp32.build(name, symbols=True))
    except mp32.Unavailable as e:
        log("%s: no 32-bit CPU figures: %s" % (name, e))
        return None
    log("%s: callgrind on the 32-bit port, without and with permessage-deflate" % name)
    out = {}
    with tempfile.TemporaryDirectory() as d:
        start = vg.start_instructions(exe, d + "/start")
        for key, extra in (("off", ()), ("deflate", DEFLATE)):
            res, _ = session(None, exe=exe, wrap=vg.callgrind_wrap(d + "/cg" + key), slow=30, extra=extra)
            if res["steps"] != ref:
                raise fs.Failed("%s: the 32-bit port's session under callgrind differs: %s" % (name, res["steps"]))
            per = vg.step_instructions(d + "/cg" + key, list(ref))
            per["boot"] -= start
            out[key] = {"start": start, "steps": per}
    return out


TLS32 = {"tls_boards": "boards", "tls_in2k": "in2k"}  # figure key -> tools/mp32.py TLS configuration


def _build32(name, tls):
    """The 32-bit port with profile name frozen in and TLS configuration tls, or None."""
    try:
        return str(mp32.build(name, tls))
    except mp32.Unavailable:
        return None
TLS32_SPAN = 16 << 10  # the bisection's first guess of a heap large enough: after boot + this


def measure_tls32(name, pki, ref, hint, pool):
    """The session over wss:// on the 32-bit port built with each of the boards' TLS
    configurations (TLS32), in quick mode too (ram32.tls_boards.least_heap is hard-budgeted):
    {key: (RAM figures, the wire's TLS figures, bisection runs), or a future of them from pool}.
    The least heap is bisected for the whole session only, from the live heap after boot up."""
    exes, out = {}, {}
    for key, tls in TLS32.items():
        try:
            exes[key] = str(mp32.build(name, tls))
        except mp32.Unavailable as e:
            log("%s: no 32-bit figures with TLS %s: %s" % (name, tls, e))
            out[key] = ({"unavailable": str(e)}, {}, [])

    def one(key):
        res, s = session(None, exe=exes[key], tls=pki)
        if res["steps"] != ref:
            raise fs.Failed("%s: the 32-bit port with TLS %s: the session differs: %s" % (name, TLS32[key], res["steps"]))
        lo = res["mem"]["boot"]["live"]
        least, runs = least_heaps(None, ref, pki, lo, exes[key], whole=True, hi=(lo + TLS32_SPAN) // 1024 * 1024,
                                  hint=(hint.get(key) or {}).get("least_heap"))
        last = list(ref)[-1]
        inb, outb, _ = mp32.TLS_CONFIGS[TLS32[key]]
        fig = {"in_buffer": inb, "out_buffer": outb, "after_boot": lo,
               "least_heap": least[last] if least else None}
        return fig, wire.tls_figures(s.relay), runs

    if exes:
        log("%s: least heap with the boards' TLS configurations (%s)" % (name, ", ".join(TLS32[k] for k in exes)))
        for k in exes:
            out[k] = pool.submit(one, k)
    return {k: out[k] for k in TLS32}


# permessage-deflate on (runtime/wsdeflate.py), DeflateWindowBits 11 (a 2 kB window for the
# station's messages, 512 bytes for the CSMS's): the data.deflate, cpu.deflate and
# ram32.deflate figures, measured on the 32-bit port where it can be built (the boards' C path,
# boards/common/deflate-takeover.patch), else data.deflate and cpu.deflate on the unix port's
# image (wsdeflate's MicroPython compressor)
DEFLATE = ("--set", "DeflateWindowBits=11")


def deflate_figures(s, s_t):
    """Bytes of the sessions s (ws://) and s_t (wss://) run with DEFLATE: on the wire and billed."""
    d = wire.data_figures(s.relay)
    return {"up": d["up"], "down": d["down"], "total": d["total"], "tls": {"total": wire.tls_figures(s_t.relay)["total"]},
            "bill": {"ws": bill.relay(s.relay), "wss": bill.relay(s_t.relay)}}


def ram_figures(res, res_t, img, least, least_t, mbed):
    mem = res["mem"]
    steps = {}
    prev = img  # the image buffer is the first thing allocated
    for k, m in mem.items():
        alloc = m["used"] - prev
        steps[k] = {"live": m["live"] - img, "allocated": alloc if alloc >= 0 else None,
                    "least_heap": least[k] - img if least and least[k] is not None else None}
        prev = m["live"]
    last = list(mem)[-1]
    return {
        "image_in_heap": img,
        "after_boot": mem["boot"]["live"] - img,
        "least_heap": least[last] - img if least else None,
        "steps": steps,
        "tls": {"after_boot": res_t["mem"]["boot"]["live"] - img,
                "least_heap": least_t[last] - img if least_t else None,
                "mbedtls_peak": mbed["peak"], "mbedtls_sites": mbed["sites"]},
    }


def flash_figures(res):
    """Flash bytes and files after the session; file writes per step and in total (the counter
    is the store's, which starts again at 0 when the station restarts after Reset)."""
    mem = res["mem"]
    steps, prev = {}, 0
    for k, m in mem.items():
        steps[k] = m["writes"] - prev if m["writes"] >= prev else m["writes"]
        prev = m["writes"]
    return {"bytes": res["flash"]["bytes"], "files": res["flash"]["files"], "writes": sum(steps.values()),
            "steps": steps}


def cpu_figures(res, s, instructions):
    times = wire.response_times(s.relay)
    return {
        "ready_ms": round(res["ready_s"] * 1000, 1),
        "boot_ms": round(res["boot_s"] * 1000, 1),
        "response_us": {a: round(statistics.median(v) * 1e6) for a, v in times.items()},
        "instructions": instructions or {"start": None, "steps": {}},
    }


# --- the commands ------------------------------------------------------------------------
def make_pki(d):
    sys.path.insert(0, str(ROOT / "host_tests"))
    from helpers import make_ca, make_server_cert, pem, server_ssl

    ca, key = make_ca("OCPP2.Lite footprint root")
    cert, ckey = make_server_cert(ca, key, "localhost")
    (d / "ca.pem").write_text(pem(ca))
    return {"server_ssl": server_ssl(cert, ckey, d), "ca_pem": d / "ca.pem"}


def source():
    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"rev": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain", "--", "firmware"))}


def do_report(a):
    """Measure the profiles, print the table, write JSON and chart; 1 on a hard-budget breach."""
    names = a.profiles.split(",") if a.profiles else list(profiles.PROFILES)
    hints = json.loads(pathlib.Path(a.hint).read_text()).get("profiles", {}) if getattr(a, "hint", None) else {}
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        pki = make_pki(pathlib.Path(d))
        data = {
            "format": 1,
            "port": port_info(),
            "source": source(),
            "quick": a.quick,
            "left_out": ["ram32"] if a.no_mp32 else [],
            "profiles": {n: measure(n, a.quick, pki, not a.no_mp32, hints.get(n)) for n in names},
        }
        if not a.quick:
            log("loop stalls of the signature checks, contactor latency")
        data["stalls"] = None if a.quick else stalls.measure()
        data["idle_day"] = None
        if not a.quick:  # (the same code in every profile: the first one's)
            log("%s: an idle day (tools/footprint/bill.py)" % names[0])
            data["idle_day"] = dict(asyncio.run(bill.idle_days(rom.build(names[0], OUT)[2], pki)), profile=names[0])
    data["seconds"] = round(time.monotonic() - t0, 1)
    pathlib.Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(a.json).write_text(json.dumps(data, indent=1) + "\n")
    from tools.footprint import chart

    pathlib.Path(a.svg).write_text(chart.svg(data))
    text = report.table(data)
    print(text)
    written = [os.path.relpath(a.json), os.path.relpath(a.svg)]
    if not (a.quick or a.profiles or a.no_mp32 or a.no_docs):
        write_doc(data, text)
        written.append(os.path.relpath(DOC))
    print("\n(written: %s; %.0f s)" % (", ".join(written), data["seconds"]))
    return 1 if report.breaches(data) else 0


def write_doc(data, text):
    """The full report's table into docs/footprint.md, between the markers."""
    src = data["source"]
    head = "The current report: `make footprint` at %s%s, %.0f s on %d cores." % (
        src["rev"], " (with uncommitted changes to firmware/)" if src["dirty"] else "", data["seconds"], os.cpu_count())
    replace_block(DOC, DOC_BEGIN, DOC_END, "%s\n\n```\n%s\n```" % (head, text))


def port_info():
    p = subprocess.run([fs.MICROPYTHON, "-c", "import sys; print('%d.%d.%d' % sys.implementation.version[:3], "
                        "sys.maxsize > 2**32)"],
                       capture_output=True, text=True, check=True).stdout.split()
    return {"micropython": p[0], "bits": 64 if p[1] == "True" else 32, "machine": platform.machine(),
            "mpy_opt": rom.OPT}


def do_compare(a):
    """Print the markdown table of every figure of A and B with deltas."""
    print(report.compare(json.loads(pathlib.Path(a.a).read_text()), json.loads(pathlib.Path(a.b).read_text())))
    return 0


@contextlib.contextmanager
def worktree(ref, name="base"):
    """A temporary git worktree of ref (a directory name in a temporary directory), ready to run
    this tool in (yields its path): .venv linked
    to ours; this package, budgets.py, mp32.py (and mp32lib/) and docblock.py copied into its
    tools/, so that the same method measures both sides; ref's own profiles.py, csms.py and
    wsframe.py kept when it has them. A ref from before the tools package (flat
    tools/footprint*.py, no tools/__init__.py) works too: the package directory tools/footprint/
    is found before its module tools/footprint.py. Raises subprocess.CalledProcessError (stderr
    captured) when git cannot check ref out; removed afterwards."""
    with tempfile.TemporaryDirectory() as d:
        wt = pathlib.Path(d) / name
        subprocess.run(["git", "worktree", "add", "--detach", str(wt), ref], cwd=ROOT, check=True,
                       capture_output=True, text=True)
        try:
            (wt / ".venv").symlink_to(ROOT / ".venv")
            src, dst = ROOT / "tools", wt / "tools"
            skip = shutil.ignore_patterns("__pycache__")
            for n in ("footprint", "mp32lib"):
                shutil.copytree(src / n, dst / n, dirs_exist_ok=True, ignore=skip)
            for n in ("__init__.py", "budgets.py", "mp32.py", "docblock.py"):
                shutil.copy(src / n, dst / n)
            for n in ("profiles.py", "csms.py", "wsframe.py"):
                if not (dst / n).exists():
                    shutil.copy(src / n, dst / n)
            yield wt
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=ROOT, check=False)


def report_in(wt, json_path, svg_path, args, stdout=None):
    """Run `python -m tools.footprint report --no-docs` in worktree wt (args: _passed(); stdout:
    where its table goes, ours by default); True when it measured (exit 0, or 1 for a
    hard-budget breach), False when it failed."""
    cmd = [sys.executable, "-m", "tools.footprint", "report", "--no-docs", "--json", str(json_path),
           "--svg", str(svg_path)] + list(args)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(cmd, cwd=wt, env=env, stdout=stdout).returncode in (0, 1)


def do_diff(a):
    """Measure BASE in a temporary git worktree with this tool (worktree(): the same method on
    both sides), then the working tree, and compare."""
    base_json = OUT / "base.json"
    OUT.mkdir(parents=True, exist_ok=True)
    with worktree(a.base) as wt:
        if not report_in(wt, base_json, OUT / "base.svg", _passed(a)):
            log("measuring %s failed" % a.base)
            return 2
    a.no_docs = True
    rc = do_report(a)
    print()
    print(report.compare(json.loads(base_json.read_text()), json.loads(pathlib.Path(a.json).read_text())))
    return rc


def _passed(a):
    return (["--quick"] if a.quick else []) + (["--no-mp32"] if a.no_mp32 else []) + \
        (["--profiles", a.profiles] if a.profiles else [])


def main(argv):
    if argv[:1] in (["ci"], ["noise"]):  # the CI comparison and its noise model: ci.py
        from tools.footprint import ci

        return ci.main(argv)
    if argv[:1] == ["stalls"]:  # issue 16: loop stalls and contactor latencies: stalls.py
        from tools.footprint import stalls

        return stalls.main(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cmd", nargs="?", default="report", choices=("report", "compare", "diff", "ci", "noise"))
    p.add_argument("args", nargs="*")
    p.add_argument("--quick", action="store_true", help="least heap only where budgeted (32-bit; wss:// with the boards' TLS only), no valgrind (CI)")
    p.add_argument("--no-mp32", action="store_true", help="leave out the 32-bit frozen port (RAM budget unchecked)")
    p.add_argument("--profiles", help="comma-separated (default: all)")
    p.add_argument("--no-docs", action="store_true", help="do not write the full report into docs/footprint.md")
    p.add_argument("--hint", metavar="REPORT", help="a report (JSON) of a similar tree whose least heaps start the "
                   "whole-session bisections: fewer runs, the same figures to within the resolution (CI's base)")
    p.add_argument("--json", default=str(ROOT / "build" / "footprint.json"))
    p.add_argument("--svg", default=str(ROOT / "build" / "footprint.svg"))
    a = p.parse_args(argv)
    if a.cmd == "compare":
        if len(a.args) != 2:
            p.error("compare needs A.json B.json")
        a.a, a.b = a.args
        return do_compare(a)
    if a.cmd == "diff":
        if len(a.args) != 1:
            p.error("diff needs BASE (a git ref)")
        a.base = a.args[0]
        return do_diff(a)
    return do_report(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
