# ocpp_lite/reset.py - B11/B12 Reset of the whole station (a reset of one EVSE is not
# supported: Rejected). Immediate: running transactions end with ResetCommand/ImmediateReset,
# then the station reboots once their Ended events are delivered (or MessageTimeout has passed;
# undelivered ones stay in the flash queue for after the reboot, B12.FR.05). OnIdle with a
# transaction running: Scheduled; the idle EVSEs become Unavailable and the reboot follows the
# end of the last transaction. After the reboot the BootNotification says RemoteReset.
from micropython import const
from . import schema, tx

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
INT = const(-1)
REQ = const(1)

_REQ = const((("type", ("Immediate", "OnIdle"), REQ), ("evseId", INT, 0)))


def Reset(st, p, now):
    schema.check(p, _REQ)
    if "evseId" in p:
        return {"status": "Rejected", "statusInfo": {"reasonCode": "NoEvseReset"}}  # B11.FR.09
    busy = [ev for ev in st.ev if ev.tx]
    if p["type"] == "OnIdle" and busy:
        st.resetting = "OnIdle"
        for ev in st.ev:
            tx.refresh(st, ev, now)
        return {"status": "Scheduled"}  # B12.FR.01
    for ev in busy:
        tx.end(st, ev, "ResetCommand", "ImmediateReset", now)  # B12.FR.04
    st.resetting = "Immediate"
    st.effects.append(("reboot", "RemoteReset"))
    return {"status": "Accepted"}


def ended(st, now):
    """A transaction ended: an OnIdle reset goes ahead once none is left."""
    if getattr(st, "resetting", None) == "OnIdle" and not any(ev.tx for ev in st.ev):
        st.resetting = "Immediate"
        st.effects.append(("reboot", "RemoteReset"))
