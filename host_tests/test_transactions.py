"""Transactions with PowerPathClosed (E), local and remote authorization (C01, F01-F03),
meter values (J) and GetTransactionStatus (E14) against the `ocpp` CSMS, following the
message flows of digest §3.4."""

import time

import pytest

from helpers import wait_until
from test_device_model import cv, get

TAG = "AA11BB22"
OTHER = "CC33DD44"
QUIET_S = 1.5  # "the OCTT waits <Configured message timeout>": how long "nothing is sent" is watched


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


def relays_become(sim, want, evse=1):
    """Wait for the contactor's moves to be want: the station shows a move before it writes the
    TransactionEvent it causes (app.py service()), but its stdout may reach the test after the
    CSMS has the message."""
    wait_until(lambda: relays(sim, evse) == want, 5, lambda: "contactor moves %r, not %r" % (relays(sim, evse), want))


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


# --- reusable states (OCTT Part 6) played on the simulator ---------------------------------
def sns(csms):
    return [f.payload["connectorStatus"] for f in csms.inbound("StatusNotification")]


def ev_connected_pre_session(csms, s, evse=1):
    """EVConnectedPreSession: the cable is plugged in; StatusNotification Occupied, and with
    TxStartPoint PowerPathClosed no TransactionEvent yet."""
    n = len(csms.inbound("StatusNotification"))
    s.send(op="plug", evse=evse)
    sn = csms.wait_call("StatusNotification", n=n + 1).payload
    assert (sn["connectorStatus"], sn["evseId"], sn["connectorId"]) == ("Occupied", evse, 1), sn
    return sn


def authorized_local(csms, s, token=TAG, n=1):
    """Authorized (local): the card is presented, the station sends AuthorizeRequest with it
    (the n-th Authorize of the test)."""
    s.send(op="tap", idToken=token)
    auth = csms.wait_call("Authorize", n=n).payload
    assert auth == {"idToken": {"idToken": token, "type": "ISO14443"}}, auth
    return auth


def check_started(started, trigger, token=TAG, evse=1):
    """The TransactionEvent Started of a local start (E01/E02/E03 with PowerPathClosed)."""
    assert started["eventType"] == "Started" and started["seqNo"] == 0, started
    assert started["triggerReason"] == trigger, started
    assert started["idToken"] == {"idToken": token, "type": "ISO14443"}, started
    assert started["evse"] == {"id": evse, "connectorId": 1}, started
    assert started["transactionInfo"]["chargingState"] in ("EVConnected", "SuspendedEVSE", "Charging"), started
    [mv] = started["meterValue"]
    assert mv["sampledValue"][0]["context"] == "Transaction.Begin", mv


def energy_transfer_started(csms, s, tx_id, evse=1):
    """EnergyTransferStarted: the EV draws power; TransactionEvent Updated ChargingStateChanged
    Charging."""
    s.send(op="ev_power", evse=evse, w=7400)
    upd = wait_te(csms, "Updated", "ChargingStateChanged")
    assert upd["transactionInfo"] == {"transactionId": tx_id, "chargingState": "Charging"}, upd
    assert "evse" not in upd and "idToken" not in upd, upd
    return upd


def suspended_ev(csms, tx_id):
    """The Updated ChargingStateChanged SuspendedEV of transaction tx_id."""
    upd = wait_until(lambda: [p for p in tes(csms, tx_id) if p["triggerReason"] == "ChargingStateChanged"
                              and p["transactionInfo"]["chargingState"] == "SuspendedEV"],
                     10, "Updated ChargingStateChanged SuspendedEV")[0]
    assert upd["eventType"] == "Updated", upd
    return upd


def energy_transfer_suspended(csms, s, tx_id, evse=1):
    """EnergyTransferSuspended: the EV stops asking for energy (control pilot B); Updated
    ChargingStateChanged SuspendedEV."""
    s.send(op="ev_ready", evse=evse, ready=False)
    return suspended_ev(csms, tx_id)


def charging(csms, fast, **kw):
    """A station with a transaction started by TAG (cable first) in EnergyTransferStarted."""
    s = fast(**kw)
    ev_connected_pre_session(csms, s)
    authorized_local(csms, s)
    started = wait_te(csms, "Started")
    tx_id = started["transactionInfo"]["transactionId"]
    energy_transfer_started(csms, s, tx_id)
    return s, tx_id


def value(csms, component, variable):
    [r] = get(csms, cv(component, variable))
    assert r["attribute_status"] == "Accepted", r
    return r["attribute_value"]


def quiet(csms, action, n, seconds=QUIET_S):
    """Nothing more of action is sent for seconds (the case says so: "SHALL NOT send")."""
    time.sleep(seconds)
    assert len(csms.inbound(action)) == n, [f.payload for f in csms.inbound(action)]


