"""Transactions with PowerPathClosed (E), local and remote authorization (C01, F01-F03),
meter values (J) and GetTransactionStatus (E14) against the `ocpp` CSMS, following the
message flows of digest §3.4."""

import time

import pytest
from ocpp.v201 import call

from helpers import wait_until
from test_device_model import cv, set_

TAG = "AA11BB22"


def tes(csms, tx_id=None):
    return [f.payload for f in csms.inbound("TransactionEvent")
            if tx_id is None or f.payload["transactionInfo"]["transactionId"] == tx_id]


def wait_te(csms, event_type, trigger=None, n=1, timeout=10):
    def found():
        got = [p for p in tes(csms) if p["eventType"] == event_type and (trigger is None or p["triggerReason"] == trigger)]
        return len(got) >= n and got[n - 1]
    return wait_until(found, timeout, "TransactionEvent %s %s" % (event_type, trigger))


def relays(sim, evse=1):
    return [e["closed"] for e in sim.find(ev="relay", evse=evse)]


def complete(csms, tx_id):
    """A transaction as the CSMS saw it: Started first, Ended last, seqNo 0..n without gaps,
    energy never going down. A message sent again after a power cut (its answer was not read
    before the cut) is a retransmission: the same message id and payload, counted once.
    Returns its events."""
    first = {}
    for f in csms.inbound("TransactionEvent"):
        if f.payload["transactionInfo"]["transactionId"] == tx_id:
            assert first.setdefault(f.id, f.payload) == f.payload, (f.id, first[f.id], f.payload)
    ev = list(first.values())
    assert ev[0]["eventType"] == "Started" and ev[-1]["eventType"] == "Ended", [e["eventType"] for e in ev]
    assert [e["seqNo"] for e in ev] == list(range(len(ev))), [e["seqNo"] for e in ev]
    readings = sorted((mv["timestamp"], sv["value"]) for e in ev for mv in e.get("meterValue", [])
                      for sv in mv["sampledValue"]
                      if sv.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register")
    wh = [v for t, v in readings]
    assert wh == sorted(wh), readings  # in time order the register never goes back
    return ev


@pytest.fixture
def fast(sims, csms):
    """A station with quick timers, Accepted."""
    def start(**kw):
        sets = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0}
        sets.update(kw.pop("sets", {}))
        s = sims(csms.url, sets=sets, **kw)
        s.wait_event(ev="boot", status="Accepted")
        csms.wait_call("SecurityEventNotification")
        return s
    return start


def test_TC_E_02_C_01_CS_cable_first_local_rfid_then_stop_with_same_card(csms, fast):
    s = fast()
    s.send(op="plug", evse=1)
    assert csms.wait_call("StatusNotification", n=2).payload["connectorStatus"] == "Occupied"
    time.sleep(0.3)
    assert not tes(csms)  # PowerPathClosed: no transaction without authorization
    s.send(op="tap", idToken=TAG)
    auth = csms.wait_call("Authorize")
    assert auth.payload == {"idToken": {"idToken": TAG, "type": "ISO14443"}}
    started = wait_te(csms, "Started")
    assert started["triggerReason"] == "Authorized" and started["seqNo"] == 0
    assert started["idToken"] == {"idToken": TAG, "type": "ISO14443"}
    assert started["evse"] == {"id": 1, "connectorId": 1}
    assert started["transactionInfo"]["chargingState"] == "EVConnected"
    [mv] = started["meterValue"]
    assert mv["sampledValue"][0]["context"] == "Transaction.Begin"
    s.wait_event(ev="relay", evse=1, closed=True)
    s.send(op="ev_power", evse=1, w=7400)
    upd = wait_te(csms, "Updated", "ChargingStateChanged")
    assert upd["transactionInfo"]["chargingState"] == "Charging" and "evse" not in upd and "idToken" not in upd
    time.sleep(1.2)
    s.send(op="tap", idToken=TAG)
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "StopAuthorized" and ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["idToken"]["idToken"] == TAG and ended["transactionInfo"]["chargingState"] == "EVConnected"
    assert relays(s) == [False, True, False]
    assert len(csms.inbound("Authorize")) == 1  # the same card stops without asking again
    s.send(op="unplug", evse=1)
    assert csms.wait_call("StatusNotification", n=3).payload["connectorStatus"] == "Available"
    complete(csms, ended["transactionInfo"]["transactionId"])


def test_TC_E_03_CS_card_first_then_cable_and_E09_unplug_ends(csms, fast):
    s = fast()
    s.send(op="tap", idToken=TAG)
    csms.wait_call("Authorize")
    s.wait_event(ev="auth", status="WaitingForCable")
    time.sleep(0.3)
    assert not tes(csms)
    s.send(op="plug", evse=1)
    started = wait_te(csms, "Started")
    assert started["triggerReason"] == "CablePluggedIn" and started["idToken"]["idToken"] == TAG
    s.send(op="ev_power", evse=1, w=3000)
    wait_te(csms, "Updated", "ChargingStateChanged")
    s.send(op="unplug", evse=1)
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert ended["transactionInfo"]["chargingState"] == "Idle"
    sn = csms.wait_call("StatusNotification", n=3)
    assert sn.payload["connectorStatus"] == "Available"
    frames = csms.inbound()
    assert frames.index(sn) > frames.index([f for f in frames if f.payload.get("eventType") == "Ended"][0])
    assert relays(s) == [False, True, False]


