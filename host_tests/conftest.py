"""pytest fixtures: a CSMS (the `ocpp` package) on 127.0.0.1, simulated stations on the
MicroPython unix port, and test PKI. Every frame a station sends is validated against the
official OCPP 2.0.1 schemas; a violation fails the test that caused it."""

import json
import os
import pathlib
import re

import pytest

from helpers import CsmsThread, Sim, make_ca, make_server_cert, pem
import octt

collect_ignore = ["mp"]  # MicroPython tests: run on the unix port by test_mp_units.py


# --- OCTT test cases (docs/octt-checklist.csv, docs/tests.md "Conformance") ---------------
def pytest_addoption(parser):
    parser.addoption("--octt-results", metavar="FILE",
                     help="write the outcome of every @pytest.mark.octt test to FILE (JSON)")


def pytest_configure(config):
    config.addinivalue_line("markers", "octt(*ids): the OCTT Core test cases this test plays in full "
                            "(ids of docs/octt-checklist.csv)")


_NAMED = re.compile(r"test_(TC_[A-Z]_\d+_CS)")


def pytest_collection_modifyitems(config, items):
    """Every octt id must be an applicable case of the checklist; under OCPP_PROFILE a test of a
    case the profile's build leaves out is skipped as "not in this build"."""
    cases = octt.checklist()
    profile = os.environ.get("OCPP_PROFILE")
    bad = []
    for item in items:
        ids = octt.ids_of(item)
        for i in ids:
            if i not in cases:
                bad.append("%s: %s is not in docs/octt-checklist.csv" % (item.nodeid, i))
            elif cases[i]["applies"] != "yes":
                bad.append("%s: %s does not apply to this station (%s)" % (item.nodeid, i, cases[i]["reason"]))
        named = _NAMED.match(item.name)
        if named and ids != [named.group(1)]:
            bad.append("%s: a test named after %s must carry exactly that id (it has %s)"
                       % (item.nodeid, named.group(1), ids or "none"))
        if len({cases[i]["needs"] for i in ids if i in cases}) > 1:
            bad.append("%s: its cases need different modules (%s): split the test" % (item.nodeid, ", ".join(ids)))
        if ids and profile:
            why = [octt.missing(cases[i], profile) for i in ids if i in cases]
            if all(why):
                item.add_marker(pytest.mark.skip(reason=octt.NOT_IN_BUILD + why[0]))
        if ids:  # reports carry it, also from pytest -n workers to the controller
            item.user_properties.append(("octt", ids))
    if bad:
        raise pytest.UsageError("bad @pytest.mark.octt ids:\n  " + "\n  ".join(bad))


def pytest_runtest_logreport(report):
    """The outcome of each marked test: failed if any phase failed, else skipped if one was."""
    ids = dict(report.user_properties).get("octt")
    if not ids:
        return
    res = _results.setdefault(report.nodeid, {"ids": list(ids), "outcome": "passed", "longrepr": ""})
    if report.failed:
        res["outcome"] = "failed"
        res["longrepr"] = str(report.longrepr)[-2000:]
    elif report.skipped and res["outcome"] == "passed":
        res["outcome"] = "skipped"
        why = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        res["longrepr"] = why[len("Skipped: "):] if why.startswith("Skipped: ") else why


_results = {}  # nodeid -> {"ids", "outcome", "longrepr"} of this process's session


def pytest_sessionfinish(session):
    path = session.config.getoption("--octt-results")
    if path and not hasattr(session.config, "workerinput"):  # the controller writes, not pytest -n workers
        pathlib.Path(path).write_text(json.dumps({"profile": os.environ.get("OCPP_PROFILE") or "source",
                                                  "tests": _results}, indent=1))


@pytest.fixture
def closing():
    """keep(obj) -> obj, closed at the end of the test."""
    objs = []

    def keep(obj):
        objs.append(obj)
        return obj

    yield keep
    for o in reversed(objs):
        o.close()


@pytest.fixture
def csms():
    c = CsmsThread()
    yield c
    c.close()
    assert not c.violations, "station sent frames that break the OCPP 2.0.1 schemas: %r" % c.violations


@pytest.fixture
def sims(tmp_path):
    """Factory: sims(csms_url, **options) starts a station with its flash in tmp_path."""
    started = []

    def start(url=None, state=None, **kw):
        s = Sim(state or tmp_path / ("state%d" % len(started)), url, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()
        assert not s.crashed(), "station crashed:\n" + "\n".join(s.log)


@pytest.fixture
def sim(csms, sims):
    """A station connected to the csms fixture and Accepted."""
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Accepted")
    return s


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A trusted CA with a localhost server certificate, and an untrusted CA with one."""
    d = tmp_path_factory.mktemp("pki")
    ca, ca_key = make_ca("OCPP2.Lite test root")
    rogue, rogue_key = make_ca("Rogue root")
    p = {
        "dir": d,
        "ca": ca, "ca_key": ca_key,
        "server": make_server_cert(ca, ca_key, "localhost"),
        "other_host": make_server_cert(ca, ca_key, "otherhost.example"),
        "rogue_server": make_server_cert(rogue, rogue_key, "localhost"),
    }
    (d / "ca.pem").write_text(pem(ca))
    (d / "rogue.pem").write_text(pem(rogue))
    (d / "bundle.pem").write_text(pem(rogue) + pem(ca))
    p["ca_pem"] = d / "ca.pem"
    p["rogue_pem"] = d / "rogue.pem"
    p["bundle_pem"] = d / "bundle.pem"
    return p
