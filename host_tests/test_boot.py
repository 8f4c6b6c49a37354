"""Boot and keep-alive (B01-B03, G01, G02) against the `ocpp` CSMS on the unix port."""

import datetime
import time

from ocpp.v201 import call


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


def test_TC_B_02_CS_boot_pending_then_accepted(csms, sims):
    csms.boot_status = "Pending"
    csms.interval = 2
    s = sims(csms.url)
    first = csms.wait_call("BootNotification")
    s.wait_event(ev="boot", status="Pending")
    # B02.FR.01: requests from the CSMS are answered while Pending
    r = csms.raw_call("CS001", "t1", "TriggerMessage", {"requestedMessage": "StatusNotification"})
    assert r.msg == [3, "t1", {"status": "Accepted"}]
    sn = csms.wait_call("StatusNotification")  # a triggered message may go (B02.FR.02)
    assert sn.payload["connectorStatus"] == "Available"
    csms.boot_status = "Accepted"
    second = csms.wait_call("BootNotification", n=2, timeout=5)
    assert second.t - first.t >= 1.9  # not before the interval (B02.FR.04)
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("SecurityEventNotification")
    # nothing but BootNotification and the triggered StatusNotification before acceptance
    before = [f.action for f in csms.inbound() if f.t < second.t]
    assert before == ["BootNotification", "StatusNotification"]


def test_TC_B_03_CS_boot_rejected_security_error_and_silence(csms, sims):
    csms.boot_status = "Rejected"
    csms.interval = 3
    s = sims(csms.url)
    first = csms.wait_call("BootNotification")
    s.wait_event(ev="boot", status="Rejected")
    # B03.FR.08: any CSMS request while Rejected -> CALLERROR SecurityError
    for mid, action, payload in (("r1", "TriggerMessage", {"requestedMessage": "Heartbeat"}),
                                 ("r2", "DataTransfer", {"vendorId": "x"})):
        r = csms.raw_call("CS001", mid, action, payload)
        assert r.msg[:3] == [4, mid, "SecurityError"]
    second = csms.wait_call("BootNotification", n=2, timeout=6)
    assert second.t - first.t >= 2.9  # B03.FR.02: silent until the interval expired
    assert [f.action for f in csms.inbound() if f.t < second.t] == ["BootNotification"]


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


def test_TC_G_01_02_CS_status_occupied_and_available(csms, sim):
    sim.send(op="plug", evse=1)
    sim.wait_event(ev="status", evse=1, connector=1, status="Occupied")
    assert csms.wait_call("StatusNotification", n=2).payload["connectorStatus"] == "Occupied"
    sim.send(op="unplug", evse=1)
    sim.wait_event(ev="status", evse=1, connector=1, status="Available")
    assert csms.wait_call("StatusNotification", n=3).payload["connectorStatus"] == "Available"


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
