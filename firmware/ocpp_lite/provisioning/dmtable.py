# ocpp_lite/provisioning/dmtable.py - the device model: every component variable of this
# station as one constant table (frozen code keeps it in flash). devmodel.py reads it.
#
# Row: (key, scope, mutability, dataType, unit, minLimit, maxLimit, valuesList, value), fields 0
# to 8. Readers name the fields with constants of their own (_KEY = const(0), _SCOPE, _MUT, _TYPE,
# _UNIT, _MIN, _MAX, _VALUES, _VALUE = const(8)): the compiler folds a const() only within its
# module, so r[_MUT] costs what r[2] does.
#   key        "Component.Variable" or "Component.Variable[Instance]"
#   scope      0 station-wide, 1 per EVSE (component.evse = {id}), 2 per connector
#              ({id, connectorId}), 3 station-wide and only in builds with smart charging,
#              4 station-wide and only in builds with clock-aligned meter values (aligned.py),
#              5 station-wide and only in builds without them: the same variables, read-only
#              at "no clock-aligned data", so a build reports only what it does
#   mutability "R" read-only, fixed or live; "C" read-only to the CSMS, set by local
#              provisioning; "W" read-write; "O" write-only
#   valuesList "@measurands", "@status": a list several rows share (devmodel.values)
#   value      the default (RW) or constant (RO); "@name" = a live value (devmodel.live)
# Writable by the CSMS (W/O): 19 + BasicAuthPassword, + 4 AlignedDataCtrlr with clock-aligned
# meter values, + LimitChangeSignificance with smart charging. docs/behaviour.md explains why
# each is writable and why 15 is not reachable.
from micropython import const

# const(): the compiler puts the text into the rows, so every row is a constant (in flash when
# frozen) instead of a tuple made in the heap at import.
_AVAIL = const("@status")
_MEAS = const("@measurands")
_E = const("Energy.Active.Import.Register")
_SLOTS = const("1,2")  # network configuration slots (B09.FR.06: at least two)

