"""pytest fixtures: a CSMS (the `ocpp` package) on 127.0.0.1, simulated stations on the
MicroPython unix port, and test PKI. Every frame a station sends is validated against the
official OCPP 2.0.1 schemas; a violation fails the test that caused it."""

import pathlib

import pytest

from helpers import CsmsThread, Sim, make_ca, make_server_cert, pem

collect_ignore = ["mp"]  # MicroPython tests: run on the unix port by test_mp_units.py


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
