"""Availability (G03/G04 ChangeAvailability for an EVSE, the station and a connector), offline
status reporting (B04), Reset (B11/B12) and CustomerInformation (N09/N10) against the `ocpp`
CSMS, played as the OCTT Core cases of blocks G and B (and N_32) do. Most stations here have two
EVSEs, so that a change of one EVSE or connector can be seen to leave the other alone."""

import time

import pytest
from ocpp.v201 import call

from helpers import wait_until
from test_remote_control import charging_local
from test_transactions import TAG, fast, relays, tes, wait_te  # noqa: F401  (fixture)

QUIET_S = 1.0  # how long "nothing is sent" is watched where the case says so

# ChangeAvailability targets: (evse.id, evse.connectorId) of the request; None: omitted
LEVELS = {"evse": (1, None), "station": (None, None), "connector": (1, 1)}


def change(csms, status, evse=None, connector=None):
    e = None if evse is None else dict({"id": evse}, **({"connectorId": connector} if connector else {}))
    return csms.call("CS001", call.ChangeAvailability(operational_status=status, evse=e)).status


def sns(csms, since=0, conn=None):
    """StatusNotification payloads (from the since-th on; only those of connection conn)."""
    return [f.payload for f in csms.inbound("StatusNotification")[since:] if conn is None or f.conn == conn]


def last_status(csms, evse):
    got = [p["connectorStatus"] for p in sns(csms) if p["evseId"] == evse]
    return got[-1] if got else None


def wait_sn(csms, since, want, conn=None, timeout=10):
    """Wait until StatusNotifications sent after the since-th report every evse of want
    ({evse: status}) with that status (connector 1); returns those sent after since."""
    def done():
        got = sns(csms, since, conn)
        ok = all(any(p["evseId"] == e and p["connectorId"] == 1 and p["connectorStatus"] == s for p in got)
                 for e, s in want.items())
        return ok and got
    return wait_until(done, timeout, lambda: "StatusNotification %r; got %r" % (want, sns(csms, since, conn)))


def targets(level, evses=2):
    """The EVSEs whose connector a change at level touches."""
    return list(range(1, evses + 1)) if level == "station" else [1]


def unavailable(csms, level):
    """Reusable state Unavailable (for the configured EVSE / connector, or the station):
    ChangeAvailability Inoperative, Accepted, and every connector of the target reported
    Unavailable."""
    n = len(sns(csms))
    assert change(csms, "Inoperative", *LEVELS[level]) == "Accepted"
    got = wait_sn(csms, n, {e: "Unavailable" for e in targets(level)})
    assert all(p["connectorStatus"] == "Unavailable" for p in got), got
    return got


def untouched(csms, since, level):
    """The EVSE(s) outside the target sent no StatusNotification after the since-th."""
    others = [p for p in sns(csms, since) if p["evseId"] not in targets(level)]
    assert not others, others


def stop_authorized(csms, tx_id):
    """The transaction was ended by the driver (E07: Ended StopAuthorized, or Updated
    StopAuthorized then Ended)."""
    return [p for p in tes(csms, tx_id) if p["triggerReason"] == "StopAuthorized"]


def _levels(*ids):
    """One parameter per level, each marked with its case."""
    return [pytest.param(lv, marks=pytest.mark.octt(i), id=i) for lv, i in zip(("evse", "station", "connector"), ids)]


# --- G03/G04: Operative <-> Inoperative ----------------------------------------------------
@pytest.mark.parametrize("level", _levels("TC_G_03_CS", "TC_G_05_CS", "TC_G_07_CS"))
def test_change_availability_operative_to_inoperative(csms, fast, level):
    fast(evses=2)
    n = len(sns(csms))
    unavailable(csms, level)
    # post scenario: the state of every connector of the target has been reported
    assert {last_status(csms, e) for e in targets(level)} == {"Unavailable"}
    untouched(csms, n, level)


@pytest.mark.parametrize("level", _levels("TC_G_04_CS", "TC_G_06_CS", "TC_G_08_CS"))
def test_change_availability_inoperative_to_operative(csms, fast, level):
    fast(evses=2)
    unavailable(csms, level)  # memory state: Unavailable for the target
    n = len(sns(csms))
    assert change(csms, "Operative", *LEVELS[level]) == "Accepted"
    got = wait_sn(csms, n, {e: "Available" for e in targets(level)})  # step 3
    assert all(p["connectorStatus"] == "Available" for p in got), got
    untouched(csms, n, level)


