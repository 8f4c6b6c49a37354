# host_tests/mp/fake_machine/pilot_model.py - the control-pilot circuit: the EVSE's +-12 V
# oscillator following the PWM on pwm_pin, the EV's resistors and diode per IEC 61851-1
# state, and the level shifter into the ADC on adc_pin (cal: read_u16 at -12 V and +12 V).
# Each ADC read is one sample in time: PERIOD samples make one PWM period. at(t, fn) runs
# fn() (a change of state, of the contactor, ...) before the first sample at or after
# ticks_ms() t: something that happened at t, seen when the EVSE first looks.
import machine
from time import ticks_diff, ticks_ms

HIGH_MV = {"A": 12000, "B": 9000, "C": 6000, "D": 3000, "E": 0, "F": -12000}
PERIOD = 20


class Pilot:
    def __init__(self, pwm_pin, adc_pin, cal, state="A", diode=True):
        self.pwm_pin = pwm_pin
        self.cal = cal
        self.state = state
        self.diode = diode
        self.offset_mv = 0  # added to every level (drift, a bad level shifter)
        self._k = 0
        self._at = None  # (ticks_ms, fn)
        machine.attach("adc", adc_pin, self)

    def at(self, t, fn):
        self._at = (t, fn)

    def duty(self):
        p = machine.pwms.get(self.pwm_pin)
        return p.duty_u16() if p else 0

    def mv(self, high):
        s = self.state
        if s == "E":
            return 0
        if s == "F":
            return -12000
        if high:
            return HIGH_MV[s]
        if s == "A" or self.diode:
            return -12000
        return -HIGH_MV[s]  # no diode: the EV's resistor loads the negative half too

    def sample(self):
        a = self._at
        if a is not None and ticks_diff(ticks_ms(), a[0]) >= 0:
            self._at = None
            a[1]()
        k = self._k % PERIOD
        self._k += 1
        high = k * 65535 < self.duty() * PERIOD
        lo, hi = self.cal
        raw = lo + (self.mv(high) + self.offset_mv + 12000) * (hi - lo) // 24000
        return max(0, min(65535, raw))
