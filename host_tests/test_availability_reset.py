"""Availability (G03/G04), Reset (B11/B12), offline status reporting (B04), UnlockConnector
(F05) and CustomerInformation (N09/N10) against the `ocpp` CSMS."""

import time

import pytest
from ocpp.v201 import call

from helpers import wait_until
from test_transactions import fast, relays, tes, wait_te  # noqa: F401  (fixture)

TAG = "AA11BB22"


def change(csms, status, evse=None, connector=None):
    e = None if evse is None else dict({"id": evse}, **({"connectorId": connector} if connector else {}))
    return csms.call("CS001", call.ChangeAvailability(operational_status=status, evse=e)).status


def statuses(csms, evse=1):
    return [f.payload["connectorStatus"] for f in csms.inbound("StatusNotification") if f.payload["evseId"] == evse]


@pytest.mark.parametrize("evse,connector", [(1, None), (1, 1), (None, None)])
def test_TC_G_03_04_07_08_05_06_CS_change_availability(csms, fast, evse, connector):
    s = fast()
    assert change(csms, "Inoperative", evse, connector) == "Accepted"
    s.wait_event(ev="status", evse=1, status="Unavailable")
    wait_until(lambda: statuses(csms)[-1:] == ["Unavailable"], 5, "Unavailable reported")
    assert change(csms, "Inoperative", evse, connector) == "Accepted"  # TC_G_10/13/16: already so
    time.sleep(0.3)
    assert statuses(csms) == ["Available", "Unavailable"]
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    s.wait_event(ev="auth", status="NoFreeEvse")
    assert not tes(csms)  # no charging while unavailable
    assert change(csms, "Operative", evse, connector) == "Accepted"
    wait_until(lambda: statuses(csms)[-1:] == ["Occupied"], 5, "back to Occupied (the EV is plugged)")
    assert change(csms, "Operative", evse, connector) == "Accepted"  # TC_G_09/12/15


def test_TC_G_11_14_17_CS_change_with_ongoing_transaction_is_scheduled(csms, fast):
    s = fast(evses=2)
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    wait_te(csms, "Started")
    assert change(csms, "Inoperative") == "Scheduled"
    time.sleep(0.3)
    assert statuses(csms) == ["Available", "Occupied"] and relays(s)[-1] is True  # charging goes on
    s.send(op="tap", idToken=TAG)
    wait_te(csms, "Ended")
    wait_until(lambda: statuses(csms)[-1:] == ["Unavailable"] and statuses(csms, 2)[-1:] == ["Unavailable"],
               5, "both EVSEs Unavailable after the transaction")


def test_TC_G_18_21_B_23_CS_unavailable_persists_reboot_and_reset(csms, fast, sims, tmp_path):
    state = tmp_path / "flash"
    s = fast(state=state)
    assert change(csms, "Inoperative", 1) == "Accepted"
    wait_until(lambda: statuses(csms)[-1:] == ["Unavailable"], 5, "Unavailable")
    s.kill()
    s2 = sims(None, state=state, ident=None)
    s2.wait_event(ev="boot", status="Accepted")
    wait_until(lambda: statuses(csms)[-1:] == ["Unavailable"] and len(statuses(csms)) == 3, 5, "after reboot")
    assert csms.call("CS001", call.Reset(type="Immediate")).status == "Accepted"
    b = csms.wait_call("BootNotification", n=3)
    assert b.payload["reason"] == "RemoteReset"
    wait_until(lambda: statuses(csms)[-1:] == ["Unavailable"] and len(statuses(csms)) == 4, 5, "after reset")


def test_TC_B_20_CS_reset_on_idle_without_transaction(csms, fast):
    s = fast()
    assert csms.call("CS001", call.Reset(type="OnIdle")).status == "Accepted"
    b = csms.wait_call("BootNotification", n=2)
    assert b.payload["reason"] == "RemoteReset"
    s.wait_event(ev="boot", status="Accepted", n=2)
    sec = csms.wait_call("SecurityEventNotification", n=2)
    assert sec.payload["type"] == "ResetOrReboot"


def test_TC_B_21_CS_reset_on_idle_waits_for_the_transaction(csms, fast):
    s = fast(evses=2)
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    wait_te(csms, "Started")
    assert csms.call("CS001", call.Reset(type="OnIdle")).status == "Scheduled"
    wait_until(lambda: statuses(csms, 2)[-1:] == ["Unavailable"], 5, "the idle EVSE Unavailable")
    time.sleep(0.5)
    assert len(csms.inbound("BootNotification")) == 1
    s.send(op="unplug", evse=1)
    ended = wait_te(csms, "Ended")
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"  # ended normally (B12.FR.03)
    b = csms.wait_call("BootNotification", n=2)
    assert b.payload["reason"] == "RemoteReset" and b.t > csms.inbound("TransactionEvent")[-1].t
    s.wait_event(ev="boot", status="Accepted", n=2)
    wait_until(lambda: statuses(csms, 2)[-1:] == ["Available"], 5, "available again after the reboot")


def test_TC_B_22_CS_immediate_reset_ends_transaction_then_reboots(csms, fast):
    s = fast()
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    wait_te(csms, "Started")
    assert csms.call("CS001", call.Reset(type="Immediate")).status == "Accepted"
    ended = wait_te(csms, "Ended")
    assert ended["triggerReason"] == "ResetCommand" and ended["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    b = csms.wait_call("BootNotification", n=2)
    assert b.payload["reason"] == "RemoteReset" and b.t > csms.inbound("TransactionEvent")[-1].t
    assert relays(s)[-2:] == [False, False]  # opened at the reset, and at the start after it


def test_TC_B_28_29_CS_reset_of_one_evse_rejected(csms, fast):
    fast()
    assert csms.call("CS001", call.Reset(type="Immediate", evse_id=1)).status == "Rejected"
    time.sleep(0.3)
    assert len(csms.inbound("BootNotification")) == 1


def test_TC_B_51_CS_long_outage_reports_all_connectors(csms, fast):
    s = fast(evses=2, sets={"OCPPCommCtrlr.OfflineThreshold": 1})
    s.send(op="net", up=False)
    s.wait_event(ev="ws", state="closed")
    time.sleep(1.5)
    s.send(op="net", up=True)
    csms.wait_connected("CS001", n=2, timeout=8)
    wait_until(lambda: len(csms.inbound("StatusNotification")) == 4, 5, "all connectors again")
    assert len(csms.inbound("BootNotification")) == 1


def test_TC_N_32_and_customer_information_report(csms, fast):
    fast()
    tok = {"idToken": TAG, "type": "ISO14443"}
    r = csms.raw_call("CS001", "c1", "CustomerInformation", {"requestId": 4, "report": False, "clear": True, "idToken": tok})
    assert r.msg[2] == {"status": "Accepted"}
    time.sleep(0.3)
    assert not csms.inbound("NotifyCustomerInformation")  # clear, no report
    r = csms.raw_call("CS001", "c2", "CustomerInformation",
                      {"requestId": 5, "report": True, "clear": False, "customerIdentifier": "cust-1"})
    assert r.msg[2] == {"status": "Accepted"}
    n = csms.wait_call("NotifyCustomerInformation")
    assert n.payload["data"] == "" and n.payload["requestId"] == 5 and n.payload["seqNo"] == 0
    for bad in ({}, {"idToken": tok, "customerIdentifier": "x"}):
        r = csms.raw_call("CS001", "c3%d" % len(bad), "CustomerInformation",
                          dict({"requestId": 6, "report": True, "clear": False}, **bad))
        assert r.msg[2] == {"status": "Invalid"}  # N09.FR.09
