# Contactor relay driver on the unix port: the coil pin it drives and the faults it sees
# through the auxiliary contact of a contactor model (welded, stuck open).
import hwfakes
from contactor_model import Contactor
from drivers.relay import STUCK_OPEN, WELDED, Relay


def _relay(settle=100, active_low=False):
    m = hwfakes.fresh()
    k = Contactor(26, 27, active_low)
    fb = m.Pin(27, m.Pin.IN, m.Pin.PULL_UP)
    r = Relay(m.Pin(26, m.Pin.OUT), m.Signal(fb, invert=active_low), settle)
    return m, k, r


def test_follows_command_without_fault():
    m, k, r = _relay()
    assert m.level(26) == 0 and not k.closed
    r.set(True, 1000)
    assert m.level(26) == 1 and k.closed
    assert r.fault(1000) is None and r.fault(1200) is None
    r.set(False, 2000)
    assert m.level(26) == 0 and not k.closed and r.fault(2200) is None
    assert k.switches == 2


def test_welded_contactor_is_seen_after_settle_time():
    m, k, r = _relay(active_low=True)  # aux contact to GND with a pull-up, as boards wire it
    r.set(True, 0)
    assert r.fault(150) is None
    k.weld()
    r.set(False, 1000)
    assert m.level(26) == 0  # the coil is released ...
    assert r.fault(1050) is None  # ... and the contacts get settle_ms to open
    assert r.fault(1100) == WELDED
    assert r.fault(5000) == WELDED


def test_stuck_open_contactor():
    m, k, r = _relay()
    k.stuck_open = True
    r.set(True, 0)
    assert m.level(26) == 1 and not k.closed
    assert r.fault(99) is None
    assert r.fault(100) == STUCK_OPEN


def test_without_feedback_no_fault_is_claimed():
    m = hwfakes.fresh()
    r = Relay(m.Pin(5, m.Pin.OUT))
    r.set(True, 0)
    assert m.level(5) == 1 and r.fault(10000) is None


def test_ticks_wrap_is_handled():
    from time import ticks_add

    m, k, r = _relay()
    t = ticks_add(0, -50)  # just before the tick counter wraps
    r.set(True, t)
    assert r.fault(ticks_add(t, 99)) is None
    k.stuck_open = True
    k.free()  # follows the coil again: it does not close
    assert r.fault(ticks_add(t, 100)) == STUCK_OPEN