@pytest.mark.parametrize("level", _levels("TC_G_09_CS", "TC_G_12_CS", "TC_G_15_CS"))
def test_change_availability_operative_to_operative(csms, fast, level):
    fast(evses=2)
    n = len(sns(csms))
    assert change(csms, "Operative", *LEVELS[level]) == "Accepted"  # G03.FR.03, G04.FR.04
    # the station reports the (unchanged) state of the target's connectors again
    got = wait_sn(csms, n, {e: "Available" for e in targets(level)})
    assert all(p["connectorStatus"] == "Available" for p in got), got
    untouched(csms, n, level)


@pytest.mark.parametrize("level", _levels("TC_G_10_CS", "TC_G_13_CS", "TC_G_16_CS"))
def test_change_availability_inoperative_to_inoperative(csms, fast, level):
    fast(evses=2)
    unavailable(csms, level)
    n = len(sns(csms))
    assert change(csms, "Inoperative", *LEVELS[level]) == "Accepted"  # already so
    got = wait_sn(csms, n, {e: "Unavailable" for e in targets(level)})  # TC_G_13_CS step 3
    assert all(p["connectorStatus"] == "Unavailable" for p in got), got
    untouched(csms, n, level)


def test_no_transaction_while_inoperative_and_back_to_occupied(csms, fast):
    s = fast()
    unavailable(csms, "evse")
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    s.wait_event(ev="auth", status="NoFreeEvse")
    assert not tes(csms) and last_status(csms, 1) == "Unavailable"  # the cable does not make it Occupied
    n = len(sns(csms))
    assert change(csms, "Operative", 1) == "Accepted"
    wait_sn(csms, n, {1: "Occupied"})  # back to its own status: the EV is plugged


# --- G03/G04 with a transaction: Scheduled ---------------------------------------------------
@pytest.mark.parametrize("level", _levels("TC_G_11_CS", "TC_G_14_CS", "TC_G_17_CS"))
def test_change_availability_with_ongoing_transaction(csms, fast, level):
    s = fast(evses=2)
    tx_id = charging_local(csms, s)  # a transaction on EVSE 1, charging
    n = len(sns(csms))
    assert change(csms, "Inoperative", *LEVELS[level]) == "Scheduled"  # G03.FR.05 / G04.FR.06
    if level == "station":  # the unoccupied connectors become Unavailable at once
        wait_sn(csms, n, {2: "Unavailable"})
    time.sleep(QUIET_S)  # "Wait for <Configured Transaction Duration>": charging goes on
    assert relays(s)[-1] is True and not [p for p in tes(csms, tx_id) if p["eventType"] == "Ended"]
    assert not [p for p in sns(csms, n) if p["evseId"] == 1], sns(csms, n)
    # StopAuthorized: the same card ends the transaction
    s.send(op="tap", idToken=TAG)
    ended = wait_te(csms, "Ended")
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert stop_authorized(csms, tx_id), tes(csms, tx_id)
    # step 4: the connector of EVSE 1 is reported; the change became effective
    wait_sn(csms, n, {1: "Unavailable"})
    # EVConnectedPostSession, then EVDisconnected: it stays Unavailable
    s.send(op="unplug", evse=1)
    time.sleep(QUIET_S)
    assert last_status(csms, 1) == "Unavailable"
    assert [p["connectorStatus"] for p in sns(csms, n) if p["evseId"] == 1][-1] == "Unavailable"
    assert "Available" not in [p["connectorStatus"] for p in sns(csms, n) if p["evseId"] == 1]
    if level == "station":
        assert last_status(csms, 2) == "Unavailable"
        s.send(op="tap", idToken=TAG)  # and no EVSE takes a new transaction
        s.wait_event(ev="auth", status="NoFreeEvse")
    else:
        untouched(csms, n, level)


# --- G03.FR.08 / G04: the state persists across a reboot --------------------------------------
@pytest.mark.parametrize("level", _levels("TC_G_18_CS", "TC_G_21_CS", "TC_G_19_CS"))
def test_change_availability_state_persists_across_reboot(csms, fast, sims, tmp_path, level):
    state = tmp_path / "flash"
    s = fast(evses=2, state=state)
    unavailable(csms, level)  # steps 1-4
    s.kill()  # power loss
    n = len(sns(csms))
    s2 = sims(None, state=state, ident=None, evses=2)
    # step 5: Booted, and the connectors report the state they had
    s2.wait_event(ev="boot", status="Accepted")
    want = {e: ("Unavailable" if e in targets(level) else "Available") for e in (1, 2)}
    got = wait_sn(csms, n, want)
    assert {(p["evseId"], p["connectorStatus"]) for p in got} == set(want.items()), got
    sec = csms.wait_call("SecurityEventNotification", n=2).payload
    assert sec["type"] in ("StartupOfTheDevice", "ResetOrReboot"), sec


