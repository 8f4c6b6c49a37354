"""Meter values (J): sampled values in TransactionEvents (J02) and clock-aligned values
(J01) against the `ocpp` CSMS."""

import time

import pytest
from ocpp.v201 import call

from helpers import wait_until
from test_device_model import cv, set_
from test_transactions import TAG, complete, fast, relays, tes, wait_te  # noqa: F401  (fixture)


def test_TC_J_07_09_10_CS_sampled_meter_values_in_transaction_events(csms, fast):
    s = fast(sets={"SampledDataCtrlr.TxUpdatedInterval": 1, "SampledDataCtrlr.TxEndedInterval": 1,
                   "SampledDataCtrlr.TxUpdatedMeasurands": "Energy.Active.Import.Register,Power.Active.Import,Voltage",
                   "SampledDataCtrlr.TxEndedMeasurands": "Energy.Active.Import.Register"})
    s.send(op="plug", evse=1)
    s.send(op="ev_power", evse=1, w=11000)
    s.send(op="tap", idToken=TAG)
    wait_te(csms, "Updated", "MeterValuePeriodic", n=3, timeout=8)
    s.send(op="unplug", evse=1)
    ended = wait_te(csms, "Ended")
    periodic = [p for p in tes(csms) if p["triggerReason"] == "MeterValuePeriodic"]
    measurands = {sv["measurand"] for p in periodic for sv in p["meterValue"][0]["sampledValue"]}
    assert measurands == {"Energy.Active.Import.Register", "Power.Active.Import", "Voltage"}
    assert all(sv["context"] == "Sample.Periodic" for p in periodic for sv in p["meterValue"][0]["sampledValue"])
    # Ended carries the TxEnded samples and the Transaction.End reading
    contexts = [mv["sampledValue"][0]["context"] for mv in ended["meterValue"]]
    assert contexts[-1] == "Transaction.End" and contexts.count("Sample.Periodic") >= 2
    events = complete(csms, ended["transactionInfo"]["transactionId"])
    wh = [sv["value"] for e in events for mv in e.get("meterValue", []) for sv in mv["sampledValue"]
          if sv["measurand"] == "Energy.Active.Import.Register"]
    assert wh[-1] > wh[0] and all(type(v) is int for v in wh)  # integer Wh, growing while charging


def test_TC_J_01_02_CS_clock_aligned_meter_values(csms, fast):
    s = fast(sets={"AlignedDataCtrlr.Interval": 2})
    mvs = [csms.wait_call("MeterValues", n=i, timeout=6) for i in (1, 2)]
    secs = [int(m.payload["meterValue"][0]["timestamp"][17:19]) for m in mvs]
    assert all(x % 2 == 0 for x in secs)  # on the clock
    assert all(sv["context"] == "Sample.Clock" for m in mvs for sv in m.payload["meterValue"][0]["sampledValue"])
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    wait_te(csms, "Started")
    csms.wait_call("MeterValues", n=3, timeout=6)  # also during the transaction (TC_J_02)


def test_set_interval_during_transaction_takes_effect_at_once(csms, fast):
    s = fast(sets={"SampledDataCtrlr.TxUpdatedInterval": 60})
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=TAG)
    wait_te(csms, "Started")
    [r] = set_(csms, cv("SampledDataCtrlr", "TxUpdatedInterval", attribute_value="1"))
    assert r["attribute_status"] == "Accepted"
    wait_te(csms, "Updated", "MeterValuePeriodic", n=2, timeout=5)
