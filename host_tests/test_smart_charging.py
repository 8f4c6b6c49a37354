"""Bounded smart charging (K01, K08-K10) against the `ocpp` CSMS: profiles set, reported,
cleared, kept across a reboot, the composite schedule, and the limit the station applies to
the EVSE (the simulator prints each change, as the control pilot would offer it)."""

import datetime
import time

from ocpp.v201 import call

from helpers import wait_until
from test_transactions import fast, tes, wait_te  # noqa: F401  (fixture)

UTC = datetime.timezone.utc


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def profile(pid, purpose, periods, level=0, kind="Absolute", start=None, **kw):
    sch = {"id": pid, "chargingRateUnit": "A",
           "chargingSchedulePeriod": [{"startPeriod": s, "limit": lim} for s, lim in periods]}
    if kind != "Relative":
        sch["startSchedule"] = iso(start or datetime.datetime.now(UTC))
    p = {"id": pid, "stackLevel": level, "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
         "chargingSchedule": [sch]}
    p.update(kw)
    return p


def set_profile(csms, evse, p):
    r = csms.call("CS001", call.SetChargingProfile(evse_id=evse, charging_profile=p))
    return r.status, (r.status_info or {}).get("reason_code")


def limits(sim, evse=1):
    return [e["amps"] for e in sim.find(ev="limit", evse=evse)]


def test_default_profile_limits_the_evse_and_changes_on_time(csms, fast):
    s = fast()
    start = datetime.datetime.now(UTC).replace(microsecond=0) + datetime.timedelta(seconds=1)
    assert set_profile(csms, 0, profile(1, "TxDefaultProfile", [(0, 10), (2, 6)], start=start)) == ("Accepted", None)
    s.wait_event(ev="limit", evse=1, amps=10, timeout=5)
    t10 = time.monotonic()
    s.wait_event(ev="limit", evse=1, amps=6, timeout=5)
    assert 1.5 < time.monotonic() - t10 < 3.5
    r = csms.call("CS001", call.GetCompositeSchedule(duration=60, evse_id=1, charging_rate_unit="A"))
    assert r.status == "Accepted"
    sched = r.schedule
    assert sched["evse_id"] == 1 and sched["charging_rate_unit"] == "A" and sched["duration"] == 60
    assert [p["limit"] for p in sched["charging_schedule_period"]] == [6]


def test_composite_of_stack_levels_and_station_maximum(csms, fast):
    fast()
    # The schedules start a minute ago: the station's clock runs in whole seconds and may be a
    # second behind this one, so profiles starting "now" could still be ahead of it.
    start = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(seconds=60)
    assert set_profile(csms, 0, profile(1, "TxDefaultProfile", [(0, 16), (600, 10)], start=start))[0] == "Accepted"
    assert set_profile(csms, 1, profile(2, "TxDefaultProfile", [(0, 8)], level=1, start=start))[0] == "Accepted"
    assert set_profile(csms, 0, profile(3, "ChargingStationMaxProfile", [(0, 32), (900, 6)], start=start))[0] == "Accepted"
    r = csms.call("CS001", call.GetCompositeSchedule(duration=1200, evse_id=1))
    periods = [(p["start_period"], p["limit"]) for p in r.schedule["charging_schedule_period"]]
    lag = int((datetime.datetime.fromisoformat(r.schedule["schedule_start"].replace("Z", "+00:00")) - start).total_seconds())
    assert 55 <= lag <= 65, lag
    assert periods == [(0, 8), (900 - lag, 6)], periods  # level 1 beats level 0; the station max caps
    r = csms.call("CS001", call.GetCompositeSchedule(duration=60, evse_id=9))
    assert r.status == "Rejected"
    r = csms.call("CS001", call.GetCompositeSchedule(duration=60, evse_id=1, charging_rate_unit="W"))
    assert r.status == "Rejected"  # only A is supported (RateUnit)


