# host_tests/mp/hwapp.py - stand-ins for runtime.app.App and the station when testing the
# hardware loop (hw/) alone: they record the inputs the boards feed.
from time import ticks_ms


class Core:
    """The station's hardware inputs (boards/README.md), recording the calls."""

    def __init__(self):
        self.calls = []
        self.transactions = self  # the services that own the hardware inputs
        self.authorization = self

    def plug(self, evse, now):
        self.calls.append(("plug", evse))

    def unplug(self, evse, now):
        self.calls.append(("unplug", evse))

    def ev_ready(self, evse, ready, now):
        self.calls.append(("ev_ready", evse, ready))

    def tap(self, token, kind, now):
        self.calls.append(("tap", token, kind))

    def meter(self, evse, wh, w, now, v=None, a=None):
        self.calls.append(("meter", evse, wh, w, v, a))

    def fault(self, evse, reason, now):
        self.calls.append(("fault", evse, reason))

    def fault_cleared(self, evse, now):
        self.calls.append(("fault_cleared", evse))


class Link:
    def __init__(self):
        self.drops = 0

    def drop(self):
        self.drops += 1


class App:
    def __init__(self, st):
        self.st = st
        self.logs = []
        self.alive = ticks_ms()
        self.link = Link()

    def hw(self, fn, *args, **kw):
        fn(*(args + (ticks_ms(),)), **kw)

    def log(self, text):
        self.logs.append(text)
