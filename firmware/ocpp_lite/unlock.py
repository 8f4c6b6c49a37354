# ocpp_lite/unlock.py - F05 UnlockConnector. The board's unlock action (hw["unlock"]) tries
# the cable lock and says whether it opened; a station without a lock (fixed cable) answers
# CALLERROR NotSupported (F05.FR.07).
from micropython import const
from . import rpc, schema

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
INT = const(-1)
REQ = const(1)

_REQ = const((("evseId", INT, REQ), ("connectorId", INT, REQ)))


def UnlockConnector(st, p, now):
    schema.check(p, _REQ)
    unlock = st.hw.get("unlock")
    if unlock is None:
        raise rpc.CallError(rpc.NOT_SUPPORTED, "no connector lock")
    e = p["evseId"]
    if not 1 <= e <= len(st.ev) or p["connectorId"] != 1:
        return {"status": "UnknownConnector"}  # F05.FR.03
    if st.ev[e - 1].tx:
        return {"status": "OngoingAuthorizedTransaction"}  # F05.FR.02
    return {"status": "Unlocked" if unlock(e) else "UnlockFailed"}  # F05.FR.04-06
