# Composite schedules of ocpp_lite.smartcharging on the unix port, against hand-computed
# expectations: stacked levels, station maximum against TxProfile/TxDefaultProfile,
# recurring and relative profiles, validity, duration; and the bounds.
import json
from fakes import T0, answer, boot_accepted, drain, sent, station
from ocpp_lite.engine.clock import iso

H = 3600


def prof(pid, purpose, periods, level=0, kind="Absolute", start=T0, **kw):
    sch = {"id": pid, "chargingRateUnit": "A",
           "chargingSchedulePeriod": [{"startPeriod": s, "limit": lim} for s, lim in periods]}
    if start is not None:
        sch["startSchedule"] = iso(start)
    for k in ("duration",):
        if k in kw:
            sch[k] = kw.pop(k)
    p = {"id": pid, "stackLevel": level, "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
         "chargingSchedule": [sch]}
    p.update(kw)
    return p


def setp(st, e, p, now=0):
    return st.smartcharging.SetChargingProfile({"evseId": e, "chargingProfile": p}, now)


def test_stack_levels_and_station_maximum():
    st = station()
    assert setp(st, 0, prof(1, "TxDefaultProfile", [(0, 16), (2 * H, 10)]))["status"] == "Accepted"
    assert setp(st, 1, prof(2, "TxDefaultProfile", [(0, 8)], level=1, duration=H))["status"] == "Accepted"
    assert setp(st, 0, prof(3, "ChargingStationMaxProfile", [(0, 32), (3 * H, 6)]))["status"] == "Accepted"
    # level 1 wins for its hour, then level 0 (16, then 10 at 2 h), station max 6 from 3 h
    assert st.smartcharging.composite(1, T0, 4 * H) == [(0, 8), (H, 16), (2 * H, 10), (3 * H, 6)]
    # EVSE 0 (the station): no level-1 profile there
    assert st.smartcharging.composite(0, T0, 4 * H) == [(0, 16), (2 * H, 10), (3 * H, 6)]


def test_tx_profile_replaces_default_only_while_its_transaction_runs():
    st = station()
    setp(st, 0, prof(1, "TxDefaultProfile", [(0, 20)]))
    assert setp(st, 1, prof(5, "TxProfile", [(0, 6)], transactionId="x"))["status"] == "Rejected"  # no tx
    boot_accepted(st)
    drain(st)
    st.transactions.plug(1, 0)
    st.authorization.tap("CARD", "ISO14443", 0)
    while not st.ev[0].tx:  # answer the CSMS part: StatusNotification, Authorize
        st.tick(0)
        f = [x for x in sent(st) if x[0] == 2][0]
        answer(st, f, {"idTokenInfo": {"status": "Accepted"}} if f[2] == "Authorize" else {}, 0)
    tid = st.ev[0].tx["id"]
    r = setp(st, 1, prof(5, "TxProfile", [(0, 6), (600, 12)], kind="Relative", start=None, transactionId=tid))
    assert r["status"] == "Accepted"
    t0 = st.ev[0].tx["t0"]
    assert st.smartcharging.composite(1, t0, 1200) == [(0, 6), (600, 12)]  # higher than the default: the TxProfile rules
    assert [e for e in st.effects if e[0] == "limit"][-1] == ("limit", 1, 6)
    st.transactions.unplug(1, 0)  # the transaction ends: its TxProfile goes
    assert [x["p"]["id"] for x in st.smartcharging.profiles] == [1]
    assert st.smartcharging.composite(1, t0, 1200) == [(0, 20)]


def test_recurring_daily_and_validity():
    st = station()
    day = 86400
    p = prof(1, "TxDefaultProfile", [(0, 10), (6 * H, 16)], kind="Recurring", recurrencyKind="Daily",
             start=T0 - 10 * day, validTo=iso(T0 + day + 12 * H))
    assert setp(st, 0, p)["status"] == "Accepted"
    rating = st.hw.get("amps", 32)
    assert st.smartcharging.composite(1, T0 + 3 * H, 2 * day) == [
        (0, 10), (3 * H, 16), (21 * H, 10), (27 * H, 16), (33 * H, rating)]


