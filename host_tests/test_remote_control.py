"""Remote control (F): RequestStartTransaction / RequestStopTransaction with PowerPathClosed
(F01-F03), UnlockConnector (F05) and TriggerMessage (F06) against the `ocpp` CSMS, played as
the OCTT Core cases of block F (and E_35, K_38) do."""

import time

import pytest
from ocpp.v201 import call

import octt
from helpers import PROFILE, listener, wait_until
from test_device_model import cv, get
from test_firmware_update import signers, station, update  # noqa: F401  (fixtures)
from test_logs import get_log
from test_transactions import TAG, fast, relays, relays_become, tes, wait_te  # noqa: F401  (fixture)

OTHER = "CC33DD44"
REMOTE = {"idToken": "REMOTE1", "type": "Central"}
QUIET_S = 1.0  # how long "nothing is sent" is watched where the case says so


# --- reusable states (OCTT Part 6) ---------------------------------------------------------
def sns(csms):
    return [f.payload for f in csms.inbound("StatusNotification")]


def ev_connected_pre_session(csms, s, evse=1):
    """EVConnectedPreSession: the cable is plugged in, StatusNotification Occupied (with
    TxStartPoint PowerPathClosed no transaction yet)."""
    n = len(sns(csms))
    s.send(op="plug", evse=evse)
    sn = csms.wait_call("StatusNotification", n=n + 1).payload
    assert (sn["connectorStatus"], sn["evseId"], sn["connectorId"]) == ("Occupied", evse, 1), sn


def authorized_remote(csms, token=REMOTE, remote_start_id=1, evse=1, **kw):
    """Authorized (remote): RequestStartTransaction Accepted. AuthorizeRemoteStart is read-only
    false, so no AuthorizeRequest follows."""
    n_auth = len(csms.inbound("Authorize"))
    r = csms.call("CS001", call.RequestStartTransaction(id_token=token, remote_start_id=remote_start_id,
                                                        evse_id=evse, **kw))
    assert r.status == "Accepted", r
    assert r.transaction_id is None  # no transaction had started on that EVSE
    assert len(csms.inbound("Authorize")) == n_auth
    return r


def check_remote_started(started, token=REMOTE, remote_start_id=1, evse=1):
    """The TransactionEvent Started of a remote start (the power path closed)."""
    assert started["eventType"] == "Started" and started["seqNo"] == 0, started
    assert started["triggerReason"] == "RemoteStart", started
    assert started["transactionInfo"]["remoteStartId"] == remote_start_id, started
    assert started["idToken"] == token, started
    assert started["evse"] == {"id": evse, "connectorId": 1}, started


def energy_transfer_started(csms, s, tx_id, evse=1, n=1):
    """EnergyTransferStarted: the EV draws power; Updated ChargingStateChanged Charging (the
    n-th of the test)."""
    s.send(op="ev_power", evse=evse, w=7400)
    upd = wait_te(csms, "Updated", "ChargingStateChanged", n=n)
    assert upd["transactionInfo"] == {"transactionId": tx_id, "chargingState": "Charging"}, upd
    return upd


def charging_local(csms, s, token=TAG, evse=1, n=1):
    """EVConnectedPreSession, Authorized (local) and EnergyTransferStarted (the n-th
    transaction of the test); returns its transactionId."""
    ev_connected_pre_session(csms, s, evse)
    s.send(op="tap", idToken=token)
    started = wait_te(csms, "Started", n=n)
    assert started["evse"]["id"] == evse and started["idToken"]["idToken"] == token, started
    tx_id = started["transactionInfo"]["transactionId"]
    energy_transfer_started(csms, s, tx_id, evse, n=n)
    return tx_id


def trigger(csms, mid, message, evse=None):
    """TriggerMessage as raw text; returns the station's reply frame."""
    p = {"requestedMessage": message}
    if evse is not None:
        p["evse"] = evse
    return csms.raw_call("CS001", mid, "TriggerMessage", p)


def sent_after_reply(csms, mid, action):
    """The CALLs of action the station sent after its reply to message mid (F06.FR.04: the
    TriggerMessageResponse goes first)."""
    frames = list(csms.frames)
    reply = [i for i, f in enumerate(frames) if f.direction == "in" and f.kind in (3, 4) and f.id == mid][0]
    return [f.payload for f in frames[reply + 1:] if f.direction == "in" and f.kind == 2 and f.action == action]


def wait_after_reply(csms, mid, action, n=1, timeout=10):
    return wait_until(lambda: len(sent_after_reply(csms, mid, action)) >= n and sent_after_reply(csms, mid, action),
                      timeout, "%d x %s after the reply to %s" % (n, action, mid))


