# drivers/relay.py - contactor relay on a GPIO, with an optional feedback input (the
# contactor's auxiliary contact). A contactor that has not followed its command settle_ms
# after it was given is a fault: welded (commanded open, still closed) or stuck open.
from time import ticks_diff
from micropython import const

WELDED = "ContactorWelded"
STUCK_OPEN = "ContactorStuckOpen"
_SETTLE_MS = const(300)  # contactors switch in 20-100 ms; the auxiliary contact bounces


class Relay:
    def __init__(self, out, feedback=None, settle_ms=_SETTLE_MS):
        """out: Pin/Signal driving the coil (1 = closed); feedback: Pin/Signal reading the
        auxiliary contact (1 = closed), or None when the contactor has none."""
        self._out = out
        self._fb = feedback
        self._settle = settle_ms
        self.closed = False
        self._since = None  # ticks_ms of the last change of command (None: settled)
        out.value(0)

    def set(self, closed, now):
        closed = bool(closed)
        if closed != self.closed:
            self.closed = closed
            self._since = now
            self._out.value(1 if closed else 0)

    def fault(self, now):
        """WELDED or STUCK_OPEN when the feedback disagrees with the settled command, else None."""
        if self._fb is None:
            return None
        if self._since is not None:
            if ticks_diff(now, self._since) < self._settle:
                return None
            self._since = None
        if bool(self._fb.value()) == self.closed:
            return None
        return STUCK_OPEN if self.closed else WELDED