def test_relative_without_transaction_starts_now_and_duration_ends_it():
    st = station()
    setp(st, 0, prof(1, "TxDefaultProfile", [(0, 6), (100, 13)], kind="Relative", start=None, duration=300))
    assert st.smartcharging.composite(1, T0 + 5000, 1000) == [(0, 6), (100, 13), (300, st.hw.get("amps", 32))]


def test_bounds_and_rules_reject():
    st = station()
    cases = (
        (0, prof(1, "TxDefaultProfile", [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]), "TooManyPeriods"),
        (0, prof(1, "TxDefaultProfile", [(0, 1)], level=2), "InvalidStackLevel"),
        (0, prof(1, "TxDefaultProfile", [(10, 1)]), "InvalidSchedule"),
        (0, prof(1, "TxDefaultProfile", [(0, 1), (0, 2)]), "InvalidSchedule"),
        (1, prof(1, "ChargingStationMaxProfile", [(0, 1)]), "InvalidProfile"),
        (0, prof(1, "ChargingStationMaxProfile", [(0, 1)], kind="Relative", start=None), "InvalidProfile"),
        (0, prof(1, "ChargingStationExternalConstraints", [(0, 1)]), "NotFromCsms"),
        (0, prof(1, "TxDefaultProfile", [(0, 1)], kind="Recurring"), "InvalidSchedule"),
        (5, prof(1, "TxDefaultProfile", [(0, 1)]), "UnknownEvse"),
    )
    for e, p, why in cases:
        r = setp(st, e, p)
        assert r == {"status": "Rejected", "statusInfo": {"reasonCode": why}}, (why, r)
    w = prof(1, "TxDefaultProfile", [(0, 1)])
    w["chargingSchedule"][0]["chargingRateUnit"] = "W"
    assert setp(st, 0, w)["statusInfo"]["reasonCode"] == "UnsupportedRateUnit"
    for i in range(4):  # Entries maxLimit 4
        assert setp(st, i % 2, prof(10 + i, "TxDefaultProfile", [(0, 6)], level=i // 2))["status"] == "Accepted"
    assert setp(st, 0, prof(20, "ChargingStationMaxProfile", [(0, 6)]))["statusInfo"]["reasonCode"] == "TooManyProfiles"
    assert setp(st, 0, prof(10, "TxDefaultProfile", [(0, 7)]))["status"] == "Accepted"  # same id: replaced
    assert setp(st, 0, prof(30, "TxDefaultProfile", [(0, 7)]))["statusInfo"]["reasonCode"] == "DuplicateStackLevel"
    assert json.loads(json.dumps(st.flash.docs["profiles"]))[-1]["p"]["id"] == 10


def test_a_remote_start_profile_with_bad_custom_data_inside_is_a_callerror():
    """Found by the full fuzz campaign: RequestStartTransaction's chargingProfile was taken as
    ANY, which drops customData before smart charging checked the profile, so a malformed
    customData inside its schedule was answered Rejected (InvalidProfile), not the CALLERROR
    its schema gives."""
    for bad, code in (([], "TypeConstraintViolation"), ("v" * 256, "PropertyConstraintViolation")):
        st = station()
        boot_accepted(st)
        p = prof(7, "TxProfile", [(0, 16)])
        p["chargingSchedule"][0]["chargingSchedulePeriod"][0]["customData"] = {"vendorId": bad}
        st.rpc.receive(json.dumps([2, "rs", "RequestStartTransaction", {
            "idToken": {"idToken": "T1", "type": "Central"}, "remoteStartId": 1, "chargingProfile": p}]).encode(), 0)
        r = [m for m in sent(st) if m[1] == "rs"][0]
        assert r[0] == 4 and r[2] == code, r
    st = station()  # a good customData is taken (and dropped)
    boot_accepted(st)
    p = prof(8, "TxProfile", [(0, 16)])
    p["chargingSchedule"][0]["customData"] = {"vendorId": "V", "x": 1}
    st.rpc.receive(json.dumps([2, "ok", "RequestStartTransaction", {
        "idToken": {"idToken": "T1", "type": "Central"}, "remoteStartId": 2, "chargingProfile": p}]).encode(), 0)
    r = [m for m in sent(st) if m[1] == "ok"][0]
    assert r[0] == 3, r
