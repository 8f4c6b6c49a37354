# Control pilot driver on the unix port against a CP circuit model: the PWM duty cycle for a
# current limit (IEC 61851-1 Annex A), the states A-F read through the ADC, the diode check
# and debouncing.
import hwfakes
from pilot_model import Pilot as CPModel
from drivers import cp

CAL = (3000, 61000)  # read_u16 at -12 V and +12 V


def _pilot(state="A", diode=True):
    m = hwfakes.fresh()
    model = CPModel(25, 34, CAL, state, diode)
    p = cp.Pilot(m.PWM(m.Pin(25)), m.ADC(m.Pin(34)), CAL)
    return m, model, p


def _settle(p):
    for _ in range(3):
        p.poll()
    return p.state


def test_duty_cycle_from_current_limit():
    d = cp.duty_permille
    assert d(0) == 1000 and d(5.9) == 1000  # below 6 A nothing can be offered: no PWM
    assert d(6) == 100 and d(16) == 267 and d(32) == 533 and d(51) == 850  # amps / 0.6 %
    assert d(63) == 892 and d(80) == 960  # amps / 2.5 + 64 %
    assert d(100) == 960  # 80 A at most
    assert d(13.5) == 225


def test_pwm_output():
    m, model, p = _pilot()
    pwm = m.pwms[25]
    assert pwm.freq() == 1000 and pwm.duty_u16() == 65535  # +12 V, nothing offered
    p.offer(16)
    assert pwm.duty_u16() == 267 * 65535 // 1000 and p.permille == 267
    p.offer(0)
    assert pwm.duty_u16() == 65535


def test_states_without_pwm():
    for s in "ABCDEF":
        m, model, p = _pilot(s)
        assert _settle(p) == s, s


def test_states_with_pwm_and_diode_check():
    m, model, p = _pilot("B")
    p.offer(32)
    assert _settle(p) == "B" and p.low_mv <= -11000
    model.state = "C"
    assert _settle(p) == "C"
    model.diode = False  # the low level rises to -6 V
    assert _settle(p) == "X"
    model.diode = True
    model.state = "A"
    assert _settle(p) == "A"  # no EV: the low level is the oscillator's -12 V


def test_levels_between_bands_are_invalid():
    m, model, p = _pilot("B")
    model.offset_mv = 1500  # 10.5 V: neither A nor B
    assert _settle(p) == "X"
    model.offset_mv = 900  # 9.9 V is still B
    assert _settle(p) == "B"


def test_debounce():
    m, model, p = _pilot("A")
    assert _settle(p) == "A"
    model.state = "B"
    assert not p.poll() and not p.poll() and p.state == "A"
    model.state = "A"  # a glitch of two polls
    assert not p.poll() and p.state == "A"
    model.state = "B"
    p.poll()
    p.poll()
    assert p.poll() and p.state == "B"


def test_calibration_map():
    m, model, p = _pilot()
    assert p.mv(3000) == -12000 and p.mv(61000) == 12000 and p.mv(32000) == 0
