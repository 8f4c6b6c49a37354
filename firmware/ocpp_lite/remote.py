# ocpp_lite/remote.py - F01-F03 RequestStartTransaction and RequestStopTransaction.
# AuthorizeRemoteStart is false (read-only): the CSMS has authorized the token already, so the
# authorization counts at once (F02.FR.10); a chargingProfile (a TxProfile) is used for the
# transaction in builds with smart charging, and ignored in the others (F01.FR.12). With PowerPathClosed the transaction starts when the EV is (or
# gets) plugged in; without a cable within EVConnectionTimeOut the authorization lapses and,
# no transaction having started, nothing is sent.
from micropython import const
from . import boot, schema, status, tx
from .auth import ID_TOKEN

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
ANY = const(-5)
INT = const(-1)
REQ = const(1)

_START = (("idToken", ID_TOKEN, REQ), ("remoteStartId", INT, REQ), ("evseId", INT, 0),
          ("groupIdToken", ID_TOKEN, 0), ("chargingProfile", ANY, 0))
_STOP = const((("transactionId", 36, REQ),))


def _rejected(why):
    return {"status": "Rejected", "statusInfo": {"reasonCode": why}}


def RequestStartTransaction(st, p, now):
    schema.check(p, _START)
    profile = p.get("chargingProfile")
    if profile is not None:
        try:
            from . import smartcharging
        except ImportError:
            profile = None  # F01.FR.12: no smart charging in this build, ignored
        else:  # a malformed profile is a CALLERROR, whatever else is wrong
            schema.value(profile, smartcharging.PROFILE, "", "chargingProfile")
    if st.boot != boot.ACCEPTED:
        return _rejected("NotAccepted")  # B02.FR.05
    e = p.get("evseId", 1 if len(st.ev) == 1 else 0)
    if not 1 <= e <= len(st.ev):
        return _rejected("UnknownEvse")  # no EVSE given on a multi-EVSE station (F02.FR.15)
    ev = st.ev[e - 1]
    if st.conn[e - 1] in (status.UNAVAILABLE, status.FAULTED):
        return _rejected("Unavailable")  # F02.FR.25
    if ev.tx:
        return _rejected("TxInProgress")  # F02.FR.26
    if profile is not None:
        why = smartcharging.check_remote(st, ev, profile)
        if why:
            return _rejected(why)  # F02.FR.27
    tx.authorized(st, ev, p["idToken"], p.get("groupIdToken"), p["remoteStartId"], now, profile)
    return {"status": "Accepted"}


def RequestStopTransaction(st, p, now):
    schema.check(p, _STOP)
    ev = tx.find(st, p["transactionId"]) if st.boot == boot.ACCEPTED else None
    if ev is None:
        return {"status": "Rejected"}  # F03.FR.07/08, B02.FR.05
    tx.end(st, ev, "RemoteStop", "Remote", now)
    return {"status": "Accepted"}
