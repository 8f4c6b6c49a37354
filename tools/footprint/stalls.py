"""python -m tools.footprint stalls [--profile P] [--runs N] [--sessions N] [--json PATH]: issue 16's figures.

The longest event-loop stall per step of the reference session (the simulator started with
`--stalls 1`: a task that asks to wake every 2 ms reports how much later it came back, the
longest since the previous probe), the stall of a certificate install and of a firmware
signature check, and the contactor's opening latency after C -> B and after a feedback fault,
idle and during the worst stall (host_tests/mp/stallbench.py on the fake board). Milliseconds
on this host's unix port (a board is some 50-100 times slower: docs/footprint.md "Loop stalls
and the interlock"). The full footprint report has them too (cpu.stalls_ms per profile, and
"stalls"); this command measures one profile."""

import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

from tools.footprint import rom
from tools.footprint import session as fs

# Instructions per second assumed for the boards (millions): one instruction per clock at the
# stock clock (ESP32 240 MHz, RP2040 125 MHz), an optimistic figure, not a measurement
# (docs/footprint.md "Loop stalls and the interlock").
IPS = {"ESP32": 240, "RP2040": 125}
ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "footprint"


def session_stalls(profile, sessions=3, image=None, extra=()):
    """{step: longest stall in ms} of the reference session on profile's image (built unless
    given; extra: more station options): the least of sessions runs (a stall is wall time, and
    this host is shared: preemption adds to it)."""
    if image is None:
        _, _, image = rom.build(profile, OUT)
    out = {}
    for _ in range(sessions):
        res, _ = fs.run(image, extra=["--stalls", "1", *extra])
        for name, m in res["mem"].items():
            v = m.get("stall")
            if v is not None and (out.get(name) is None or v / 1000 < out[name]):
                out[name] = round(v / 1000, 1)
            out.setdefault(name, None)
    return out


def instructions(what, n=5):
    """Instructions (callgrind, this host's unix port) of one `what` check, or None without
    valgrind: the difference between running it n times and 0 times, over n."""
    if shutil.which("valgrind") is None:
        return None
    counts = []
    with tempfile.TemporaryDirectory() as d:
        for k in (0, n):
            out = pathlib.Path(d) / ("cg.%d" % k)
            subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % out, fs.MICROPYTHON,
                            str(ROOT / "host_tests" / "mp" / "stallbench.py"), "count", what, str(k)],
                           capture_output=True, text=True, timeout=900, check=True)
            m = re.search(r"^(?:summary|totals): (\d+)", out.read_text(errors="replace"), re.M)
            counts.append(int(m.group(1)))
    return (counts[1] - counts[0]) // n


def bench(runs):
    p = subprocess.run([fs.MICROPYTHON, str(ROOT / "host_tests" / "mp" / "stallbench.py"), str(runs)],
                       capture_output=True, text=True, timeout=600)
    if p.returncode:
        raise SystemExit("stallbench failed:\n" + p.stdout + p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def host_ips(data):
    """This host's instructions per second on the certificate check (callgrind count over its
    best time), or None without valgrind."""
    n = data["instructions"].get("install_certificate")
    return n / (data["bench"]["install_certificate"]["total"] / 1e3) if n else None


def measure(runs=5):
    """The figures that do not depend on the build profile: the signature checks' stalls and
    the contactor's opening latencies (bench), their instructions (callgrind, None without
    valgrind). The full footprint report keeps them as "stalls"."""
    return {"bench": bench(runs), "instructions": {w: instructions(w) for w in ("install_certificate", "firmware_check")}}


def table(data):
    ips = host_ips(data)
    head = "Longest event-loop stall per reference-session step (%s, ms" % data["profile"]
    if ips:
        head += "; on the boards at %.1f G instructions/s here: %s" % (
            ips / 1e9, ", ".join("%s x%.0f" % (b, ips / (v * 1e6)) for b, v in IPS.items()))
    lines = [head + ")"]
    for name, ms in data["steps"].items():
        est = "" if ms is None or not ips else "   " + "  ".join(
            "%s %5.0f" % (b, ms * ips / (v * 1e6)) for b, v in IPS.items())
        lines.append("  %-28s %6s%s" % (name, "-" if ms is None else "%.1f" % ms, est))
    return "\n".join(lines + bench_lines(data))


def bench_lines(data):
    """The signature checks' stalls, the contactor's latencies and the board estimates of
    data (measure()'s figures)."""
    lines = []
    b = data["bench"]
    lines += ["Stalls of the signature checks (ms): the longest step (in steps; the total)"]
    for name, k in (("InstallCertificate", "install_certificate"), ("firmware signature", "firmware_check")):
        lines.append("  %-28s %6.2f  (total %.2f)" % (name, b[k]["longest_step"], b[k]["total"]))
    lines.append("Contactor opening latency, min-max ms (budget %d)" % b["budget_ms"])
    for k, (lo, hi) in sorted(b["contactor"].items()):
        lines.append("  %-28s %3d-%d" % (k, lo, hi))
    ins = data["instructions"]
    if ins.get("install_certificate"):
        def step(k):
            return ins[k] * b[k]["longest_step"] / b[k]["total"]

        lines.append("Instructions (callgrind, M) and board estimates (ms) at %s" %
                     ", ".join("%s %d M/s" % kv for kv in IPS.items()))
        for name, n in (("InstallCertificate, total", ins["install_certificate"]),
                        ("InstallCertificate, longest", step("install_certificate")),
                        ("firmware signature, total", ins["firmware_check"]),
                        ("firmware signature, longest", step("firmware_check"))):
            lines.append("  %-28s %6.1f M  " % (name, n / 1e6) +
                         "  ".join("%s %5.0f ms" % (b_, n / ips / 1e3) for b_, ips in IPS.items()))
    return lines


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--profile", default="core")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--sessions", type=int, default=3, help="reference sessions (the least stall per step)")
    p.add_argument("--json", default=str(OUT / "stalls.json"))
    a = p.parse_args(argv)
    data = dict(measure(a.runs), profile=a.profile, steps=session_stalls(a.profile, a.sessions))
    pathlib.Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(a.json).write_text(json.dumps(data, indent=1) + "\n")
    print(table(data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
