# ocpp_lite/actions.py - dispatch table: CSMS action -> handler module.
# A handler is the function named like the action in module ocpp_lite.<module>:
#     def GetVariables(st, payload, now): ... return response_payload
# It raises rpc.CallError for a CALLERROR. A build leaves a handler out by leaving its module
# out (build profiles, tools/profiles.py): the action then answers NotSupported. An action
# that is not OCPP 2.0.1 at all answers NotImplemented (Part 4 section 4.3).
from .rpc import CallError, NOT_IMPLEMENTED, NOT_SUPPORTED

_HANDLERS = (
    ("ChangeAvailability", "availability"),
    ("ClearCache", "fixed"),
    ("ClearChargingProfile", "smartcharging"),
    ("CustomerInformation", "customer"),
    ("DataTransfer", "fixed"),
    ("DeleteCertificate", "certquery"),
    ("GetBaseReport", "provisioning"),
    ("GetChargingProfiles", "smartcharging"),
    ("GetCompositeSchedule", "smartcharging"),
    ("GetInstalledCertificateIds", "certquery"),
    ("GetLog", "logs"),
    ("GetTransactionStatus", "txstatus"),
    ("GetVariables", "provisioning"),
    ("InstallCertificate", "certs"),
    ("RequestStartTransaction", "remote"),
    ("RequestStopTransaction", "remote"),
    ("Reset", "reset"),
    ("SetChargingProfile", "smartcharging"),
    ("SetNetworkProfile", "netprofile"),
    ("SetVariables", "provisioning"),
    ("TriggerMessage", "trigger"),
    ("UnlockConnector", "unlock"),
    ("UpdateFirmware", "firmware"),
)

# Other OCPP 2.0.1 actions: known, never handled here -> NotSupported.
_OTHERS = (
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


def handler(action):
    """The handler function for action. Raises CallError NotSupported / NotImplemented."""
    for a, mod in _HANDLERS:
        if a == action:
            try:
                m = __import__("ocpp_lite." + mod, None, None, (action,))
            except ImportError:
                break
            f = getattr(m, action, None)
            if f:
                return f
            break
    else:
        if " " in action or (" " + action + " ") not in _OTHERS:
            raise CallError(NOT_IMPLEMENTED, "unknown action")
    raise CallError(NOT_SUPPORTED, action + " is not supported by this build")


def has(action):
    """True when this build handles action."""
    try:
        handler(action)
        return True
    except CallError:
        return False
