# ocpp_lite/remotecontrol.py - F Remote control.
# F01-F03 RequestStartTransaction and RequestStopTransaction. AuthorizeRemoteStart is false
# (read-only): the CSMS has authorized the token already, so the authorization counts at once
# (F02.FR.10); a chargingProfile (a TxProfile) is used for the transaction in builds with smart
# charging, and ignored in the others (F01.FR.12). With PowerPathClosed the transaction starts
# when the EV is (or gets) plugged in; without a cable within EVConnectionTimeOut the
# authorization lapses and, no transaction having started, nothing is sent.
# F05 UnlockConnector: the board's unlock action (hw["unlock"]) tries the cable lock and says
# whether it opened; a station without a lock (fixed cable) answers CALLERROR NotSupported
# (F05.FR.07).
# F06 TriggerMessage: BootNotification, Heartbeat, StatusNotification, TransactionEvent,
# FirmwareStatusNotification, LogStatusNotification, and MeterValues in builds with
# clock-aligned meter values; other requested messages answer NotImplemented (F06.FR.08).
# Triggered messages may go out while the boot is Pending (B02.FR.02).
from micropython import const
from .authorization import ID_TOKEN
from .engine import rpc, schema

_NOT_SUPPORTED = const("NotSupported")  # an RPC framework error code (engine/rpc.py)

# engine/session.py's CALL flags, as constants here (const() does not cross modules)
_PRE_BOOT = const(1)

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_LATER = const(-6)
_INT = const(-1)
_REQ = const(1)

_START = (("idToken", ID_TOKEN, _REQ), ("remoteStartId", _INT, _REQ), ("evseId", _INT, 0),
          ("groupIdToken", ID_TOKEN, 0), ("chargingProfile", _LATER, 0))  # checked by smart charging
_STOP = const((("transactionId", 36, _REQ),))
_UNLOCK = const((("evseId", _INT, _REQ), ("connectorId", _INT, _REQ)))
_EVSE = const((("id", _INT, _REQ), ("connectorId", _INT, 0)))
TRIGGER = const((  # public: host_tests check it against the official schema
    (
        "requestedMessage",
        (
            "BootNotification",
            "LogStatusNotification",
            "FirmwareStatusNotification",
            "Heartbeat",
            "MeterValues",
            "SignChargingStationCertificate",
            "SignV2GCertificate",
            "StatusNotification",
            "TransactionEvent",
            "SignCombinedCertificate",
            "PublishFirmwareStatusNotification",
        ),
        _REQ,
    ),
    ("evse", _EVSE, 0),
))


class RemoteControl:
    def __init__(self, st):
        self.st = st

    def RequestStartTransaction(self, p, now):
        schema.check(p, _START)
        st = self.st
        sc = st.smartcharging
        profile = p.get("chargingProfile")
        if profile is not None:
            if sc is None:
                profile = None  # F01.FR.12: no smart charging in this build, ignored
            else:  # a malformed profile is a CALLERROR, whatever else is wrong
                sc.check_profile(profile)
        if not st.rpc.accepted:
            return st.rejected("NotAccepted")  # B02.FR.05
        e = p.get("evseId", 1 if len(st.ev) == 1 else 0)
        if not 1 <= e <= len(st.ev):
            return st.rejected("UnknownEvse")  # no EVSE given on a multi-EVSE station (F02.FR.15)
        ev = st.ev[e - 1]
        if not st.availability.usable(e):
            return st.rejected("Unavailable")  # F02.FR.25
        if ev.tx:
            return st.rejected("TxInProgress")  # F02.FR.26
        if profile is not None:
            why = sc.check_remote(ev, profile)
            if why:
                return st.rejected(why)  # F02.FR.27
        st.transactions.authorized(ev, p["idToken"], p.get("groupIdToken"), p["remoteStartId"], now, profile)
        return {"status": "Accepted"}

    def RequestStopTransaction(self, p, now):
        schema.check(p, _STOP)
        st = self.st
        ev = st.transactions.find(p["transactionId"]) if st.rpc.accepted else None
        if ev is None:
            return {"status": "Rejected"}  # F03.FR.07/08, B02.FR.05
        st.transactions.stop(ev, "RemoteStop", "Remote", now)
        return {"status": "Accepted"}

    def UnlockConnector(self, p, now):
        schema.check(p, _UNLOCK)
        st = self.st
        unlock = st.hw.get("unlock")
        if unlock is None:
            raise rpc.CallError(_NOT_SUPPORTED, "no connector lock")
        e = p["evseId"]
        if not 1 <= e <= len(st.ev) or p["connectorId"] != 1:
            return {"status": "UnknownConnector"}  # F05.FR.03
        if st.ev[e - 1].tx:
            return {"status": "OngoingAuthorizedTransaction"}  # F05.FR.02
        return {"status": "Unlocked" if unlock(e) else "UnlockFailed"}  # F05.FR.04-06

    def TriggerMessage(self, p, now):
        schema.check(p, TRIGGER)
        st = self.st
        what = p["requestedMessage"]
        evse = p.get("evse")
        if what == "BootNotification":
            if st.rpc.accepted:
                return {"status": "Rejected"}  # F06.FR.17
            if st.boot.due is not None:  # else one is in flight
                st.boot.send(now, "Triggered")
        elif what == "Heartbeat":
            st.heartbeat(_PRE_BOOT)
        elif what == "StatusNotification":
            n = len(st.ev)
            if evse is None:
                evses = range(1, n + 1)
            elif 1 <= evse["id"] <= n and evse.get("connectorId", 1) == 1:
                evses = (evse["id"],)
            else:
                return {"status": "Rejected"}
            for e in evses:
                st.availability.report(e, now, True, _PRE_BOOT)
        elif what == "TransactionEvent" or what == "MeterValues":
            evs = st.ev if evse is None or what == "MeterValues" and evse["id"] == 0 else \
                [ev for ev in st.ev if ev.id == evse["id"]]
            if what == "MeterValues":
                if st.aligned is None:
                    return {"status": "NotImplemented"}
                if not evs:
                    return {"status": "Rejected"}
                st.aligned.trigger(evs, now)
            else:  # F06.FR.07: an Updated with triggerReason Trigger for each transaction
                evs = [ev for ev in evs if ev.tx]
                if not evs:
                    return {"status": "Rejected"}
                for ev in evs:
                    st.transactions.triggered(ev, now)
        elif what == "FirmwareStatusNotification":  # F06.FR.16
            st.firmware.trigger(_PRE_BOOT)
        elif what == "LogStatusNotification":  # F06.FR.14/15
            st.diagnostics.trigger(_PRE_BOOT)
        else:
            return {"status": "NotImplemented"}
        return {"status": "Accepted"}