# --- E: local start -------------------------------------------------------------------------
@pytest.mark.octt("TC_E_03_CS")
def test_TC_E_03_CS_cable_plugin_first_success(csms, fast):
    s = fast()
    ev_connected_pre_session(csms, s)
    assert not tes(csms)
    authorized_local(csms, s)
    started = wait_te(csms, "Started")
    check_started(started, "Authorized")
    s.wait_event(ev="relay", evse=1, closed=True)
    energy_transfer_started(csms, s, started["transactionInfo"]["transactionId"])
    assert [p["eventType"] for p in tes(csms)] == ["Started", "Updated"]
    assert sns(csms) == ["Available", "Occupied"]  # no other connector status on the way


@pytest.mark.octt("TC_E_01_CS")
def test_TC_E_01_CS_transaction_starts_when_the_power_path_closes(csms, fast):
    # TxStartPoint PowerPathClosed (read-only): neither the cable nor the card alone starts a
    # transaction; both together close the contactor, and that is the Started event.
    s = fast()
    assert value(csms, "TxCtrlr", "TxStartPoint") == "PowerPathClosed"
    ev_connected_pre_session(csms, s)
    time.sleep(0.3)
    assert not tes(csms) and relays(s) == [False]
    authorized_local(csms, s)
    started = wait_te(csms, "Started")
    check_started(started, "Authorized")
    relays_become(s, [False, True])
    assert len(tes(csms)) == 1
    energy_transfer_started(csms, s, started["transactionInfo"]["transactionId"])


@pytest.mark.octt("TC_E_04_CS")
def test_TC_E_04_CS_authorization_first_success(csms, fast):
    s = fast()
    authorized_local(csms, s)
    s.wait_event(ev="auth", status="WaitingForCable")
    time.sleep(0.3)
    assert not tes(csms) and relays(s) == [False]
    ev_connected_pre_session(csms, s)
    started = wait_te(csms, "Started")
    check_started(started, "CablePluggedIn")
    frames = csms.inbound()
    first_te = [f for f in frames if f.action == "TransactionEvent"][0]
    assert frames.index(csms.inbound("StatusNotification")[-1]) < frames.index(first_te)
    energy_transfer_started(csms, s, started["transactionInfo"]["transactionId"])
    assert len(csms.inbound("Authorize")) == 1


@pytest.mark.parametrize("case", [pytest.param("TC_E_05_CS", marks=pytest.mark.octt("TC_E_05_CS"), id="TC_E_05_CS"),
                                  pytest.param("TC_C_100_CS", marks=pytest.mark.octt("TC_C_100_CS"), id="TC_C_100_CS")])
def test_authorization_first_cable_plugin_timeout(csms, fast, case):
    # E_05 and C_100 (its Edition-4 twin in block C) play the same: Authorized (local), then no
    # cable within EVConnectionTimeOut. With TxStartPoint PowerPathClosed no transaction was
    # started, so there is none to end: the authorization lapses, a later plug-in starts nothing.
    s = fast(sets={"TxCtrlr.EVConnectionTimeOut": 2})
    t0 = time.monotonic()
    authorized_local(csms, s)
    s.wait_event(ev="auth", status="WaitingForCable")
    s.wait_event(ev="auth", status="Timeout", timeout=6)
    assert time.monotonic() - t0 >= 1.5  # not before EVConnectionTimeOut
    assert not tes(csms)
    ev_connected_pre_session(csms, s)
    quiet(csms, "TransactionEvent", 0)
    assert relays(s) == [False] and len(csms.inbound("Authorize")) == 1


@pytest.mark.octt("TC_E_38_CS")
def test_TC_E_38_CS_local_start_ev_not_ready(csms, fast):
    # Authorized, then an EV that is not ready (control pilot B) plugs in: the power path closes
    # (Started), and the station reports that the EV takes no energy.
    s = fast(sets={"SampledDataCtrlr.TxUpdatedInterval": 0})  # no periodic Updated in between
    authorized_local(csms, s)
    s.wait_event(ev="auth", status="WaitingForCable")
    s.send(op="ev_ready", evse=1, ready=False)
    ev_connected_pre_session(csms, s)
    started = wait_te(csms, "Started")
    check_started(started, "CablePluggedIn")
    upd = suspended_ev(csms, started["transactionInfo"]["transactionId"])
    assert upd["triggerReason"] == "ChargingStateChanged"
    assert upd["transactionInfo"]["chargingState"] == "SuspendedEV"
    assert [p["eventType"] for p in tes(csms)] == ["Started", "Updated"]


