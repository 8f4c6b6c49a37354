# Unit tests of the sans-I/O station (boot, heartbeat, status, dispatch) on the unix port:
# the time is given, so timer behaviour is exact.
from fakes import answer, boot_accepted, drain, later, sent, station


def test_boot_accepted_then_status_then_security_event():
    st = station(evses=2)
    boot_accepted(st)
    actions = [f[2] for f in drain(st)]
    assert actions == ["StatusNotification", "StatusNotification", "SecurityEventNotification"], actions
    assert st.next_deadline(0) == 60000  # the heartbeat interval from the response


def test_pending_waits_interval_then_reboots():
    st = station()
    st.connected("1", 0)
    f = sent(st)[0]
    answer(st, f, {"currentTime": "2025-05-05T10:00:00Z", "interval": 7, "status": "Pending"}, 100)
    assert st.next_deadline(100) == 7000
    st.tick(later(100, 6.9))
    assert sent(st) == []
    st.tick(later(100, 7))
    f = sent(st)
    assert f[0][2] == "BootNotification" and f[0][3]["reason"] == "PowerUp"


def test_pending_with_zero_interval_uses_own_wait():
    st = station()
    st.connected("1", 0)
    answer(st, sent(st)[0], {"currentTime": "2025-05-05T10:00:00Z", "interval": 0, "status": "Rejected"}, 0)
    assert st.next_deadline(0) == 30000


def test_rejected_answers_security_error():
    st = station()
    st.connected("1", 0)
    answer(st, sent(st)[0], {"currentTime": "2025-05-05T10:00:00Z", "interval": 5, "status": "Rejected"}, 0)
    st.rpc.receive(b'[2,"x","TriggerMessage",{"requestedMessage":"BootNotification"}]', 1)
    assert sent(st) == [[4, "x", "SecurityError", "not accepted by the CSMS", {}]]


def test_invalid_boot_response_is_retried():
    st = station()
    st.connected("1", 0)
    answer(st, sent(st)[0], {"currentTime": "now", "interval": 5, "status": "Accepted"}, 0)
    assert st.boot.state == 0 and st.next_deadline(0) == 30000
    assert "bad response" in st.logs[-1]


def test_clock_follows_csms_and_stamps_messages():
    st = station(wall=0)
    boot_accepted(st, 0)
    assert [f[3]["type"] for f in drain(st) if f[2] == "SecurityEventNotification"] == [
        "SettingSystemTime", "StartupOfTheDevice"]  # the RTC was 25 years off
    assert st.stamp(0) == "2025-05-05T10:00:00Z"
    assert st.stamp(later(0, 61.5)) == "2025-05-05T10:01:01Z"
    assert st.stamp(later(0, 3600)) == "2025-05-05T11:00:00Z"


def test_heartbeat_after_interval_of_silence():
    st = station()
    boot_accepted(st, 0, interval=10)
    drain(st)
    st.tick(later(0, 9.9))
    assert sent(st) == []
    st.tick(later(0, 10))
    assert sent(st)[0][2] == "Heartbeat"


def test_handler_crash_is_internal_error():
    st = station()
    boot_accepted(st)
    dt = st.datatransfer

    def boom(p, now):
        raise KeyError("bug")

    dt.DataTransfer = boom  # the handler the dispatch table finds (st.datatransfer.DataTransfer)
    try:
        st.rpc.receive(b'[2,"d","DataTransfer",{"vendorId":"v"}]', 0)
    finally:
        del dt.DataTransfer
    out = [f for f in sent(st) if f[0] == 4]
    assert out == [[4, "d", "InternalError", "handler failed", {}]]


def test_security_event_logged_and_queued_when_critical():
    st = station()
    st.security.record("InvalidCsmsCertificate", "x" * 300, 0)
    st.security.record("FailedToAuthenticateAtCsms", "401", 0)
    effects = [e for e in st.effects if e[0] == "seclog"]
    assert len(effects) == 2 and "InvalidCsmsCertificate" in effects[0][1]
    boot_accepted(st)
    sec = [f[3] for f in drain(st) if f[2] == "SecurityEventNotification"]
    assert [p["type"] for p in sec] == ["InvalidCsmsCertificate", "StartupOfTheDevice"]
    assert len(sec[0]["techInfo"]) == 255