def test_bounds_and_invalid_profiles_rejected(csms, fast):
    fast()
    periods = [(i * 60, 10) for i in range(5)]
    assert set_profile(csms, 0, profile(1, "TxDefaultProfile", periods)) == ("Rejected", "TooManyPeriods")
    assert set_profile(csms, 0, profile(1, "TxDefaultProfile", [(0, 6)], level=7)) == ("Rejected", "InvalidStackLevel")
    assert set_profile(csms, 1, profile(1, "TxProfile", [(0, 6)], transactionId="none")) == ("Rejected", "NoTransaction")
    for i in range(4):
        assert set_profile(csms, i % 2, profile(10 + i, "TxDefaultProfile", [(0, 6)], level=i // 2))[0] == "Accepted"
    assert set_profile(csms, 0, profile(20, "ChargingStationMaxProfile", [(0, 6)])) == ("Rejected", "TooManyProfiles")
    [r] = csms.call("CS001", call.GetVariables(get_variable_data=[
        {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "Entries", "instance": "ChargingProfiles"}}
    ])).get_variable_result
    assert r["attribute_value"] == "4"


def test_report_clear_and_persistence(csms, fast, sims, tmp_path):
    state = tmp_path / "flash"
    s = fast(state=state, evses=2)
    assert set_profile(csms, 0, profile(1, "TxDefaultProfile", [(0, 12)]))[0] == "Accepted"
    assert set_profile(csms, 2, profile(2, "TxDefaultProfile", [(0, 7)], level=1))[0] == "Accepted"
    s.wait_event(ev="limit", evse=2, amps=7)
    s.kill()
    s2 = sims(None, state=state, ident=None, evses=2)
    s2.wait_event(ev="boot", status="Accepted")
    s2.wait_event(ev="limit", evse=2, amps=7)  # applied again after the reboot (K01.FR.27)
    r = csms.call("CS001", call.GetChargingProfiles(request_id=33, charging_profile={}))
    assert r.status == "Accepted"
    reports = wait_until(lambda: len(csms.inbound("ReportChargingProfiles")) == 2 and
                         csms.inbound("ReportChargingProfiles"), 5, "two reports")
    assert [(x.payload["evseId"], x.payload.get("tbc")) for x in reports] == [(0, True), (2, None)]
    assert reports[1].payload["chargingProfile"][0]["id"] == 2
    r = csms.call("CS001", call.GetChargingProfiles(request_id=34, charging_profile={"stack_level": 5}))
    assert r.status == "NoProfiles"
    assert csms.call("CS001", call.ClearChargingProfile(charging_profile_id=2)).status == "Accepted"
    s2.wait_event(ev="limit", evse=2, amps=12)
    assert csms.call("CS001", call.ClearChargingProfile(charging_profile_id=2)).status == "Unknown"
    assert csms.call("CS001", call.ClearChargingProfile(
        charging_profile_criteria={"charging_profile_purpose": "TxDefaultProfile"})).status == "Accepted"
    s2.wait_event(ev="limit", evse=1, amps=None)


def test_remote_start_with_tx_profile(csms, fast):
    s = fast()
    p = profile(7, "TxProfile", [(0, 9)], kind="Relative")
    r = csms.call("CS001", call.RequestStartTransaction(
        id_token={"idToken": "R1", "type": "Central"}, remote_start_id=3, evse_id=1, charging_profile=p))
    assert r.status == "Accepted"
    s.send(op="plug", evse=1)
    started = wait_te(csms, "Started")
    s.wait_event(ev="limit", evse=1, amps=9)
    r = csms.call("CS001", call.GetChargingProfiles(request_id=1, charging_profile={"charging_profile_purpose": "TxProfile"}))
    assert r.status == "Accepted"
    rep = wait_until(lambda: csms.inbound("ReportChargingProfiles"), 5, "report")[0]
    assert rep.payload["chargingProfile"][0]["transactionId"] == started["transactionInfo"]["transactionId"]
    s.send(op="unplug", evse=1)
    wait_te(csms, "Ended")
    s.wait_event(ev="limit", evse=1, amps=None)  # the TxProfile went with its transaction
    bad = profile(8, "TxDefaultProfile", [(0, 9)], kind="Relative")
    r = csms.call("CS001", call.RequestStartTransaction(
        id_token={"idToken": "R2", "type": "Central"}, remote_start_id=4, evse_id=1, charging_profile=bad))
    assert r.status == "Rejected"