# --- F01-F03 remote start ------------------------------------------------------------------
@pytest.mark.octt("TC_F_01_CS")
def test_TC_F_01_CS_remote_start_cable_plugin_first(csms, fast):
    s = fast()
    ev_connected_pre_session(csms, s)
    assert not tes(csms)
    authorized_remote(csms, remote_start_id=77)
    started = wait_te(csms, "Started")
    check_remote_started(started, remote_start_id=77)
    relays_become(s, [False, True])
    energy_transfer_started(csms, s, started["transactionInfo"]["transactionId"])


@pytest.mark.octt("TC_F_03_CS")
def test_TC_F_03_CS_remote_start_first_authorize_remote_start_false(csms, fast):
    s = fast()
    [r] = get(csms, cv("AuthCtrlr", "AuthorizeRemoteStart"))
    assert (r["attribute_status"], r["attribute_value"]) == ("Accepted", "false"), r
    authorized_remote(csms, remote_start_id=5)
    s.wait_event(ev="auth", status="WaitingForCable")
    assert not tes(csms) and not csms.inbound("Authorize")  # PowerPathClosed: nothing until the cable
    ev_connected_pre_session(csms, s)
    started = wait_te(csms, "Started")
    check_remote_started(started, remote_start_id=5)
    energy_transfer_started(csms, s, started["transactionInfo"]["transactionId"])


@pytest.mark.octt("TC_F_04_CS")
def test_TC_F_04_CS_remote_start_first_cable_plugin_timeout(csms, fast):
    s = fast(sets={"TxCtrlr.EVConnectionTimeOut": 2})
    authorized_remote(csms, remote_start_id=9)
    s.wait_event(ev="auth", status="Timeout", timeout=5)
    # TxStartPoint is PowerPathClosed: no transaction had started, so none ends (step 1 is skipped)
    time.sleep(QUIET_S)
    assert not tes(csms)
    assert all(sn["connectorStatus"] == "Available" for sn in sns(csms)), sns(csms)
    # step 3: Authorized (remote) again - the EVSE is ready for another session; the driver
    # plugs in this time and the new authorization (not the lapsed one) starts the transaction
    authorized_remote(csms, remote_start_id=10)
    ev_connected_pre_session(csms, s)
    started = wait_te(csms, "Started")
    check_remote_started(started, remote_start_id=10)
    assert len(tes(csms)) == 1


@pytest.mark.octt("TC_K_38_CS")
def test_TC_K_38_CS_remote_start_charging_profile_ignored_without_smart_charging(csms, fast):
    why = octt.missing(octt.checklist()["TC_K_38_CS"], PROFILE or "core-sc")
    if why:  # the source tree has smart charging: it would use the profile, not ignore it
        pytest.skip(octt.NOT_IN_BUILD + why)
    s = fast()
    ev_connected_pre_session(csms, s)
    profile = {"id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
               "chargingSchedule": [{"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [
                   {"startPeriod": 0, "limit": 6, "numberPhases": 3}]}]}
    r = csms.raw_call("CS001", "k38", "RequestStartTransaction",
                      {"idToken": REMOTE, "remoteStartId": 38, "evseId": 1, "chargingProfile": profile})
    assert r.msg[2]["status"] == "Accepted", r.msg  # F01.FR.12: the profile is ignored
    assert not csms.inbound("Authorize")
    check_remote_started(wait_te(csms, "Started"), remote_start_id=38)
    assert not s.find(ev="limit")  # nothing limits the current: the profile was not used


def test_long_custom_data_of_a_remote_start_is_not_echoed(csms, fast):
    """customData with long values (kept as bytes: engine/lift.py) on the idToken and the
    request: dropped once checked, so the TransactionEvent carries the idToken without it."""
    s = fast()
    ev_connected_pre_session(csms, s)
    big = {"vendorId": "com.example." + "v" * 60, "blob": "\u00e9" * 30, "list": ["x" * 70]}
    r = csms.raw_call("CS001", "cd1", "RequestStartTransaction",
                      {"idToken": dict(REMOTE, customData=big), "remoteStartId": 5, "evseId": 1, "customData": big})
    assert r.msg[2]["status"] == "Accepted", r.msg
    check_remote_started(wait_te(csms, "Started"), remote_start_id=5)  # its idToken: REMOTE, no customData