def test_memory_error_on_receive_answers_and_records_memory_exhaustion_once_a_minute():
    st = station()
    boot_accepted(st)
    drain(st)

    def no_memory(st_, buf, now):
        raise MemoryError

    st.rpc._take = no_memory  # the session's parse of a frame (was Session.receive)
    try:
        st.rpc.receive(b'[2,"big","DataTransfer",{"vendorId":"v","data":"..."}]', 1000)
        st.rpc.receive(b'[3,"x",{}]', 2000)  # not a CALL: nothing to answer
        st.rpc.receive(b'[2,"big2","DataTransfer",{}]', 30000)
    finally:
        del st.rpc._take
    out = sent(st)
    calls = [f for f in out if f[0] == 2]
    assert [f for f in out if f[0] != 2] == [[4, "big", "InternalError", "out of memory", {}],
                                             [4, "big2", "InternalError", "out of memory", {}]]
    answer(st, calls[0], {}, 2000)
    st.rpc.receive(b'[2,"n","DataTransfer",{"vendorId":"v"}]', 61001)  # the station goes on
    out = sent(st)
    calls += [f for f in out if f[0] == 2]
    assert [f for f in out if f[0] != 2] == [[3, "n", {"status": "UnknownVendorId"}]]
    for f in calls[1:]:  # the heartbeat
        answer(st, f, {"currentTime": "2025-05-05T10:01:01Z"}, 61001)
    st.out_of_memory("timer", 61001)  # a minute after the first: recorded again, with the count
    st.tick(61001)
    calls += drain(st, 61001)
    sec = [f[3] for f in calls if f[2] == "SecurityEventNotification"]
    assert [(p["type"], p["techInfo"]) for p in sec] == [("MemoryExhaustion", "receive"),
                                                        ("MemoryExhaustion", "timer (2 more since the last)")], sec
    assert len([x for x in st.logs if x.startswith("out of memory")]) == 4


def test_malformed_remote_start_profile_is_a_callerror_not_a_handler_failure():
    # found by the fuzz campaign: a chargingProfile that is not an object made the handler
    # fail (InternalError), and a broken one behind an unknown EVSE was answered Rejected
    st = station()
    boot_accepted(st)
    drain(st)
    tok = '"idToken":{"idToken":"A","type":"Central"},"remoteStartId":1'
    for mid, extra in (("a", '"chargingProfile":2.5'), ("b", '"chargingProfile":-5'),
                       ("c", '"evseId":7,"chargingProfile":{"id":1}'),
                       ("d", '"evseId":7,"chargingProfile":{"id":1,"stackLevel":0,"chargingProfilePurpose":"TxProfile",'
                             '"chargingProfileKind":"Absolute","chargingSchedule":[]}')):
        st.rpc.receive(('[2,"%s","RequestStartTransaction",{%s,%s}]' % (mid, tok, extra)).encode(), 0)
        f = sent(st)
        code = {"a": "TypeConstraintViolation", "b": "TypeConstraintViolation",
                "c": "OccurrenceConstraintViolation", "d": "OccurrenceConstraintViolation"}[mid]
        assert f[0][:3] == [4, mid, code], f


def test_get_charging_profiles_limit_sources_are_at_most_four():
    # found by the fuzz campaign: five chargingLimitSource items were taken (schema maxItems 4)
    st = station()
    boot_accepted(st)
    drain(st)
    st.rpc.receive(b'[2,"g","GetChargingProfiles",{"requestId":1,"chargingProfile":'
                   b'{"chargingLimitSource":["Other","SO","SO","Other","Other"]}}]', 0)
    f = [x for x in sent(st) if x[0] != 2]
    assert f[0][:3] == [4, "g", "OccurrenceConstraintViolation"], f