# --- B04: status changes while offline ---------------------------------------------------------
def _offline_plug(csms, fast, threshold, backoff):
    """OCTT closes the WebSocket and takes the reconnect only after the back-off; meanwhile
    the EV is connected to EVSE 1. Returns (seconds offline, StatusNotifications of the new
    connection so far)."""
    s = fast(evses=2, sets={"OCPPCommCtrlr.OfflineThreshold": threshold,
                            "OCPPCommCtrlr.RetryBackOffWaitMinimum": backoff,
                            "OCPPCommCtrlr.RetryBackOffRandomRange": 0})
    tap = csms.csms._taps["CS001"]
    t_close = time.monotonic()
    csms.run(tap.conn.close(1001))
    s.wait_event(ev="ws", state="closed")
    s.send(op="plug", evse=1)  # manual action: connect the EV and EVSE
    s.wait_event(ev="status", evse=1, status="Occupied")
    csms.wait_connected("CS001", n=2, timeout=backoff + 8)
    offline = [c[0] for c in csms.connects if c[1] == "CS001"][1] - t_close
    return s, offline


@pytest.mark.octt("TC_B_51_CS")
def test_TC_B_51_CS_status_change_offline_longer_than_threshold(csms, fast):
    s, offline = _offline_plug(csms, fast, threshold=1, backoff=3)
    assert offline > 1, offline
    got = wait_sn(csms, 0, {1: "Occupied", 2: "Available"}, conn=1)  # B04.FR.01: every connector
    assert sorted((p["evseId"], p["connectorStatus"]) for p in got) == [(1, "Occupied"), (2, "Available")], got
    assert len(csms.inbound("BootNotification")) == 1  # a reconnect, not a reboot


@pytest.mark.octt("TC_B_52_CS")
def test_TC_B_52_CS_status_change_offline_shorter_than_threshold(csms, fast):
    s, offline = _offline_plug(csms, fast, threshold=4, backoff=2)
    assert offline < 4, offline
    wait_sn(csms, 0, {1: "Occupied"}, conn=1)  # B04.FR.02: the changed connector
    time.sleep(QUIET_S)
    assert [(p["evseId"], p["connectorStatus"]) for p in sns(csms, 0, conn=1)] == [(1, "Occupied")]
    assert len(csms.inbound("BootNotification")) == 1


# --- B11/B12 Reset -----------------------------------------------------------------------------
def rebooted(csms, s, n_boot=2):
    """After a Reset: BootNotification RemoteReset, Accepted (the Booted state follows)."""
    b = csms.wait_call("BootNotification", n=n_boot, timeout=15)
    assert b.payload["reason"] == "RemoteReset", b.payload
    s.wait_event(ev="boot", status="Accepted", n=n_boot)
    return b


@pytest.mark.octt("TC_B_20_CS")
def test_TC_B_20_CS_reset_on_idle_without_transaction(csms, fast):
    s = fast(evses=2)
    n = len(sns(csms))
    assert csms.call("CS001", call.Reset(type="OnIdle")).status == "Accepted"
    b = rebooted(csms, s)
    got = wait_sn(csms, n, {1: "Available", 2: "Available"})
    assert all(f.t > b.t for f in csms.inbound("StatusNotification")[n:]), got  # after the new boot
    sec = csms.wait_call("SecurityEventNotification", n=2).payload
    assert sec["type"] in ("StartupOfTheDevice", "ResetOrReboot"), sec


@pytest.mark.octt("TC_B_21_CS")
def test_TC_B_21_CS_reset_on_idle_waits_for_the_transaction(csms, fast):
    s = fast(evses=2)
    tx_id = charging_local(csms, s)  # EnergyTransferStarted on EVSE 1
    n = len(sns(csms))
    assert csms.call("CS001", call.Reset(type="OnIdle")).status == "Scheduled"  # B12.FR.01
    wait_sn(csms, n, {2: "Unavailable"})  # the idle EVSE takes no new transaction meanwhile
    assert len(csms.inbound("BootNotification")) == 1 and relays(s)[-1] is True
    s.send(op="tap", idToken=TAG)  # StopAuthorized: the transaction ends normally
    ended = wait_te(csms, "Ended")
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert stop_authorized(csms, tx_id) and ended["transactionInfo"].get("stoppedReason", "Local") == "Local", ended
    b = rebooted(csms, s)  # then the station reboots
    assert b.t > csms.inbound("TransactionEvent")[-1].t
    # EVConnectedPostSession, EVDisconnected: the connector is free again
    wait_sn(csms, n, {1: "Occupied", 2: "Available"})
    n = len(sns(csms))
    s.send(op="unplug", evse=1)
    wait_sn(csms, n, {1: "Available"})
    assert len(tes(csms)) == len(tes(csms, tx_id))  # no other transaction came and went