def test_remote_start_rejected_while_pending_or_busy(csms, sims):
    csms.boot_status = "Pending"
    csms.interval = 60
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Pending")
    r = csms.raw_call("CS001", "rs1", "RequestStartTransaction",
                      {"idToken": {"idToken": "X", "type": "Central"}, "remoteStartId": 1})
    assert r.msg[2]["status"] == "Rejected"  # B02.FR.05
    r = csms.raw_call("CS001", "rs2", "RequestStopTransaction", {"transactionId": "x"})
    assert r.msg[2] == {"status": "Rejected"}


# --- F03 remote stop, E_35 -----------------------------------------------------------------
@pytest.mark.octt("TC_F_08_CS")
def test_TC_F_08_CS_remote_stop_success(csms, fast):
    s = fast()
    tx_id = charging_local(csms, s)
    assert csms.call("CS001", call.RequestStopTransaction(transaction_id=tx_id)).status == "Accepted"
    ended = wait_te(csms, "Ended")
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert ended["triggerReason"] == "RemoteStop" and ended["transactionInfo"]["stoppedReason"] == "Remote"
    relays_become(s, [False, True, False])
    s.send(op="unplug", evse=1)  # EVDisconnected: the connector is free again
    wait_until(lambda: sns(csms)[-1]["connectorStatus"] == "Available", 5, lambda: "Available: %r" % sns(csms))
    assert len(tes(csms, tx_id)) == len(tes(csms))  # and no other transaction came and went


@pytest.mark.octt("TC_F_09_CS")
def test_TC_F_09_CS_remote_stop_rejected(csms, fast):
    s = fast()
    tx_id = charging_local(csms, s)
    n_te = len(tes(csms))
    r = csms.call("CS001", call.RequestStopTransaction(transaction_id="unknown-" + tx_id[:20]))
    assert r.status == "Rejected"
    time.sleep(QUIET_S)
    assert len(tes(csms)) == n_te and relays(s)[-1] is True  # the transaction goes on


@pytest.mark.octt("TC_E_35_CS")
def test_TC_E_35_CS_stop_option_power_path_closed_remote_stop(csms, fast):
    s = fast()
    [r] = get(csms, cv("TxCtrlr", "TxStopPoint"))
    assert r["attribute_value"] == "PowerPathClosed", r
    tx_id = charging_local(csms, s)
    assert csms.call("CS001", call.RequestStopTransaction(transaction_id=tx_id)).status == "Accepted"
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "RemoteStop" and ended["transactionInfo"]["stoppedReason"] == "Remote"
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert len([mv for mv in ended["meterValue"] if mv["sampledValue"][0].get("context") == "Transaction.End"]) == 1
    # the power path opened: that ends a PowerPathClosed transaction, with the cable still in
    relays_become(s, [False, True, False])
    assert sns(csms)[-1]["connectorStatus"] == "Occupied"


# --- F05 UnlockConnector -------------------------------------------------------------------
@pytest.mark.octt("TC_F_05_CS")
def test_TC_F_05_CS_unlock_connector_with_ongoing_transaction(csms, fast):
    s = fast()
    tx_id = charging_local(csms, s)
    n_te = len(tes(csms))
    r = csms.call("CS001", call.UnlockConnector(evse_id=1, connector_id=1))
    assert r.status == "OngoingAuthorizedTransaction"  # F05.FR.02
    time.sleep(QUIET_S)
    assert not s.find(ev="unlock") and relays(s)[-1] is True
    assert len(tes(csms)) == n_te and not [p for p in tes(csms, tx_id) if p["eventType"] == "Ended"]


@pytest.mark.octt("TC_F_06_CS")
def test_TC_F_06_CS_unlock_connector_cable_in_without_transaction(csms, fast):
    s = fast()
    ev_connected_pre_session(csms, s)  # a cable in the socket, nobody authorized
    r = csms.call("CS001", call.UnlockConnector(evse_id=1, connector_id=1))
    assert r.status == "Unlocked"
    s.wait_event(ev="unlock", evse=1)
    assert not tes(csms)


@pytest.mark.octt("TC_F_07_CS")
def test_TC_F_07_CS_unlock_connector_no_cable_connected(csms, fast):
    s = fast()
    assert all(sn["connectorStatus"] == "Available" for sn in sns(csms))
    r = csms.call("CS001", call.UnlockConnector(evse_id=1, connector_id=1))
    assert r.status == "Unlocked"  # F05.FR.06: the lock opened, there was just nothing in it
    s.wait_event(ev="unlock", evse=1)


