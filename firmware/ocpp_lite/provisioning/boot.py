# ocpp_lite/provisioning/boot.py - registration and keep-alive: BootNotification with
# Accepted / Pending / Rejected (B01-B03), registering again after a network profile switch
# (B10.FR.10) and after a long outage the connectors' status (B04), and the Heartbeat (G02).
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
_HB_RESP = const((("currentTime", _TIME, _REQ),))
_NAMES = const(("None", "Pending", "Rejected", "Accepted"))


def transition(answer):
    """(next state or None: unchanged, when the next BootNotification goes) for answer (a
    RegistrationStatusEnumType value, None: no answer), from BOOT_TABLE."""
    for a, state, when in BOOT_TABLE:
        if a == answer:
            return state, when
    return None, "retry"


class Boot:
    def __init__(self, st, reason, now):
        self.st = st
        self.state = NONE
        self.reason = reason  # BootReasonEnumType of this power-up
        self.due = now  # when to send the next BootNotification; None while one is in flight
        self.started = False  # the startup security event was recorded

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

    def heartbeat(self, flags=0):
        self.st.rpc.call("Heartbeat", {}, self._beat, flags)

    def _beat(self, st, res, now):
        res = schema.response(res, _HB_RESP, st.log)
        if res is not None:
            st.set_time(clock.parse(res["currentTime"]), now)

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
        st = self.st
        if not st.rpc.online:
            return
        if self.state != ACCEPTED:
            if self.due is not None and ticks_diff(now, self.due) >= 0:
                self.send(now)
        elif st.rpc.idle() and ticks_diff(now, st.rpc.last_call) >= st.devmodel.get(HEARTBEAT) * 1000:
            self.heartbeat()

    def deadline(self, now):
        """ms until the next boot or heartbeat is due, or None."""
        st = self.st
        if not st.rpc.online:
            return None
        if self.state != ACCEPTED:
            return None if self.due is None else ticks_diff(self.due, now)
        if not st.rpc.idle():
            return None
        return ticks_diff(ticks_add(st.rpc.last_call, st.devmodel.get(HEARTBEAT) * 1000), now)
