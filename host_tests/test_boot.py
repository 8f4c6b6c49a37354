"""Boot and keep-alive (B01-B03, G01, G02) against the `ocpp` CSMS on the unix port, played as
the OCTT Core cases TC_B_01/02/03/30 and TC_G_01/02 do."""

import datetime
import time

import pytest
from ocpp.v201 import call

from helpers import wait_until
from test_device_model import OCPP, cv, get, set_
from test_remote_control import ev_connected_pre_session


@pytest.mark.octt("TC_B_01_CS")
def test_TC_B_01_CS_boot_accepted_status_and_startup_event(csms, sims):
    s = sims(csms.url, evses=2)
    s.wait_event(ev="ready")
    s.wait_event(ev="ws", state="connected")
    boot = csms.wait_call("BootNotification")
    assert boot.payload["reason"] == "PowerUp"
    cs = boot.payload["chargingStation"]
    assert cs["model"] and cs["vendorName"] and cs["firmwareVersion"]
    s.wait_event(ev="boot", status="Accepted")
    sec = csms.wait_call("SecurityEventNotification")
    assert sec.payload["type"] == "StartupOfTheDevice"
    status = csms.inbound("StatusNotification")
    assert sorted((f.payload["evseId"], f.payload["connectorId"], f.payload["connectorStatus"])
                  for f in status) == [(1, 1, "Available"), (2, 1, "Available")]
    # B01.FR.05 then the security event: both StatusNotifications come before it
    frames = [f for f in csms.inbound() if f.action != "Heartbeat"]
    assert [f.action for f in frames] == ["BootNotification", "StatusNotification",
                                          "StatusNotification", "SecurityEventNotification"]


@pytest.mark.octt("TC_B_02_CS")
def test_TC_B_02_CS_boot_pending_then_accepted_after_trigger(csms, sims):
    csms.boot_status = "Pending"
    csms.interval = 60  # the station must not wait for it: the TriggerMessage brings the boot
    s = sims(csms.url)
    first = csms.wait_call("BootNotification")
    s.wait_event(ev="boot", status="Pending")
    # steps 3-6: configuration is set and read while Pending (B02.FR.01)
    [r] = set_(csms, cv(OCPP, "OfflineThreshold", attribute_value="300"))
    assert r["attribute_status"] == "Accepted", r
    [r] = get(csms, cv(OCPP, "OfflineThreshold"))
    assert (r["attribute_status"], r["attribute_value"]) == ("Accepted", "300"), r
    # steps 7-10: a FullInventory report goes out while Pending (B02.FR.02)
    r = csms.call("CS001", call.GetBaseReport(request_id=2, report_base="FullInventory"))
    assert r.status == "Accepted"
    wait_until(lambda: [f for f in csms.inbound("NotifyReport") if not f.payload.get("tbc")], 10,
               "the last NotifyReport page")
    # steps 11-12: no transaction while Pending (B02.FR.05)
    r = csms.call("CS001", call.RequestStartTransaction(id_token={"idToken": "PENDING1", "type": "Central"},
                                                        remote_start_id=1, evse_id=1))
    assert r.status == "Rejected", r
    # steps 13-18: TriggerMessage BootNotification (F06.FR.17 applies only once Accepted)
    csms.boot_status = "Accepted"
    r = csms.raw_call("CS001", "t1", "TriggerMessage", {"requestedMessage": "BootNotification"})
    assert r.msg == [3, "t1", {"status": "Accepted"}]
    second = csms.wait_call("BootNotification", n=2, timeout=10)
    assert second.t - first.t < 60  # before the interval: triggered
    s.wait_event(ev="boot", status="Accepted")
    sn = csms.wait_call("StatusNotification")
    assert (sn.payload["evseId"], sn.payload["connectorId"], sn.payload["connectorStatus"]) == (1, 1, "Available")
    # nothing unsolicited while Pending: only the boot and the report the CSMS asked for
    assert {f.action for f in csms.inbound() if f.t < second.t} == {"BootNotification", "NotifyReport"}
    assert not csms.inbound("TransactionEvent")


