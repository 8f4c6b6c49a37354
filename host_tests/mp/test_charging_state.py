# chargingState of a running transaction (issue 12 finding 6): hysteresis in power and time,
# so an EV drawing about the threshold does not flip Charging/SuspendedEV at every sample (each
# flip is a TransactionEvent and flash writes). Charging above 100 W; back to SuspendedEV when
# the power stays below 50 W for 60 s (a deadline, completed by tick() without another
# reading), or at once when the control pilot goes to state B. Runs on the unix port.
from fakes import answer, boot_accepted, later, sent, station

# transactions.py's _CHARGING_W, _IDLE_W, _IDLE_MS (const names starting with _ are not visible from
# outside the module on MicroPython)
CHARGING_W = 100
IDLE_W = 50
HOLD_S = 60
HOLD_MS = HOLD_S * 1000
VARS = {"SampledDataCtrlr.TxUpdatedInterval": 0}  # no periodic Updated: only state changes


def _csms(st, now, got):
    """Answer every CALL (Authorize Accepted) until the station is quiet; TransactionEvent
    payloads go to got."""
    st.tick(now)  # frames go out from tick() (and receive())
    for _ in range(50):
        calls = [f for f in sent(st) if f[0] == 2]
        if not calls:
            return
        f = calls[0]
        payload = {}
        if f[2] == "TransactionEvent":
            got.append(f[3])
        elif f[2] == "Authorize":
            payload = {"idTokenInfo": {"status": "Accepted"}}
        elif f[2] == "Heartbeat":
            payload = {"currentTime": "2025-05-05T10:00:00Z"}
        answer(st, f, payload, now)
    raise ValueError("the station does not get quiet")


def _started(pilot=False):
    """A booted station with a transaction on EVSE 1 (contactor closed) at t = 0."""
    st = station(vars=VARS)
    got = []
    boot_accepted(st, 0, interval=3600)
    _csms(st, 0, got)
    st.transactions.plug(1, 0)
    if pilot:
        st.transactions.ev_ready(1, True, 0)
    st.authorization.tap("CARD-1", "ISO14443", 0)
    _csms(st, 0, got)
    assert [p["eventType"] for p in got] == ["Started"], got
    assert st.ev[0].relay
    del got[:]
    return st, got


def _changes(got):
    return [p["transactionInfo"]["chargingState"] for p in got if p["triggerReason"] == "ChargingStateChanged"]


def _step(st, got, now, w=None, wh=1000):
    """At now: a meter reading (if w is given), then tick, then the CSMS."""
    if w is not None:
        st.transactions.meter(1, wh, w, now)
    st.tick(now)
    _csms(st, now, got)


def test_finding6_no_flapping_around_threshold():
    # Ten minutes of an EV drawing 40 and 60 W in turn, a reading every 5 s: Charging or not,
    # at most one ChargingStateChanged (the old code flipped at every sample).
    for first in (None, 7400):  # from EVConnected, and from Charging at the end of a charge
        st, got = _started()
        now = 0
        if first:
            now = later(now, 1)
            _step(st, got, now, first)
            assert _changes(got) == ["Charging"], got
            del got[:]
        for i in range(120):
            now = later(now, 5)
            _step(st, got, now, (IDLE_W - 10, IDLE_W + 10)[i % 2])
        assert len(_changes(got)) <= 1, (first, _changes(got))
        assert len(got) <= 1, got


def test_finding6_suspended_after_hold():
    st, got = _started()
    _step(st, got, later(0, 1), 7400)
    assert _changes(got) == ["Charging"]
    del got[:]
    t = later(0, 2)
    _step(st, got, t, 0)  # the EV stopped; a board that reports only on change sends no more
    assert got == [] and st.ev[0].tx["cs"] == "Charging"
    assert st.transactions.deadline(t) == HOLD_MS  # the hold is a deadline, also the station's
    assert st.next_deadline(later(t, HOLD_S - 20)) == 20000
    _step(st, got, later(t, HOLD_S - 0.1))
    assert got == []
    _step(st, got, later(t, HOLD_S))
    assert _changes(got) == ["SuspendedEV"] and len(got) == 1, got
    assert got[0]["eventType"] == "Updated" and got[0]["timestamp"] == "2025-05-05T10:01:02Z", got
    del got[:]
    _step(st, got, later(t, 10 * HOLD_S))  # nothing more, and no hold left behind
    assert got == [] and st.transactions.deadline(later(t, 10 * HOLD_S)) is None


