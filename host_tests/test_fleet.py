"""tools/fleet.py and boards/unix/fleet.py: 20 stations in 2 MicroPython processes against the
bundled CSMS (docs/fleet.md). Every station boots with a schema-valid BootNotification, scripted
sessions run and their TransactionEvents reach the CSMS in order per station, the fleet's
counters match what the CSMS received, and an outage makes the stations it took down reconnect.
The same fleet against a CSMS over wss:// (TLS with the test root, not the bundled ws://)."""

import collections

import pytest

from helpers import CsmsThread, server_ssl, wait_until
from tools import fleet as fleet_mod

N = 20
FAST = {  # reconnect within a second or two after an outage
    "OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
    "OCPPCommCtrlr.RetryBackOffRandomRange": 1,
}


@pytest.fixture
def fleet(csms, tmp_path):
    f = fleet_mod.Fleet(csms.url, N, "FT{:03d}", 1, tmp_path / "fleet", processes=2, sets=FAST, ramp=50,
                        stats_s=0.5)
    yield f
    f.close()


def _received(csms, action, station=None):
    """The CSMS's CALLs of action from the stations, once each (a CALL sent again after a lost
    answer has the same message id), in the order received."""
    seen, out = set(), []
    for f in list(csms.frames):
        if f.direction == "in" and f.kind == 2 and f.action == action and (station is None or f.station == station):
            if (f.station, f.id) not in seen:
                seen.add((f.station, f.id))
                out.append(f)
    return out


def _total(fleet, key):
    t = fleet.totals()
    return t and t[key]


def _all_booted(fleet, csms):
    wait_until(lambda: _total(fleet, "boot") == N, 60,
               lambda: "all booted: %r; log %s" % (fleet.totals(), [p.log[-3:] for p in fleet.procs]))
    boots = _received(csms, "BootNotification")
    assert sorted(f.station for f in boots) == fleet.ids  # each station once
    assert all(f.payload["chargingStation"]["serialNumber"] == f.station for f in boots)


def _in_order(csms, ident):
    """The TransactionEvents of station ident as the CSMS received them: per transaction, seqNo
    0, 1, 2, ..., Started first, Ended last."""
    by_tx = collections.defaultdict(list)
    for f in _received(csms, "TransactionEvent", ident):
        by_tx[f.payload["transactionInfo"]["transactionId"]].append(f.payload)
    for tx, evs in by_tx.items():
        assert [e["seqNo"] for e in evs] == list(range(len(evs))), (ident, tx)
        assert evs[0]["eventType"] == "Started", (ident, tx)
        assert all(e["eventType"] == "Updated" for e in evs[1:-1]), (ident, tx)
    return by_tx


def test_fleet_sessions_counts_and_outage(fleet, csms):
    assert fleet.nproc == 2 and len(fleet.ids) == N
    _all_booted(fleet, csms)
    assert csms.violations == []

    # the scripted load: a session a second per idle station on average, about 1 s of charging, two cards
    load = fleet_mod.Load(fleet, per_hour=3600, minutes=0.02, cards=[("AA11BB22", 3), ("CC33DD44", 1)],
                          seed=1).start()
    try:
        wait_until(lambda: (_total(fleet, "txe") or 0) >= N, 60,
                   lambda: "%d ended transactions: %r" % (N, fleet.totals()))
    finally:
        load.stop()
    assert load.sessions >= N
    # every session the script left open is ended, so every station is idle again
    for ident in fleet.ids:
        fleet.send(ident, op="unplug", evse=1)
    wait_until(lambda: _total(fleet, "txs") == _total(fleet, "txe"), 20, lambda: repr(fleet.totals()))

    # what the fleet counted is what the CSMS received: transactions, and frames both ways
    def same():
        t = fleet.totals()
        started = [f for f in _received(csms, "TransactionEvent") if f.payload["eventType"] == "Started"]
        ended = [f for f in _received(csms, "TransactionEvent") if f.payload["eventType"] == "Ended"]
        into = sum(1 for f in list(csms.frames) if f.direction == "in")
        out = sum(1 for f in list(csms.frames) if f.direction == "out")
        return (t["txs"], t["txe"], t["sent"], t["recv"]) == (len(started), len(ended), into, out)

    wait_until(same, 20, lambda: "fleet %r, CSMS %d frames" % (fleet.totals(), len(csms.frames)))
    t = fleet.totals()
    assert t["errors"] == 0, t["err"]
    assert sum(t["rtt"]) > 0 and t["rtt_sum"] > 0  # the CSMS's response times were measured
    for ident in fleet.ids:
        for tx, evs in _in_order(csms, ident).items():
            assert evs[-1]["eventType"] == "Ended", (ident, tx)
    tokens = {f.payload["idToken"]["idToken"] for f in _received(csms, "TransactionEvent") if "idToken" in f.payload}
    assert tokens == {"AA11BB22", "CC33DD44"}  # the card mix
    assert csms.violations == []

    # an outage: a quarter of the stations lose the network, then get it back and reconnect
    down = fleet.ids[::4]
    for ident in down:
        fleet.send(ident, op="net", up=False)
    wait_until(lambda: _total(fleet, "conn") == N - len(down), 20, lambda: repr(fleet.totals()))
    for ident in down:
        assert fleet.find(ident, ev="ws", state="closed")
        fleet.send(ident, op="net", up=True)
    wait_until(lambda: _total(fleet, "conn") == N, 30, lambda: repr(fleet.totals()))
    for ident in down:
        csms.wait_connected(ident, 2)
        assert len(fleet.find(ident, ev="ws", state="connected")) == 2
    # a session during the outage's aftermath still reaches the CSMS in order
    ident = down[0]
    started = len(fleet.find(ident, ev="tx", event="Started"))
    fleet.send(ident, op="plug", evse=1)
    fleet.send(ident, op="tap", idToken="AA11BB22")
    fleet.send(ident, op="ev_power", evse=1, w=11000)
    wait_until(lambda: len(fleet.find(ident, ev="tx", event="Started")) > started, 20, "a transaction")
    fleet.send(ident, op="unplug", evse=1)
    wait_until(lambda: len(fleet.find(ident, ev="tx", event="Ended")) == started + 1
               and sum(1 for f in _received(csms, "TransactionEvent", ident) if f.payload["eventType"] == "Ended")
               == started + 1, 20, lambda: "the session after the outage of %s" % ident)
    _in_order(csms, ident)
    assert _received(csms, "BootNotification") and len(_received(csms, "BootNotification")) == N  # no reboot
    assert csms.violations == []


