# ocpp_lite/authorization.py - C Authorization. C01 local authorization: an RFID tap is
# checked with Authorize (idTokenInfo.status, evseId), starts on a free EVSE (or waits for the
# cable there), and a tap of the same token, or of one with the same groupIdToken, stops its
# transaction (C01.FR.03, E07). No authorization cache or local list: offline, unknown cards
# are refused, and C11 ClearCache is Rejected.
from micropython import const
from .engine import schema

# engine/session.py's CALL flags, as constants here (const() does not cross modules)
_KEEP = const(2)
_URGENT = const(4)

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_INT = const(-1)
_LIST = const(2)
_REQ = const(1)

_TYPES = const(("Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization"))
ID_TOKEN = const((("idToken", 36, _REQ), ("type", _TYPES, _REQ), ("additionalInfo", (("additionalIdToken", 36, _REQ),
                                                                                    ("type", 50, _REQ)), _LIST, 1, 0)))
_STATUS = const(("Accepted", "Blocked", "ConcurrentTx", "Expired", "Invalid", "NoCredit", "NotAllowedTypeEVSE",
                 "NotAtThisLocation", "NotAtThisTime", "Unknown"))
_ID_TOKEN_INFO = const((("status", _STATUS, _REQ), ("evseId", _INT, _LIST, 1, 0), ("groupIdToken", ID_TOKEN, 0)))
_RESP = const((("idTokenInfo", _ID_TOKEN_INFO, _REQ),))


def same(a, b):
    return a is not None and b is not None and a["idToken"] == b["idToken"] and a["type"] == b["type"]


class Authorization:
    def __init__(self, st):
        self.st = st
        self.pending = None  # the token of the Authorize that is out (one card at a time), or None

    def busy(self):
        return self.pending is not None

    def tap(self, token, kind, now):
        st = self.st
        tok = {"idToken": token, "type": kind}
        for ev in st.ev:
            if ev.tx and same(ev.tx["tok"], tok):  # E07: the same card stops its own transaction
                st.transactions.stop(ev, "StopAuthorized", "Local", now, tok=tok)
                return
            if ev.auth and same(ev.auth[0], tok):  # tapped again before the cable came: cancelled
                st.transactions.cancel(ev, "Cancelled", now)
                return
        if self.pending:
            return  # one card at a time
        if not (st.rpc.online and st.rpc.accepted):
            st.show({"ev": "auth", "idToken": token, "status": "Offline"})
            return
        self.pending = tok  # until _answered learns the Authorize's fate, whatever it is
        st.rpc.call("Authorize", {"idToken": tok}, self._answered, _KEEP | _URGENT)

    def _answered(self, st, res, now):
        tok = self.pending
        self.pending = None
        res = schema.response(res, _RESP, st.log)
        info = res["idTokenInfo"] if res else {"status": "NoAnswer"}
        if info["status"] != "Accepted":  # Invalid, Blocked, Expired, ...: the relay stays open
            st.show({"ev": "auth", "idToken": tok["idToken"], "status": info["status"]})
            return
        grp = info.get("groupIdToken")
        for ev in st.ev:
            if ev.tx and same(ev.tx["grp"], grp):  # C01.FR.03: a card of the same group stops it
                st.transactions.stop(ev, "StopAuthorized", "Local", now, tok=tok)
                return
        allowed = info.get("evseId")
        ev = self.free(allowed, True) or self.free(allowed, False)
        if ev is None:
            st.show({"ev": "auth", "idToken": tok["idToken"], "status": "NoFreeEvse"})
            return
        st.show({"ev": "auth", "idToken": tok["idToken"], "evse": ev.id, "status": "Accepted"})
        st.transactions.authorized(ev, tok, grp, None, now)

    def free(self, allowed, plugged):
        """An operative EVSE without transaction or waiting authorization (with the EV plugged
        in, or not), among allowed ids (None: any)."""
        st = self.st
        for ev in st.ev:
            if (ev.plugged == plugged and not ev.tx and not ev.auth and (allowed is None or ev.id in allowed)
                    and st.availability.usable(ev.id)):
                return ev
        return None

    def ClearCache(self, p, now):
        schema.check(p, ())
        return {"status": "Rejected"}
