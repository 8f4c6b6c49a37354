"""Transaction messages through outages and a failing CSMS: offline delivery (E11/E12),
retries of failed TransactionEvents (E13) and GetTransactionStatus (E14)."""

import time

import pytest
from ocpp.v201 import call

from helpers import wait_until
from test_device_model import cv, set_
from test_transactions import TAG, complete, fast, relays, tes, wait_te  # noqa: F401  (fixture)


def test_TC_E_28_34_CS_get_transaction_status(csms, fast):
    s = fast()
    r = csms.call("CS001", call.GetTransactionStatus(transaction_id="unknown-tx"))
    assert (r.ongoing_indicator, r.messages_in_queue) == (False, False)
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    tid = wait_te(csms, "Started")["transactionInfo"]["transactionId"]
    r = csms.call("CS001", call.GetTransactionStatus(transaction_id=tid))
    assert (r.ongoing_indicator, r.messages_in_queue) == (True, False)
    csms.hold.add("TransactionEvent")  # the Ended stays in the queue, unanswered
    s.send(op="unplug", evse=1)
    wait_te(csms, "Ended")
    r = csms.call("CS001", call.GetTransactionStatus(transaction_id=tid))
    assert (r.ongoing_indicator, r.messages_in_queue) == (False, True)
    r = csms.call("CS001", call.GetTransactionStatus())
    assert r.ongoing_indicator is None and r.messages_in_queue is True


def test_E13_failed_transaction_event_is_retried_then_given_up(csms, fast):
    s = fast(sets={"OCPPCommCtrlr.MessageAttempts[TransactionEvent]": 3,
                   "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": 1})
    s.send(op="plug", evse=1)
    csms.fail.add("TransactionEvent")
    s.send(op="tap", idToken=TAG)
    tries = [csms.wait_call("TransactionEvent", n=i, timeout=8) for i in (1, 2, 3)]
    gaps = [b.t - a.t for a, b in zip(tries, tries[1:])]
    assert 0.9 < gaps[0] < 1.6 and 1.9 < gaps[1] < 2.6, gaps  # interval x previous attempts
    assert len({t.id for t in tries}) == 1  # the same message, the same id
    csms.fail.clear()
    time.sleep(3.5)
    assert len(csms.inbound("TransactionEvent")) == 3  # given up after MessageAttempts
    s.send(op="unplug", evse=1)
    ended = wait_te(csms, "Ended")
    assert ended["seqNo"] == 1


def test_TC_E_14_15_CS_offline_transaction_delivered_in_order_after_reconnect(csms, fast):
    s = fast(sets={"SampledDataCtrlr.TxUpdatedInterval": 1})
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    started = wait_te(csms, "Started")
    s.send(op="net", up=False)
    s.wait_event(ev="ws", state="closed")
    s.send(op="ev_power", evse=1, w=7000)
    time.sleep(2.5)
    s.send(op="unplug", evse=1)
    s.wait_event(ev="tx", event="Ended")
    n = len(tes(csms))
    s.send(op="net", up=True)
    ended = wait_te(csms, "Ended", timeout=10)
    events = complete(csms, started["transactionInfo"]["transactionId"])
    late = events[n:]
    assert late and all(e.get("offline") is True for e in late)  # E12.FR.02
    assert len(csms.inbound("BootNotification")) == 1
