# ocpp_lite/station.py - the charging station without I/O. The runtime feeds it received
# messages, link changes, hardware events and the time (ticks_ms); it answers with frames to
# write (st.rpc.out), effects for the hardware and logs (st.effects) and its next deadline.
#
# Effects: ("show", event_dict) something a person would see (LED, display, simulator
# stdout); ("seclog", line) append to the security log; ("clock", s2000) set the RTC;
# ("relay", evse, closed) switch a contactor (all open at start: the safe state);
# ("reconnect",) close the connection once the pending frames are written, and reconnect;
# ("firmware",) / ("upload",) start the runtime's task for st.fw / st.upload (L01, N01).
from collections import deque
from time import ticks_add, ticks_diff
from micropython import const
from . import actions, auth, availability, boot, clock, devmodel, netprofile, reset, rpc, secevents, status, tx
from .session import Session

try:
    from . import aligned  # clock-aligned meter values: not in every build
except ImportError:
    aligned = None
try:
    from . import smartcharging  # only in builds with smart charging
except ImportError:
    smartcharging = None

_EFFECTS = const(32)
_MAX_WAIT = const(60000)  # the runtime wakes at least once a minute
_OOM_GAP = const(60000)  # ms: at most one MemoryExhaustion security event a minute


class Effects:
    """The effects for the runtime, bounded. The runtime takes them after every input, so a
    full queue means it is stuck: what does not fit is logged, never lost in silence. A relay
    command is not lost either way: the runtime sets every contactor to its EVSE's state
    (Evse.relay) after taking the effects."""

    def __init__(self, log):
        self._d = deque((), _EFFECTS, 1)
        self._log = log

    def append(self, e):
        """Returns False when e did not fit."""
        try:
            self._d.append(e)
            return True
        except IndexError:
            if e[0] != "show":
                self._log("effects full: %s lost" % (e,))
            return False

    def appendleft(self, e):
        self._d.appendleft(e)

    def popleft(self):
        return self._d.popleft()

    def __len__(self):
        return len(self._d)

    def __iter__(self):
        return iter(self._d)


