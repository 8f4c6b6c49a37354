# drivers/cp.py - IEC 61851-1 control pilot. The EVSE drives a +-12 V, 1 kHz PWM whose duty
# cycle tells the EV the current it may draw (Annex A: 6-51 A -> amps / 0.6 %, 51-80 A ->
# amps / 2.5 + 64 %; 100 % = constant +12 V = no current offered). The EV loads the line;
# the high level of the CP voltage, read by an ADC through the board's level shifter, gives
# the state: A +12 V (no EV), B +9 V (EV connected), C +6 V (EV asks for energy), D +3 V
# (the same, with ventilation), E 0 V (short to PE, or no power), F -12 V (EVSE fault),
# each within +-1 V. While the PWM runs the low level must be -12 V: the EV's diode.
from time import ticks_diff, ticks_us
from micropython import const

A = "A"
B = "B"
C = "C"
D = "D"
E = "E"
F = "F"
X = "X"  # no valid level, or a failed diode check
_FREQ = const(1000)
_WINDOW_US = const(1200)  # each poll samples for longer than one PWM period ...
_SAMPLES = const(16)  # ... and at least this often
_DEBOUNCE = const(3)  # identical polls before a state is taken
_BAND_MV = const(1000)
_LEVELS = ((12000, A), (9000, B), (6000, C), (3000, D), (0, E), (-12000, F))
_LOW_OK_MV = const(-11000)  # the diode check: low level at or below -11 V


def duty_permille(amps):
    """PWM duty cycle in per mille for a current limit in A; 1000 (no PWM) below 6 A."""
    da = int(amps * 10)  # deciamps
    if da < 60:
        return 1000
    if da <= 510:
        return (da * 5 + 1) // 3  # amps / 0.6 %
    if da > 800:
        da = 800
    return (da * 2 + 2) // 5 + 640  # amps / 2.5 + 64 %


def level(mv):
    """The state whose nominal level is within 1 V of mv, else X."""
    for nominal, state in _LEVELS:
        if nominal - _BAND_MV <= mv <= nominal + _BAND_MV:
            return state
    return X


class Pilot:
    def __init__(self, pwm, adc, cal, debounce=_DEBOUNCE):
        """pwm: PWM on the CP driver (duty 100 % = +12 V); adc: ADC on the CP sense divider;
        cal: (read_u16 at -12 V, read_u16 at +12 V) of the board's level shifter."""
        self._pwm = pwm
        self._adc = adc
        self._raw_lo, self._raw_hi = cal
        self._debounce = debounce
        self.state = None  # debounced state; None until the first one is taken
        self.high_mv = self.low_mv = 0
        self._cand = None
        self._n = 0
        pwm.freq(_FREQ)
        self.offer(0)

    def offer(self, amps):
        """Signal a current limit (0 = none offered: constant +12 V)."""
        self.duty(duty_permille(amps))

    def duty(self, permille):
        """Set the PWM duty in per mille (duty_permille(); 1000: constant +12 V). Allocates
        nothing: the interlock calls it from a timer callback."""
        self.permille = permille
        self._pwm.duty_u16(permille * 65535 // 1000)

    def mv(self, raw):
        # 24000 / span as 1500 / (span / 16): the products stay small ints (< 2^30) on the
        # 32-bit boards, so the interlock's reads allocate nothing; 16 / span < 0.05 % off
        lo = self._raw_lo
        return -12000 + (raw - lo) * 1500 // ((self._raw_hi - lo) >> 4)

    def read(self):
        """Sample the CP voltage over a PWM period; the raw state of this poll."""
        adc = self._adc
        hi = 0
        lo = 65535
        n = 0
        t0 = ticks_us()
        while n < _SAMPLES or ticks_diff(ticks_us(), t0) < _WINDOW_US:
            r = adc.read_u16()
            if r > hi:
                hi = r
            if r < lo:
                lo = r
            n += 1
        self.high_mv = self.mv(hi)
        self.low_mv = self.mv(lo)
        s = level(self.high_mv)
        if self.permille < 1000 and (s == B or s == C or s == D) and self.low_mv > _LOW_OK_MV:
            return X  # PWM runs but the low level is missing: no diode
        return s

    def poll(self):
        """Read and debounce; True when the state changed."""
        s = self.read()
        if s != self._cand:
            self._cand = s
            self._n = 0
        self._n += 1
        if self._n >= self._debounce and s != self.state:
            self.state = s
            return True
        return False