# --- C: refused cards -----------------------------------------------------------------------
@pytest.mark.parametrize("status", [
    pytest.param("Invalid", marks=pytest.mark.octt("TC_C_02_CS"), id="TC_C_02_CS-Invalid"),
    pytest.param("Blocked", marks=pytest.mark.octt("TC_C_06_CS"), id="TC_C_06_CS-Blocked"),
    pytest.param("Expired", marks=pytest.mark.octt("TC_C_07_CS"), id="TC_C_07_CS-Expired"),
    pytest.param("Unknown", marks=pytest.mark.octt("TC_C_56_CS"), id="TC_C_56_CS-Unknown"),
    pytest.param("NoCredit", id="NoCredit"),  # not an OCTT case: any status but Accepted refuses
])
def test_refused_card_at_local_start_sends_no_transaction_event(csms, fast, status):
    # EVConnectedPreSession, the card is presented, AuthorizeResponse says status: the station
    # SHALL NOT send a TransactionEventRequest (the OCTT watches for its message timeout).
    csms.tokens["BAD1"] = {"status": status}
    s = fast()
    ev_connected_pre_session(csms, s)
    authorized_local(csms, s, "BAD1")
    s.wait_event(ev="auth", status=status)
    quiet(csms, "TransactionEvent", 0)
    assert relays(s) == [False] and len(csms.inbound("Authorize")) == 1


# --- local stop -----------------------------------------------------------------------------
@pytest.mark.octt("TC_E_06_CS")
def test_TC_E_06_CS_local_stop_accepted(csms, fast):
    s, tx_id = charging(csms, fast)
    time.sleep(1.2)
    # StopAuthorized (local): the same card; it stops without another Authorize
    s.send(op="tap", idToken=TAG)
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "StopAuthorized" and ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["idToken"] == {"idToken": TAG, "type": "ISO14443"}
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert len(csms.inbound("Authorize")) == 1
    # EVConnectedPostSession: the EV still plugged in, no energy, the connector still Occupied
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"
    relays_become(s, [False, True, False])
    assert sns(csms)[-1] == "Occupied"
    # EVDisconnected: the cable leaves, the connector is Available, no more TransactionEvents
    s.send(op="unplug", evse=1)
    wait_until(lambda: sns(csms)[-1] == "Available", 5, lambda: "Available: %r" % sns(csms))
    quiet(csms, "TransactionEvent", len(tes(csms)), 0.5)
    assert tes(csms)[-1]["eventType"] == "Ended"
    ev = complete(csms, tx_id)
    assert [e["triggerReason"] for e in ev] == ["Authorized", "ChargingStateChanged", "StopAuthorized"]


@pytest.mark.octt("TC_E_07_CS")
def test_TC_E_07_CS_stop_option_power_path_closed_local_stop(csms, fast):
    s, tx_id = charging(csms, fast)
    assert value(csms, "TxCtrlr", "TxStopPoint") == "PowerPathClosed"
    s.send(op="tap", idToken=TAG)
    ended = wait_te(csms, "Ended")
    assert ended["eventType"] == "Ended" and ended["triggerReason"] == "StopAuthorized"
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert len([mv for mv in ended["meterValue"] if mv["sampledValue"][0].get("context") == "Transaction.End"]) == 1
    # the contactor opened: that, not the card, ends a PowerPathClosed transaction
    relays_become(s, [False, True, False])
    s.send(op="unplug", evse=1)
    wait_until(lambda: sns(csms)[-1] == "Available", 5, lambda: "Available: %r" % sns(csms))


@pytest.mark.octt("TC_C_04_CS")
def test_TC_C_04_CS_local_stop_with_a_different_id_token_does_not_stop(csms, fast):
    # One EVSE, one reader: the other card is checked (AuthorizeRequest, answered Accepted
    # without a group), and then nothing: no TransactionEvent, the energy keeps flowing.
    s, tx_id = charging(csms, fast)
    n_te = len(tes(csms))
    authorized_local(csms, s, OTHER, n=2)
    s.wait_event(ev="auth", idToken=OTHER, status="NoFreeEvse")
    quiet(csms, "TransactionEvent", n_te)
    assert len(csms.inbound("Authorize")) == 2
    assert relays(s) == [False, True]
    # the card that started it still stops it
    s.send(op="tap", idToken=TAG)
    assert wait_te(csms, "Ended")["transactionInfo"]["transactionId"] == tx_id


GROUP = {"idToken": "GROUP-1", "type": "Central"}


def group_charging(csms, fast, other, info):
    """Card A1 of GROUP started a transaction (cable first) now in EnergyTransferStarted; the
    CSMS answers card other with idTokenInfo info. Returns the station and transactionId."""
    csms.tokens.update({"A1": {"status": "Accepted", "groupIdToken": GROUP}, other: info})
    s = fast()
    ev_connected_pre_session(csms, s)
    authorized_local(csms, s, "A1")
    started = wait_te(csms, "Started")  # answered Accepted with the group as well
    check_started(started, "Authorized", "A1")
    tx_id = started["transactionInfo"]["transactionId"]
    energy_transfer_started(csms, s, tx_id)
    return s, tx_id


