"""tools/footprint/ci.py - the footprint comparison CI prints for a change, and its noise model.

    python -m tools.footprint ci [--quick] [--profiles lite,core]     (make footprint-ci, .ci/run)
    python -m tools.footprint noise [--runs 3] [--profiles ...] [REF]
    python -m tools.footprint noise --from RUN.json RUN.json ...

ci: measure the working tree (cli.do_report: the table, build/footprint.json, and exit 1 on a
hard-budget breach, as `make footprint` does), then the base - $FOOTPRINT_BASE, else HEAD~1 - in
a temporary worktree with this tool (cli.worktree, as `make footprint-diff` does; its
whole-session bisections start from the working tree's least heaps, `report --hint`: 2-4 runs
each instead of 7-8 when the two are alike, the same figures to within cli.RESOLUTION), and print a
short markdown comparison a pipeline can post on the change: per profile, only the figures that
moved beyond their noise (at most MAX_ROWS rows; the figures of one table - per module, step,
action - that moved share a row), "no change beyond noise" when none did. The short comparison is also
written to build/footprint/ci.md, and every figure with its delta and threshold to
build/footprint/compare.md. A base that cannot be measured (no parent commit, a shallow clone,
a failed run) is said and skipped: it never fails the build.

The noise model (PATTERNS): per figure path below a profile, a kind and a threshold; a change
"moves" a figure when it is beyond the threshold:

- exact: any change, however small. ROM: .mpy sizes and the image are computed, not measured.
- abs: a change larger than the threshold in the figure's unit (bytes, writes). The least heaps
  (bisected to cli.RESOLUTION, which is their floor), the live heap figures, allocations, flash
  and bytes on the wire.
- rel: a change larger than the threshold as a fraction of the base value: the timings (cpu.*:
  process start to BootNotification, the station's response times on 127.0.0.1).

The thresholds come from measurements, not guesses: `python -m tools.footprint noise --runs N`
measures one tree (REF, default HEAD, in temporary worktrees so that edits in progress do not
leak in) N times with the quick report, in turn in two worktrees whose paths differ in length
by LONGER (CI compares a checkout with a temporary worktree, and the 64-bit port's heap holds
paths), and writes to tools/footprint/noise.json the spread of
every figure that varied (max - min over the runs; relative: over the smallest) and per pattern
the threshold: MARGIN times the largest spread of the figures it matches, pooled over the
profiles (a few runs see only part of a figure's spread; pooling the figures of a pattern sees
more of it), at least the pattern's floor; an "exact" pattern stays 0 whatever was seen. Each
run's report is kept in build/footprint/noise/; `noise --from` recomputes the file from such
reports without measuring again. Re-run it when the figures or the session change (a new kind
of figure, a new step, other bisection), when CI moves to another machine, or when CI reports
timing moves on changes that cannot have caused them.
"""

import argparse
import datetime
import fnmatch
import json
import os
import pathlib
import platform
import subprocess
import sys

from tools.footprint import cli, report

NOISE = pathlib.Path(__file__).with_name("noise.json")
MARGIN = 2.0  # threshold = MARGIN x the largest spread seen in the noise runs
MAX_ROWS = 12  # figures shown per profile in the short comparison; every one is in compare.md
LONGER = "-" * 48  # noise: every other run in a worktree whose path is this much longer

