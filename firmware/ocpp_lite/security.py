# ocpp_lite/security.py - A Security: A04 security events. Every event goes to the security
# log (an effect the runtime writes to flash); critical ones are also sent to the CSMS with
# SecurityEventNotification once the station is Accepted, through the flash queue (Part 2
# appendix 1). A MemoryError the station survived is recorded as MemoryExhaustion, at most once
# a minute. (Security profiles: provisioning/netprofile.py; certificates: certificates/.)
from time import ticks_diff
from micropython import const

_OOM_GAP = const(60000)  # ms: at most one MemoryExhaustion security event a minute
_CRITICAL = const(
    " FirmwareUpdated SettingSystemTime StartupOfTheDevice ResetOrReboot SecurityLogWasCleared"
    " MemoryExhaustion TamperDetectionActivated InvalidCsmsCertificate"
    " InvalidChargingStationCertificate InvalidTLSVersion InvalidTLSCipherSuite"
    " MaintenanceLoginAccepted MaintenanceLoginFailed "
)


class Security:
    def __init__(self, st):
        self.st = st
        self._oom = None  # (ticks of the last MemoryExhaustion event, MemoryErrors since)

    def record(self, kind, info, now, send=False):
        """Log security event kind (techInfo info) and queue it for the CSMS when critical or
        send (events a use case requires to be sent, e.g. InvalidFirmwareSignature, L01.FR.03)."""
        st = self.st
        ts = st.stamp(now)
        info = info[:255]
        st.effect(("seclog", "%s %s %s" % (ts, kind, info)))
        st.show({"ev": "security", "type": kind})
        if send or (" " + kind + " ") in _CRITICAL:  # A04.FR.02: kept in flash until the CSMS has it
            p = {"type": kind, "timestamp": ts}
            if info:
                p["techInfo"] = info
            try:
                st.rpc.keep(st, "SecurityEventNotification", p)
            except OSError:
                st.rpc.call("SecurityEventNotification", p)

    def out_of_memory(self, where, now):
        """A MemoryError was caught (where: what it hit, which is dropped): logged, and recorded
        as a MemoryExhaustion security event at most once a minute (the event is critical, so
        it takes a place in the flash queue), counting the ones in between."""
        self.st.log("out of memory: %s" % where)
        last, n = self._oom or (None, 0)
        if last is not None and ticks_diff(now, last) < _OOM_GAP:
            self._oom = (last, n + 1)
            return
        self._oom = (now, 0)
        self.record("MemoryExhaustion", "%s (%d more since the last)" % (where, n) if n else where, now)
