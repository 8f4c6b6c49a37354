"""tools/fleet_locust.py: the fleet as a Locust load profile (docs/fleet.md). One headless
`locust --master` and two `--worker` processes on 127.0.0.1 run 10 stations for 20 s against
the bundled CSMS (tools/csms.py, in this process): both workers ran stations, every station
booted once, the master's CSV has a row per action with its percentiles, its counts are what
the CSMS received (a station's CALL cut off by the end of the run is not reported), the CSMS's
requests are reported as the stations answered them, and nothing failed."""

import collections
import importlib.util
import csv
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from helpers import ROOT, wait_until

# (not imported here: locust patches the standard library with gevent when imported, which cuts
# the pytest-xdist workers off from their controller; it runs in its own processes)
if importlib.util.find_spec("locust") is None:
    pytest.skip("locust is not installed (requirements.txt)", allow_module_level=True)
from ocpp.v201 import call  # noqa: E402

USERS = 10
RUN_S = 20


def _port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def procs():
    """Processes started in sessions of their own: each is ended with its process group (its
    fleet's MicroPython processes too)."""
    out = []
    yield out
    for p in out:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    end = time.monotonic() + 10
    for p in out:
        try:
            p.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(p.pid, signal.SIGKILL)  # whatever of its group is left
        except ProcessLookupError:
            pass
        p.wait(5)


def _locust(procs, log, *args):
    p = subprocess.Popen([sys.executable, "-m", "locust", "-f", "tools/fleet_locust.py", *args], cwd=str(ROOT),
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(p)
    return p


def _calls_received(csms):
    """The CALLs the CSMS received per action, once each (a CALL sent again has the same id)."""
    seen, n = set(), collections.Counter()
    for f in list(csms.frames):
        if f.direction == "in" and f.kind == 2 and (f.station, f.id) not in seen:
            seen.add((f.station, f.id))
            n[f.action] += 1
    return n


def test_locust_master_two_workers(csms, procs, tmp_path):
    port = _port()
    logs = [open(tmp_path / name, "w+") for name in ("master.log", "worker1.log", "worker2.log")]
    t0 = time.monotonic()
    master = _locust(procs, logs[0], "--master", "--headless", "--expect-workers", "2",
                     "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--host", csms.url,
                     "--users", str(USERS), "--spawn-rate", str(USERS), "--run-time", "%ds" % RUN_S,
                     "--csv", str(tmp_path / "run"), "--station-ids", "LT{:07d}", "--fleet-state",
                     str(tmp_path / "state"), "--fleet-fresh", "--sessions-per-hour", "720",
                     "--session-minutes", "0.05")
    for log in logs[1:]:
        _locust(procs, log, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port))

    def logs_text():
        out = []
        for log in logs:
            log.flush()
            log.seek(0)
            out.append(log.read()[-3000:])
        return "\n-----\n".join(out)

    # all the stations up: the CSMS asks each for a variable (the stations time their answers)
    wait_until(lambda: len(csms.handlers) == USERS, 30, lambda: "%d stations connected: %s\n%s"
               % (USERS, sorted(csms.handlers), logs_text()))
    wait_until(lambda: _calls_received(csms)["BootNotification"] == USERS, 15, "the boots")
    asked = sorted(csms.handlers)
    for ident in asked:
        r = csms.call(ident, call.GetVariables(get_variable_data=[
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]))
        assert r.get_variable_result[0]["attribute_status"] == "Accepted"

    try:
        rc = master.wait(RUN_S + 30)
    except subprocess.TimeoutExpired:
        pytest.fail("the master did not end:\n" + logs_text())
    took = time.monotonic() - t0
    text = logs_text()
    assert rc == 0, "master exit code %d (1: failures)\n%s" % (rc, text)
    assert "Traceback" not in text, text

    # both workers ran stations: worker w's numbers start at w * 100000 + 1
    received = _calls_received(csms)
    booted = sorted({f.station for f in list(csms.frames) if f.direction == "in" and f.action == "BootNotification"})
    assert len(booted) == USERS and received["BootNotification"] == USERS, booted
    assert {s[:4] for s in booted} == {"LT00", "LT01"}, booted  # LT00xxxxx: worker 0, LT01xxxxx: worker 1
    assert csms.violations == []

    with open(tmp_path / "run_stats.csv") as f:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(f)}
    ocpp = {name: int(r["Request Count"]) for (kind, name), r in rows.items() if kind == "OCPP"}
    # what Locust counted is what the CSMS received, less the CALLs the end of the run cut off (at
    # most one per station: a station has one CALL outstanding at a time)
    assert set(ocpp) == set(received), (ocpp, received)
    for action, n in received.items():
        assert n - USERS <= ocpp[action] <= n, (action, ocpp, received)
    assert sum(received.values()) - sum(ocpp.values()) <= USERS, (ocpp, received)
    assert ocpp["BootNotification"] == USERS
    assert ocpp.get("TransactionEvent", 0) >= USERS, ocpp  # sessions ran
    for name in ("BootNotification", "TransactionEvent"):
        r = rows[("OCPP", name)]
        for q in ("50%", "95%", "99%"):
            assert r[q] not in ("", "N/A") and float(r[q]) > 0, (name, q, r)
    # the CSMS's requests, answered by the stations
    assert int(rows[("CSMS", "GetVariables")]["Request Count"]) == len(asked)
    assert all(int(r["Failure Count"]) == 0 for r in rows.values()), rows
    with open(tmp_path / "run_failures.csv") as f:
        assert list(csv.DictReader(f)) == []
    print("locust master and 2 workers: %.1f s; OCPP requests %s, CSMS received %s"
          % (took, dict(ocpp), dict(received)))