@pytest.mark.octt("TC_B_22_CS")
def test_TC_B_22_CS_immediate_reset_ends_transaction_then_reboots(csms, fast):
    s = fast()
    tx_id = charging_local(csms, s)
    n = len(sns(csms))
    assert csms.call("CS001", call.Reset(type="Immediate")).status == "Accepted"
    ended = wait_te(csms, "Ended")
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert ended["triggerReason"] == "ResetCommand", ended
    assert ended["transactionInfo"]["stoppedReason"] == "ImmediateReset", ended  # B12.FR.04
    assert ended["transactionInfo"]["chargingState"] == "EVConnected", ended
    b = rebooted(csms, s)
    assert b.t > csms.inbound("TransactionEvent")[-1].t
    wait_sn(csms, n, {1: "Occupied"})  # step 7: the cable is still in
    assert relays(s)[-2:] == [False, False]  # opened at the reset, and at the start after it


@pytest.mark.octt("TC_B_23_CS")
def test_TC_B_23_CS_unavailable_persists_reset(csms, fast):
    s = fast(evses=2)
    unavailable(csms, "connector")  # memory state: Unavailable for the configured connector
    n = len(sns(csms))
    assert csms.call("CS001", call.Reset(type="OnIdle")).status == "Accepted"
    b = rebooted(csms, s)
    got = wait_sn(csms, n, {1: "Unavailable", 2: "Available"})
    assert sorted((p["evseId"], p["connectorStatus"]) for p in got) == [(1, "Unavailable"), (2, "Available")], got
    assert all(f.t > b.t for f in csms.inbound("StatusNotification")[n:])


@pytest.mark.octt("TC_B_28_CS")
def test_TC_B_28_CS_reset_of_one_evse_not_supported(csms, fast):
    s = fast()
    r = csms.call("CS001", call.Reset(type="OnIdle", evse_id=1))
    assert r.status == "Rejected"  # B11.FR.09
    n = len(sns(csms))
    s.send(op="plug", evse=1)  # the station carries on as before: no reboot
    wait_sn(csms, n, {1: "Occupied"})
    assert len(csms.inbound("BootNotification")) == 1


@pytest.mark.octt("TC_B_29_CS")
def test_TC_B_29_CS_reset_of_one_evse_with_transaction_not_supported(csms, fast):
    s = fast()
    tx_id = charging_local(csms, s)  # EnergyTransferStarted
    r = csms.call("CS001", call.Reset(type="OnIdle", evse_id=1))
    assert r.status == "Rejected"  # B12.FR.09
    # nothing was scheduled: the transaction runs until the driver stops it, and no reboot follows
    assert relays(s)[-1] is True
    s.send(op="tap", idToken=TAG)
    ended = wait_te(csms, "Ended")
    assert ended["transactionInfo"]["transactionId"] == tx_id and stop_authorized(csms, tx_id), tes(csms, tx_id)
    n = len(sns(csms))
    s.send(op="unplug", evse=1)
    wait_sn(csms, n, {1: "Available"})
    assert len(csms.inbound("BootNotification")) == 1


# --- N09/N10 CustomerInformation -------------------------------------------------------------
@pytest.mark.octt("TC_N_32_CS")
def test_TC_N_32_CS_clear_customer_information_no_report(csms, fast):
    fast()
    tok = {"idToken": TAG, "type": "ISO14443"}
    r = csms.raw_call("CS001", "c1", "CustomerInformation",
                      {"requestId": 4, "report": False, "clear": True, "idToken": tok})
    assert r.msg[2] == {"status": "Accepted"}
    time.sleep(QUIET_S)
    assert not csms.inbound("NotifyCustomerInformation")  # clear, no report


def test_customer_information_report_and_invalid_requests(csms, fast):
    fast()
    tok = {"idToken": TAG, "type": "ISO14443"}
    r = csms.raw_call("CS001", "c2", "CustomerInformation",
                      {"requestId": 5, "report": True, "clear": False, "customerIdentifier": "cust-1"})
    assert r.msg[2] == {"status": "Accepted"}
    n = csms.wait_call("NotifyCustomerInformation")
    assert n.payload["data"] == "" and n.payload["requestId"] == 5 and n.payload["seqNo"] == 0
    for bad in ({}, {"idToken": tok, "customerIdentifier": "x"}):
        r = csms.raw_call("CS001", "c3%d" % len(bad), "CustomerInformation",
                          dict({"requestId": 6, "report": True, "clear": False}, **bad))
        assert r.msg[2] == {"status": "Invalid"}  # N09.FR.09
