# ocpp_lite/dispatch.py - the dispatch table: CSMS action -> the functional block's service on
# the station (Station.<service>) whose method named like the action handles it:
#     def SetVariables(self, payload, now): ... return response_payload
# A handler raises rpc.CallError for a CALLERROR. A build profile leaves a block (or the part
# of one) out by leaving its module out (tools/profiles.py): its service is then None and the
# action answers NotSupported. An action that is not OCPP 2.0.1 at all answers NotImplemented
# (Part 4 section 4.3).
from micropython import const
from .engine.rpc import CallError

_FORMAT = const("FormatViolation")
_NOT_IMPLEMENTED = const("NotImplemented")
_NOT_SUPPORTED = const("NotSupported")

_SIZED = const(("GetVariables", "SetVariables"))  # with a DeviceDataCtrlr.BytesPerMessage[<action>] limit
_LONGEST = const(40)  # longer than any OCPP 2.0.1 action: NotImplemented without copying it

TABLE = (
    # action                        service (block: module)
    ("ChangeAvailability", "availability"),  # G availability.py
    ("ClearCache", "authorization"),  # C authorization.py
    ("ClearChargingProfile", "smartcharging"),  # K smartcharging.py
    ("CustomerInformation", "diagnostics"),  # N diagnostics.py
    ("DataTransfer", "datatransfer"),  # P datatransfer.py
    ("DeleteCertificate", "certquery"),  # M certificates/query.py
    ("GetBaseReport", "provisioning"),  # B provisioning/variables.py
    ("GetChargingProfiles", "smartcharging"),
    ("GetCompositeSchedule", "smartcharging"),
    ("GetInstalledCertificateIds", "certquery"),
    ("GetLog", "diagnostics"),
    ("GetTransactionStatus", "transactions"),  # E transactions.py
    ("GetVariables", "provisioning"),
    ("InstallCertificate", "certificates"),  # M certificates/__init__.py
    ("RequestStartTransaction", "remote"),  # F remotecontrol.py
    ("RequestStopTransaction", "remote"),
    ("Reset", "reset"),  # B provisioning/reset.py
    ("SetChargingProfile", "smartcharging"),
    ("SetNetworkProfile", "network"),  # B provisioning/netprofile.py
    ("SetVariables", "provisioning"),
    ("TriggerMessage", "remote"),
    ("UnlockConnector", "remote"),
    ("UpdateFirmware", "firmware"),  # L firmware.py
)

# Other OCPP 2.0.1 actions: known, never handled here -> NotSupported.
_OTHERS = const(
    " Authorize BootNotification CancelReservation CertificateSigned ClearDisplayMessage"
    " ClearVariableMonitoring ClearedChargingLimit CostUpdated FirmwareStatusNotification"
    " Get15118EVCertificate GetCertificateStatus GetDisplayMessages GetLocalListVersion"
    " GetMonitoringReport GetReport Heartbeat LogStatusNotification MeterValues"
    " NotifyChargingLimit NotifyCustomerInformation NotifyDisplayMessages NotifyEVChargingNeeds"
    " NotifyEVChargingSchedule NotifyEvent NotifyMonitoringReport NotifyReport PublishFirmware"
    " PublishFirmwareStatusNotification ReportChargingProfiles ReservationStatusUpdate ReserveNow"
    " SecurityEventNotification SendLocalList SetDisplayMessage SetMonitoringBase"
    " SetMonitoringLevel SetVariableMonitoring SignCertificate StatusNotification"
    " TransactionEvent UnpublishFirmware "
)


def admit(st, action, size):
    """Raises the CallError that answers a CALL of action, size bytes long, before its payload
    is parsed (engine/rpc.py parse): NotSupported or NotImplemented for an action this build
    does not handle, FormatViolation over DeviceDataCtrlr.BytesPerMessage[action] (GetVariables:
    B06.FR.17; SetVariables likewise in B05). The handler's code is not loaded for it
    (Station.offers): the parse's heap peak has only the text and what it builds."""
    if not st.offers(_service(action)):
        raise _unsupported(action)
    if action in _SIZED and size > st.devmodel.get("DeviceDataCtrlr.BytesPerMessage[%s]" % action):
        raise CallError(_FORMAT, "message over BytesPerMessage[%s]" % action)


def handler(st, action):
    """The handler of action on station st (a bound method). Raises CallError NotSupported /
    NotImplemented."""
    s = getattr(st, _service(action))
    if s is None:
        raise _unsupported(action)
    return getattr(s, action)


def _service(action):
    """The name of the station's service that handles action (TABLE). Raises CallError
    NotSupported / NotImplemented for an action not in it."""
    for a, service in TABLE:
        if a == action:
            return service
    if len(action) > _LONGEST or " " in action or (" " + action + " ") not in _OTHERS:
        raise CallError(_NOT_IMPLEMENTED, "unknown action")
    raise _unsupported(action)


def _unsupported(action):
    return CallError(_NOT_SUPPORTED, action + " is not supported by this build")