@pytest.mark.octt("TC_F_10_CS")
def test_TC_F_10_CS_unlock_connector_unknown_connector(csms, fast):
    s = fast()
    r = csms.call("CS001", call.UnlockConnector(evse_id=1, connector_id=999))
    assert r.status == "UnknownConnector"  # F05.FR.03
    assert csms.call("CS001", call.UnlockConnector(evse_id=3, connector_id=1)).status == "UnknownConnector"
    assert not s.find(ev="unlock")


# --- F06 TriggerMessage --------------------------------------------------------------------
@pytest.mark.octt("TC_F_11_CS")
def test_TC_F_11_CS_trigger_meter_values_specific_evse(csms, fast):
    fast(evses=2)
    r = trigger(csms, "f11", "MeterValues", {"id": 2})
    assert r.msg[2] == {"status": "Accepted"}
    [mv] = wait_after_reply(csms, "f11", "MeterValues")
    assert mv["evseId"] == 2, mv
    assert mv["meterValue"][0]["sampledValue"][0]["context"] == "Trigger", mv
    time.sleep(0.3)
    assert len(csms.inbound("MeterValues")) == 1  # only the EVSE asked for


@pytest.mark.octt("TC_F_12_CS")
def test_TC_F_12_CS_trigger_meter_values_all_evse(csms, fast):
    fast(evses=2)
    r = trigger(csms, "f12", "MeterValues")
    assert r.msg[2] == {"status": "Accepted"}
    got = wait_after_reply(csms, "f12", "MeterValues", n=2)
    assert sorted(mv["evseId"] for mv in got) == [1, 2], got  # one for every EVSE
    assert all(mv["meterValue"][0]["sampledValue"][0]["context"] == "Trigger" for mv in got), got


def check_triggered(te, tx_id, evse):
    """A TransactionEvent sent for a TriggerMessage (F06.FR.07) during EnergyTransferStarted."""
    assert te["eventType"] == "Updated" and te["triggerReason"] == "Trigger", te
    assert te["transactionInfo"]["transactionId"] == tx_id, te
    assert te["transactionInfo"]["chargingState"] == "Charging", te
    assert te.get("evse", {"id": evse})["id"] == evse, te  # omitted, or this EVSE
    assert te["meterValue"][0]["sampledValue"][0]["context"] == "Trigger", te


@pytest.mark.octt("TC_F_13_CS")
def test_TC_F_13_CS_trigger_transaction_event_specific_evse(csms, fast):
    s = fast()
    tx_id = charging_local(csms, s)
    r = trigger(csms, "f13", "TransactionEvent", {"id": 1})
    assert r.msg[2] == {"status": "Accepted"}
    [te] = wait_after_reply(csms, "f13", "TransactionEvent")
    check_triggered(te, tx_id, 1)


@pytest.mark.octt("TC_F_14_CS")
def test_TC_F_14_CS_trigger_transaction_event_all_evse(csms, fast):
    s = fast(evses=2)
    tx1 = charging_local(csms, s, TAG, evse=1, n=1)
    tx2 = charging_local(csms, s, OTHER, evse=2, n=2)
    r = trigger(csms, "f14", "TransactionEvent")
    assert r.msg[2] == {"status": "Accepted"}
    wait_after_reply(csms, "f14", "TransactionEvent", n=2)
    time.sleep(0.3)  # and no more than one for each
    got = sent_after_reply(csms, "f14", "TransactionEvent")
    assert sorted(te["transactionInfo"]["transactionId"] for te in got) == sorted([tx1, tx2]), got
    for te in got:
        tx_id = te["transactionInfo"]["transactionId"]
        check_triggered(te, tx_id, 1 if tx_id == tx1 else 2)


def test_trigger_transaction_event_without_transaction_is_rejected(csms, fast):
    fast()
    r = trigger(csms, "t0", "TransactionEvent")
    assert r.msg[2] == {"status": "Rejected"}  # no transaction to report


@pytest.mark.octt("TC_F_15_CS")
def test_TC_F_15_CS_trigger_log_status_notification_idle(csms, fast):
    fast()
    r = trigger(csms, "f15", "LogStatusNotification")
    assert r.msg[2] == {"status": "Accepted"}
    [ls] = wait_after_reply(csms, "f15", "LogStatusNotification")
    assert ls == {"status": "Idle"}, ls  # no requestId: no upload going on (F06.FR.15)


