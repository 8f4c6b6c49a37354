# ocpp_lite/secevents.py - A04 security events: every event goes to the security log (an
# effect the runtime writes to flash); critical ones are also sent to the CSMS with
# SecurityEventNotification once the station is Accepted, through the flash queue (Part 2
# appendix 1).

_CRITICAL = (
    " FirmwareUpdated SettingSystemTime StartupOfTheDevice ResetOrReboot SecurityLogWasCleared"
    " MemoryExhaustion TamperDetectionActivated InvalidCsmsCertificate"
    " InvalidChargingStationCertificate InvalidTLSVersion InvalidTLSCipherSuite"
    " MaintenanceLoginAccepted MaintenanceLoginFailed "
)


def critical(kind):
    return (" " + kind + " ") in _CRITICAL


def record(st, kind, info, now, send=False):
    """Log security event kind (techInfo info) and queue it for the CSMS when critical or
    send (events a use case requires to be sent, e.g. InvalidFirmwareSignature, L01.FR.03)."""
    ts = st.stamp(now)
    info = info[:255]
    st.effects.append(("seclog", "%s %s %s" % (ts, kind, info)))
    st.show({"ev": "security", "type": kind})
    if send or critical(kind):  # A04.FR.02: kept in flash until the CSMS has it
        p = {"type": kind, "timestamp": ts}
        if info:
            p["techInfo"] = info
        try:
            st.rpc.keep(st, "SecurityEventNotification", p)
        except OSError:
            st.rpc.call("SecurityEventNotification", p)
