# ocpp_lite/provisioning/boot.py - registration: BootNotification with Accepted / Pending /
# Rejected (B01-B03), registering again after a network profile switch (B10.FR.10) and after a
# long outage the connectors' status (B04). The station creates the Boot service when it needs
# it (station.py) and lets it go once the CSMS has Accepted: what stays is the session's
# accepted; the Heartbeat (G02) is the station's, with its clock.
from time import ticks_add, ticks_diff
from micropython import const
from ..engine import clock, schema
from .devmodel import HEARTBEAT

# engine/session.py's CALL flags, as constants here (const() does not cross modules)
_PRE_BOOT = const(1)
_KEEP = const(2)
_URGENT = const(4)

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_INT = const(-1)
_REQ = const(1)
_TIME = const(-4)

NONE = const(0)  # no answer yet since power-up (or since a switch of network profile)
_PENDING = const(1)
_REJECTED = const(2)
ACCEPTED = const(3)

# The boot state table (B01-B03, Part 2 figures "Cold boot" and "Pending/Rejected"): the answer
# to a BootNotification -> the state it leaves and when the next BootNotification goes.
#   "none": not again (Accepted: Heartbeat from now on, B01.FR.04);
#   "interval": after the answer's interval, or _RETRY_S when it is 0 (B02.FR.01, B03.FR.02);
#   "retry": at once when the link broke meanwhile, else after _RETRY_S (B02.FR.07).
# Until ACCEPTED the station sends nothing but BootNotification and what the CSMS triggers
# (B02.FR.02, B03.FR.03) and answers other CALLs SecurityError (B03.FR.08, Station._dispatch).
BOOT_TABLE = const((
    # answer       next state    next BootNotification
    ("Accepted", ACCEPTED, "none"),
    ("Pending", _PENDING, "interval"),
    ("Rejected", _REJECTED, "interval"),
    (None, None, "retry"),  # no (valid) answer: the state stays
))

_RETRY_S = const(30)  # own waiting interval (interval 0 or no answer; B02.FR.07)
_MAX_S = const(86400)  # timers are capped at a day (ticks wrap after 6 days on 32-bit boards)

_STATUS_INFO = const((("reasonCode", 20, _REQ), ("additionalInfo", 512, 0)))
_BOOT_RESP = const((
    ("currentTime", _TIME, _REQ),
    ("interval", _INT, _REQ),
    ("status", ("Accepted", "Pending", "Rejected"), _REQ),
    ("statusInfo", _STATUS_INFO, 0),
))
_NAMES = const(("None", "Pending", "Rejected", "Accepted"))


def transition(answer):
    """(next state or None: unchanged, when the next BootNotification goes) for answer (a
    RegistrationStatusEnumType value, None: no answer), from BOOT_TABLE."""
    for a, state, when in BOOT_TABLE:
        if a == answer:
            return state, when
    return None, "retry"


class Boot:
    def __init__(self, st, now):
        """Made at power-up (the first BootNotification due at now), and again when needed after
        the CSMS Accepted (st.rpc.accepted: nothing due)."""
        self.st = st
        done = st.rpc.accepted
        self.state = ACCEPTED if done else NONE
        self.reason = st.reason  # BootReasonEnumType of this power-up
        self.due = None if done else now  # when to send the next BootNotification; None while one is in flight
        self.started = done  # the startup security event was recorded

    def busy(self):
        """Kept by the station until Accepted (Station.release)."""
        return self.state != ACCEPTED

    def accepted(self):
        return self.state == ACCEPTED

    def name(self):
        return _NAMES[self.state]

    def send(self, now, reason=None):
        """Queue a BootNotification; _booted learns its fate whatever it is (session.py), so
        due is set again unless the CSMS has Accepted."""
        self.due = None
        self.st.rpc.call(
            "BootNotification",
            {"reason": reason or self.reason, "chargingStation": self.st.info},
            self._booted,
            _PRE_BOOT | _KEEP | _URGENT,
        )

    def _booted(self, st, res, now):
        res = schema.response(res, _BOOT_RESP, st.log)
        state, when = transition(res["status"] if res else None)
        if res is not None:
            st.set_time(clock.parse(res["currentTime"]), now)
            self.state = state
            st.rpc.registered(state == ACCEPTED)
            st.show({"ev": "boot", "status": res["status"]})
        if when == "retry":  # right after reconnecting if the link broke, else after a pause
            self.due = ticks_add(now, 0 if not st.rpc.online else _RETRY_S * 1000)
            return
        interval = min(res["interval"], _MAX_S)
        if when == "interval":
            self.due = ticks_add(now, (interval if interval > 0 else _RETRY_S) * 1000)
            return
        if interval > 0:  # B01.FR.04; stored (only when it changes)
            try:
                st.devmodel.store({HEARTBEAT: interval})
            except OSError as e:
                st.log("heartbeat interval not saved: %r" % e)
        st.availability.report_all(now, True)
        if not self.started:
            self.started = True
            kind = "StartupOfTheDevice" if self.reason in ("PowerUp", "Unknown") else "ResetOrReboot"
            st.security.record(kind, self.reason, now)

    def connected(self, switched, now):
        """On a new connection; switched: to another network profile than before (B10.FR.10:
        register again, though the station did not reboot)."""
        st = self.st
        if switched:
            self.state = NONE
            st.rpc.registered(False)
            self.reason = "Unknown"
            self.due = now
        elif self.state == ACCEPTED:  # B04: after a long outage all connectors, else the changed ones
            st.availability.report_all(now, st.offline_ms(now) > st.devmodel.get("OCPPCommCtrlr.OfflineThreshold") * 1000)
        elif self.due is not None and not 0 <= ticks_diff(self.due, now) <= _MAX_S * 1000:
            self.due = now  # due before (or so long ago that the ticks wrapped): now

    def tick(self, now):
        if self.st.rpc.online and self.state != ACCEPTED and self.due is not None and ticks_diff(now, self.due) >= 0:
            self.send(now)

    def deadline(self, now):
        """ms until the next BootNotification is due, or None."""
        if not self.st.rpc.online or self.state == ACCEPTED or self.due is None:
            return None
        return ticks_diff(self.due, now)