def test_pending_triggered_status_notification_may_go(csms, sims):
    csms.boot_status = "Pending"
    csms.interval = 2
    s = sims(csms.url)
    first = csms.wait_call("BootNotification")
    s.wait_event(ev="boot", status="Pending")
    r = csms.raw_call("CS001", "t1", "TriggerMessage", {"requestedMessage": "StatusNotification"})
    assert r.msg == [3, "t1", {"status": "Accepted"}]
    sn = csms.wait_call("StatusNotification")  # a triggered message may go (B02.FR.02)
    assert sn.payload["connectorStatus"] == "Available"
    csms.boot_status = "Accepted"
    second = csms.wait_call("BootNotification", n=2, timeout=5)
    assert second.t - first.t >= 1.9  # not before the interval (B02.FR.04)
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("SecurityEventNotification")
    before = [f.action for f in csms.inbound() if f.t < second.t]
    assert before == ["BootNotification", "StatusNotification"]


@pytest.mark.octt("TC_B_03_CS")
def test_TC_B_03_CS_boot_rejected_silent_until_interval(csms, sims):
    csms.boot_status = "Rejected"
    csms.interval = 3
    s = sims(csms.url, evses=2)
    first = csms.wait_call("BootNotification")
    s.wait_event(ev="boot", status="Rejected")
    csms.boot_status = "Accepted"
    second = csms.wait_call("BootNotification", n=2, timeout=8)
    assert second.t - first.t >= 2.9  # B03.FR.02: not before the interval
    assert [f.action for f in csms.inbound() if f.t < second.t] == ["BootNotification"]  # silent meanwhile
    s.wait_event(ev="boot", status="Accepted")
    # step 5: the state of all connectors
    csms.wait_call("StatusNotification", n=2)
    assert sorted((f.payload["evseId"], f.payload["connectorId"], f.payload["connectorStatus"])
                  for f in csms.inbound("StatusNotification")) == [(1, 1, "Available"), (2, 1, "Available")]


@pytest.mark.octt("TC_B_30_CS")
def test_TC_B_30_CS_rejected_boot_answers_get_base_report_with_security_error(csms, sims):
    csms.boot_status = "Rejected"
    csms.interval = 3
    s = sims(csms.url)
    first = csms.wait_call("BootNotification")
    s.wait_event(ev="boot", status="Rejected")
    # step 3-4: GetBaseReport FullInventory -> CALLERROR SecurityError (B03.FR.08)
    r = csms.raw_call("CS001", "r1", "GetBaseReport", {"requestId": 30, "reportBase": "FullInventory"})
    assert r.kind == 4 and r.msg[:3] == [4, "r1", "SecurityError"], r.msg
    # the connection stayed open, and until the interval the station sends nothing but the
    # BootNotification: no report, nothing else
    second = csms.wait_call("BootNotification", n=2, timeout=8)
    assert second.t - first.t >= 2.9
    assert [f.action for f in csms.inbound() if f.t <= second.t] == ["BootNotification"] * 2
    assert not csms.inbound("NotifyReport")
    assert len(csms.connects) == 1


def test_rejected_boot_answers_every_csms_request_with_security_error(csms, sims):
    csms.boot_status = "Rejected"
    csms.interval = 30
    s = sims(csms.url)
    csms.wait_call("BootNotification")
    s.wait_event(ev="boot", status="Rejected")
    for mid, action, payload in (("r1", "TriggerMessage", {"requestedMessage": "Heartbeat"}),
                                 ("r2", "DataTransfer", {"vendorId": "x"}),
                                 ("r3", "GetVariables", {"getVariableData": [
                                     {"component": {"name": OCPP}, "variable": {"name": "OfflineThreshold"}}]})):
        r = csms.raw_call("CS001", mid, action, payload)
        assert r.msg[:3] == [4, mid, "SecurityError"], r.msg
    assert [f.action for f in csms.inbound()] == ["BootNotification"]


def test_boot_unanswered_is_retried_after_own_interval(csms, sims):
    csms.hold.add("BootNotification")
    s = sims(csms.url, sets={"OCPPCommCtrlr.MessageTimeout": 1})
    first = csms.wait_call("BootNotification")
    time.sleep(1.5)
    # the station waits MessageTimeout for an answer, then its own interval, without flooding
    assert len(csms.inbound("BootNotification")) == 1
    assert not s.find(ev="boot")


