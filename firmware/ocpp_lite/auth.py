# ocpp_lite/auth.py - C01 local authorization: an RFID tap is checked with Authorize
# (idTokenInfo.status, evseId), starts on a free EVSE (or waits for the cable there), and a
# tap of the same token, or of one with the same groupIdToken, stops its transaction
# (C01.FR.03, E07). No authorization cache or local list: offline, unknown cards are refused.
from micropython import const
from . import schema, status, tx
from .session import KEEP, URGENT

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
INT = const(-1)
LIST = const(2)
REQ = const(1)

_TYPES = const(("Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization"))
ID_TOKEN = const((("idToken", 36, REQ), ("type", _TYPES, REQ), ("additionalInfo", (("additionalIdToken", 36, REQ),
                                                                                  ("type", 50, REQ)), LIST, 1, 0)))
_STATUS = const(("Accepted", "Blocked", "ConcurrentTx", "Expired", "Invalid", "NoCredit", "NotAllowedTypeEVSE",
                 "NotAtThisLocation", "NotAtThisTime", "Unknown"))
ID_TOKEN_INFO = const((("status", _STATUS, REQ), ("evseId", INT, LIST, 1, 0), ("groupIdToken", ID_TOKEN, 0)))
_RESP = const((("idTokenInfo", ID_TOKEN_INFO, REQ),))


def same(a, b):
    return a is not None and b is not None and a["idToken"] == b["idToken"] and a["type"] == b["type"]


def tap(st, token, kind, now):
    tok = {"idToken": token, "type": kind}
    for ev in st.ev:
        if ev.tx and same(ev.tx["tok"], tok):  # E07: the same card stops its own transaction
            tx.end(st, ev, "StopAuthorized", "Local", now, tok=tok)
            return
        if ev.auth and same(ev.auth[0], tok):  # tapped again before the cable came: cancelled
            ev.auth = None
            st.show({"ev": "auth", "evse": ev.id, "status": "Cancelled"})
            return
    if st.authorizing:
        return  # one card at a time
    if not (st.rpc.online and st.rpc.accepted):
        st.show({"ev": "auth", "idToken": token, "status": "Offline"})
        return
    st.authorizing = True  # until _answered learns the Authorize's fate, whatever it is
    st.rpc.call("Authorize", {"idToken": tok}, lambda st, res, now: _answered(st, tok, res, now), KEEP | URGENT)


def _answered(st, tok, res, now):
    st.authorizing = False
    res = schema.response(res, _RESP, st.log)
    info = res["idTokenInfo"] if res else {"status": "NoAnswer"}
    if info["status"] != "Accepted":  # Invalid, Blocked, Expired, ...: the relay stays open
        st.show({"ev": "auth", "idToken": tok["idToken"], "status": info["status"]})
        return
    grp = info.get("groupIdToken")
    for ev in st.ev:
        if ev.tx and same(ev.tx["grp"], grp):  # C01.FR.03: a card of the same group stops it
            tx.end(st, ev, "StopAuthorized", "Local", now, tok=tok)
            return
    allowed = info.get("evseId")
    ev = free(st, allowed, True) or free(st, allowed, False)
    if ev is None:
        st.show({"ev": "auth", "idToken": tok["idToken"], "status": "NoFreeEvse"})
        return
    st.show({"ev": "auth", "idToken": tok["idToken"], "evse": ev.id, "status": "Accepted"})
    tx.authorized(st, ev, tok, grp, None, now)


def free(st, allowed, plugged):
    """An operative EVSE without transaction or waiting authorization (with the EV plugged in,
    or not), among allowed ids (None: any)."""
    for ev in st.ev:
        if (ev.plugged == plugged and not ev.tx and not ev.auth and (allowed is None or ev.id in allowed)
                and st.conn[ev.id - 1] not in (status.UNAVAILABLE, status.FAULTED)):
            return ev
    return None
