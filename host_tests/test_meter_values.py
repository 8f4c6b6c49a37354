"""Meter values (J) against the `ocpp` CSMS, played as the OCTT Core cases: sampled values in
the TransactionEvents Started, Updated and Ended (J02: TC_J_07, J_09, J_10) and clock-aligned
values (J01: TC_J_01, J_02, J_03; builds with ocpp_lite/aligned only)."""

import calendar
import time

import pytest

from helpers import wait_until
from test_device_model import cv, set_
from test_transactions import charging, fast, tes, wait_te  # noqa: F401  (fixture)

ALL = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage"  # what the meter measures
TWO = "Energy.Active.Import.Register,Power.Active.Import"


def secs(ts):
    """An OCPP timestamp ("2026-12-05T08:02:52Z", maybe with a fraction) in seconds."""
    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))


def check_values(mv, context, measurands):
    """One MeterValue: a sampledValue per configured measurand, all of that context."""
    got = [sv["measurand"] for sv in mv["sampledValue"]]
    assert sorted(got) == sorted(measurands.split(",")), mv  # an element per configured measurand
    assert all(sv["context"] == context for sv in mv["sampledValue"]), mv


def check_intervals(stamps, interval, aligned=False):
    """Timestamps (s) at the configured interval. Clock-aligned ones exactly, on the clock;
    sampled ones are timed from the transaction's start, so a gap may read a second more or
    less at whole-second resolution, but not on average."""
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert gaps, stamps
    if aligned:
        assert all(s % interval == 0 for s in stamps) and all(g == interval for g in gaps), stamps
    else:
        assert all(abs(g - interval) <= 1 for g in gaps), gaps
        assert abs(stamps[-1] - stamps[0] - interval * len(gaps)) <= 1, stamps


# --- J02 sampled meter values --------------------------------------------------------------
@pytest.mark.octt("TC_J_07_CS")
def test_TC_J_07_CS_sampled_meter_values_started_evse_known(csms, fast):
    # TxStartPoint is PowerPathClosed (read-only): the EVSE is known when the transaction starts
    s, tx_id = charging(csms, fast, sets={"SampledDataCtrlr.TxStartedMeasurands": ALL})
    started = tes(csms, tx_id)[0]
    assert started["eventType"] == "Started" and started["evse"]["id"] == 1, started
    [mv] = started["meterValue"]
    assert mv["sampledValue"][0]["context"] == "Transaction.Begin", mv
    check_values(mv, "Transaction.Begin", ALL)


@pytest.mark.octt("TC_J_09_CS")
def test_TC_J_09_CS_sampled_meter_values_updated(csms, fast):
    s, tx_id = charging(csms, fast, sets={"SampledDataCtrlr.TxUpdatedInterval": 2,
                                          "SampledDataCtrlr.TxUpdatedMeasurands": ALL})
    wait_te(csms, "Updated", "MeterValuePeriodic", n=4, timeout=12)  # the <Configured transaction duration>
    periodic = [p for p in tes(csms, tx_id) if p["triggerReason"] == "MeterValuePeriodic"]
    stamps = []
    for p in periodic:
        assert p["eventType"] == "Updated", p
        for mv in p["meterValue"]:
            assert mv["sampledValue"][0]["context"] == "Sample.Periodic", mv
            check_values(mv, "Sample.Periodic", ALL)
            stamps.append(secs(mv["timestamp"]))
    check_intervals(stamps, 2)
    wh = [sv["value"] for p in periodic for mv in p["meterValue"] for sv in mv["sampledValue"]
          if sv["measurand"] == "Energy.Active.Import.Register"]
    assert wh == sorted(wh) and wh[-1] > wh[0] and all(type(v) is int for v in wh), wh  # charging


