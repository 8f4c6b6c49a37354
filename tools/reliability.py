"""tools/reliability.py - `make reliability`: the full fault campaigns (host_tests/test_campaign_*,
README "Reliability") and their table: kills, sessions, messages checked, frames fuzzed, failures;
and the table of the virtual-time soak (simulated days, sessions, outages, invariant checks, ...).

    reliability.py [run] [pytest args...]   run the full campaigns, then print the table
    reliability.py table                    print the table of the last run (build/reliability/)
Exit status: pytest's (non-zero when a campaign failed)."""

import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "reliability"
COUNTS = ("kills", "sessions", "messages", "frames", "failures")
SOAK = ("days", "sessions", "outages", "power_cuts", "reboots", "fallbacks", "checks", "given_up", "failures")


def table(docs):
    """Markdown table: one row per campaign (the tests of a test_campaign_<name> file), and the
    total."""
    rows = {}
    for d in docs:
        name = d["test"].split("::")[0].replace("test_campaign_", "")
        r = rows.setdefault(name, dict({k: 0 for k in COUNTS}, tests=0, seconds=0.0, full=True))
        for k in COUNTS:
            r[k] += d.get(k, 0)
        r["tests"] += 1
        r["seconds"] += d.get("seconds", 0)
        r["full"] = r["full"] and d.get("full", False)
    total = dict({k: sum(r[k] for r in rows.values()) for k in COUNTS + ("tests", "seconds")},
                 full=all(r["full"] for r in rows.values()))
    head = ("campaign", "tests") + COUNTS + ("seconds",)
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for name, r in sorted(rows.items()) + [("**total**", total)]:
        label = name if r["full"] else name + " (sample)"
        lines.append("| " + " | ".join([label] + [str(r[k]) for k in head[1:-1]] + ["%.0f" % r["seconds"]]) + " |")
    return "\n".join(lines)


def soak_table(docs):
    """Markdown table of the soak runs (host_tests/test_campaign_soak.py): one row per port, with
    simulated days, sessions, outages, power cuts, reboots, network-slot fallbacks, invariant
    checks, TransactionEvents given up per E13, failures."""
    runs = [d for d in docs if d.get("soak")]
    if not runs:
        return ""
    head = ("run",) + SOAK + ("seconds",)
    lines = ["| " + " | ".join(head).replace("_", " ") + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for d in runs:
        s = d["soak"]
        label = d["test"].split("::")[-1].replace("soak_", "") + ("" if d.get("full") else " (sample)")
        lines.append("| " + " | ".join([label] + [str(s.get(k, 0)) for k in SOAK] + ["%.0f" % d.get("seconds", 0)]) + " |")
    return "\n".join(lines)


def load():
    return [json.loads(p.read_text()) for p in sorted(OUT.glob("*.json"))]


def main(argv):
    if argv[:1] == ["table"]:
        docs = load()
        print(table(docs))
        print()
        print(soak_table(docs))
        return 0
    args = argv[1:] if argv[:1] == ["run"] else argv
    for p in OUT.glob("*.json"):
        p.unlink()
    t0 = time.monotonic()
    files = sorted(str(p) for p in (ROOT / "host_tests").glob("test_campaign_*.py"))
    rc = subprocess.run([sys.executable, "-m", "pytest", "-q"] + files + args, cwd=ROOT,
                        env=dict(os.environ, OCPP_LITE_CAMPAIGN="full")).returncode
    docs = load()
    print()
    print("Fault campaigns (make reliability, %.0f s, pytest exit status %d)" % (time.monotonic() - t0, rc))
    print(table(docs))
    print()
    print("Virtual-time soak")
    print(soak_table(docs))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
