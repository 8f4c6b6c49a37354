# ocpp_lite/provisioning/reset.py - B11/B12 Reset of the whole station (a reset of one EVSE is
# not supported: Rejected). Immediate: running transactions end with ResetCommand/ImmediateReset,
# then the station reboots once their Ended events are delivered (or MessageTimeout has passed;
# undelivered ones stay in the flash queue for after the reboot, B12.FR.05). OnIdle with a
# transaction running: Scheduled; the idle EVSEs become Unavailable and the reboot follows the
# end of the last transaction. After the reboot the BootNotification says RemoteReset.
from micropython import const
from ..engine import schema

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_INT = const(-1)
_REQ = const(1)

_RESET = const((("type", ("Immediate", "OnIdle"), _REQ), ("evseId", _INT, 0)))


class Reset:
    def __init__(self, st):
        self.st = st
        self.pending = None  # "OnIdle" waiting for transactions to end, or "Immediate"

    def busy(self):
        return self.pending is not None

    def Reset(self, p, now):
        schema.check(p, _RESET)
        st = self.st
        if "evseId" in p:
            return st.rejected("NoEvseReset")  # B11.FR.09
        if p["type"] == "OnIdle" and st.transactions.running():
            self.pending = "OnIdle"
            st.transactions.refresh(now)
            return {"status": "Scheduled"}  # B12.FR.01
        for ev in st.ev:
            st.transactions.stop(ev, "ResetCommand", "ImmediateReset", now)  # B12.FR.04
        self._reboot()
        return {"status": "Accepted"}

    def _reboot(self):
        self.pending = "Immediate"
        self.st.effect(("reboot", "RemoteReset"))

    def ended(self, now):
        """A transaction ended: an OnIdle reset goes ahead once none is left."""
        if self.pending == "OnIdle" and not self.st.transactions.running():
            self._reboot()