class Station:
    def __init__(self, info, hw, evses, docs, save, q, now, wall, seed, reason, log):
        """info: chargingStation object of BootNotification; hw: board facts for the device
        model ({"phases", "power_max", "connector"}); evses: EVSE count (one connector each);
        docs: the stored documents {"vars", "net", "tx", "avail", "profiles", "fw"}; save(name, doc): persist a document
        (raises OSError); q: the must-deliver message queue in flash (runtime/queue.py);
        now: ticks_ms; wall: seconds since 2000 from the RTC or None if unknown; seed: 8 random
        bytes; reason: BootReasonEnumType value."""
        self.info = info
        self.hw = hw
        self.save = save
        self.q = q
        self.log = log
        self.seed = seed
        self.effects = Effects(log)
        prefix = "".join("%02x" % b for b in seed[:4]) + "-"
        self.rpc = Session(prefix, 30, log, q.last(), self)  # the network profile sets the timeout
        self.authorizing = False  # an Authorize for a tapped card is out
        self.resetting = None  # "OnIdle" waiting for transactions to end, or "Immediate"
        self.offline_at = None  # wall time (time(), ms()) when the connection went down
        self.power = [0] * evses  # W per EVSE, from the meter
        self.certs = 0  # installed certificates: SecurityCtrlr.CertificateEntries
        self.certstore = None  # their files (runtime/certstore.py), set by the runtime
        self.fw = docs.get("fw")  # the firmware update job (firmware.py), kept over reboots
        self.updating = False  # a firmware installation waits for transactions to end (L01.FR.07)
        self.upload = None  # the log upload in progress (logs.py)
        self.rx_len = 0  # bytes of the message being handled (BytesPerMessage checks)
        self.q_full = False  # the flash queue has no room for new transactions (queue.py)
        self._oom = None  # (ticks of the last MemoryExhaustion event, MemoryErrors since)
        self._wall = wall or 0
        self._wall_t = now
        self._clock_known = wall is not None
        status.init(self, evses)
        devmodel.init(self, docs.get("vars"))
        netprofile.init(self, docs.get("net"))
        boot.init(self, reason, now)
        for evse in range(1, evses + 1):
            self.effects.append(("relay", evse, False))
        availability.init(self, docs.get("avail"))
        tx.init(self, docs.get("tx"), evses, now)
        self.q_full = q.full(evses)
        availability.resume(self, now)  # changes that waited for transactions the power cut ended
        for ev in self.ev:
            tx.refresh(self, ev, now)
        if self.fw and not self.fw.get("done"):
            self.effects.append(("firmware",))  # the runtime carries on with the job
        if smartcharging:
            smartcharging.init(self, docs.get("profiles"))
            smartcharging.apply(self, now)

    # --- wall clock -----------------------------------------------------------------
    def time(self, now):
        """Wall clock in seconds since 2000-01-01 UTC."""
        d = ticks_diff(now, self._wall_t) // 1000
        if d >= 60:  # re-anchor long before ticks could wrap
            self._wall += d
            self._wall_t = ticks_add(self._wall_t, d * 1000)
            d = 0
        return self._wall + d

    def ms(self, now):
        """Milliseconds into the current second of time(now)."""
        return ticks_diff(now, self._wall_t) % 1000

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

    def offline_ms(self, now):
        """ms since the connection went down (0 if it never did), by the wall clock."""
        if self.offline_at is None:
            return 0
        s, ms = self.offline_at
        return (self.time(now) - s) * 1000 + self.ms(now) - ms

    # --- inputs from the runtime ----------------------------------------------------
    def connected(self, slot, now):
        """The WebSocket is up, on network profile slot."""
        self.rpc.connected(now)
        boot.connected(self, netprofile.connected(self, slot, now), now)
        self.tick(now)

    def disconnected(self, now):
        self.rpc.disconnected(self, now)
        self.offline_at = (self.time(now), self.ms(now))  # an outage may outlast the ticks' range

    def receive(self, buf, now):
        self.rx_len = len(buf)
        try:
            m = self.rpc.receive(self, buf, now)
        except MemoryError:  # parsing it, or what a response set off: that is dropped
            m = None
            mid = rpc.call_id(buf)
            if mid:  # a CALL not parsed: answered, so the CSMS need not wait for its timeout
                self.rpc.reply_error(mid, rpc.INTERNAL, "out of memory")
            self.out_of_memory("receive", now)
        if m:
            self._dispatch(m[0], m[1], m[2], now)
        self.tick(now)

    def tick(self, now):
        self.time(now)  # keeps the wall clock's tick anchor within ticks_diff's range (a minute)
        if self.rpc.jammed and self.effects.append(("reconnect",)):
            self.rpc.jammed = False  # frames could not be queued: renew the connection (session.py)
        full = self.q.full(len(self.ev))
        if full != self.q_full:  # no room for new transactions, or room again
            self.q_full = full
            self.log("flash queue %s: new transactions %s" % (("full", "refused") if full else ("has room", "allowed")))
            for ev in self.ev:
                tx.refresh(self, ev, now)
        self.rpc.tick(self, now)
        boot.tick(self, now)
        tx.tick(self, now)
        if aligned:
            aligned.tick(self, now)
        if smartcharging:
            smartcharging.tick(self, now)
        self.rpc.pump(self, now)

    def next_deadline(self, now):
        """ms until tick() has work to do (0 = now)."""
        d = _MAX_WAIT
        for t in (self.rpc.deadline(self, now), boot.deadline(self, now), tx.deadline(self, now),
                  aligned.deadline(self, now) if aligned else None,
                  smartcharging.deadline(self, now) if smartcharging else None):
            if t is not None and t < d:
                d = t
        return d if d > 0 else 0

    def security_event(self, kind, info, now):
        secevents.record(self, kind, info, now)

    def out_of_memory(self, where, now):
        """A MemoryError was caught (where: what it hit, which is dropped): logged, and recorded
        as a MemoryExhaustion security event at most once a minute (the event is critical, so
        it takes a place in the flash queue), counting the ones in between."""
        self.log("out of memory: %s" % where)
        last, n = self._oom or (None, 0)
        if last is not None and ticks_diff(now, last) < _OOM_GAP:
            self._oom = (last, n + 1)
            return
        self._oom = (now, 0)
        secevents.record(self, "MemoryExhaustion", "%s (%d more since the last)" % (where, n) if n else where, now)

    # hardware events (boards/README.md)
    def plug(self, evse, now):
        tx.plug(self, self.ev[evse - 1], now)

    def unplug(self, evse, now):
        tx.unplug(self, self.ev[evse - 1], now)

    def ev_ready(self, evse, ready, now):
        """The EV asks for energy (control pilot state C or D) or not (B)."""
        tx.ev_ready(self, self.ev[evse - 1], ready, now)

    def tap(self, token, kind, now):
        """An identification: an RFID card's UID (kind "ISO14443"), a key code, ..."""
        auth.tap(self, token, kind, now)

    def meter(self, evse, wh, w, now, v=None, a=None):
        """A meter reading: energy register (integer Wh), power (W), volts and amps if known."""
        tx.metered(self, self.ev[evse - 1], wh, w, v, a, now)

    def fault(self, evse, reason, now):
        tx.fault(self, self.ev[evse - 1], reason, now)

    def fault_cleared(self, evse, now):
        tx.fault_cleared(self, self.ev[evse - 1], now)

    # --- between modules ----------------------------------------------------------------
    def inoperative(self, evse):
        """No new transaction on evse: set Inoperative, an OnIdle reset or a firmware
        installation is waiting, or the flash queue has no room for one."""
        return (availability.inoperative(self, evse) or self.resetting is not None or self.updating
                or self.q.full(len(self.ev)))

    def tx_started(self, ev, profile, now):
        if smartcharging:
            smartcharging.started(self, ev, profile, now)

    def tx_ended(self, ev, tx_id, now):
        availability.ended(self, ev, now)
        reset.ended(self, now)
        if smartcharging:
            smartcharging.ended(self, ev, tx_id, now)

    # --- for the session --------------------------------------------------------------
    def attempts(self):
        """(MessageAttempts, MessageAttemptInterval) for TransactionEvent (E13)."""
        return (devmodel.get(self, "OCPPCommCtrlr.MessageAttempts[TransactionEvent]"),
                devmodel.get(self, "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]"))

    def kept_answered(self, m, res, now):
        tx.answered(self, m, res, now)

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
            self.out_of_memory(action, now)
            return
        except Exception as e:  # a handler bug must not take the station down
            self.log("%s handler failed: %r" % (action, e))
            self.rpc.reply_error(mid, rpc.INTERNAL, "handler failed")
            return
        self.rpc.reply(mid, res)
