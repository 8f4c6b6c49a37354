# ocpp_lite/trigger.py - F06 TriggerMessage: BootNotification, Heartbeat and
# StatusNotification; other requested messages answer NotImplemented (F06.FR.08).
# Triggered messages may go out while the boot is Pending (B02.FR.02).
from . import boot, schema, status
from .schema import INT, REQ
from .session import PRE_BOOT

_EVSE = (("id", INT, REQ), ("connectorId", INT, 0))
_REQ = (
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
)


def TriggerMessage(st, p, now):
    schema.check(p, _REQ)
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
    else:
        return {"status": "NotImplemented"}
    return {"status": "Accepted"}
