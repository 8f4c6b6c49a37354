# ocpp_lite/trigger.py - F06 TriggerMessage: BootNotification, Heartbeat, StatusNotification,
# TransactionEvent, FirmwareStatusNotification, LogStatusNotification, and MeterValues in
# builds with clock-aligned meter values; other requested messages answer NotImplemented
# (F06.FR.08). Triggered messages may go out while the boot is Pending (B02.FR.02).
from micropython import const
from . import boot, schema, status, tx
from .session import PRE_BOOT

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
INT = const(-1)
REQ = const(1)

_EVSE = const((("id", INT, REQ), ("connectorId", INT, 0)))
REQUEST = const((  # public: host_tests check it against the official schema
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
        REQ,
    ),
    ("evse", _EVSE, 0),
))


def TriggerMessage(st, p, now):
    schema.check(p, REQUEST)
    what = p["requestedMessage"]
    evse = p.get("evse")
    if what == "BootNotification":
        if st.boot == boot.ACCEPTED:
            return {"status": "Rejected"}  # F06.FR.17
        if st.boot_due is not None:  # none in flight already
            boot.send(st, now, "Triggered")
    elif what == "Heartbeat":
        boot.heartbeat(st, PRE_BOOT)
    elif what == "StatusNotification":
        n = len(st.conn)
        if evse is None:
            evses = range(1, n + 1)
        elif 1 <= evse["id"] <= n and evse.get("connectorId", 1) == 1:
            evses = (evse["id"],)
        else:
            return {"status": "Rejected"}
        for e in evses:
            status.report(st, e, now, True, PRE_BOOT)
    elif what == "TransactionEvent" or what == "MeterValues":
        evs = st.ev if evse is None or what == "MeterValues" and evse["id"] == 0 else \
            [ev for ev in st.ev if ev.id == evse["id"]]
        if what == "MeterValues":
            try:
                from . import aligned
            except ImportError:
                return {"status": "NotImplemented"}
            if not evs:
                return {"status": "Rejected"}
            aligned.trigger(st, evs, now)
        else:  # F06.FR.07: an Updated with triggerReason Trigger for each transaction
            evs = [ev for ev in evs if ev.tx]
            if not evs:
                return {"status": "Rejected"}
            for ev in evs:
                tx.triggered(st, ev, now)
    elif what == "FirmwareStatusNotification" or what == "LogStatusNotification":
        try:  # F06.FR.14-16
            m = __import__("ocpp_lite." + ("firmware" if what[0] == "F" else "logs"), None, None, ("trigger",))
        except ImportError:
            return {"status": "NotImplemented"}
        m.trigger(st, PRE_BOOT)
    else:
        return {"status": "NotImplemented"}
    return {"status": "Accepted"}