def test_fleet_over_wss(pki, tmp_path, closing):
    """6 stations in 2 processes against a TLS CSMS (tools/csms.py with the pki fixture's
    localhost certificate) given as a wss:// URL with --ca, as for any CSMS not the bundled one:
    every station connects over TLS (the server takes nothing else) and boots once with a
    schema-valid BootNotification, a short scripted load's sessions end on every station, and
    their TransactionEvents reach the CSMS in order per transaction, as many as the fleet counted."""
    n = 6
    cert, key = pki["server"]
    csms = closing(CsmsThread(ssl=server_ssl(cert, key, tmp_path / "tls")))
    url = "wss://localhost:%d/ocpp" % csms.csms.port
    fleet = closing(fleet_mod.Fleet(url, n, "FW{:03d}", 1, tmp_path / "fleet", processes=2, ca=pki["ca_pem"],
                                    sets=FAST, ramp=50, stats_s=0.5))
    assert fleet.nproc == 2 and len(fleet.ids) == n
    wait_until(lambda: _total(fleet, "boot") == n and _total(fleet, "conn") == n, 30,
               lambda: "all booted over wss: %r; log %s" % (fleet.totals(), [p.log[-3:] for p in fleet.procs]))
    boots = _received(csms, "BootNotification")
    assert sorted(f.station for f in boots) == fleet.ids  # each station once
    assert all(f.payload["chargingStation"]["serialNumber"] == f.station for f in boots)
    assert sorted(sid for _, sid, ok in csms.connects if ok) == fleet.ids  # one TLS connection each
    for ident in fleet.ids:
        assert len(fleet.find(ident, ev="ws", state="connected")) == 1
    assert csms.violations == []

    # the scripted load until every station has ended a session, then what is open is ended
    load = fleet_mod.Load(fleet, per_hour=3600, minutes=0.02, cards=[("AA11BB22", 1)], seed=2).start()
    try:
        wait_until(lambda: all(fleet.find(i, ev="tx", event="Ended") for i in fleet.ids), 30,
                   lambda: "a session ended on every station: %r" % fleet.totals())
    finally:
        load.stop()
    for ident in fleet.ids:
        fleet.send(ident, op="unplug", evse=1)

    def same():
        t = fleet.totals()
        te = _received(csms, "TransactionEvent")
        return t["txs"] == t["txe"] and (t["txs"], t["txe"]) == (
            sum(1 for f in te if f.payload["eventType"] == "Started"),
            sum(1 for f in te if f.payload["eventType"] == "Ended"))

    wait_until(same, 15, lambda: "fleet %r, CSMS %d frames" % (fleet.totals(), len(csms.frames)))
    t = fleet.totals()
    assert t["errors"] == 0, t["err"]
    for ident in fleet.ids:
        by_tx = _in_order(csms, ident)
        assert by_tx, ident
        for tx, evs in by_tx.items():
            assert evs[-1]["eventType"] == "Ended", (ident, tx)
    assert len(_received(csms, "BootNotification")) == n  # no station rebooted or reconnected
    assert len(csms.connects) == n
    assert csms.violations == []
