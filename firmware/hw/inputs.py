# hw/inputs.py - the one place where hardware events enter the station, on every board and
# the simulator (boards/README.md, "Station inputs"): plug, unplug, ev_ready, tap, meter,
# fault, fault_cleared, each handed through app.hw (the time added, a MemoryError caught) to
# the service of the block that owns it: the transactions (st.transactions), or for a tap the
# authorization (st.authorization).


class Inputs:
    def __init__(self, app):
        self._app = app

    def plug(self, evse):
        """CP left state A: a vehicle is connected."""
        self._app.hw(self._app.st.transactions.plug, evse)

    def unplug(self, evse):
        """CP back in state A."""
        self._app.hw(self._app.st.transactions.unplug, evse)

    def ev_ready(self, evse, ready):
        """CP state C/D (True) or B (False): the EV asks for energy or not."""
        self._app.hw(self._app.st.transactions.ev_ready, evse, ready)

    def tap(self, id_token, kind="ISO14443"):
        """An idToken presented: an RFID card's UID as upper-case hex (type ISO14443), or
        another IdTokenEnumType kind (the simulator's "type")."""
        self._app.hw(self._app.st.authorization.tap, id_token, kind)

    def meter(self, evse, wh, w, v=None, a=None):
        """Energy register in integer Wh, active power in W; volts and amps (phase 1, whole
        units) where the meter measures them."""
        self._app.hw(self._app.st.transactions.meter, evse, wh, w, v=v, a=a)

    def fault(self, evse, reason):
        """A hardware fault appeared: ContactorWelded, ContactorStuckOpen, MeterTimeout,
        MeterError, PilotError."""
        self._app.hw(self._app.st.transactions.fault, evse, reason)

    def fault_cleared(self, evse):
        """Every fault of evse is gone."""
        self._app.hw(self._app.st.transactions.fault_cleared, evse)
