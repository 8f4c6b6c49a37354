# host_tests/mp/fake_machine/contactor_model.py - a contactor: its coil on coil_pin, its
# auxiliary contact driving fb_pin (low when closed if active_low, as wired with a pull-up).
# weld() keeps the contacts closed until free(); stuck_open keeps them from closing; drop()
# lets them fall open under an energised coil (a broken coil supply, a failed contact).
# coil_off: ticks_ms of the last time the coil was switched off.
import machine
from time import ticks_ms


class Contactor:
    def __init__(self, coil_pin, fb_pin, active_low=False):
        self.fb_pin = fb_pin
        self.active_low = active_low
        self.closed = False
        self.welded = False
        self.stuck_open = False
        self.switches = 0
        self.coil = 0
        self.coil_off = None
        machine.watch(coil_pin, self._coil)
        self._show()

    def _coil(self, level):
        if self.coil and not level:
            self.coil_off = ticks_ms()
        self.coil = level
        want = bool(level) and not self.stuck_open
        if self.welded:
            want = True
        if want != self.closed:
            self.switches += 1
        self.closed = want
        self._show()

    def weld(self):
        self.welded = True
        self.closed = True
        self._show()

    def drop(self):
        self.stuck_open = True
        self._coil(self.coil)

    def free(self):
        self.welded = False
        self._coil(self.coil)

    def _show(self):
        machine.drive(self.fb_pin, self.closed ^ self.active_low)
