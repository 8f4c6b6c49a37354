"""Reconnection (Part 4 section 5.3, digest 5.4): back-off with RetryBackOffWaitMinimum /
RandomRange / RepeatTimes (TC_B_57), and no new BootNotification on a mere reconnect."""

import time

import pytest

from chaosproxy import ChaosProxy
from helpers import RawWs, wait_until


@pytest.fixture
def refuser(closing):
    """A server that refuses every upgrade (HTTP 503), recording each attempt."""
    return closing(RawWs(status=503))


def test_backoff_doubles_up_to_repeat_times_then_stays(sims, refuser):
    r = refuser
    sims(r.url, sets={"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
                      "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
                      "OCPPCommCtrlr.RetryBackOffRepeatTimes": 2})
    wait_until(lambda: len(r.accepted) >= 6, 20, "6 connection attempts")
    gaps = [b - a for a, b in zip(r.accepted, r.accepted[1:])][:5]
    # waits 1, 2, 4, then stays at 4 (two doublings), plus small connect overheads
    for gap, want in zip(gaps, (1, 2, 4, 4, 4)):
        assert want - 0.1 <= gap <= want + 0.6, gaps


def test_backoff_random_range_adds_jitter(sims, refuser):
    r = refuser
    sims(r.url, sets={"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
                      "OCPPCommCtrlr.RetryBackOffRandomRange": 2,
                      "OCPPCommCtrlr.RetryBackOffRepeatTimes": 0})
    wait_until(lambda: len(r.accepted) >= 7, 25, "7 connection attempts")
    gaps = [b - a for a, b in zip(r.accepted, r.accepted[1:])]
    assert all(0.9 <= g <= 3.6 for g in gaps), gaps  # 1 s + 0..2 s
    assert max(gaps) - min(gaps) > 0.5, gaps  # the random part varies


def close_from_csms(csms):
    """The CSMS (the OCTT) closes the WebSocket connection; returns when, monotonic."""
    t = time.monotonic()
    csms.run(csms.csms._taps["CS001"].conn.close(1000))
    return t


@pytest.mark.octt("TC_B_57_CS")
def test_TC_B_57_CS_network_reconnection_after_connection_loss(csms, sims, closing):
    w = 2  # RetryBackOffWaitMinimum
    proxy = closing(ChaosProxy(csms.csms.port))  # sees every attempt, and refuses one on command
    csms.interval = 1
    s = sims(proxy.url(csms.url), sets={"OCPPCommCtrlr.RetryBackOffRepeatTimes": 2,
                                        "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
                                        "OCPPCommCtrlr.RetryBackOffWaitMinimum": w})
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("Heartbeat")
    # 1-3: the OCTT closes the connection; the station waits RetryBackOffWaitMinimum and
    # reconnects; accepted
    t1 = close_from_csms(csms)
    s.wait_event(ev="ws", state="closed")
    csms.wait_connected("CS001", n=2, timeout=w + 5)
    t2 = proxy.attempts[1]["t"]
    assert w - 0.05 <= t2 - t1 <= w + 0.8, t2 - t1  # step 2: at least RetryBackOffWaitMinimum
    # 4-6: closed again; the reconnection after RetryBackOffWaitMinimum is refused
    proxy.refuse("rst")
    t4 = close_from_csms(csms)
    s.wait_event(ev="ws", state="closed", n=2)
    wait_until(lambda: len(proxy.attempts) >= 3, w + 5, "the third connection attempt")
    t5 = proxy.attempts[2]["t"]
    assert proxy.attempts[2]["mode"] == "rst" and w - 0.05 <= t5 - t4 <= w + 0.8, t5 - t4
    proxy.heal()
    # 7-8: the next attempt after twice RetryBackOffWaitMinimum; accepted
    csms.wait_connected("CS001", n=3, timeout=2 * w + 5)
    t7 = proxy.attempts[3]["t"]
    assert 2 * w - 0.05 <= t7 - t5 <= 2 * w + 0.8, t7 - t5  # step 7: the doubled wait
    assert len(proxy.attempts) == 4
    n = len(csms.inbound("Heartbeat"))
    csms.wait_call("Heartbeat", n=n + 1, timeout=4)  # business as usual on the new connection
    assert len(csms.inbound("BootNotification")) == 1  # a reconnect is no reboot


def test_reconnect_after_connection_abort_without_new_boot(csms, sims):
    csms.interval = 1
    s = sims(csms.url, sets={"OCPPCommCtrlr.RetryBackOffWaitMinimum": 2,
                             "OCPPCommCtrlr.RetryBackOffRandomRange": 0})
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("Heartbeat")
    tap = csms.csms._taps["CS001"]
    t_drop = time.monotonic()
    csms.loop.call_soon_threadsafe(tap.conn.transport.abort)  # connection lost, no close handshake
    s.wait_event(ev="ws", state="closed")
    csms.wait_connected("CS001", n=2, timeout=8)
    first_reconnect = [c[0] for c in csms.connects if c[1] == "CS001"][1]
    assert first_reconnect - t_drop >= 1.9  # RetryBackOffWaitMinimum
    n = len(csms.inbound("Heartbeat"))
    csms.wait_call("Heartbeat", n=n + 1, timeout=4)  # business as usual on the new connection
    assert len(csms.inbound("BootNotification")) == 1


def test_status_changed_while_offline_is_reported_after_reconnect(csms, sims):
    s = sims(csms.url, sets={"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
                             "OCPPCommCtrlr.RetryBackOffRandomRange": 0}, evses=2)
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("SecurityEventNotification")
    s.send(op="net", up=False)
    s.wait_event(ev="ws", state="closed")
    s.send(op="plug", evse=2)
    s.wait_event(ev="status", evse=2, status="Occupied")
    time.sleep(1.5)
    assert len(csms.connects) == 1  # no reconnect while the network is down
    s.send(op="net", up=True)
    csms.wait_connected("CS001", n=2, timeout=6)
    sn = csms.wait_call("StatusNotification", n=3)
    assert (sn.payload["evseId"], sn.payload["connectorStatus"]) == (2, "Occupied")
    time.sleep(0.5)
    # only the changed connector is reported (short outage, B04.FR.02)
    assert len(csms.inbound("StatusNotification")) == 3
    assert len(csms.inbound("BootNotification")) == 1


def test_pending_boot_is_repeated_after_reconnect(csms, sims):
    csms.boot_status = "Pending"
    csms.interval = 30
    s = sims(csms.url, sets={"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
                             "OCPPCommCtrlr.RetryBackOffRandomRange": 0})
    s.wait_event(ev="boot", status="Pending")
    csms.boot_status = "Accepted"
    tap = csms.csms._taps["CS001"]
    csms.run(tap.conn.close(1001))
    # still not accepted: the boot is due only after the interval of 30 s, not on reconnect
    csms.wait_connected("CS001", n=2, timeout=5)
    time.sleep(1)
    assert len(csms.inbound("BootNotification")) == 1
    r = csms.raw_call("CS001", "tb", "TriggerMessage", {"requestedMessage": "BootNotification"})
    assert r.msg[2] == {"status": "Accepted"}
    b = csms.wait_call("BootNotification", n=2)
    assert b.payload["reason"] == "Triggered"
    s.wait_event(ev="boot", status="Accepted")
