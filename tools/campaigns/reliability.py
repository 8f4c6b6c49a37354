"""tools/campaigns/reliability.py - `make reliability`: the full fault campaigns
(host_tests/test_campaign_*, docs/reliability.md) and their table: kills, sessions, messages
checked, frames fuzzed, failures; and the table of the virtual-time soak (simulated days,
sessions, outages, invariant checks, ...).

    python -m tools.campaigns [run] [pytest args...]   run the full campaigns, then print the tables
    python -m tools.campaigns table                    print the tables of the last run (build/reliability/)
    python -m tools.campaigns table --docs             ... and write them into docs/reliability.md

A full run of every campaign (`run` without pytest arguments) writes its tables into
docs/reliability.md between the markers below (DOC_BEGIN, DOC_END), with the commit and the
time it took; a partial run (pytest arguments such as -k) only prints them.
Exit status: pytest's (non-zero when a campaign failed)."""

import os
import subprocess
import sys
import time

from tools.campaigns.records import COUNTS, OUT, ROOT, SOAK, load
from tools.docblock import replace_block, source_rev

DOC = ROOT / "docs" / "reliability.md"
DOC_BEGIN = "<!-- reliability-report: written by `make reliability`; do not edit -->"
DOC_END = "<!-- reliability-report end -->"


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


def write_doc(docs, header):
    """Put the tables of docs into docs/reliability.md between the markers."""
    text = "%s\n\n%s\n\nThe soak, per port:\n\n%s\n" % (header, table(docs), soak_table(docs))
    replace_block(DOC, DOC_BEGIN, DOC_END, text)
    print("(written: %s)" % DOC.relative_to(ROOT))


def main(argv):
    if argv[:1] == ["table"]:
        docs = load()
        print(table(docs))
        print()
        print(soak_table(docs))
        if "--docs" in argv[1:]:
            write_doc(docs, "The tables of the last run in build/reliability/ (`python -m tools.campaigns table --docs`, "
                            "source %s)." % source_rev())
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
    if not args and docs:
        write_doc(docs, "The latest full run: `make reliability` at %s, %.0f s, pytest exit status %d." % (
            source_rev(), time.monotonic() - t0, rc))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
