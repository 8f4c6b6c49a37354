# ocpp_lite/boot.py - registration and keep-alive: BootNotification with Accepted / Pending /
# Rejected (B01-B03) and the Heartbeat (G02). This module owns st.boot.
from time import ticks_add, ticks_diff
from micropython import const
from . import clock, devmodel, schema, secevents, status
from .devmodel import HEARTBEAT
from .session import KEEP, PRE_BOOT, URGENT

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
INT = const(-1)
REQ = const(1)
TIME = const(-4)

NONE = const(0)  # no answer yet since power-up
PENDING = const(1)
REJECTED = const(2)
ACCEPTED = const(3)

_RETRY_S = const(30)  # own waiting interval (interval 0 or no answer; B02.FR.07)
_MAX_S = const(86400)  # timers are capped at a day (ticks wrap after 6 days on 32-bit boards)

_STATUS_INFO = const((("reasonCode", 20, REQ), ("additionalInfo", 512, 0)))
_BOOT_RESP = const((
    ("currentTime", TIME, REQ),
    ("interval", INT, REQ),
    ("status", ("Accepted", "Pending", "Rejected"), REQ),
    ("statusInfo", _STATUS_INFO, 0),
))
_HB_RESP = const((("currentTime", TIME, REQ),))
_NAMES = const(("None", "Pending", "Rejected", "Accepted"))


def init(st, reason, now):
    st.boot = NONE
    st.boot_reason = reason  # BootReasonEnumType of this power-up
    st.boot_due = now  # when to send the next BootNotification; None while one is in flight
    st.started = False  # the startup security event was recorded


def send(st, now, reason=None):
    """Queue a BootNotification; _booted learns its fate whatever it is (session.py), so
    boot_due is set again unless the CSMS has Accepted."""
    st.boot_due = None
    st.rpc.call(
        "BootNotification",
        {"reason": reason or st.boot_reason, "chargingStation": st.info},
        _booted,
        PRE_BOOT | KEEP | URGENT,
    )


def _booted(st, res, now):
    res = schema.response(res, _BOOT_RESP, st.log)
    if res is None:
        # no (valid) answer: right after reconnecting if the link broke, else after a pause
        st.boot_due = ticks_add(now, 0 if not st.rpc.online else _RETRY_S * 1000)
        return
    st.set_time(clock.parse(res["currentTime"]), now)
    interval = min(res["interval"], _MAX_S)
    st.boot = _NAMES.index(res["status"])
    st.rpc.accepted = st.boot == ACCEPTED
    st.show({"ev": "boot", "status": res["status"]})
    if st.boot != ACCEPTED:
        st.boot_due = ticks_add(now, (interval if interval > 0 else _RETRY_S) * 1000)
        return
    if interval > 0:  # B01.FR.04; stored (only when it changes)
        try:
            devmodel.store(st, {HEARTBEAT: interval})
        except OSError as e:
            st.log("heartbeat interval not saved: %r" % e)
    status.report_all(st, now, True)
    if not st.started:
        st.started = True
        kind = "StartupOfTheDevice" if st.boot_reason in ("PowerUp", "Unknown") else "ResetOrReboot"
        secevents.record(st, kind, st.boot_reason, now)


def heartbeat(st, flags=0):
    st.rpc.call("Heartbeat", {}, _beat, flags)


def _beat(st, res, now):
    res = schema.response(res, _HB_RESP, st.log)
    if res is not None:
        st.set_time(clock.parse(res["currentTime"]), now)


def connected(st, switched, now):
    """On a new connection; switched: to another network profile than before (B10.FR.10:
    register again, though the station did not reboot)."""
    if switched:
        st.boot = NONE
        st.rpc.accepted = False
        st.boot_reason = "Unknown"
        st.boot_due = now
    elif st.boot == ACCEPTED:  # B04: after a long outage all connectors, else the changed ones
        status.report_all(st, now, st.offline_ms(now) > devmodel.get(st, "OCPPCommCtrlr.OfflineThreshold") * 1000)
    elif st.boot_due is not None and not 0 <= ticks_diff(st.boot_due, now) <= _MAX_S * 1000:
        st.boot_due = now  # due before (or so long ago that the ticks wrapped): now


def tick(st, now):
    if not st.rpc.online:
        return
    if st.boot != ACCEPTED:
        if st.boot_due is not None and ticks_diff(now, st.boot_due) >= 0:
            send(st, now)
    elif st.rpc.idle() and ticks_diff(now, st.rpc.last_call) >= _beat_ms(st):
        heartbeat(st)


def deadline(st, now):
    """ms until the next boot or heartbeat is due, or None."""
    if not st.rpc.online:
        return None
    if st.boot != ACCEPTED:
        return None if st.boot_due is None else ticks_diff(st.boot_due, now)
    if not st.rpc.idle():
        return None
    return ticks_diff(ticks_add(st.rpc.last_call, _beat_ms(st)), now)


def _beat_ms(st):
    return devmodel.get(st, HEARTBEAT) * 1000


def state(st):
    return _NAMES[st.boot]
