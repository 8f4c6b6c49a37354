# hw/inputs.py - the one place where hardware events enter the station, on every board and
# the simulator (boards/README.md, "Station inputs"): plug, unplug, ev_ready, tap, meter,
# fault, fault_cleared, each called as Station.<name>(..., now) through app.hw.


class Inputs:
    def __init__(self, app):
        self._app = app

    def plug(self, evse):
        """CP left state A: a vehicle is connected."""
        self._app.hw(self._app.st.plug, evse)

    def unplug(self, evse):
        """CP back in state A."""
        self._app.hw(self._app.st.unplug, evse)

    def ev_ready(self, evse, ready):
        """CP state C/D (True) or B (False): the EV asks for energy or not."""
        self._call("ev_ready", evse, ready)

    def tap(self, id_token, kind="ISO14443"):
        """An idToken presented: an RFID card's UID as upper-case hex (type ISO14443), or
        another IdTokenEnumType kind (the simulator's "type")."""
        self._call("tap", id_token, kind)

    def meter(self, evse, wh, w, v=None, a=None):
        """Energy register in integer Wh, active power in W; volts and amps (phase 1, whole
        units) where the meter measures them."""
        self._call("meter", evse, wh, w, v=v, a=a)

    def fault(self, evse, reason):
        """A hardware fault appeared: ContactorWelded, ContactorStuckOpen, MeterTimeout,
        MeterError, PilotError."""
        self._call("fault", evse, reason)

    def fault_cleared(self, evse):
        """Every fault of evse is gone."""
        self._call("fault_cleared", evse)

    def _call(self, name, *args, **kw):
        self._app.hw(getattr(self._app.st, name), *args, **kw)
