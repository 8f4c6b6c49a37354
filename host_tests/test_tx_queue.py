"""Transaction messages through outages and a failing CSMS, played as the OCTT Core cases of
E11 (TC_E_40: connection loss during a transaction), E13 (TC_E_41/42/50/51: retries of a
TransactionEvent the CSMS does not answer or answers with a CALLERROR) and E14 (TC_E_28-34:
GetTransactionStatus)."""

import time

import pytest

from helpers import wait_until
from test_transactions import (TAG, authorized_local, charging, complete, ev_connected_pre_session,  # noqa: F401
                               fast, tes, wait_te)

T = 2  # MessageTimeout, s
WAIT_MIN = 3  # RetryBackOffWaitMinimum, s: longer than TxUpdatedInterval (the cases' note)
OFFLINE = {  # the Configuration State of TC_E_29/31/33/40
    "OCPPCommCtrlr.RetryBackOffWaitMinimum": WAIT_MIN,
    "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
    "OCPPCommCtrlr.OfflineThreshold": WAIT_MIN + 60,
    "SampledDataCtrlr.TxUpdatedInterval": 1,
    "SampledDataCtrlr.TxUpdatedMeasurands": "Energy.Active.Import.Register,Power.Active.Import",
    "MessageTimeout": T,
    "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": 1,
}


class Next:
    """For Csms.hold / Csms.fail: the CSMS leaves unanswered (hold) or answers with a CALLERROR
    (fail) the next n CALLs of action, and answers every other CALL."""

    def __init__(self, action, n):
        self.action, self.n = action, n

    def __contains__(self, action):
        if action == self.action and self.n > 0:
            self.n -= 1
            return True
        return False


def answered(csms, action="TransactionEvent", frames=None):
    """Every CALL of action the station sent (or those frames) has had its CALLRESULT (nothing
    left in its queue as far as the CSMS can tell)."""
    done = {f.id for f in list(csms.frames) if f.direction == "out" and f.kind == 3}
    return all(f.id in done for f in (csms.inbound(action) if frames is None else frames))


def transaction_status(csms, mid, tx_id=None):
    """GetTransactionStatusRequest (with transactionId unless None); the response payload."""
    r = csms.raw_call("CS001", mid, "GetTransactionStatus", {} if tx_id is None else {"transactionId": tx_id})
    assert r.kind == 3, r.msg
    return r.msg[2]


def station_times(s, **match):
    return [t for t, e in list(s.events) if all(e.get(k) == v for k, v in match.items())]


def connection_lost(csms, s):
    """The OCTT closes the WebSocket connection (and accepts no reconnect before
    RetryBackOffWaitMinimum). Returns when, monotonic."""
    t = time.monotonic()
    csms.run(csms.csms._taps["CS001"].conn.close(1000))
    s.wait_event(ev="ws", state="closed")
    return t


def reconnected(csms, t_lost):
    """The station's first reconnection attempt, RetryBackOffWaitMinimum (RandomRange 0) after
    the loss, is the one the OCTT accepts; no new BootNotification on it."""
    csms.wait_connected("CS001", n=2, timeout=WAIT_MIN + 5)
    t = [c[0] for c in csms.connects if c[1] == "CS001"][1]
    assert WAIT_MIN - 0.1 <= t - t_lost <= WAIT_MIN + 1, t - t_lost
    assert len(csms.inbound("BootNotification")) == 1
    return t


def sent_on(csms, conn, action="TransactionEvent"):
    return [f for f in csms.inbound(action) if f.conn == conn]