# (patterns on the figure path below a profile, "|" between alternatives; kind; floor): the
# first match decides, and the figures a pattern matches share its threshold
PATTERNS = (
    ("rom.*", "exact", 0),
    # over wss:// with the boards' 16 kB input buffer the largest message finds its pieces in a heap
    # the buffer splits, where timing decides: runs of one tree spread by kBs, the others by < 2 kB
    # (floor: 1964 bytes was the widest spread measured, at stop 31; three runs at stop 32 saw 499,
    # and CI then saw 1024 between two trees with the same firmware)
    ("ram32.tls_boards.least_heap", "abs", 2 * 1964),
    ("ram*least_heap", "abs", cli.RESOLUTION),  # ram[32].least_heap, .tls.least_heap, .steps.*.least_heap
    # bytes allocated during a step: far less when a collection ran during it, which depends on
    # timing (gc.threshold: an eighth of the heap), so each port's spread is its own
    ("ram32.steps.*.allocated", "abs", 0),
    ("ram.steps.*.allocated", "abs", 0),
    # the live heap after a collection at an idle point; on the 64-bit port it holds the ROMFS
    # image's path (--romfs) and the script's, which are longer or shorter in another checkout
    ("ram32*after_boot|ram32.steps.*.live", "abs", 0),
    ("ram*after_boot|ram.steps.*.live", "abs", 0),
    ("ram*", "abs", 0),  # imports, qstrs, the image buffer, mbedTLS
    ("flash.*", "abs", 0),
    ("data.tls*", "abs", 0),  # wss://: certificates made afresh and ECDSA signatures vary in length
    # what a SIM bills (tools/footprint/bill.py): an ACK rides on an answer or goes alone by
    # when the answer comes (200 ms), and bursts join by timing: a few packets either way
    ("data*bill.*.packets", "abs", 4),
    ("data*bill.*", "abs", 4 * 40 + 100),
    ("data.*", "abs", 0),
    ("cpu.response_us.*", "rel", 0),  # one CALL each (or the median of a few) on 127.0.0.1
    ("cpu.instructions.*", "rel", 0.01),  # callgrind, full reports only: not seen by quick runs, 1 % assumed
    ("cpu.*", "rel", 0),  # boot_ms, ready_ms
    ("*", "abs", 0),  # counts (modules, handled actions) and any figure not named above
)

# the figures a reader looks at first, in this order; the others follow by KINDS, then by how
# much they moved
KINDS = ("rom", "ram32", "flash", "data", "ram", "cpu")
# keys of the per-module, per-step, per-action tables: their figures that moved share a row
TABLES = ("modules", "blocks", "steps", "messages", "response_us", "mbedtls_sites")
FIRST = ("rom.total", "ram32.least_heap", "ram32.after_boot", "ram32.imports", "rom.romfs_image",
         "ram.least_heap", "ram.after_boot", "ram.imports", "flash.bytes", "flash.writes", "data.total",
         "data.tls.total")


def pattern_of(path):
    """(pattern, kind, floor) of the figure path below a profile ("rom.total")."""
    for p in PATTERNS:
        if any(fnmatch.fnmatchcase(path, alt) for alt in p[0].split("|")):
            return p
    raise AssertionError("PATTERNS ends with '*'")


def _below(key):
    """("lite", "rom.total") from "lite.rom.total" (profile names have no dot)."""
    name, _, path = key.partition(".")
    return name, path


# --- the noise model from repeated runs ----------------------------------------------------
def spread(reports):
    """{figure key: {"min", "max", "abs", "rel"}} of the figures that differ between reports of
    the same tree, and the number of figures that were the same in every one."""
    flat = [report.flatten(r) for r in reports]
    keys = set().union(*flat)
    out, same = {}, 0
    for k in sorted(keys):
        vals = [f[k] for f in flat if k in f]
        lo, hi = min(vals), max(vals)
        if len(vals) == len(flat) and lo == hi:
            same += 1
            continue
        if len(vals) < len(flat):  # measured in some runs only: the figure itself is noise
            out[k] = {"min": lo, "max": hi, "abs": abs(hi), "rel": None, "missing": len(flat) - len(vals)}
            continue
        out[k] = {"min": lo, "max": hi, "abs": hi - lo, "rel": round((hi - lo) / abs(lo), 4) if lo else None}
    return out, same