def test_finding6_hold_restarts_when_power_comes_back_between_thresholds():
    st, got = _started()
    _step(st, got, later(0, 1), 7400)
    del got[:]
    _step(st, got, later(0, 10), 0)
    _step(st, got, later(0, 10 + HOLD_S - 1), 70)  # between the thresholds: the hold ends, no change
    _step(st, got, later(0, 10 + HOLD_S + 5), 0)
    _step(st, got, later(0, 10 + 2 * HOLD_S))  # the first hold would have ended here
    assert got == [] and st.ev[0].tx["cs"] == "Charging"
    _step(st, got, later(0, 10 + 2 * HOLD_S + 5))  # the second one ends here
    assert _changes(got) == ["SuspendedEV"], got


def test_finding6_pilot_b_suspends_at_once():
    st, got = _started(pilot=True)
    _step(st, got, later(0, 1), 7400)
    assert _changes(got) == ["Charging"]
    del got[:]
    t = later(0, 30)
    st.transactions.ev_ready(1, False, t)  # state B: the EV stops asking, before the meter sees it
    _csms(st, t, got)
    assert _changes(got) == ["SuspendedEV"] and len(got) == 1, got
    del got[:]
    _step(st, got, later(t, 1), 7400)  # a reading taken before the EV stopped: no Charging
    _step(st, got, later(t, 2), 0)
    _step(st, got, later(t, 2 + 2 * HOLD_S))
    assert got == [] and st.ev[0].tx["cs"] == "SuspendedEV"
    # a pilot B while a hold runs: SuspendedEV at once, and the hold is gone
    st.transactions.ev_ready(1, True, later(t, 200))
    _step(st, got, later(t, 201), 7400)
    _step(st, got, later(t, 202), 0)
    del got[:]
    st.transactions.ev_ready(1, False, later(t, 203))
    _csms(st, later(t, 203), got)
    assert _changes(got) == ["SuspendedEV"] and len(got) == 1, got
    assert st.transactions.deadline(later(t, 203)) is None


def test_finding6_charging_again_above_threshold():
    st, got = _started(pilot=True)
    _step(st, got, later(0, 1), 7400)
    _step(st, got, later(0, 2), 0)
    _step(st, got, later(0, 2 + HOLD_S))
    assert _changes(got) == ["Charging", "SuspendedEV"], got
    del got[:]
    now = later(0, 100)
    for i in range(30):  # between the thresholds: stays SuspendedEV
        now = later(now, 5)
        _step(st, got, now, 80)
    assert got == [] and st.ev[0].tx["cs"] == "SuspendedEV"
    _step(st, got, later(now, 5), CHARGING_W + 1)  # above the upper threshold: at once
    assert _changes(got) == ["Charging"] and len(got) == 1, got
    del got[:]
    # pilot B, then C again: Charging comes back with the power
    st.transactions.ev_ready(1, False, later(now, 10))
    _step(st, got, later(now, 11), 0)
    st.transactions.ev_ready(1, True, later(now, 20))
    _step(st, got, later(now, 20))
    assert _changes(got) == ["SuspendedEV"], got
    _step(st, got, later(now, 21), 3700)
    assert _changes(got) == ["SuspendedEV", "Charging"], got


def test_finding6_end_of_transaction_clears_the_hold():
    st, got = _started()
    _step(st, got, later(0, 1), 7400)
    t = later(0, 2)
    _step(st, got, t, 0)
    assert st.transactions.deadline(t) == HOLD_MS
    st.transactions.unplug(1, later(t, 5))
    _csms(st, later(t, 5), got)
    assert got[-1]["eventType"] == "Ended"
    assert st.ev[0].idle_until is None
    del got[:]
    _step(st, got, later(t, HOLD_S + 5))
    assert got == []
    # a new transaction does not inherit anything
    st.transactions.plug(1, later(t, 100))
    st.authorization.tap("CARD-1", "ISO14443", later(t, 100))
    _csms(st, later(t, 100), got)
    assert [p["eventType"] for p in got] == ["Started"], got
    assert st.transactions.deadline(later(t, 100)) is None