@pytest.mark.octt("TC_F_16_CS")
def test_TC_F_16_CS_trigger_log_status_notification_uploading(csms, fast):
    fast()
    hang, port = listener()  # accepts the upload's connection and never answers: it stays Uploading
    try:
        assert get_log(csms, "http://127.0.0.1:%d/logs/" % port, rid=16)[0] == "Accepted"
        wait_until(lambda: {"status": "Uploading", "requestId": 16} in
                   [f.payload for f in csms.inbound("LogStatusNotification")], 10, "Uploading 16")
        r = trigger(csms, "f16", "LogStatusNotification")
        assert r.msg[2] == {"status": "Accepted"}
        [ls] = wait_after_reply(csms, "f16", "LogStatusNotification")
        assert ls == {"status": "Uploading", "requestId": 16}, ls  # F06.FR.14
    finally:
        hang.close()


def firmware_status_after(csms, mid, evse=None):
    r = trigger(csms, mid, "FirmwareStatusNotification", evse)
    assert r.msg[2] == {"status": "Accepted"}
    [fs] = wait_after_reply(csms, mid, "FirmwareStatusNotification")
    return fs


@pytest.mark.octt("TC_F_17_CS")
def test_TC_F_17_CS_trigger_firmware_status_specific_evse_not_relevant(csms, fast):
    fast()
    # the evse means nothing for this message: it is ignored and the message still sent
    assert firmware_status_after(csms, "f17", {"id": 1}) == {"status": "Idle"}


@pytest.mark.octt("TC_F_18_CS")
def test_TC_F_18_CS_trigger_firmware_status_idle(csms, fast):
    fast()
    assert firmware_status_after(csms, "f18") == {"status": "Idle"}  # F06.FR.16: no requestId


@pytest.mark.octt("TC_F_19_CS")
def test_TC_F_19_CS_trigger_firmware_status_downloading(csms, station, signers):  # noqa: F811
    station()
    hang, port = listener()  # accepts the download's connection and never answers: it stays Downloading
    try:
        assert update(csms, "http://127.0.0.1:%d/fw.bin" % port, signers["ec"][1], b"x", rid=19) == "Accepted"
        wait_until(lambda: {"status": "Downloading", "requestId": 19} in
                   [f.payload for f in csms.inbound("FirmwareStatusNotification")], 10, "Downloading 19")
        assert firmware_status_after(csms, "f19") == {"status": "Downloading", "requestId": 19}
    finally:
        hang.close()


@pytest.mark.octt("TC_F_20_CS")
def test_TC_F_20_CS_trigger_heartbeat(csms, sim):
    r = trigger(csms, "f20", "Heartbeat")
    assert r.msg[2] == {"status": "Accepted"}
    [hb] = wait_after_reply(csms, "f20", "Heartbeat")  # F06.FR.04: after the response
    assert hb == {}


@pytest.mark.octt("TC_F_23_CS")
def test_TC_F_23_CS_trigger_status_notification_specific_evse_available(csms, fast):
    fast(evses=2)
    r = trigger(csms, "f23", "StatusNotification", {"id": 2, "connectorId": 1})
    assert r.msg[2] == {"status": "Accepted"}
    [sn] = wait_after_reply(csms, "f23", "StatusNotification")
    assert (sn["connectorStatus"], sn["evseId"], sn["connectorId"]) == ("Available", 2, 1), sn
    time.sleep(0.3)
    assert len(sent_after_reply(csms, "f23", "StatusNotification")) == 1  # that connector only


@pytest.mark.octt("TC_F_24_CS")
def test_TC_F_24_CS_trigger_status_notification_specific_evse_occupied(csms, fast):
    s = fast()
    ev_connected_pre_session(csms, s)
    r = trigger(csms, "f24", "StatusNotification", {"id": 1, "connectorId": 1})
    assert r.msg[2] == {"status": "Accepted"}
    [sn] = wait_after_reply(csms, "f24", "StatusNotification")
    assert (sn["connectorStatus"], sn["evseId"], sn["connectorId"]) == ("Occupied", 1, 1), sn


@pytest.mark.octt("TC_F_26_CS")
def test_TC_F_26_CS_trigger_boot_notification_rejected_when_accepted(csms, fast):
    fast()
    n = len(csms.inbound("BootNotification"))
    r = trigger(csms, "f26", "BootNotification")
    assert r.msg[2] == {"status": "Rejected"}  # F06.FR.17: already Accepted
    time.sleep(QUIET_S)
    assert len(csms.inbound("BootNotification")) == n


@pytest.mark.octt("TC_F_27_CS")
def test_TC_F_27_CS_trigger_not_implemented(csms, sim):
    r = csms.raw_call("CS001", "n1", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"})
    assert r.msg == [3, "n1", {"status": "NotImplemented"}]