def thresholds(spreads):
    """{pattern: {"kind", "value", "seen", "worst"}}: per pattern of PATTERNS, MARGIN times the
    largest spread among the figures it matches (relative for "rel", in the figure's unit for
    "abs"), at least its floor; 0 for "exact". seen: that largest spread, worst: its figure."""
    out = {}
    for pat, kind, floor in PATTERNS:
        out[pat] = {"kind": kind, "value": floor, "seen": 0, "worst": None}
    for k, s in spreads.items():
        pat, kind, floor = pattern_of(_below(k)[1])
        seen = s["rel"] if kind == "rel" else s["abs"]
        if seen is None:  # relative to 0, or missing in some runs: only an absolute spread
            seen = s["abs"] if kind != "rel" else None
        t = out[pat]
        if seen is not None and seen > t["seen"]:
            t["seen"], t["worst"] = seen, k
    for pat, kind, floor in PATTERNS:
        t = out[pat]
        if kind == "rel":
            t["value"] = max(floor, round(MARGIN * t["seen"], 3))
        elif kind == "abs":
            t["value"] = max(floor, int(-(-MARGIN * t["seen"] // 1)))  # rounded up
        else:
            t["value"] = 0
    return out


def noise_file(reports, ref=None):
    """The content of noise.json from reports of the same tree."""
    sp, same = spread(reports)
    src = reports[0]["source"]
    return {
        "about": "written by `python -m tools.footprint noise` (tools/footprint/ci.py): the spread of the figures "
                 "over repeated quick reports of one tree, and the thresholds the CI comparison takes from it",
        "measured": {"rev": src["rev"] + ("+" if src.get("dirty") else ""), "ref": ref, "runs": len(reports),
                     "profiles": list(reports[0]["profiles"]), "quick": reports[0].get("quick"),
                     "machine": platform.machine(), "cores": os.cpu_count(),
                     "date": datetime.date.today().isoformat(),
                     "seconds_per_run": [r.get("seconds") for r in reports]},
        "margin": MARGIN,
        "thresholds": thresholds(sp),
        "same": same,
        "spread": sp,
    }


def load_thresholds(path=NOISE):
    """{pattern: (kind, value)} from noise.json; a pattern it does not have (added since) gets
    its floor, 0 for "exact" and "abs"."""
    try:
        got = json.loads(pathlib.Path(path).read_text())["thresholds"]
    except (OSError, ValueError, KeyError):
        got = {}
    out = {}
    for pat, kind, floor in PATTERNS:
        t = got.get(pat)
        out[pat] = (kind, t["value"] if t and t.get("kind") == kind else (0 if kind == "exact" else floor))
    return out


def do_noise(a):
    """Measure ref N times (quick) in one temporary worktree, or read --from reports; write
    noise.json and print its thresholds."""
    if a.from_:
        reports = [json.loads(pathlib.Path(f).read_text()) for f in a.from_]
        ref = None
    else:
        ref = a.ref or "HEAD"
        out = cli.OUT / "noise"
        out.mkdir(parents=True, exist_ok=True)
        reports = []
        # Two worktrees whose paths differ in length by LONGER, measured in turn: CI compares the
        # checkout with a temporary worktree, and the 64-bit port's heap holds paths.
        with cli.worktree(ref) as short, cli.worktree(ref, "base" + LONGER) as long:
            for i in range(a.runs):
                wt = (short, long)[i % 2]
                cli.log("noise: run %d of %d of %s in %s" % (i + 1, a.runs, ref, wt))
                f = out / ("run-%d.json" % (i + 1))
                if not cli.report_in(wt, f, out / "run.svg", ["--quick"] + _profiles(a), stdout=sys.stderr):
                    cli.log("noise: measuring %s failed" % ref)
                    return 2
                reports.append(json.loads(f.read_text()))
    if len(reports) < 2:
        cli.log("noise: need at least 2 reports")
        return 2
    data = noise_file(reports, ref)
    pathlib.Path(a.out).write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(threshold_table(data))
    print("\n(written: %s)" % os.path.relpath(a.out))
    return 0


def threshold_table(data):
    m = data["measured"]
    lines = ["noise: %d quick runs of %s (%s), %s; threshold = %.1f x the largest spread, at least the floor"
             % (m["runs"], m["rev"], ", ".join(m["profiles"]), m["date"], data["margin"]), "",
             "| figures | kind | largest spread seen | in | threshold |", "| --- | --- | ---: | --- | ---: |"]
    for pat, t in data["thresholds"].items():
        lines.append("| `%s` | %s | %s | %s | %s |" % (pat.replace("|", "\\|"), t["kind"], _thr(t["kind"], t["seen"]), t["worst"] or "",
                                                    _thr(t["kind"], t["value"])))
    return "\n".join(lines)


def _thr(kind, v):
    if kind == "rel":
        return "%.1f %%" % (100 * v)
    return "any change" if kind == "exact" else "%d" % v


def _profiles(a):
    return ["--profiles", a.profiles] if a.profiles else []


# --- comparing two reports ---------------------------------------------------------------
def moved(kind, value, va, vb):
    """Whether a figure moved from va (base) to vb (new) beyond its noise (kind, value of
    load_thresholds). A figure in one report only (new, gone) always moved."""
    if va is None or vb is None:
        return va is not vb
    d = abs(vb - va)
    if kind == "exact":
        return d != 0
    if kind == "rel":
        return d > value * abs(va) if va else d != 0
    return d > value


def changes(base, new, thr):
    """[{"profile", "path", "base", "new", "kind", "value", "moved"}] of every figure in either
    report (report.flatten), by profile and path; thr: load_thresholds()."""
    fa, fb = report.flatten(base), report.flatten(new)
    out = []
    for k in sorted(set(fa) | set(fb)):
        name, path = _below(k)
        pat = pattern_of(path)[0]
        kind, value = thr[pat]
        va, vb = fa.get(k), fb.get(k)
        out.append({"profile": name, "path": path, "base": va, "new": vb, "kind": kind, "value": value,
                    "moved": moved(kind, value, va, vb)})
    return out


def text_changes(pa, pb):
    """Lines for what changed in a profile besides numbers: reference-session steps that now run
    or fail, actions handled or no longer."""
    out = []
    sa, sb = pa.get("session", {}).get("steps", {}), pb.get("session", {}).get("steps", {})
    for s in list(sb) + [s for s in sa if s not in sb]:
        if sa.get(s) != sb.get(s):
            out.append("step %s: %s -> %s" % (s, sa.get(s, "-"), sb.get(s, "-")))
    ha, hb = set(pa.get("handled", ())), set(pb.get("handled", ()))
    if hb - ha:
        out.append("handles now: " + " ".join(sorted(hb - ha)))
    if ha - hb:
        out.append("no longer handles: " + " ".join(sorted(ha - hb)))
    return out


def _order(row):
    """FIRST, then by kind of figure (ROM and the boards' RAM before the 64-bit port's), the
    largest relative change first."""
    p, va, vb = row["path"], row["base"], row["new"]
    kind = p.split(".")[0]
    rel = abs(vb - va) / abs(va) if va and vb is not None else float("inf")
    return (FIRST.index(p) if p in FIRST else len(FIRST), KINDS.index(kind) if kind in KINDS else len(KINDS), -rel, p)


def _change(row):
    va, vb = row["base"], row["new"]
    if va is None or vb is None:
        return "new" if va is None else "gone"
    d, pct = report.delta(va, vb)
    return "%s (%s)" % (d, pct) if pct else d


def _noise(row):
    return _thr(row["kind"], row["value"]) if row["kind"] == "exact" else "±" + _thr(row["kind"], row["value"])


def _group(path):
    """(group, member) of a figure in a per-module, per-step, per-action table ("ram.steps.*.live",
    "charging"), or (path, None)."""
    parts = path.split(".")
    for i, k in enumerate(parts[:-1]):
        if k in TABLES:
            return ".".join(parts[:i + 1] + ["*"] + parts[i + 2:]), parts[i + 1]
    return path, None


def grouped(rows):
    """Table rows of the moved figures (in _order): a figure alone, or the figures of one table
    that moved in one row (how many, the largest moves, the range of the changes)."""
    groups = {}
    for r in rows:
        groups.setdefault(_group(r["path"])[0], []).append(r)
    out = []
    for g, rs in groups.items():
        if len(rs) == 1:
            r = rs[0]
            out.append("| %s | %s | %s | %s | %s |" % (r["path"], _v(r["base"]), _v(r["new"]), _change(r), _noise(r)))
            continue
        big = sorted(rs, key=lambda r: -abs((r["new"] or 0) - (r["base"] or 0)))
        names = ", ".join("%s %s" % (_group(r["path"])[1], _change(r).split(" ")[0]) for r in big[:3])
        ds = [r["new"] - r["base"] for r in rs if r["base"] is not None and r["new"] is not None]
        span = ("%+d to %+d" % (min(ds), max(ds)) if min(ds) != max(ds) else "%+d each" % ds[0]) if ds else ""
        out.append("| `%s`: %d (%s%s) | | | %s | %s |" % (g, len(rs), names, ", ..." if len(rs) > 3 else "", span,
                                                       _noise(rs[0])))
    return out


def _v(v):
    return "" if v is None else ("%d" % v if v == int(v) else "%s" % v)


def _src(d):
    return d["source"]["rev"] + ("+" if d["source"].get("dirty") else "")


def _head(new, base=None, ref=None):
    what = "quick" if new.get("quick") else "full"
    if base is None:
        return "### Footprint of %s (%s report)" % (_src(new), what)
    return "### Footprint: %s -> %s (%s reports, base `%s`)" % (_src(base), _src(new), what, ref)


def summary(base, new, thr, ref, full="build/footprint/compare.md"):
    """The short markdown comparison: per profile, the figures beyond their noise."""
    rows = changes(base, new, thr)
    pa, pb = base["profiles"], new["profiles"]
    lines = [_head(new, base, ref), ""]
    for name in list(pb) + [n for n in pa if n not in pb]:
        if name not in pa or name not in pb:
            lines += ["**%s**: %s" % (name, "not in the base" if name not in pa else "no longer measured"), ""]
            continue
        mine = sorted((r for r in rows if r["profile"] == name and r["moved"]), key=_order)
        notes = text_changes(pa[name], pb[name])
        if not mine and not notes:
            lines += ["**%s**: no change beyond noise" % name, ""]
            continue
        lines.append("**%s**: %d figure%s moved beyond noise" % (name, len(mine), "" if len(mine) == 1 else "s"))
        lines += ["- " + n for n in notes]
        if mine:
            shown = grouped(mine)
            lines += ["", "| figure | base | new | change | noise |", "| --- | ---: | ---: | ---: | ---: |"]
            lines += shown[:MAX_ROWS]
            if len(shown) > MAX_ROWS:
                lines.append("| ... %d more in %s | | | | |" % (len(shown) - MAX_ROWS, full))
        lines.append("")
    lines.append(report.table_budget_line(new).replace("hard budgets", "Hard budgets") + ". Every figure: %s; "
                 "noise thresholds: tools/footprint/noise.json." % full)
    return "\n".join(lines)


def full_table(base, new, thr, ref):
    """Markdown: every figure of both reports, its delta, its noise threshold, whether it moved."""
    rows = changes(base, new, thr)
    n = sum(r["moved"] for r in rows)
    lines = [_head(new, base, ref).replace("###", "#"), "",
             "%d figures, %d beyond their noise (tools/footprint/ci.py PATTERNS, thresholds from "
             "tools/footprint/noise.json)." % (len(rows), n), "",
             "| figure | base | new | delta | % | noise | moved |", "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append("| %s.%s | %s | %s | %s | %s | %s | %s |" % (
            r["profile"], r["path"], report._v(r["base"]), report._v(r["new"]), *report.delta(r["base"], r["new"]),
            _noise(r), "**yes**" if r["moved"] else ""))
    return "\n".join(lines) + "\n"


def no_base(new, ref, why):
    return "%s\n\nNo comparison: the base `%s` could not be measured (%s).\n\n%s." % (
        _head(new), ref, why, report.table_budget_line(new).replace("hard budgets", "Hard budgets"))


# --- the CI command --------------------------------------------------------------------------
def base_ref():
    return os.environ.get("FOOTPRINT_BASE") or "HEAD~1"


def measure_base(ref, a, cwd=None, hint=None):
    """(report, None) of git ref measured in a temporary worktree, or (None, why not); hint: a
    report whose least heaps start its bisections (cli.least_heaps)."""
    cwd = cwd or cli.ROOT
    try:
        rev = subprocess.run(["git", "rev-parse", "--verify", "--quiet", ref + "^{commit}"], cwd=cwd,
                             capture_output=True, text=True)
    except OSError as e:
        return None, "no git: %s" % e
    if rev.returncode:
        shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=cwd, capture_output=True,
                                 text=True).stdout.strip() == "true"
        return None, "not in this clone: %s" % (
            "a shallow clone; fetch more history (git fetch --deepen=1)" if shallow else
            "no such commit (no parent commit?)")
    base_json, base_svg = cli.OUT / "base.json", cli.OUT / "base.svg"
    try:
        base_json.unlink()
    except FileNotFoundError:
        pass
    try:
        with cli.worktree(rev.stdout.strip()) as wt:
            args = cli._passed(a) + (["--hint", str(pathlib.Path(hint).resolve())] if hint else [])
            ok = cli.report_in(wt, base_json, base_svg, args, stdout=sys.stderr)
    except subprocess.CalledProcessError as e:
        return None, "git worktree add failed: %s" % "".join((e.stderr or "").strip().splitlines()[-1:])
    try:
        base = json.loads(base_json.read_text()) if ok else None
    except (OSError, ValueError):
        base = None
    if not base or "profiles" not in base:
        return None, "its report failed; the log is above"
    return base, None


def do_ci(a):
    """The working tree's report (exit status: its hard budgets), then the comparison with the
    base, printed and written; a base that cannot be measured is said, never fails."""
    cli.OUT.mkdir(parents=True, exist_ok=True)
    a.no_docs = True
    rc = cli.do_report(a)
    new = json.loads(pathlib.Path(a.json).read_text())
    ref = base_ref()
    cli.log("footprint ci: measuring the base %s" % ref)
    base, why = measure_base(ref, a, hint=a.json)  # its bisections start from our least heaps
    short, full = cli.OUT / "ci.md", cli.OUT / "compare.md"
    if base is None:
        text = no_base(new, ref, why)
        try:
            full.unlink()  # not a stale one from another run
        except FileNotFoundError:
            pass
    else:
        thr = load_thresholds()
        text = summary(base, new, thr, ref, os.path.relpath(full, cli.ROOT))
        full.write_text(full_table(base, new, thr, ref))
    short.write_text(text + "\n")
    print()
    print(text)
    return rc


# --- main -----------------------------------------------------------------------------------
def main(argv):
    p = argparse.ArgumentParser(prog="python -m tools.footprint", description=__doc__.split("\n")[0])
    p.add_argument("cmd", choices=("ci", "noise"))
    p.add_argument("ref", nargs="?", help="noise: the git ref to measure (default HEAD)")
    p.add_argument("--quick", action="store_true", help="ci: least heap only where budgeted, no TLS bisection, no valgrind")
    p.add_argument("--no-mp32", action="store_true", help="leave out the 32-bit frozen port (RAM budget unchecked)")
    p.add_argument("--profiles", help="comma-separated (default: all)")
    p.add_argument("--json", default=str(cli.ROOT / "build" / "footprint.json"), help="ci: the working tree's report")
    p.add_argument("--svg", default=str(cli.ROOT / "build" / "footprint.svg"))
    p.add_argument("--runs", type=int, default=3, help="noise: reports of the same tree")
    p.add_argument("--from", dest="from_", nargs="+", metavar="REPORT", help="noise: reports already measured")
    p.add_argument("--out", default=str(NOISE), help="noise: where the noise model goes")
    a = p.parse_intermixed_args(argv)
    if a.cmd == "noise":
        return do_noise(a)
    return do_ci(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
