# ocpp_lite/station.py - the charging station without I/O. The runtime feeds it received
# messages, link changes, hardware events and the time (ticks_ms); it answers with frames to
# write (st.rpc.out), effects for the hardware and logs (st.effects) and its next deadline.
#
# Effects: ("show", event_dict) something a person would see (LED, display, simulator
# stdout); ("seclog", line) append to the security log; ("clock", s2000) set the RTC;
# ("relay", evse, closed) switch a contactor (all open at start: the safe state);
# ("reconnect",) close the connection once the pending frames are written, and reconnect.
from collections import deque
from time import ticks_add, ticks_diff
from micropython import const
from . import actions, boot, clock, devmodel, netprofile, rpc, secevents, status
from .session import Session

_EFFECTS = const(32)
_MAX_WAIT = const(60000)  # the runtime wakes at least once a minute


class Station:
    def __init__(self, info, hw, evses, docs, save, now, wall, seed, reason, log):
        """info: chargingStation object of BootNotification; hw: board facts for the device
        model ({"phases", "power_max", "connector"}); evses: EVSE count (one connector each);
        docs: the stored documents {"vars": ..., "net": ...}; save(name, doc): persist a
        document (raises OSError); now: ticks_ms; wall: seconds since 2000 from the RTC or
        None if unknown; seed: random bytes; reason: BootReasonEnumType value."""
        self.info = info
        self.hw = hw
        self.save = save
        self.log = log
        self.effects = deque((), _EFFECTS)
        prefix = "".join("%02x" % b for b in seed[:4]) + "-"
        self.rpc = Session(prefix, 30, log)  # the network profile sets the timeout
        self.power = [0] * evses  # W per EVSE, from the meter
        self.certs = 0  # installed CSMS root certificates (the runtime keeps it up to date)
        self.rx_len = 0  # bytes of the message being handled (BytesPerMessage checks)
        self._wall = wall or 0
        self._wall_t = now
        self._clock_known = wall is not None
        status.init(self, evses)
        devmodel.init(self, docs.get("vars"))
        netprofile.init(self, docs.get("net"))
        boot.init(self, reason, now)
        for evse in range(1, evses + 1):
            self.effects.append(("relay", evse, False))

    # --- wall clock -----------------------------------------------------------------
    def time(self, now):
        """Wall clock in seconds since 2000-01-01 UTC."""
        d = ticks_diff(now, self._wall_t) // 1000
        if d >= 60:  # re-anchor long before ticks could wrap
            self._wall += d
            self._wall_t = ticks_add(self._wall_t, d * 1000)
            d = 0
        return self._wall + d

    def stamp(self, now):
        return clock.iso(self.time(now))

    def set_time(self, s, now):
        jump = s - self.time(now)
        self._wall = s
        self._wall_t = now
        self.effects.append(("clock", s))
        if self._clock_known and (jump > 60 or jump < -60):
            secevents.record(self, "SettingSystemTime", "moved %d s" % jump, now)
        self._clock_known = True

    # --- inputs from the runtime ----------------------------------------------------
    def connected(self, slot, now):
        """The WebSocket is up, on network profile slot."""
        self.rpc.connected()
        boot.connected(self, netprofile.connected(self, slot, now), now)
        self.tick(now)

    def disconnected(self, now):
        self.rpc.disconnected(self, now)

    def receive(self, buf, now):
        self.rx_len = len(buf)
        m = self.rpc.receive(self, buf, now)
        if m:
            self._dispatch(m[0], m[1], m[2], now)
        self.tick(now)

    def tick(self, now):
        self.rpc.tick(self, now)
        boot.tick(self, now)
        self.rpc.pump(self, now)

    def next_deadline(self, now):
        """ms until tick() has work to do (0 = now)."""
        d = _MAX_WAIT
        for t in (self.rpc.deadline(now), boot.deadline(self, now)):
            if t is not None and t < d:
                d = t
        return d if d > 0 else 0

    def security_event(self, kind, info, now):
        secevents.record(self, kind, info, now)

    def plug(self, evse, now):
        status.set(self, evse, status.OCCUPIED, now)

    def unplug(self, evse, now):
        status.set(self, evse, status.AVAILABLE, now)

    # --- outputs --------------------------------------------------------------------
    def show(self, ev):
        self.effects.append(("show", ev))

    def _dispatch(self, mid, action, payload, now):
        try:
            if self.boot == boot.REJECTED:
                raise rpc.CallError(rpc.SECURITY, "not accepted by the CSMS")  # B03.FR.08
            res = actions.handler(action)(self, payload, now)
        except rpc.CallError as e:
            self.rpc.reply_error(mid, e.args[0], e.args[1] if len(e.args) > 1 else "")
            return
        except MemoryError:
            self.rpc.reply_error(mid, rpc.INTERNAL, "out of memory")
            secevents.record(self, "MemoryExhaustion", action, now)
            return
        except Exception as e:  # a handler bug must not take the station down
            self.log("%s handler failed: %r" % (action, e))
            self.rpc.reply_error(mid, rpc.INTERNAL, "handler failed")
            return
        self.rpc.reply(mid, res)