ROWS = (
    ("ChargingStation.AvailabilityState", 0, "R", "OptionList", None, None, None, _AVAIL, "@avail"),
    ("ChargingStation.Available", 0, "R", "boolean", None, None, None, None, "@available"),
    ("ChargingStation.SupplyPhases", 0, "R", "integer", None, 0, 3, None, "@phases"),
    # L01: no new sessions while an update waits for transactions to end (TC_L_15_CS)
    ("ChargingStation.AllowNewSessionsPendingFirmwareUpdate", 0, "R", "boolean", None, None, None, None, False),
    ("EVSE.AvailabilityState", 1, "R", "OptionList", None, None, None, _AVAIL, "@avail"),
    ("EVSE.Available", 1, "R", "boolean", None, None, None, None, "@available"),
    ("EVSE.SupplyPhases", 1, "R", "integer", None, 0, 3, None, "@phases"),
    ("EVSE.Power", 1, "R", "decimal", "W", 0, "@power_max", None, "@power"),
    ("Connector.AvailabilityState", 2, "R", "OptionList", None, None, None, _AVAIL, "@avail"),
    ("Connector.Available", 2, "R", "boolean", None, None, None, None, "@available"),
    ("Connector.SupplyPhases", 2, "R", "integer", None, 0, 3, None, "@phases"),
    ("Connector.ConnectorType", 2, "R", "string", None, None, 50, None, "@connector"),
    ("AlignedDataCtrlr.Available", 4, "R", "boolean", None, None, None, None, True),
    ("AlignedDataCtrlr.Interval", 4, "W", "integer", "s", 0, 86400, None, 0),
    ("AlignedDataCtrlr.Measurands", 4, "W", "MemberList", None, None, None, _MEAS, _E),
    ("AlignedDataCtrlr.TxEndedInterval", 4, "W", "integer", "s", 0, 86400, None, 0),
    ("AlignedDataCtrlr.TxEndedMeasurands", 4, "W", "MemberList", None, None, None, _MEAS, _E),
    ("AlignedDataCtrlr.Available", 5, "R", "boolean", None, None, None, None, False),
    ("AlignedDataCtrlr.Interval", 5, "R", "integer", "s", 0, 86400, None, 0),
    ("AlignedDataCtrlr.Measurands", 5, "R", "MemberList", None, None, None, _MEAS, ""),
    ("AlignedDataCtrlr.TxEndedInterval", 5, "R", "integer", "s", 0, 86400, None, 0),
    ("AlignedDataCtrlr.TxEndedMeasurands", 5, "R", "MemberList", None, None, None, _MEAS, ""),
    ("AuthCtrlr.AuthorizeRemoteStart", 0, "R", "boolean", None, None, None, None, False),
    ("AuthCtrlr.LocalAuthorizeOffline", 0, "W", "boolean", None, None, None, None, True),
    ("AuthCtrlr.LocalPreAuthorize", 0, "R", "boolean", None, None, None, None, False),
    ("ClockCtrlr.DateTime", 0, "R", "dateTime", None, None, None, None, "@now"),
    ("ClockCtrlr.TimeSource", 0, "R", "SequenceList", None, None, None, "Heartbeat", "Heartbeat"),
    ("DeviceDataCtrlr.ItemsPerMessage[GetReport]", 0, "R", "integer", None, None, None, None, 8),
    ("DeviceDataCtrlr.ItemsPerMessage[GetVariables]", 0, "R", "integer", None, None, None, None, 4),
    ("DeviceDataCtrlr.ItemsPerMessage[SetVariables]", 0, "R", "integer", None, None, None, None, 4),
    ("DeviceDataCtrlr.BytesPerMessage[GetReport]", 0, "R", "integer", None, None, None, None, 2000),
    ("DeviceDataCtrlr.BytesPerMessage[GetVariables]", 0, "R", "integer", None, None, None, None, 1500),
    ("DeviceDataCtrlr.BytesPerMessage[SetVariables]", 0, "R", "integer", None, None, None, None, 2500),
    ("OCPPCommCtrlr.ActiveNetworkProfile", 0, "R", "integer", None, None, None, None, "@active_slot"),
    ("OCPPCommCtrlr.FileTransferProtocols", 0, "R", "MemberList", None, None, None, "HTTP,HTTPS", "HTTP,HTTPS"),
    ("OCPPCommCtrlr.HeartbeatInterval", 0, "W", "integer", "s", 1, 86400, None, 300),
    ("OCPPCommCtrlr.MessageTimeout[Default]", 0, "R", "integer", "s", None, None, None, "@message_timeout"),
    ("OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]", 0, "W", "integer", "s", 0, 3600, None, 10),
    ("OCPPCommCtrlr.MessageAttempts[TransactionEvent]", 0, "W", "integer", None, 1, 10, None, 3),
    ("OCPPCommCtrlr.NetworkConfigurationPriority", 0, "W", "SequenceList", None, None, None, _SLOTS, "1"),
    ("OCPPCommCtrlr.NetworkProfileConnectionAttempts", 0, "W", "integer", None, 1, 100, None, 3),
    ("OCPPCommCtrlr.OfflineThreshold", 0, "W", "integer", "s", 0, 86400, None, 300),
    ("OCPPCommCtrlr.ResetRetries", 0, "W", "integer", None, 0, 10, None, 2),
    ("OCPPCommCtrlr.RetryBackOffRandomRange", 0, "W", "integer", "s", 0, 3600, None, 10),
    ("OCPPCommCtrlr.RetryBackOffRepeatTimes", 0, "W", "integer", None, 0, 10, None, 4),
    ("OCPPCommCtrlr.RetryBackOffWaitMinimum", 0, "W", "integer", "s", 1, 3600, None, 10),
    ("OCPPCommCtrlr.UnlockOnEVSideDisconnect", 0, "R", "boolean", None, None, None, None, True),
    ("OCPPCommCtrlr.WebSocketPingInterval", 0, "W", "integer", "s", 0, 3600, None, 60),
    ("SampledDataCtrlr.TxEndedInterval", 0, "W", "integer", "s", 0, 86400, None, 0),
    ("SampledDataCtrlr.TxEndedMeasurands", 0, "W", "MemberList", None, None, None, _MEAS, _E),
    ("SampledDataCtrlr.TxStartedMeasurands", 0, "W", "MemberList", None, None, None, _MEAS, _E),
    ("SampledDataCtrlr.TxUpdatedInterval", 0, "W", "integer", "s", 0, 86400, None, 60),
    ("SampledDataCtrlr.TxUpdatedMeasurands", 0, "W", "MemberList", None, None, None, _MEAS,
     "Energy.Active.Import.Register,Power.Active.Import"),
    ("SecurityCtrlr.BasicAuthPassword", 0, "O", "string", None, 16, 40, None, ""),
    ("SecurityCtrlr.CertificateEntries", 0, "R", "integer", None, None, 4, None, "@certs"),
    ("SecurityCtrlr.Identity", 0, "C", "string", None, 1, 48, None, ""),
    ("SecurityCtrlr.OrganizationName", 0, "C", "string", None, None, 50, None, "OCPP2.Lite"),
    ("SecurityCtrlr.SecurityProfile", 0, "R", "integer", None, 1, 2, None, "@security_profile"),
    ("SmartChargingCtrlr.Available", 3, "R", "boolean", None, None, None, None, True),
    ("SmartChargingCtrlr.Entries[ChargingProfiles]", 3, "R", "integer", None, None, 4, None, "@profiles"),
    ("SmartChargingCtrlr.LimitChangeSignificance", 3, "W", "decimal", "Percent", 0, 100, None, 10),
    ("SmartChargingCtrlr.PeriodsPerSchedule", 3, "R", "integer", None, None, None, None, 4),
    ("SmartChargingCtrlr.ProfileStackLevel", 3, "R", "integer", None, None, None, None, 1),
    ("SmartChargingCtrlr.RateUnit", 3, "R", "MemberList", None, None, None, "A", "A"),
    ("TxCtrlr.EVConnectionTimeOut", 0, "W", "integer", "s", 1, 3600, None, 60),
    ("TxCtrlr.StopTxOnEVSideDisconnect", 0, "R", "boolean", None, None, None, None, True),
    ("TxCtrlr.StopTxOnInvalidId", 0, "W", "boolean", None, None, None, None, True),
    ("TxCtrlr.TxStartPoint", 0, "R", "MemberList", None, None, None, "PowerPathClosed", "PowerPathClosed"),
    ("TxCtrlr.TxStopPoint", 0, "R", "MemberList", None, None, None, "PowerPathClosed", "PowerPathClosed"),
)
