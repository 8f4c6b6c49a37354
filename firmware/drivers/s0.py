# drivers/s0.py - energy from an S0 pulse output (EN 62053-31: an open collector giving
# pulses_per_kwh pulses of at least 30 ms per kWh). Falling edges are counted in a pin IRQ;
# edges closer than min_gap_ms to the previous one are contact bounce. Power is estimated
# from the time between the last two pulses and decays while no pulse comes.
from time import ticks_diff, ticks_ms
from micropython import const

_MIN_GAP_MS = const(20)
_IDLE_MS = const(300000)  # no pulse for 5 minutes: report 0 W


class S0:
    def __init__(self, pin, pulses_per_kwh, wh=0, min_gap_ms=_MIN_GAP_MS):
        """pin: Pin (input with pull-up) on the S0 output; wh: the register at count 0 (the
        energy counted before a reboot, kept by the caller)."""
        self._ppk = pulses_per_kwh
        self._base = wh
        self._gap = min_gap_ms
        self.count = 0
        self._last = None  # ticks_ms of the last pulse
        self._dt = 0  # ms between the last two pulses
        self.wh = wh
        self.w = 0
        self.volts = self.amps = None  # not measured
        pin.irq(handler=self._pulse, trigger=pin.IRQ_FALLING)

    def _pulse(self, pin):
        now = ticks_ms()
        if self._last is not None:
            d = ticks_diff(now, self._last)
            if d < self._gap:
                return
            self._dt = d
        self._last = now
        self.count += 1

    async def read(self):
        """Update wh and w (same interface as sdm.SDM.read)."""
        self.wh = self._base + self.count * 1000 // self._ppk
        d = self._dt
        if d:
            since = ticks_diff(ticks_ms(), self._last)
            if since > _IDLE_MS:
                self.w = 0
                return
            # one pulse is 1000/ppk Wh; W = Wh * 3600000 / ms
            self.w = 3600000000 // (self._ppk * (since if since > d else d))