def test_G02_heartbeat_interval_and_clock_from_csms(csms, sims):
    csms.interval = 1
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Accepted")
    beats = [csms.wait_call("Heartbeat", n=i, timeout=5) for i in (1, 2, 3)]
    gaps = [b.t - a.t for a, b in zip(beats, beats[1:])]
    assert all(0.9 <= g <= 1.5 for g in gaps), gaps
    # the clock follows the CSMS: timestamps the station sends are close to CSMS time
    s.send(op="plug", evse=1)
    sn = csms.wait_call("StatusNotification", n=2)
    sent = datetime.datetime.strptime(sn.payload["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs((sent - now).total_seconds()) < 3


def test_heartbeat_skipped_while_other_messages_flow(csms, sims):
    csms.interval = 2
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Accepted")
    t0 = time.monotonic()
    for i in range(5):  # a status change every 0.6 s keeps the link busy (G02.FR.05)
        s.send(op="plug" if i % 2 == 0 else "unplug", evse=1)
        time.sleep(0.6)
    assert not [f for f in csms.inbound("Heartbeat") if f.t > t0]
    csms.wait_call("Heartbeat", timeout=4)


@pytest.mark.octt("TC_G_01_CS")
def test_TC_G_01_CS_status_available_to_occupied(csms, sim):
    csms.wait_call("SecurityEventNotification")  # booted
    ev_connected_pre_session(csms, sim)  # StatusNotification Occupied for EVSE 1, connector 1
    sim.wait_event(ev="status", evse=1, connector=1, status="Occupied")
    assert not csms.inbound("TransactionEvent")  # PowerPathClosed: no transaction yet


@pytest.mark.octt("TC_G_02_CS")
def test_TC_G_02_CS_status_occupied_to_available(csms, sim):
    csms.wait_call("SecurityEventNotification")  # booted
    ev_connected_pre_session(csms, sim)
    n = len(csms.inbound("StatusNotification"))
    sim.send(op="unplug", evse=1)
    sn = csms.wait_call("StatusNotification", n=n + 1).payload
    assert (sn["connectorStatus"], sn["evseId"], sn["connectorId"]) == ("Available", 1, 1), sn
    assert not csms.inbound("TransactionEvent")


def test_reboot_op_boots_with_local_reset_and_restart_with_power_up(csms, sims, tmp_path):
    state = tmp_path / "flash"
    s = sims(csms.url, state=state)
    s.wait_event(ev="boot", status="Accepted")
    s.send(op="plug", evse=1)
    csms.wait_call("StatusNotification", n=2)
    s.send(op="reboot")
    b2 = csms.wait_call("BootNotification", n=2)
    assert b2.payload["reason"] == "LocalReset"
    sec = csms.wait_call("SecurityEventNotification", n=2)
    assert sec.payload["type"] == "ResetOrReboot"
    # the cable is still in after a firmware reboot: Occupied is reported at boot
    assert csms.wait_call("StatusNotification", n=3).payload["connectorStatus"] == "Occupied"
    s.kill()  # power cut; the next start with the same flash is a power-up
    s2 = sims(None, state=state, ident=None)  # provisioned settings come from the flash
    b3 = csms.wait_call("BootNotification", n=3)
    assert b3.payload["reason"] == "PowerUp"
    s2.wait_event(ev="boot", status="Accepted")
    assert s2.quit() == 0


def test_trigger_boot_rejected_once_accepted_F06_FR_17(csms, sim):
    r = csms.raw_call("CS001", "b1", "TriggerMessage", {"requestedMessage": "BootNotification"})
    assert r.msg == [3, "b1", {"status": "Rejected"}]


def test_trigger_status_notification_for_one_and_all_evses(csms, sims):
    s = sims(csms.url, evses=2)
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("SecurityEventNotification")
    n = len(csms.inbound("StatusNotification"))
    r = csms.raw_call("CS001", "s1", "TriggerMessage",
                      {"requestedMessage": "StatusNotification", "evse": {"id": 2, "connectorId": 1}})
    assert r.msg[2] == {"status": "Accepted"}
    f = csms.wait_call("StatusNotification", n=n + 1)
    assert (f.payload["evseId"], f.payload["connectorId"]) == (2, 1)
    r = csms.raw_call("CS001", "s2", "TriggerMessage", {"requestedMessage": "StatusNotification"})
    assert r.msg[2] == {"status": "Accepted"}
    csms.wait_call("StatusNotification", n=n + 3)
    r = csms.raw_call("CS001", "s3", "TriggerMessage",
                      {"requestedMessage": "StatusNotification", "evse": {"id": 7}})
    assert r.msg[2] == {"status": "Rejected"}