def check_offline_delivery(csms, s, tx_id):
    """The TransactionEvents the station made while it was offline reach the CSMS on the new
    connection, each with offline true, in order, and nothing it made online says offline.
    Returns them."""
    lost = station_times(s, ev="ws", state="closed")[-1]
    # the CSMS may see the new connection before the station's stdout says so
    back = wait_until(lambda: [t for t in station_times(s, ev="ws", state="connected") if t > lost], 10,
                      "the station's reconnection")[0]
    made = [t for t in station_times(s, ev="tx", id=tx_id) if lost <= t <= back]
    seen = {f.id for f in sent_on(csms, 0)}

    def fresh():  # first sendings on the new connection of messages not sent before
        got = {}
        for f in sent_on(csms, 1):
            if f.id not in seen:
                got.setdefault(f.id, f.payload)
        return list(got.values())

    wait_until(lambda: len(fresh()) >= len(made), 10, "the %d TransactionEvents made offline" % len(made))
    fresh = fresh()
    offline = [p for p in fresh if p.get("offline")]
    assert len(offline) == len(made), (len(made), fresh)
    assert [p["seqNo"] for p in fresh] == sorted(p["seqNo"] for p in fresh), fresh  # in the order made
    return offline


# --- E14 GetTransactionStatus --------------------------------------------------------------
@pytest.mark.octt("TC_E_28_CS")
def test_TC_E_28_CS_transaction_status_unknown_transaction_id(csms, fast):
    fast()
    assert transaction_status(csms, "e28", "unknown-tx-28") == {"ongoingIndicator": False, "messagesInQueue": False}


@pytest.mark.octt("TC_E_29_CS")
def test_TC_E_29_CS_transaction_status_ongoing_with_message_in_queue(csms, fast):
    s, tx_id = charging(csms, fast, sets=OFFLINE)
    t_lost = connection_lost(csms, s)
    csms.hold = Next("TransactionEvent", 1)  # the first one sent after the reconnect waits
    reconnected(csms, t_lost)
    assert transaction_status(csms, "e29", tx_id) == {"ongoingIndicator": True, "messagesInQueue": True}
    offline = check_offline_delivery(csms, s, tx_id)  # step 5: the queue empties, offline true
    assert offline and all(p["eventType"] == "Updated" and p["meterValue"] for p in offline), offline


@pytest.mark.octt("TC_E_30_CS")
def test_TC_E_30_CS_transaction_status_ongoing_without_message_in_queue(csms, fast):
    s, tx_id = charging(csms, fast)
    wait_until(lambda: answered(csms), 5, "every TransactionEvent answered")
    assert transaction_status(csms, "e30", tx_id) == {"ongoingIndicator": True, "messagesInQueue": False}


@pytest.mark.octt("TC_E_31_CS")
def test_TC_E_31_CS_transaction_status_ended_with_message_in_queue(csms, fast):
    s, tx_id = charging(csms, fast, sets=dict(OFFLINE, **{"SampledDataCtrlr.TxUpdatedInterval": 0}))
    t_lost = connection_lost(csms, s)
    csms.hold = Next("TransactionEvent", 1)
    s.send(op="tap", idToken=TAG)  # the same idToken as started it: offline, no Authorize needed
    s.send(op="unplug", evse=1)  # the EV and EVSE disconnected
    s.wait_event(ev="tx", event="Ended")
    assert len([c for c in csms.connects if c[1] == "CS001"]) == 1  # it ended while offline
    reconnected(csms, t_lost)
    assert transaction_status(csms, "e31", tx_id) == {"ongoingIndicator": False, "messagesInQueue": True}
    offline = check_offline_delivery(csms, s, tx_id)
    ended = offline[-1]
    assert ended["eventType"] == "Ended" and ended["triggerReason"] == "StopAuthorized", ended
    assert ended["transactionInfo"]["stoppedReason"] == "Local", ended
    wait_until(lambda: answered(csms), 10, "the queue to drain")
    complete(csms, tx_id)


@pytest.mark.octt("TC_E_32_CS")
def test_TC_E_32_CS_transaction_status_ended_without_message_in_queue(csms, fast):
    s, tx_id = charging(csms, fast)
    s.send(op="unplug", evse=1)  # ParkingBayUnoccupied: the EV leaves, the transaction ends
    wait_te(csms, "Ended")
    wait_until(lambda: answered(csms), 5, "the Ended answered")
    assert transaction_status(csms, "e32", tx_id) == {"ongoingIndicator": False, "messagesInQueue": False}