def test_TC_C_100_E_05_CS_card_first_cable_timeout_starts_nothing(csms, fast):
    s = fast(sets={"TxCtrlr.EVConnectionTimeOut": 1})
    s.send(op="tap", idToken=TAG)
    s.wait_event(ev="auth", status="Timeout", timeout=5)
    s.send(op="plug", evse=1)
    csms.wait_call("StatusNotification", n=2)
    time.sleep(0.5)
    assert not tes(csms) and relays(s) == [False]


@pytest.mark.parametrize("status", ["Invalid", "Blocked", "Expired", "Unknown", "NoCredit"])
def test_TC_C_02_06_07_CS_refused_cards_never_close_the_relay(csms, fast, status):
    csms.tokens["BAD1"] = {"status": status}
    s = fast()
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken="BAD1")
    s.wait_event(ev="auth", status=status)
    time.sleep(0.3)
    assert not tes(csms) and relays(s) == [False]


def test_TC_C_39_CS_card_of_same_group_stops_other_group_does_not(csms, fast):
    g = {"idToken": "GROUP-1", "type": "Central"}
    csms.tokens.update({"A1": {"status": "Accepted", "groupIdToken": g},
                        "B1": {"status": "Accepted", "groupIdToken": g},
                        "C1": {"status": "Accepted", "groupIdToken": {"idToken": "GROUP-2", "type": "Central"}}})
    s = fast()
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken="A1")
    started = wait_te(csms, "Started")
    s.send(op="tap", idToken="C1")  # TC_C_42: another group must not stop it
    s.wait_event(ev="auth", status="NoFreeEvse")
    assert [p["eventType"] for p in tes(csms)] == ["Started"]
    s.send(op="tap", idToken="B1")
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "StopAuthorized" and ended["idToken"]["idToken"] == "B1"
    assert ended["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]


def test_id_token_evse_list_picks_the_allowed_evse(csms, fast):
    csms.tokens["E2"] = {"status": "Accepted", "evseId": [2]}
    s = fast(evses=2)
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken="E2")
    s.wait_event(ev="auth", evse=2, status="Accepted")
    time.sleep(0.3)
    assert not tes(csms)  # not on EVSE 1, which is plugged in
    s.send(op="plug", evse=2)
    assert wait_te(csms, "Started")["evse"] == {"id": 2, "connectorId": 1}


def test_TC_E_16_CS_deauthorized_by_transaction_event_response(csms, fast):
    csms.te_tokens["LATE"] = {"status": "Invalid"}  # Authorize says yes, the TE answer says no
    s = fast()
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken="LATE")
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "Deauthorized" and ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"
    assert relays(s)[-1] is False


def test_E05_FR_02_deauthorized_without_stop_suspends(csms, fast):
    csms.te_tokens["LATE"] = {"status": "Invalid"}
    s = fast(sets={"TxCtrlr.StopTxOnInvalidId": "false"})
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken="LATE")
    upd = wait_te(csms, "Updated", "ChargingStateChanged")
    assert upd["transactionInfo"]["chargingState"] == "SuspendedEVSE"
    wait_until(lambda: relays(s)[-1] is False, 5, "relay open")
    assert not [p for p in tes(csms) if p["eventType"] == "Ended"]


def test_power_cut_during_transaction_ends_it_with_power_loss(csms, fast, sims, tmp_path):
    state = tmp_path / "flash"
    s = fast(state=state, sets={"SampledDataCtrlr.TxUpdatedInterval": 1})
    s.send(op="plug", evse=1)
    s.send(op="ev_power", evse=1, w=7200)
    s.send(op="tap", idToken=TAG)
    started = wait_te(csms, "Started")
    wait_te(csms, "Updated", "MeterValuePeriodic", n=2)
    s.kill()  # kill -9: a power cut
    last = tes(csms)[-1]
    s2 = sims(None, state=state, ident=None)
    s2.wait_event(ev="boot", status="Accepted")
    ended = wait_te(csms, "Ended")
    assert ended["transactionInfo"]["stoppedReason"] == "PowerLoss" and ended["offline"] is True
    events = complete(csms, started["transactionInfo"]["transactionId"])
    end_wh = ended["meterValue"][-1]["sampledValue"][0]["value"]
    assert end_wh >= [sv["value"] for sv in last["meterValue"][0]["sampledValue"]
                      if sv["measurand"] == "Energy.Active.Import.Register"][0]
    assert len(events) == len({e["seqNo"] for e in events})  # nothing twice
    # a new transaction after the reboot gets a new id
    s2.send(op="unplug", evse=1)
    s2.send(op="plug", evse=1)
    s2.send(op="tap", idToken=TAG)
    again = wait_te(csms, "Started", n=2)
    assert again["transactionInfo"]["transactionId"] != started["transactionInfo"]["transactionId"]