@pytest.mark.octt("TC_J_10_CS")
def test_TC_J_10_CS_sampled_meter_values_ended(csms, fast):
    s, tx_id = charging(csms, fast, sets={"SampledDataCtrlr.TxEndedInterval": 2,
                                          "SampledDataCtrlr.TxEndedMeasurands": TWO,
                                          "SampledDataCtrlr.TxUpdatedInterval": 0})
    time.sleep(7)  # the <Configured transaction duration>: three TxEndedInterval samples
    s.send(op="unplug", evse=1)  # ParkingBayUnoccupied: the EV leaves, the transaction ends
    ended = wait_te(csms, "Ended")
    mvs = ended["meterValue"]
    periodic = [mv for mv in mvs if mv["sampledValue"][0]["context"] == "Sample.Periodic"]
    assert len(periodic) >= 3, mvs
    for mv in periodic:
        check_values(mv, "Sample.Periodic", TWO)
    check_intervals([secs(mv["timestamp"]) for mv in periodic], 2)
    assert mvs[-1]["sampledValue"][0]["context"] == "Transaction.End", mvs  # and one Transaction.End
    check_values(mvs[-1], "Transaction.End", TWO)
    assert len(mvs) == len(periodic) + 1, mvs


def test_set_interval_during_transaction_takes_effect_at_once(csms, fast):
    s, tx_id = charging(csms, fast, sets={"SampledDataCtrlr.TxUpdatedInterval": 60})
    [r] = set_(csms, cv("SampledDataCtrlr", "TxUpdatedInterval", attribute_value="1"))
    assert r["attribute_status"] == "Accepted"
    wait_te(csms, "Updated", "MeterValuePeriodic", n=2, timeout=5)


# --- J01 clock-aligned meter values --------------------------------------------------------
def aligned_meter_values(csms, n, after=0.0):
    """The first n MeterValuesRequests the station sent after monotonic time `after`."""
    def got():
        mvs = [f for f in csms.inbound("MeterValues") if f.t > after]
        return len(mvs) >= n and mvs[:n]
    return [f.payload for f in wait_until(got, n * 2 + 4, "%d MeterValues" % n)]


def check_aligned(payloads, interval, measurands):
    for p in payloads:
        assert p["evseId"] == 1, p
        [mv] = p["meterValue"]
        check_values(mv, "Sample.Clock", measurands)
    check_intervals([secs(p["meterValue"][0]["timestamp"]) for p in payloads], interval, aligned=True)


@pytest.mark.octt("TC_J_01_CS")
def test_TC_J_01_CS_clock_aligned_meter_values_no_transaction(csms, fast):
    fast(sets={"AlignedDataCtrlr.Interval": 2, "AlignedDataCtrlr.Measurands": TWO})
    check_aligned(aligned_meter_values(csms, 3), 2, TWO)
    assert not tes(csms)


@pytest.mark.octt("TC_J_02_CS")
def test_TC_J_02_CS_clock_aligned_meter_values_transaction_ongoing(csms, fast):
    # steps 1 and 2 of the case: MeterValuesRequests (the alternative, steps 3 and 4, would be
    # TransactionEvents with triggerReason MeterValueClock)
    s, tx_id = charging(csms, fast, sets={"AlignedDataCtrlr.Interval": 2, "AlignedDataCtrlr.Measurands": ALL})
    t0 = csms.inbound("TransactionEvent")[0].t
    check_aligned(aligned_meter_values(csms, 3, after=t0), 2, ALL)
    assert not [p for p in tes(csms, tx_id) if p["eventType"] == "Ended"]  # all during the transaction


@pytest.mark.octt("TC_J_03_CS")
def test_TC_J_03_CS_clock_aligned_meter_values_ended(csms, fast):
    s, tx_id = charging(csms, fast, sets={"AlignedDataCtrlr.TxEndedInterval": 2,
                                          "AlignedDataCtrlr.TxEndedMeasurands": TWO,
                                          "SampledDataCtrlr.TxUpdatedInterval": 0})
    time.sleep(7)  # the <Configured transaction duration>: three clock-aligned samples
    s.send(op="unplug", evse=1)  # ParkingBayUnoccupied: the EV leaves, the transaction ends
    ended = wait_te(csms, "Ended")
    mvs = ended["meterValue"]
    clock = [mv for mv in mvs if mv["sampledValue"][0]["context"] == "Sample.Clock"]
    assert len(clock) >= 3 and len(mvs) == len(clock) + 1, mvs
    for mv in clock:
        check_values(mv, "Sample.Clock", TWO)
    check_intervals([secs(mv["timestamp"]) for mv in clock], 2, aligned=True)
    assert mvs[-1]["sampledValue"][0]["context"] == "Transaction.End", mvs  # the last one
    assert not csms.inbound("MeterValues")  # AlignedDataCtrlr.Interval is 0