@pytest.mark.octt("TC_E_33_CS")
def test_TC_E_33_CS_transaction_status_without_id_with_message_in_queue(csms, fast):
    s, tx_id = charging(csms, fast, sets=OFFLINE)
    t_lost = connection_lost(csms, s)
    csms.hold = Next("TransactionEvent", 1)
    reconnected(csms, t_lost)
    assert transaction_status(csms, "e33") == {"messagesInQueue": True}  # ongoingIndicator omitted
    assert check_offline_delivery(csms, s, tx_id)


@pytest.mark.octt("TC_E_34_CS")
def test_TC_E_34_CS_transaction_status_without_id_without_message_in_queue(csms, fast):
    fast()
    assert transaction_status(csms, "e34") == {"messagesInQueue": False}  # ongoingIndicator omitted


# --- E11 connection loss during a transaction ----------------------------------------------
@pytest.mark.octt("TC_E_40_CS")
def test_TC_E_40_CS_connection_loss_during_transaction_events_queued_and_sent_offline(csms, fast):
    s, tx_id = charging(csms, fast, sets=OFFLINE)
    t_lost = connection_lost(csms, s)
    reconnected(csms, t_lost)
    offline = check_offline_delivery(csms, s, tx_id)  # step 3: the queue empties
    # TxUpdatedInterval 1 s, RetryBackOffWaitMinimum 3 s: the periodic samples of the outage
    assert len(offline) >= WAIT_MIN - 1, offline
    for p in offline:
        assert (p["eventType"], p["triggerReason"]) == ("Updated", "MeterValuePeriodic"), p
        [mv] = p["meterValue"]
        assert {sv["measurand"] for sv in mv["sampledValue"]} == {"Energy.Active.Import.Register",
                                                                 "Power.Active.Import"}, mv
        assert all(sv["context"] == "Sample.Periodic" for sv in mv["sampledValue"]), mv
    # the transaction goes on online; it ends and the CSMS has it whole
    n = len(tes(csms))
    wait_te(csms, "Updated", "MeterValuePeriodic", n=len([p for p in tes(csms)
                                                          if p["triggerReason"] == "MeterValuePeriodic"]) + 1)
    assert not [p for p in tes(csms)[n:] if p.get("offline")]
    s.send(op="unplug", evse=1)
    wait_te(csms, "Ended")
    complete(csms, tx_id)


# --- E13 retries of a failed TransactionEvent ----------------------------------------------
RETRY = {"MessageTimeout": T, "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": 1,
         "SampledDataCtrlr.TxUpdatedInterval": 0}


def retry_case(csms, fast, attempts, how, failures):
    """Authorized, then EVConnectedPreSession: the transaction starts; then the EV draws
    power and the TransactionEvent Updated ChargingStateChanged Charging fails `failures`
    times, not answered (how "hold") or answered with a CALLERROR ("fail"). Returns the
    station and that message's sendings (frames)."""
    s = fast(sets=dict(RETRY, **{"OCPPCommCtrlr.MessageAttempts[TransactionEvent]": attempts}))
    authorized_local(csms, s)
    ev_connected_pre_session(csms, s)
    wait_te(csms, "Started")
    wait_until(lambda: answered(csms), 5, "the Started answered")
    setattr(csms, how, Next("TransactionEvent", failures))
    s.send(op="ev_power", evse=1, w=7400)
    first = csms.wait_call("TransactionEvent", n=2)
    assert (first.payload["triggerReason"], first.payload["transactionInfo"]["chargingState"]) == \
        ("ChargingStateChanged", "Charging"), first.payload
    n = min(failures + 1, attempts)
    wait_until(lambda: len([f for f in csms.inbound("TransactionEvent") if f.id == first.id]) >= n,
               n * (T + attempts + 1), "%d sendings of %s" % (n, first.id))
    sent = [f for f in csms.inbound("TransactionEvent") if f.id == first.id]
    assert all(f.text == first.text for f in sent)  # the same message, the same id
    # E13.FR.02: before sending again it waits MessageAttemptInterval x the sendings so far
    # (plus MessageTimeout, when there was no answer)
    gaps = [b.t - a.t for a, b in zip(sent, sent[1:])]
    for k, gap in enumerate(gaps, 1):
        want = k * 1 + (T if how == "hold" else 0)
        assert want - 0.1 <= gap <= want + 0.8, gaps
    return s, sent