@pytest.mark.octt("TC_C_39_CS")
def test_TC_C_39_CS_authorization_by_group_id_success(csms, fast):
    s, tx_id = group_charging(csms, fast, "B1", {"status": "Accepted", "groupIdToken": GROUP})
    # the other card of the group: Authorize, then it stops the transaction
    authorized_local(csms, s, "B1", n=2)
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "StopAuthorized" and ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["idToken"] == {"idToken": "B1", "type": "ISO14443"}
    assert ended["transactionInfo"]["transactionId"] == tx_id
    relays_become(s, [False, True, False])


@pytest.mark.octt("TC_C_42_CS")
def test_TC_C_42_CS_not_stopped_by_group_id_of_a_refused_card(csms, fast):
    # C09.FR.11: a card of the same group whose AuthorizeResponse is not Accepted does not stop.
    s, tx_id = group_charging(csms, fast, "B2", {"status": "Invalid", "groupIdToken": GROUP})
    n_te = len(tes(csms))
    authorized_local(csms, s, "B2", n=2)
    s.wait_event(ev="auth", idToken="B2", status="Invalid")
    quiet(csms, "TransactionEvent", n_te)
    assert relays(s) == [False, True]
    assert not [p for p in tes(csms) if p["eventType"] == "Ended"]


def test_card_of_another_group_does_not_stop(csms, fast):
    # not an OCTT case (C01.FR.03 the other way round): Accepted, but another group
    s, _ = group_charging(csms, fast, "C1", {"status": "Accepted",
                                             "groupIdToken": {"idToken": "GROUP-2", "type": "Central"}})
    n_te = len(tes(csms))
    authorized_local(csms, s, "C1", n=2)
    s.wait_event(ev="auth", idToken="C1", status="NoFreeEvse")
    quiet(csms, "TransactionEvent", n_te)
    assert relays(s) == [False, True]


# --- stop: EV side ----------------------------------------------------------------------------
@pytest.mark.octt("TC_E_24_CS", "TC_E_37_CS")
def test_ev_side_disconnect_while_suspended_ends_and_unlocks(csms, fast):
    # One scenario, two cases:
    # EnergyTransferSuspended, then the EV side is disconnected. E_37 (TxStopPoint
    # PowerPathClosed): Ended, EVCommunicationLost, Idle, EVDisconnected. E_24 (StopTxOnEVSide-
    # Disconnect and UnlockOnEVSideDisconnect true, a socket): the same TransactionEvent, the cable
    # unlocked at the station side, then the connector's status once it is out.
    s, tx_id = charging(csms, fast)
    assert value(csms, "TxCtrlr", "StopTxOnEVSideDisconnect") == "true"
    assert value(csms, "OCPPCommCtrlr", "UnlockOnEVSideDisconnect") == "true"
    energy_transfer_suspended(csms, s, tx_id)
    s.send(op="unplug", evse=1)  # the simulator's cable leaves both sides at once
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"]["chargingState"] == "Idle"
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert ended["transactionInfo"]["transactionId"] == tx_id
    s.wait_event(ev="unlock", evse=1)
    wait_until(lambda: sns(csms)[-1] == "Available", 5, lambda: "Available: %r" % sns(csms))
    frames = csms.inbound()
    end_frame = [f for f in frames if f.action == "TransactionEvent" and f.payload["eventType"] == "Ended"][0]
    assert frames.index(end_frame) < frames.index(csms.inbound("StatusNotification")[-1])
    # the interlock opened the contactor when the EV stopped asking (B), the station at the end
    assert relays(s) == [False, True, False, False]
    assert [e.get("by") for e in s.find(ev="relay", evse=1)] == [None, None, "interlock", None]


# --- E05/E06: deauthorization ------------------------------------------------------------------
@pytest.mark.octt("TC_E_16_CS")
def test_TC_E_16_CS_deauthorized_by_transaction_event_response(csms, fast):
    # StopTxOnInvalidId true; the TransactionEventResponse says Invalid (Authorize said Accepted):
    # the energy stops and the transaction ends Deauthorized / DeAuthorized.
    csms.te_tokens["LATE"] = {"status": "Invalid"}
    s = fast()
    assert value(csms, "TxCtrlr", "StopTxOnInvalidId") == "true"
    ev_connected_pre_session(csms, s)
    authorized_local(csms, s, "LATE")
    started = wait_te(csms, "Started")
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "Deauthorized" and ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"
    assert ended["transactionInfo"]["chargingState"] in ("EVConnected", "SuspendedEVSE")
    assert ended["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
    relays_become(s, [False, True, False])


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
