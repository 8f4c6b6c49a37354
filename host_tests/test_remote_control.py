"""Remote control (F): RequestStartTransaction / RequestStopTransaction with PowerPathClosed
(F01-F03), UnlockConnector (F05) and TriggerMessage (F06) against the `ocpp` CSMS."""

import time

import pytest
from ocpp.v201 import call

from helpers import wait_until
from test_device_model import cv, set_
from test_transactions import TAG, fast, relays, tes, wait_te  # noqa: F401  (fixture)


def test_TC_F_01_CS_remote_start_cable_first(csms, fast):
    s = fast()
    s.send(op="plug", evse=1)
    csms.wait_call("StatusNotification", n=2)
    r = csms.call("CS001", call.RequestStartTransaction(
        id_token={"idToken": "REMOTE1", "type": "Central"}, remote_start_id=77, evse_id=1))
    assert r.status == "Accepted"
    started = wait_te(csms, "Started")
    assert started["triggerReason"] == "RemoteStart"
    assert started["transactionInfo"]["remoteStartId"] == 77 and started["idToken"]["idToken"] == "REMOTE1"
    assert not csms.inbound("Authorize")  # AuthorizeRemoteStart is false


def test_TC_F_02_03_CS_remote_start_first_then_cable(csms, fast):
    s = fast()
    r = csms.call("CS001", call.RequestStartTransaction(
        id_token={"idToken": "REMOTE2", "type": "ISO14443"}, remote_start_id=5,
        charging_profile={"id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
                          "chargingProfileKind": "Relative", "chargingSchedule": [
                              {"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [
                                  {"startPeriod": 0, "limit": 6}]}]}))
    assert r.status == "Accepted"  # TC_K_38: the profile is ignored without smart charging
    s.wait_event(ev="auth", status="WaitingForCable")
    s.send(op="plug", evse=1)
    started = wait_te(csms, "Started")
    assert started["triggerReason"] == "RemoteStart" and started["transactionInfo"]["remoteStartId"] == 5


def test_TC_F_04_CS_remote_start_cable_timeout(csms, fast):
    s = fast(sets={"TxCtrlr.EVConnectionTimeOut": 1})
    r = csms.call("CS001", call.RequestStartTransaction(
        id_token={"idToken": "REMOTE3", "type": "Central"}, remote_start_id=9))
    assert r.status == "Accepted"
    s.wait_event(ev="auth", status="Timeout", timeout=5)
    s.send(op="plug", evse=1)
    csms.wait_call("StatusNotification", n=2)
    time.sleep(0.5)
    assert not tes(csms)  # PowerPathClosed: no transaction had started, so none to end


def test_TC_F_08_09_CS_remote_stop_known_and_unknown(csms, fast):
    s = fast()
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    tid = wait_te(csms, "Started")["transactionInfo"]["transactionId"]
    assert csms.call("CS001", call.RequestStopTransaction(transaction_id="nope")).status == "Rejected"
    assert csms.call("CS001", call.RequestStopTransaction(transaction_id=tid)).status == "Accepted"
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "RemoteStop" and ended["transactionInfo"]["stoppedReason"] == "Remote"
    assert relays(s) == [False, True, False]


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


def test_TC_F_13_CS_trigger_transaction_event_and_F_11_meter_values(csms, fast):
    s = fast()
    r = csms.raw_call("CS001", "t0", "TriggerMessage", {"requestedMessage": "TransactionEvent"})
    assert r.msg[2] == {"status": "Rejected"}  # no transaction to report
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    wait_te(csms, "Started")
    r = csms.raw_call("CS001", "t1", "TriggerMessage",
                      {"requestedMessage": "TransactionEvent", "evse": {"id": 1}})
    assert r.msg[2] == {"status": "Accepted"}
    trig = wait_te(csms, "Updated", "Trigger")
    assert trig["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    r = csms.raw_call("CS001", "t2", "TriggerMessage", {"requestedMessage": "MeterValues"})
    assert r.msg[2] == {"status": "Accepted"}
    mv = csms.wait_call("MeterValues")
    assert mv.payload["evseId"] == 1 and mv.payload["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"


def test_TC_F_06_05_10_CS_unlock_connector(csms, fast):
    s = fast()
    r = csms.call("CS001", call.UnlockConnector(evse_id=1, connector_id=1))
    assert r.status == "Unlocked"
    s.wait_event(ev="unlock", evse=1)
    assert csms.call("CS001", call.UnlockConnector(evse_id=3, connector_id=1)).status == "UnknownConnector"
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    wait_te(csms, "Started")
    r = csms.call("CS001", call.UnlockConnector(evse_id=1, connector_id=1))
    assert r.status == "OngoingAuthorizedTransaction" and relays(s)[-1] is True


def test_TC_F_20_CS_trigger_heartbeat(csms, sim):
    resp = csms.call("CS001", call.TriggerMessage(requested_message="Heartbeat"))
    assert resp.status == "Accepted"
    hb = csms.wait_call("Heartbeat")
    frames = list(csms.frames)
    trig = [f for f in frames if f.direction == "out" and f.action == "TriggerMessage"][0]
    reply = [f for f in frames if f.direction == "in" and f.kind == 3 and f.id == trig.id][0]
    # F06.FR.04: the TriggerMessage response goes before the triggered message
    assert frames.index(reply) < frames.index(hb)


def test_TC_F_27_CS_trigger_not_implemented(csms, sim):
    r = csms.raw_call("CS001", "n1", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"})
    assert r.msg == [3, "n1", {"status": "NotImplemented"}]
