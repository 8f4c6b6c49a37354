"""tools/campaigns/records.py - what the fault campaigns record (issue 9, docs/reliability.md):
every campaign is a test file host_tests/test_campaign_<name>.py whose tests run a small sample
in `make test` and the full campaign in `make reliability` (OCPP_LITE_CAMPAIGN=full), and record
what they checked with record(), which tools/campaigns/reliability.py puts in its table."""

import json
import os
import pathlib
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]

FULL = os.environ.get("OCPP_LITE_CAMPAIGN") == "full"
OUT = ROOT / "build" / "reliability"
COUNTS = ("kills", "sessions", "messages", "frames", "failures")
SOAK = ("days", "sessions", "outages", "power_cuts", "reboots", "fallbacks", "checks", "given_up", "failures")


def scale(sample, full):
    """The sample size in `make test`, the full one in `make reliability`."""
    return full if FULL else sample


def record(test, seconds, **counts):
    """Record what one campaign test checked: kills (power cuts), sessions (charging sessions
    run), messages (OCPP messages checked), frames (hostile frames sent), failures (must stay
    0: a test asserts on failures itself, after recording them) and free-form notes. One file per
    test; tools/campaigns/reliability.py sums them by campaign. soak: the soak's own figures (SOAK), for
    the soak table."""
    bad = set(counts) - set(COUNTS) - {"notes", "soak"}
    if bad:
        raise ValueError("unknown counts %s" % sorted(bad))
    OUT.mkdir(parents=True, exist_ok=True)
    doc = dict({k: 0 for k in COUNTS}, test=test, full=FULL, seconds=round(seconds, 1), at=time.time(), **counts)
    (OUT / (test + ".json")).write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def load():
    """Every record of the last run."""
    return [json.loads(p.read_text()) for p in sorted(OUT.glob("*.json"))]
