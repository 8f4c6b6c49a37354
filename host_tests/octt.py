"""The OCTT Core checklist (docs/octt-checklist.csv) and what the tests claim of it: the
@pytest.mark.octt ids of a test, and whether a build profile has the code a case needs."""

import csv
import pathlib

from tools import profiles

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKLIST = ROOT / "docs" / "octt-checklist.csv"
NOT_IN_BUILD = "not in this build: "


def checklist():
    """{id: row} in the file's order; row: id, title, block, cs (M/C), digest, applies (yes/no),
    reason, needs (modules the case needs, "!module": applies only without it)."""
    with open(CHECKLIST, newline="") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def ids_of(item):
    return [i for m in item.iter_markers("octt") for i in m.args]


def missing(row, profile):
    """Why profile's build cannot play the case of row ("" when it can)."""
    mods = profiles.PROFILES[profile]
    for need in row["needs"].split():
        if need.startswith("!"):
            if "ocpp_lite/" + need[1:] in mods:
                return "has ocpp_lite/%s (%s)" % (need[1:], row["reason"])
        elif "ocpp_lite/" + need not in mods:
            return "no ocpp_lite/" + need
    return ""