def moves_on(csms, s, sent):
    """The station goes on with the next transaction message (the transaction ends): the
    retried one is not sent again, before it or after it."""
    s.send(op="unplug", evse=1)
    ended = wait_te(csms, "Ended")
    assert ended["seqNo"] == sent[0].payload["seqNo"] + 1, ended
    frame = [f for f in csms.inbound("TransactionEvent") if f.payload["eventType"] == "Ended"]
    wait_until(lambda: answered(csms, frames=frame), 5, "the Ended answered")
    return [f for f in csms.inbound("TransactionEvent") if f.id == sent[0].id]


@pytest.mark.octt("TC_E_41_CS")
def test_TC_E_41_CS_retry_transaction_event_without_answer_max_attempts_reached(csms, fast):
    s, sent = retry_case(csms, fast, 3, "hold", 3)
    wait_until(lambda: [x for x in s.log if "given up after 3 attempts" in x], T + 2, "the message given up")
    assert len(moves_on(csms, s, sent)) == 3  # E13.FR.04: MessageAttempts sendings, then discarded


@pytest.mark.octt("TC_E_42_CS")
def test_TC_E_42_CS_retry_transaction_event_without_answer_success_before_max(csms, fast):
    s, sent = retry_case(csms, fast, 4, "hold", 2)  # answered at the third of four attempts
    assert len(moves_on(csms, s, sent)) == 3
    assert not [x for x in s.log if "given up" in x]


@pytest.mark.octt("TC_E_50_CS")
def test_TC_E_50_CS_retry_transaction_event_callerror_max_attempts_reached(csms, fast):
    s, sent = retry_case(csms, fast, 3, "fail", 3)
    wait_until(lambda: [x for x in s.log if "given up after 3 attempts" in x], 2, "the message given up")
    assert len(moves_on(csms, s, sent)) == 3


@pytest.mark.octt("TC_E_51_CS")
def test_TC_E_51_CS_retry_transaction_event_callerror_success_before_max(csms, fast):
    s, sent = retry_case(csms, fast, 4, "fail", 2)
    assert len(moves_on(csms, s, sent)) == 3
    assert not [x for x in s.log if "given up" in x]


def test_failed_started_event_is_retried_then_given_up(csms, fast):
    """The Started itself refused every time: given up after MessageAttempts, the transaction
    goes on and its next message follows."""
    s = fast(sets={"OCPPCommCtrlr.MessageAttempts[TransactionEvent]": 3,
                   "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": 1})
    s.send(op="plug", evse=1)
    csms.fail.add("TransactionEvent")
    s.send(op="tap", idToken=TAG)
    tries = [csms.wait_call("TransactionEvent", n=i, timeout=8) for i in (1, 2, 3)]
    gaps = [b.t - a.t for a, b in zip(tries, tries[1:])]
    assert 0.9 < gaps[0] < 1.6 and 1.9 < gaps[1] < 2.6, gaps  # interval x previous attempts
    assert len({t.id for t in tries}) == 1  # the same message, the same id
    # (the third refused before the CSMS answers again: clearing at once raced its answer)
    wait_until(lambda: len([f for f in csms.frames if f.direction == "out" and f.kind == 4
                            and f.id == tries[0].id]) == 3, 5, "the third refusal")
    csms.fail.clear()
    wait_until(lambda: [x for x in s.log if "given up after 3 attempts" in x], 2, "the Started given up")
    s.send(op="unplug", evse=1)
    ended = wait_te(csms, "Ended")
    assert ended["seqNo"] == 1
    assert len([f for f in csms.inbound("TransactionEvent") if f.id == tries[0].id]) == 3
