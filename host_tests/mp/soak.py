# host_tests/mp/soak.py - the virtual-time soak (issue 12): one Station (the sans-I/O core) lives
# for many simulated days on MicroPython, with a fake clock and no sockets, against a seeded
# fake CSMS, through outages, power cuts, reboots and network-slot fallbacks, while invariants
# are checked after every step. Seeded and replayable:
#
#   micropython host_tests/mp/soak.py --seed N --days D [--sessions-per-day S] [--evses E]
#
# --frozen: ocpp_lite and runtime are frozen into the port (tools/mp32.py): firmware/ is not put on
# sys.path. At a bounded -X heapsize compile it with mpy-cross first and import it (soak.main(argv)),
# as host_tests/test_campaign_soak.py does: compiling the source takes more heap than running it.
#
# Prints a progress line per simulated day and, at the end, ONE JSON line of counts; on the first
# invariant failure it prints the seed, the simulated time and what failed, then the JSON line,
# and exits with status 1.
#
# The world: a virtual clock (vt: ms since the start, for the harness's own schedule; `now`: the
# station's ticks_ms, only ever advanced with time.ticks_add, so it wraps as on a board), an
# event queue, the flash (the real runtime/store.py on a directory of the host, made anew at
# every power-up, and the real runtime/queue.py FlashQueue on it), a link that goes down and up, users who plug, tap and
# unplug at each EVSE, EVs that draw power, and a CSMS that answers, refuses (every OCPP-J error
# code), ignores, answers late or twice, and sends CALLs of its own.
#
# Invariants (numbered as in the failure messages):
#  1 registered: while the link is up the station is Accepted, or sends BootNotification within
#    the interval it was given (30 s without one) + MessageTimeout + 5 s; the CSMS never gets a
#    TransactionEvent, Authorize, SecurityEventNotification or MeterValues before it Accepted
#    the station (B01.FR.08, B02/B03).
#  2 tap: a new card tapped while an EVSE is idle and available leads to an Authorize frame or a
#    local decision (a "show" auth effect for that card) within MessageTimeout + 5 s.
#  3 bounds: the flash queue (RAM index and files) within runtime/queue.py LIMIT, the session's
#    RAM queue within 16, the frame and effects queues never full without a log line saying so
#    (a full one loses its next item).
#  4 heap: gc.mem_alloc() after gc.collect() at the first quiet moment (nothing queued or
#    outstanding) of every hour; a day's figure is the least of them (what stays); flat after a
#    warm-up of two days (HEAP_TOLERANCE).
#  5 TransactionEvents: created with seqNo 0, 1, 2, ... per transaction; each reaches the CSMS
#    once (a retransmission has the same message id), in order; one that leaves the flash queue
#    without reaching the CSMS is accounted for by the station's log (given up per E13, or an
#    Updated dropped from a full queue); every transaction started is Ended at the CSMS at the end.
#  6 contactor: closed only while its EVSE has an open transaction.
#  7 no spinning: after tick() a deadline of 0 at the same instant without any output, 3 times.
#  8 availability: what the CSMS last asked for (station and EVSE targets) is what the connectors
#    show once the transactions it waited for have ended, also across power cuts; and whenever
#    the link is up, the station Accepted and its RAM queue idle (and at the end), the CSMS's last
#    StatusNotification of each connector is what the station shows.
#  9 report: a GetBaseReport is not refused as "running" by a report that made no progress for
#    30 minutes of link time.
# 10 hysteresis: ChargingStateChanged events of a transaction at most 2 per change in what the
#    EV does (pilot state, power band) + 2.
# 11 protocol: every CALL and reply the station sends has the fields the CSMS relies on; it
#    answers every CSMS CALL at once, and valid requests are not refused.
# Plus: an exception out of the station, or "out of memory" in its log, is a failure.
import sys

_FROZEN = "--frozen" in sys.argv
if __name__ == "__main__":
    _here = sys.argv[0].rpartition("/")[0] or "."
    if not _FROZEN:
        sys.path.insert(0, _here + "/../../firmware")
    sys.path.insert(0, _here)

import gc
import json
import os
import random
from collections import deque
from heapq import heappop, heappush
from time import ticks_add

import ocpp_lite
from ocpp_lite.engine import clock
from ocpp_lite.station import Station
from runtime.queue import FlashQueue, LIMIT
from runtime.store import Store as FlashStore

SEC = 1000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
SLACK = 5 * SEC
RAM_Q = 16  # ocpp_lite/engine/session.py _QUEUE
OUT_MAX = 8  # ocpp_lite/engine/session.py _OUT
EFFECTS_MAX = 32  # ocpp_lite/station.py _EFFECTS
WARMUP_DAYS = 2
# A day's figure may exceed the largest of the warm-up days by this much. What it catches varies
# with the state (open transactions and their samples, the stored documents, the CSMS's and the
# users' bounded records): over 32 days the figures stayed within about 1 kB of the warm-up on
# the 64-bit port and 4 kB on the 32-bit one. A leak of 40 bytes a session (~200 sessions a day)
# passes 8 kB in a day.
HEAP_TOLERANCE = 8192
REPORT_STUCK = 30 * MIN  # of link time without a NotifyReport page
INFO = {"model": "SoakBox", "vendorName": "OCPP2.Lite"}
HW = {"phases": 3, "power_max": 11000, "connector": "cType2"}
NET = {"sp": 1, "profiles": {
    "1": {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "ws://csms-a/ocpp", "messageTimeout": 30,
          "securityProfile": 1, "ocppInterface": "Wired0"},
    "2": {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "ws://csms-b/ocpp", "messageTimeout": 20,
          "securityProfile": 1, "ocppInterface": "Wireless0"}}}
VARS = {"OCPPCommCtrlr.NetworkConfigurationPriority": "1,2"}
ERRORS = ("NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError", "FormationViolation",
          "PropertyConstraintViolation", "OccurrenceConstraintViolation", "TypeConstraintViolation", "GenericError",
          "RpcFrameworkError", "FormatViolation")
PRE_BOOT_OK = ("BootNotification", "Heartbeat", "StatusNotification", "NotifyReport", "FirmwareStatusNotification",
               "LogStatusNotification")
# what the CSMS does with a CALL: (refuse, ignore, late, twice) in 1/10000
GOOD = (20, 20, 30, 20)
ROUGH = (300, 200, 300, 200)
CLEAN = (0, 0, 0, 0)
# the actions a CSMS that implements only part of 2.0.1 refuses (or ignores) for hours
PARTIAL = ("SecurityEventNotification", "SecurityEventNotification", "MeterValues", "StatusNotification",
           "NotifyReport", "Heartbeat", "Authorize")
CONNECTOR = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")
SETTINGS = (  # (component, variable, instance, values) the CSMS sets now and then
    ("AlignedDataCtrlr", "Interval", None, ("0", "0", "60", "300", "900")),
    ("AlignedDataCtrlr", "TxEndedInterval", None, ("0", "60", "300")),
    ("SampledDataCtrlr", "TxUpdatedInterval", None, ("10", "30", "60", "60", "120", "300")),
    ("SampledDataCtrlr", "TxEndedInterval", None, ("0", "0", "60")),
    ("OCPPCommCtrlr", "HeartbeatInterval", None, ("60", "300", "1800", "86400")),
    ("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent", ("5", "10", "30", "60")),
    ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent", ("1", "3", "3", "5")),
)

IDLE, TAP_NEXT, PLUG_NEXT, WAIT_START, CHARGING, UNPLUG_NEXT, TAP_FIRST = 0, 1, 2, 3, 4, 5, 6


def pct(p):
    """True with probability p / 10000."""
    return random.getrandbits(14) < p * 16384 // 10000


def between(a, b):
    return a + random.getrandbits(30) % (b - a + 1)


def stamp(vt):
    s = vt // SEC
    return "day %d %02d:%02d:%02d" % (s // 86400, s // 3600 % 24, s // 60 % 60, s % 60)


def is_time(x):
    return type(x) is str and len(x) >= 20 and x[-1] == "Z" and x[10] == "T"


class Store(FlashStore):
    """The board's flash: runtime/store.py on a directory of the host, so the queue files and
    documents stay out of the heap, as on a board. Made anew at every power-up (what it keeps
    in RAM is lost with the power); the soak watches the queue files go in and out."""

    def __init__(self, soak, root):
        super().__init__(root)
        self.soak = soak
        self.nq = len(self.names("q_"))  # queue files

    def _exists(self, name):
        try:
            os.stat(self.path(name))
            return True
        except OSError:
            return False

    def write(self, name, data):
        q = name.startswith("q_")
        if q and not self._exists(name):
            self.nq += 1
        super().write(name, data)
        if q:
            self.soak.q_wrote(name, data)

    def remove(self, name):
        if name.startswith("q_") and self._exists(name):
            self.nq -= 1
            super().remove(name)
            self.soak.q_removed(name)
        else:
            super().remove(name)


def wipe(root):
    try:
        for n in os.listdir(root):
            os.remove(root + "/" + n)
    except OSError:
        pass  # not there yet


class User:
    """A driver and an EV at one EVSE (the hardware: cable, pilot, meter)."""

    def __init__(self, i):
        self.i = i
        self.state = IDLE
        self.gen = 0  # events of an older plan are void
        self.plugged = False
        self.ready = True  # the EV asks for energy (pilot C)
        self.token = None
        self.tid = None  # the transaction its card (or remote start) started
        self.tries = 0
        self.remote = False
        # the EV
        self.t_charge = None  # vt the contactor first closed for this plug
        self.bulk = 0
        self.taper = 0
        self.p = 0
        self.phase = 0
        self.events = 0  # changes in what the EV does (for invariant 10)
        self.mwh = 0  # meter register, mWh
        self.w = 0
        self.t_read = 0
        self.mgen = 0


class Soak:
    def __init__(self, seed, days, spd, evses):
        random.seed(seed)
        self.seed = seed
        self.days = days
        self.spd = spd
        self.ne = evses
        self.cycle = evses * DAY // spd  # mean time between sessions at one EVSE
        self.vt = 0
        self.now = ticks_add(0, -HOUR)  # ticks wrap an hour in, on both ports
        self.wall0 = clock.parse("2026-01-05T06:00:00Z")
        self.evq = []
        self.evn = 0
        # in the working directory, one per run (two runs must not share a flash)
        self.root = "soak-state-%d-%08x" % (seed, int.from_bytes(os.urandom(4), "little"))
        wipe(self.root)
        self.store = Store(self, self.root)
        self.store.save("net", NET)
        self.store.save("vars", VARS)
        self.st = None
        self.users = [User(i + 1) for i in range(evses)]
        self.board = [False] * evses  # contactors as the board has them
        self.logs = deque((), 24)
        self.failure = None
        # counts
        self.sessions = 0
        self.attempts = 0
        self.outages = 0
        self.power_cuts = 0
        self.reboots = 0
        self.fallbacks = 0
        self.checks = 0
        self.given_up = 0
        self.q_dropped = 0
        self.ram_dropped = 0
        self.ended_given_up = 0
        self.relay_synced = 0
        self.spins = 0
        self.unchecked_taps = 0
        self.heap = []  # per day: the least of its hourly samples
        self.heap_base = None
        self.heap_due = False
        self.heap_min = None
        # link
        self.net_up = True
        self.conn = None
        self.conn_n = 0
        self.lat = 50
        self.arrive = 0  # vt the last frame in flight arrives (frames keep their order)
        self.slot_life = None  # slot of the last connection of this station's life
        self.probing = False
        self.online_ms = 0
        self.up_since = 0
        self.net_gen = 0
        self.long_outage_at = 3 * DAY
        # station state the checks follow
        self.boot_ref = 0
        self.boot_iv = 30
        self.taps = []  # [token, deadline vt]
        self.reader = None  # (token, until vt): a card being decided, people wait for its LED
        self.reconnect_due = False
        self.reboot_due = None  # (reason, vt deadline)
        self.power_gen = 0
        self.zero = 0
        self.same = 0
        self.wait = 0
        self.progress = False
        self.full_logged = False
        # flash-queue accounting (invariant 5)
        self.sq = {}  # queue file: (mid, tid, seq, eventType) of a TransactionEvent
        self.stx = {}  # tid: [last seq, files queued, ended, evse, ChargingStateChanged, EV events at start]
        self.removed = []
        self.log_given_up = 0
        self.log_q_dropped = 0
        self.log_unqueued = 0  # TransactionEvents the log says were not queued (their seqNo is missing)
        self.unq_line = False
        self.tok_user = {}  # token: User (while its session runs)
        self.ending = False
        self.end_vt = days * DAY
        self.csms = Csms(self)

    # --- the world's schedule -----------------------------------------------------------
    def push(self, t, kind, a=None, b=None):
        self.evn += 1
        heappush(self.evq, (t, self.evn, kind, a, b))

    def advance(self, t):
        d = t - self.vt
        while d > 0:
            s = d if d < 100000000 else 100000000
            self.now = ticks_add(self.now, s)
            d -= s
        self.vt = t

    def wall(self):
        return self.wall0 + self.vt // SEC

    def bad(self, inv, what):
        if self.failure is None:
            self.failure = "invariant %s: %s" % (inv, what)

    def log(self, line):
        self.logs.append("%s %s" % (stamp(self.vt), line))
        if "out of memory" in line:
            self.bad("memory", "the station logged: %s" % line)
        if "TransactionEvent" in line:
            if "given up" in line:
                self.log_given_up += 1
            elif "queue full" in line and "dropped" in line:
                self.log_q_dropped += 1
            elif "not queued" in line:  # queue.py refused it; transactions.py then logs "not stored" too
                self.log_unqueued += 1
                self.unq_line = True
                return
            elif "not stored" in line and not self.unq_line:
                self.log_unqueued += 1
        self.unq_line = False
        if "queue full," in line:
            self.ram_dropped += 1
        if " full" in line and ("frames" in line or "effects" in line):
            self.full_logged = True

    # --- the station's life -------------------------------------------------------------
    def build(self, reason):
        """Power up (or reboot) the station from the store, as runtime/app.py does."""
        self.store = Store(self, self.root)  # RAM is lost with the power; the flash is not
        q = FlashQueue(self.store, self.log)
        seed = bytes([random.getrandbits(8) for _ in range(8)])
        wall = self.wall()
        if reason == "PowerUp" and pct(5000):
            wall += between(0, 360) - 180  # the RTC drifted while the power was off
        self.st = st = Station(INFO, HW, self.ne, self.store.load, self.store.save, q, self.now, wall, seed, reason, self.log,
                               probe=self.probe)
        self.slot_life = None
        self.reboot_due = None
        self.reconnect_due = False
        self.csms.station_reset()
        self.service()  # the safe state first
        for u in self.users:  # the board tells what is plugged in (boards/unix/simboard.py)
            if u.plugged:
                st.transactions.plug(u.i, self.now)
                st.transactions.ev_ready(u.i, u.ready, self.now)
                self.service()
        if self.net_up:
            self.push(self.vt + between(1 * SEC, 10 * SEC), "connect", self.conn_n)
        self.wait = 0

    def kill(self, cut):
        """The station is gone (power cut or reboot): the link with it."""
        self.close_link(False)
        self.st = None
        self.taps = []
        self.reader = None
        if cut:  # no power: the contactors open
            self.board = [False] * self.ne
            for u in self.users:
                u.w = 0

    def probe(self):
        """The session's link check (runtime/link.py): a ping, its pong a round trip later."""
        if self.conn is not None and not self.probing:
            self.probing = True
            self.push(self.vt + 2 * self.lat, "pong", self.conn)

    def connect(self):
        st = self.st
        if self.conn is not None or not self.net_up or st is None:
            return
        if pct(1000):  # the first slot fails NetworkProfileConnectionAttempts times: the next one
            for _ in range(3):
                st.network.failed()
        slot = st.network.current()[0]
        if self.slot_life is not None and self.slot_life != slot:
            self.fallbacks += 1
            self.csms.boot_ok = False  # B10.FR.10: it must register again
        self.slot_life = slot
        self.conn_n += 1
        self.conn = self.conn_n
        self.lat = between(5, 200)
        self.arrive = self.vt
        self.up_since = self.vt
        self.boot_ref = self.vt
        self.csms.connected(self.conn)
        st.connected(slot, self.now)

    def close_link(self, tell=True):
        if self.conn is None:
            return
        self.online_ms += self.vt - self.up_since
        self.conn = None
        self.probing = False
        self.csms.disconnected()
        if tell and self.st is not None:
            self.st.disconnected(self.now)

    def online(self):
        return self.online_ms + (self.vt - self.up_since if self.conn is not None else 0)

    def service(self):
        """Take the station's frames and effects, as the runtime does after every input."""
        st = self.st
        out = st.rpc.out
        n = len(out)
        if n >= OUT_MAX and not self.full_logged:
            self.bad(3, "%d frames waiting: the frame queue is full and nothing said so" % n)
        while out:
            f = out.popleft()
            self.progress = True
            self.sent(f if type(f) is str else "".join(p if type(p) is str else "".join(p) for p in f))  # fakes.text (not on the frozen soak's path)
        eff = st.effects
        n = len(eff)
        if n >= EFFECTS_MAX and not self.full_logged:
            self.bad(3, "%d effects waiting: the effects queue is full and nothing said so" % n)
        while len(eff):
            e = eff.popleft()
            self.progress = True
            self.effect(e)
        for ev in st.ev:  # runtime/app.py: every contactor set from its EVSE's state
            if self.board[ev.id - 1] != ev.relay:
                self.relay_synced += 1
                self.relay(ev.id, ev.relay)
        self.full_logged = False
        if self.reconnect_due:
            self.reconnect_due = False
            if self.conn is not None:
                self.close_link()
                self.push(self.vt + 500, "connect", self.conn_n)
        if self.reboot_due and (not len(st.q) and not st.rpc.out or self.vt >= self.reboot_due[1]):
            reason = self.reboot_due[0]
            self.reboots += 1
            self.kill(False)
            self.build(reason)

    def sent(self, text):
        """A frame the station writes."""
        if self.conn is None:
            return  # no socket (cannot happen: the session clears its frames when the link goes)
        if text.startswith('[2,"'):
            a = text.find('"', 5)
            action = text[a + 3:text.find('"', a + 3)]
            if action == "BootNotification":
                self.boot_ref = self.vt
                self.boot_iv = 30
            elif action == "Authorize" and self.taps:
                for t in self.taps:
                    if ('"%s"' % t[0]) in text:
                        self.taps.remove(t)
                        break
        t = self.vt + self.lat
        if t < self.arrive:
            t = self.arrive
        self.arrive = t
        self.push(t, "cs_rx", self.conn, text)

    def effect(self, e):
        k = e[0]
        if k == "relay":
            self.relay(e[1], e[2])
        elif k == "show":
            ev = e[1]
            if ev.get("ev") == "auth" and "idToken" in ev:
                tok = ev["idToken"]
                for t in self.taps:
                    if t[0] == tok:
                        self.taps.remove(t)
                        break
                if self.reader and self.reader[0] == tok:
                    self.reader = None
        elif k == "reconnect":
            self.reconnect_due = True
        elif k == "reboot":
            if self.reboot_due is None:
                self.reboot_due = (e[1], self.vt + self.st.rpc.timeout_ms)
                self.push(self.reboot_due[1], "wake")

    def relay(self, evse, closed):
        self.board[evse - 1] = closed
        u = self.users[evse - 1]
        if closed and u.plugged and u.t_charge is None:
            u.t_charge = self.vt  # the EV starts charging

    # --- flash queue accounting (invariant 5) --------------------------------------------
    def q_wrote(self, name, data):
        try:  # called inside the station's code: an exception here must not reach it
            self._q_wrote(name, data)
        except Exception as e:
            self.bad(5, "queue file %s: %r" % (name, e))

    def _q_wrote(self, name, data):
        try:
            m = json.loads(data)
        except ValueError:
            self.bad(5, "queue file %s is not JSON" % name)
            return
        if m.get("a") != "TransactionEvent":
            return
        p = m["p"]
        tid = p["transactionInfo"]["transactionId"]
        seq = p["seqNo"]
        et = p["eventType"]
        self.sq[name] = (m["m"], tid, seq, et)
        r = self.stx.get(tid)
        if r is None:
            if et != "Started" or seq != 0:
                self.bad(5, "the first TransactionEvent queued for %s is %s seqNo %d" % (tid, et, seq))
                return
            evse = p["evse"]["id"]
            r = self.stx[tid] = [0, 0, False, evse, 0, self.users[evse - 1].events]
            self.sessions += 1
            u = self.tok_user.get(p["idToken"]["idToken"])
            if u is not None and u.tid is None:
                u.tid = tid
        else:
            gap = seq - r[0] - 1
            if r[2]:
                self.bad(5, "%s: %s seqNo %d queued after its Ended" % (tid, et, seq))
            elif gap < 0 or gap > self.log_unqueued:
                self.bad(5, "%s: seqNo %d queued after %d (not one more, and no log of one not queued)"
                         % (tid, seq, r[0]))
            else:
                self.log_unqueued -= gap
            r[0] = seq
        r[1] += 1
        if et == "Ended":
            r[2] = True
        if p["triggerReason"] == "ChargingStateChanged":
            r[4] += 1
            events = self.users[r[3] - 1].events - r[5]
            if r[4] > 2 * events + 2:
                self.bad(10, "%s: ChargingStateChanged %d times while the EV changed %d times (no hysteresis)"
                         % (tid, r[4], events))

    def q_removed(self, name):
        x = self.sq.pop(name, None)
        if x is not None:
            self.removed.append(x)

    def reconcile(self):
        """Queue files of TransactionEvents that went: each reached the CSMS, or the log says why not."""
        seen = self.csms.seen
        for mid, tid, seq, et in self.removed:
            r = self.stx.get(tid)
            if r is None:
                continue  # already reported
            r[1] -= 1
            if mid in seen:
                if self.log_given_up:
                    self.log_given_up -= 1
                    self.given_up += 1
                    if et == "Ended":
                        self.ended_given_up += 1
            elif et == "Updated" and self.log_q_dropped:
                self.log_q_dropped -= 1
                self.q_dropped += 1
            elif self.log_given_up:
                self.log_given_up -= 1
                self.given_up += 1
            else:
                self.bad(5, "%s seqNo %d (%s, id %s) left the flash queue without reaching the CSMS, and the log "
                         "says neither given up nor dropped" % (tid, seq, et, mid))
            if r[2] and r[1] == 0:
                del self.stx[tid]
        self.removed = []
        self.log_given_up = 0
        self.log_q_dropped = 0

    # --- the main loop ---------------------------------------------------------------------
    def run(self):
        gc.collect()  # as runtime/app.py: a collection after every eighth of the heap allocated
        gc.threshold((gc.mem_free() + gc.mem_alloc()) // 8)
        self.build("PowerUp")
        self.plan_outage()
        self.push(between(6 * HOUR, 2 * DAY), "power")
        self.push(between(2 * DAY, 4 * DAY), "reboot")
        self.push(DAY, "day")
        self.push(HOUR, "hour")
        self.push(self.end_vt, "end")
        self.push(between(MIN, 20 * MIN), "csms_call")
        self.push(between(HOUR, 8 * HOUR), "regime")
        for u in self.users:
            self.push(between(SEC, self.cycle), "user", u, u.gen)
        while self.failure is None:
            st = self.st
            t = self.evq[0][0]
            if st is not None and self.vt + self.wait < t:
                t = self.vt + self.wait
            if t != self.vt:
                self.same = 0
            self.advance(t)
            self.progress = False
            while self.evq and self.evq[0][0] <= self.vt and self.failure is None:
                e = heappop(self.evq)
                self.handle(e[2], e[3], e[4])
                if self.st is not None:
                    self.service()
            st = self.st
            if st is None or self.failure is not None:
                continue
            st.tick(self.now)
            self.service()
            if self.st is not st:
                continue  # rebooted
            self.reconcile()
            self.check()
            d = st.next_deadline(self.now)
            self.checks += 1
            if d > 0:
                self.zero = 0
                self.wait = d
            else:
                self.same += 1
                self.zero = 0 if self.progress else self.zero + 1
                if self.zero:
                    self.spins += 1
                if self.zero >= 3 or self.same > 200:
                    self.bad(7, "next_deadline() is 0 after tick() %d times at this instant, %s" %
                             (self.same, "with output" if self.progress else "doing nothing (spinning)"))
                self.wait = 0
            if self.ending and self.drained():
                return

    def handle(self, kind, a, b):
        if kind == "cs_rx":
            if a == self.conn:
                self.csms.received(b)
        elif kind == "st_rx":
            if a == self.conn and self.st is not None:
                self.st.rpc.receive(b.encode(), self.now)
        elif kind == "user":
            if b == a.gen:
                self.user(a)
        elif kind == "meter":
            if b == a.mgen and a.plugged:
                self.meter(a)
        elif kind == "pong":
            if a == self.conn and self.st is not None:
                self.probing = False
                self.st.rpc.alive(self.st, self.now)
        elif kind == "connect":
            self.connect()
        elif kind == "operative":
            self.csms.availability(a, False)
        elif kind == "csms_timeout":
            self.csms.timeout(a, b)
        elif kind == "csms_call":
            if not self.ending:
                self.csms.random_call()
                self.push(self.vt + between(2 * MIN, 40 * MIN), "csms_call")
        elif kind == "net":
            if a == self.net_gen:
                self.network(b)
        elif kind == "power":
            if not self.ending:
                self.power_cuts += 1
                self.kill(True)
                self.power_gen += 1
                self.push(self.vt + between(2 * SEC, 10 * MIN), "power_on", self.power_gen)
                self.push(self.vt + between(6 * HOUR, 2 * DAY), "power")
        elif kind == "power_on":
            if a == self.power_gen and self.st is None:
                self.build("PowerUp")
        elif kind == "reboot":
            if not self.ending and self.st is not None:
                self.reboots += 1
                self.kill(False)
                self.build("LocalReset")
                self.push(self.vt + between(2 * DAY, 4 * DAY), "reboot")
        elif kind == "regime":
            if not self.ending:
                self.csms.new_regime()
                self.push(self.vt + between(HOUR, 8 * HOUR), "regime")
        elif kind == "hour":
            self.heap_due = True
            self.push(self.vt + HOUR, "hour")
        elif kind == "day":
            self.day()
            self.push(self.vt + DAY, "day")
        elif kind == "end":
            self.end()

    # --- the network ---------------------------------------------------------------------
    def plan_outage(self):
        self.net_gen += 1
        self.push(self.vt + between(10 * MIN, 6 * HOUR), "net", self.net_gen, False)

    def network(self, up):
        self.net_gen += 1
        if up:
            self.net_up = True
            self.push(self.vt + between(SEC, MIN), "connect", self.conn_n)
            self.plan_outage()
            return
        self.net_up = False
        self.outages += 1
        self.close_link()
        r = random.getrandbits(10)
        if self.vt >= self.long_outage_at and self.vt + 4 * DAY < self.end_vt:
            dur = between(DAY, 3 * DAY)  # a few long ones: one in about ten days
            self.long_outage_at = self.vt + between(8 * DAY, 12 * DAY)
        elif r < 680:
            dur = between(2 * SEC, 2 * MIN)
        elif r < 960:
            dur = between(2 * MIN, HOUR)
        else:
            dur = between(HOUR, 10 * HOUR)
        self.push(self.vt + dur, "net", self.net_gen, True)

    # --- people and EVs ------------------------------------------------------------------
    def later(self, u, ms, state=None):
        if state is not None:
            u.state = state
        u.gen += 1
        self.push(self.vt + ms, "user", u, u.gen)

    def user(self, u):
        st = self.st
        s = u.state
        if s == IDLE:
            if self.ending:
                return
            if st is None or st.availability.conn[u.i - 1] == "Unavailable":
                self.later(u, between(MIN, 10 * MIN))
                return
            self.attempts += 1
            self.csms.n_tok += 1
            u.token = "%08X" % (self.seed * 7919 % 65536 * 65536 + self.csms.n_tok % 65536)
            u.tid = None
            u.tries = 0
            u.remote = False
            self.tok_user[u.token] = u
            others = [x for x in self.users if x is not u and not x.plugged]
            mode = random.getrandbits(7)
            if mode < 20 and self.conn is not None:  # remote start from the driver's app
                u.remote = True
                self.plug(u)
                self.csms.remote_start(u)
                self.later(u, 90 * SEC, WAIT_START)
            elif mode < 60 and not others:  # card first (one free EVSE: no doubt where it goes)
                self.later(u, 0, TAP_FIRST)
            else:  # cable first
                self.plug(u)
                self.later(u, between(2 * SEC, 15 * SEC), TAP_NEXT)
        elif s == TAP_NEXT:
            self.tap(u, WAIT_START, 90 * SEC)
        elif s == TAP_FIRST:
            self.tap(u, PLUG_NEXT, between(3 * SEC, 20 * SEC))
        elif s == PLUG_NEXT:
            self.plug(u)
            self.later(u, 90 * SEC, WAIT_START)
        elif s == WAIT_START:
            if u.tid is not None:
                self.later(u, max(MIN, between(self.cycle * 3 // 10, self.cycle * 9 // 10) - 90 * SEC), CHARGING)
            elif u.tries < 2 and not self.ending:
                if not u.plugged:
                    self.plug(u)
                self.tap(u, WAIT_START, 90 * SEC)
            else:
                self.unplug(u)
        elif s == CHARGING:
            open_tx = st is not None and any(ev.tx and ev.tx["id"] == u.tid for ev in st.ev)
            if open_tx and not u.remote and pct(5000):
                self.tap(u, UNPLUG_NEXT, between(3 * SEC, 20 * SEC), True)
            elif open_tx and u.remote and pct(5000) and self.conn is not None:
                self.csms.remote_stop(u.tid)
                self.later(u, between(5 * SEC, 30 * SEC), UNPLUG_NEXT)
            else:
                self.unplug(u)
        elif s == UNPLUG_NEXT:
            self.unplug(u)

    def tap(self, u, then, ms, stop=False):
        st = self.st
        if st is None:
            self.later(u, ms, then)
            u.tries += 1
            return
        if not stop and self.reader is not None and self.vt < self.reader[1]:
            self.later(u, between(2 * SEC, 5 * SEC))  # the reader is busy with another card: wait
            return
        u.tries += 1
        tok = u.token
        idle = False
        if not stop:
            for ev in st.ev:
                if not ev.tx and not ev.auth and st.availability.conn[ev.id - 1] not in ("Unavailable", "Faulted"):
                    idle = True
            if idle:
                self.taps.append([tok, self.vt + st.rpc.timeout_ms + SLACK])
            else:
                self.unchecked_taps += 1
            self.reader = (tok, self.vt + 2 * st.rpc.timeout_ms + 15 * SEC)
        st.authorization.tap(tok, "ISO14443", self.now)
        self.later(u, ms, then)

    def plug(self, u):
        if u.plugged:
            return
        u.plugged = True
        u.ready = True
        u.t_charge = None
        u.phase = 0
        u.events += 1
        u.bulk = between(self.cycle // 10, self.cycle * 6 // 10)
        u.taper = between(2 * MIN, 30 * MIN) if pct(4000) else 0
        u.p = between(1400, 11000)
        u.w = 0
        u.t_read = self.vt
        u.mgen += 1
        if self.st is not None:
            self.st.transactions.plug(u.i, self.now)
            self.st.transactions.ev_ready(u.i, True, self.now)
        self.push(self.vt + between(10 * SEC, 60 * SEC), "meter", u, u.mgen)

    def unplug(self, u):
        if u.plugged:
            self.meter(u)
            u.plugged = False
            u.mgen += 1
            u.events += 1
            if self.st is not None:
                self.st.transactions.unplug(u.i, self.now)
        if u.token is not None:
            self.tok_user.pop(u.token, None)
        u.token = None
        u.tid = None
        self.later(u, between(self.cycle // 20, self.cycle * 3 // 5), IDLE)

    def meter(self, u):
        """A meter reading: energy since the last one at the power drawn since, then the power now."""
        u.mwh += u.w * (self.vt - u.t_read) // 3600
        u.t_read = self.vt
        phase = 0
        if u.t_charge is not None:
            e = self.vt - u.t_charge
            phase = 1 if e < u.bulk else 2 if e < u.bulk + u.taper else 3
        if phase != u.phase:
            u.phase = phase
            u.events += 1
            if phase == 3 and self.st is not None:
                u.ready = False
                self.st.transactions.ev_ready(u.i, False, self.now)
        w = 0
        if self.board[u.i - 1] and u.ready:
            w = u.p if phase <= 1 else between(30, 80)  # the end of a charge: tens of W
        u.w = w
        if self.st is not None:
            self.st.transactions.meter(u.i, u.mwh // 1000, w, self.now)
        if u.plugged:
            self.push(self.vt + between(10 * SEC, 60 * SEC), "meter", u, u.mgen)

    # --- days and the end ----------------------------------------------------------------
    def day(self):
        d = self.vt // DAY
        a = self.heap_min
        self.heap_min = None
        if a is not None:  # invariant 4
            self.heap.append(a)
            if d <= WARMUP_DAYS:
                self.heap_base = a if self.heap_base is None or a > self.heap_base else self.heap_base
            else:
                self.checks += 1
                if a > self.heap_base + HEAP_TOLERANCE:
                    self.bad(4, "live heap %d bytes on day %d, more than the warm-up's %d + %d" %
                             (a, d, self.heap_base, HEAP_TOLERANCE))
        print("day %d: sessions %d (of %d tried) outages %d power_cuts %d reboots %d fallbacks %d messages %d "
              "checks %d given_up %d heap %s" % (d, self.sessions, self.attempts, self.outages, self.power_cuts,
                                                 self.reboots, self.fallbacks, self.csms.messages, self.checks,
                                                 self.given_up, self.heap[-1] if self.heap else "-"))

    def heap_sample(self):
        """Invariant 4: the live heap at the first quiet moment of each hour (nothing queued or
        outstanding); a day's figure is the least of its samples (what always stays)."""
        self.heap_due = False
        gc.collect()
        a = gc.mem_alloc()
        if self.heap_min is None or a < self.heap_min:
            self.heap_min = a

    def end(self):
        """The chaos ends: a well-behaved CSMS, the network up, no new sessions, a clean period
        to drain everything (and one reconnection, after which the CSMS must know every
        connector's status)."""
        self.ending = True
        self.csms.regime = {}
        self.csms.default = CLEAN
        self.net_gen += 1
        if not self.net_up:
            self.network(True)
        self.net_gen += 1  # no more outages
        self.reconnect_due = self.conn is not None
        if self.st is None:
            self.power_gen += 1
            self.build("PowerUp")
        for u in self.users:
            if u.state in (CHARGING, WAIT_START, TAP_NEXT, PLUG_NEXT, TAP_FIRST):
                self.later(u, between(SEC, 10 * MIN), CHARGING)
        self.push(self.vt + 12 * HOUR, "wake")

    def drained(self):
        st = self.st
        if self.vt < self.end_vt + 30 * MIN:
            return False
        quiet = (self.conn is not None and not len(st.q) and st.rpc.idle() and not self.stx
                 and not any(ev.tx for ev in st.ev) and not any(u.plugged for u in self.users)
                 and self.csms.quiet() and self.reboot_due is None)
        if not quiet:
            if self.vt > self.end_vt + 12 * HOUR:
                self.bad(5, "not drained 12 h into the clean period: %d queued, transactions %s, RAM queue %d" %
                         (len(st.q), sorted(self.stx), len(st.rpc._q)))
            return False
        self.final()
        return True

    def final(self):
        st = self.st
        c = self.csms
        self.checks += 3
        if c.ctx:
            self.bad(5, "transactions never Ended at the CSMS: %s" % sorted(c.ctx))
        for i in range(self.ne):
            told = c.status[i]
            shown = st.availability.conn[i]
            if told != shown:
                self.bad(8, "the CSMS was last told EVSE %d is %s, the station shows %s" % (i + 1, told, shown))
        self.check()

    # --- invariants after every step ---------------------------------------------------------
    def check(self):
        st = self.st
        vt = self.vt
        self.checks += 8
        # 1: registered or registering
        if self.conn is not None and not st.rpc.accepted:
            allowed = self.boot_iv * SEC + st.rpc.timeout_ms + SLACK
            if vt - self.boot_ref > allowed:
                self.bad(1, "link up, not Accepted, and no BootNotification for %d s (allowed %d s)" %
                         ((vt - self.boot_ref) // SEC, allowed // SEC))
        # 2: taps decided
        for t in self.taps:
            if vt > t[1]:
                self.bad(2, "card %s tapped at an idle EVSE: no Authorize and no decision within %d s" %
                         (t[0], (st.rpc.timeout_ms + SLACK) // SEC))
        # 3: bounds
        n = len(st.q)
        if n > LIMIT or self.store.nq > LIMIT:
            self.bad(3, "flash queue: %d in the index, %d files, LIMIT %d" % (n, self.store.nq, LIMIT))
        if len(st.rpc._q) > RAM_Q:
            self.bad(3, "RAM queue: %d CALLs" % len(st.rpc._q))
        # 6: contactor
        for i in range(self.ne):
            if self.board[i] and not st.ev[i].tx:
                self.bad(6, "contactor of EVSE %d closed without a transaction" % (i + 1))
        # 8: availability
        c = self.csms
        busy = False
        for ev in st.ev:
            if ev.tx:
                busy = True
        if not (st.reset.pending or st.firmware.holding or getattr(st, "q_full", False)):
            for ev in st.ev:
                i = ev.id
                if i in c.unsure or 0 in c.unsure or ev.fault:
                    continue
                off_e = c.want[i]
                off_cs = c.want[0]
                shown = st.availability.conn[i - 1]
                if off_e and not ev.tx or off_cs and not busy:
                    if shown != "Unavailable":
                        self.bad(8, "EVSE %d shows %s, the CSMS last asked for Inoperative (%s)" %
                                 (i, shown, "station" if off_cs else "EVSE"))
                elif not off_e and not off_cs and shown == "Unavailable":
                    self.bad(8, "EVSE %d shows Unavailable, the CSMS last asked for Operative" % i)
        # 8: and the CSMS knows it: link up, Accepted, nothing queued or outstanding in RAM
        if self.conn is not None and st.rpc.accepted and st.rpc.idle():
            for i in range(self.ne):
                if c.status[i] != st.availability.conn[i]:
                    self.bad(8, "link up, Accepted and idle: the CSMS was last told EVSE %d is %s, the station "
                             "shows %s" % (i + 1, c.status[i], st.availability.conn[i]))
        # 9: a report refused as running makes progress (checked when refused, Csms.reply)
        if self.heap_due and not len(st.q) and st.rpc.idle():
            self.heap_sample()


class Csms:
    """The fake CSMS: answers the station's CALLs (well, or refusing, ignoring, late, twice),
    sends CALLs of its own, and checks what it gets."""

    def __init__(self, soak):
        self.s = soak
        self.messages = 0
        self.conn = None
        self.boot_ok = False
        self.default = GOOD
        self.regime = {}
        self.out = []  # CALLs to send: (action, payload, what for), at most 15
        self.busy = None  # (mid, action, payload, what for)
        self.n = 0
        self.n_tok = 0
        self.rid = 0
        self.report = None  # [requestId, next seqNo, link time of the last progress]
        self.seen = {}  # message id: (tid, seq) of recent TransactionEvents
        self.seen_order = deque((), 256)
        self.ctx = {}  # tid: last seqNo first received, of transactions not Ended
        self.done_tx = {}
        self.done_order = deque((), 64)
        self.open_tx = []
        self.want = [False] * (soak.ne + 1)  # Inoperative asked for: [station, EVSE 1, ...]
        self.unsure = []  # targets whose ChangeAvailability got no answer (sent again)
        self.status = [None] * soak.ne  # last StatusNotification per connector
        self.last_reset = -DAY

    # --- the connection -----------------------------------------------------------------
    def connected(self, conn):
        self.conn = conn
        self.pump()

    def disconnected(self):
        self.conn = None
        b = self.busy
        self.busy = None
        for x in [x for x in self.out if x[0] in ("RequestStartTransaction", "RequestStopTransaction")]:
            self.out.remove(x)  # what a driver asked for in the app is stale by the next connection
        if b is None:
            return
        if b[1] == "ChangeAvailability":
            self.out.insert(0, (b[1], b[2], b[3]))  # sent again: it may or may not have been made
        elif b[1] == "GetBaseReport":
            self.report = [b[3], None, self.s.online()]  # it may or may not be running

    def station_reset(self):
        self.boot_ok = False
        self.report = None

    def quiet(self):
        return not self.out and self.busy is None and not self.unsure

    def new_regime(self):
        r = random.getrandbits(7)
        self.regime = {}
        if r < 64:
            self.default = GOOD
        elif r < 108:
            self.default = ROUGH
        else:
            self.default = GOOD
            a = random.choice(PARTIAL)
            self.regime[a] = (10000, 0, 0, 0) if r < 122 else (0, 10000, 0, 0)

    def send(self, text, delay=0):
        s = self.s
        s.push(s.vt + s.lat + delay, "st_rx", self.conn, text)

    # --- the station's messages -----------------------------------------------------------
    def received(self, text):
        s = self.s
        try:
            m = json.loads(text)
        except ValueError:
            s.bad(11, "a frame that is not JSON: %s" % text[:200])
            return
        self.messages += 1
        if type(m) is not list or len(m) < 3:
            s.bad(11, "a frame that is not an OCPP-J message: %s" % text[:200])
        elif m[0] == 2:
            self.call(m)
        elif m[0] in (3, 4):
            self.reply(m)
        else:
            s.bad(11, "message type %r" % m[0])

    def call(self, m):
        s = self.s
        mid, action, p = m[1], m[2], m[3]
        why = self.shape(action, p)
        if why:
            s.bad(11, "%s %s: %s" % (action, mid, why))
            return
        if not self.boot_ok and action not in PRE_BOOT_OK:
            s.bad(1, "%s before the CSMS Accepted the station's BootNotification" % action)
            return
        res = self.answer(action, p)
        if action == "TransactionEvent":
            self.transaction(mid, p)
        elif action == "StatusNotification":
            self.status[p["evseId"] - 1] = p["connectorStatus"]
        elif action == "NotifyReport":
            self.page(p)
        refuse, ignore, late, twice = self.regime.get(action, self.default)
        r = random.getrandbits(14) * 10000 // 16384
        if r < refuse:
            self.send('[4,"%s","%s","refused by the soak",{}]' % (mid, random.choice(ERRORS)))
            return
        if r < refuse + ignore:
            return
        if action == "BootNotification":
            self.boot(res)
        frame = json.dumps([3, mid, res])
        if r < refuse + ignore + late:
            self.send(frame, between(SEC, 2 * s.st.rpc.timeout_ms if s.st else 60 * SEC))
        else:
            self.send(frame)
            if r < refuse + ignore + late + twice:
                self.send(frame, between(100, 3 * SEC))

    def answer(self, action, p):
        s = self.s
        if action == "BootNotification":
            r = random.getrandbits(7)
            if r < 109 or s.ending:
                return {"currentTime": clock.iso(s.wall()), "interval": random.choice((60, 300, 600, 3600)),
                        "status": "Accepted"}
            return {"currentTime": clock.iso(s.wall()), "interval": random.choice((0, 5, 10, 30, 60, 120, 300)),
                    "status": "Pending" if r < 122 else "Rejected"}
        if action == "Authorize":
            r = random.getrandbits(7)
            return {"idTokenInfo": {"status": "Accepted" if r < 113 or s.ending else
                                    "Invalid" if r < 123 else "Blocked"}}
        if action == "TransactionEvent":
            if p["eventType"] == "Started" and pct(3000):
                return {"idTokenInfo": {"status": "Invalid" if pct(150) and not s.ending else "Accepted"}}
            return {}
        if action == "Heartbeat":
            return {"currentTime": clock.iso(s.wall())}
        return {}

    def boot(self, res):
        """The CSMS sends its answer to a BootNotification (invariant 1 follows it)."""
        s = self.s
        self.boot_ok = res["status"] == "Accepted"
        if not self.boot_ok and res["interval"] > s.boot_iv:
            s.boot_iv = res["interval"]

    def shape(self, action, p):
        """Why a CALL's payload lacks what a CSMS relies on, or None (the fields the official
        schemas require, as far as the soak uses them)."""
        if type(p) is not dict:
            return "payload not an object"
        ne = self.s.ne
        if action == "BootNotification":
            cs = p.get("chargingStation")
            if p.get("reason") not in ("ApplicationReset", "FirmwareUpdate", "LocalReset", "PowerUp", "RemoteReset",
                                       "ScheduledReset", "Triggered", "Unknown", "Watchdog"):
                return "reason %r" % p.get("reason")
            if type(cs) is not dict or type(cs.get("model")) is not str or type(cs.get("vendorName")) is not str:
                return "chargingStation"
        elif action == "Authorize":
            t = p.get("idToken")
            if type(t) is not dict or type(t.get("idToken")) is not str or type(t.get("type")) is not str:
                return "idToken"
        elif action == "TransactionEvent":
            info = p.get("transactionInfo")
            if p.get("eventType") not in ("Started", "Updated", "Ended"):
                return "eventType"
            if not is_time(p.get("timestamp")) or type(p.get("triggerReason")) is not str:
                return "timestamp or triggerReason"
            if type(p.get("seqNo")) is not int or p["seqNo"] < 0:
                return "seqNo"
            if type(info) is not dict or type(info.get("transactionId")) is not str:
                return "transactionInfo"
            evse = p.get("evse")
            if p["eventType"] == "Started" and (type(evse) is not dict or not 1 <= evse.get("id", 0) <= ne):
                return "Started without its evse"
            for mv in p.get("meterValue", ()):
                if not is_time(mv.get("timestamp")) or not mv.get("sampledValue"):
                    return "meterValue"
        elif action == "StatusNotification":
            if (not is_time(p.get("timestamp")) or p.get("connectorStatus") not in CONNECTOR
                    or type(p.get("evseId")) is not int or not 1 <= p["evseId"] <= ne or p.get("connectorId") != 1):
                return "fields"
        elif action == "Heartbeat":
            if p:
                return "not empty"
        elif action == "MeterValues":
            if type(p.get("evseId")) is not int or not p.get("meterValue"):
                return "fields"
        elif action == "NotifyReport":
            if (type(p.get("requestId")) is not int or not is_time(p.get("generatedAt"))
                    or type(p.get("seqNo")) is not int):
                return "fields"
        elif action == "SecurityEventNotification":
            if type(p.get("type")) is not str or not is_time(p.get("timestamp")):
                return "fields"
        elif action not in ("FirmwareStatusNotification", "LogStatusNotification"):
            return "an action the soak does not expect"
        return None

    def transaction(self, mid, p):
        """Invariant 5 at the CSMS: once per (transactionId, seqNo), in order."""
        s = self.s
        tid = p["transactionInfo"]["transactionId"]
        seq = p["seqNo"]
        prev = self.seen.get(mid)
        if prev is not None:
            if prev != (tid, seq):
                s.bad(5, "message id %s again, for %s seqNo %d (was %s seqNo %d)" % (mid, tid, seq, prev[0], prev[1]))
            return  # a retransmission
        if len(self.seen_order) >= 250:
            self.seen.pop(self.seen_order.popleft(), None)
        self.seen[mid] = (tid, seq)
        self.seen_order.append(mid)
        last = self.ctx.get(tid)
        if last is None:
            if tid in self.done_tx:
                s.bad(5, "%s seqNo %d (id %s) after its Ended" % (tid, seq, mid))
                return
            if seq != 0 or p["eventType"] != "Started":
                s.bad(5, "%s first reached the CSMS as %s seqNo %d" % (tid, p["eventType"], seq))
                return
            self.open_tx.append(tid)
        elif seq <= last:
            s.bad(5, "%s seqNo %d (id %s) reached the CSMS after seqNo %d: twice under another id, or out of order"
                  % (tid, seq, mid, last))
            return
        self.ctx[tid] = seq
        if p["eventType"] == "Ended":
            del self.ctx[tid]
            if tid in self.open_tx:
                self.open_tx.remove(tid)
            if len(self.done_order) >= 60:
                self.done_tx.pop(self.done_order.popleft(), None)
            self.done_tx[tid] = True
            self.done_order.append(tid)

    def page(self, p):
        rep = self.report
        if rep is None or p["requestId"] != rep[0]:
            return
        if rep[1] is not None and p["seqNo"] != rep[1]:
            self.s.bad(9, "NotifyReport seqNo %d, expected %d" % (p["seqNo"], rep[1]))
        rep[1] = p["seqNo"] + 1
        rep[2] = self.s.online()
        if not p.get("tbc"):
            self.report = None

    # --- the CSMS's own CALLs --------------------------------------------------------------
    def queue(self, action, payload, what=None):
        if len(self.out) < 15:
            self.out.append((action, payload, what))
        self.pump()

    def pump(self):
        s = self.s
        if self.busy is not None or self.conn is None or not self.out:
            return
        action, payload, what = self.out.pop(0)
        if action == "ChangeAvailability" and what not in self.unsure:
            self.unsure.append(what)  # until the answer: the station may show the old or the new
        self.n += 1
        mid = "csms-%d" % self.n
        self.busy = (mid, action, payload, what)
        s.push(s.vt + 2 * s.lat + 10 * SEC, "csms_timeout", self.conn, mid)
        self.send(json.dumps([2, mid, action, payload]))

    def timeout(self, conn, mid):
        if conn == self.conn and self.busy is not None and self.busy[0] == mid:
            self.s.bad(11, "%s %s not answered within 10 s" % (self.busy[1], mid))

    def availability(self, target, off):
        p = {"operationalStatus": "Inoperative" if off else "Operative"}
        if target:
            p["evse"] = {"id": target}
        self.queue("ChangeAvailability", p, target)

    def remote_start(self, u):
        self.rid += 1
        self.queue("RequestStartTransaction", {"idToken": {"idToken": u.token, "type": "Central"},
                                               "remoteStartId": self.rid, "evseId": u.i})

    def remote_stop(self, tid):
        self.queue("RequestStopTransaction", {"transactionId": tid})

    def random_call(self):
        s = self.s
        if self.conn is None or s.st is None:
            return
        r = random.getrandbits(7)
        ne = s.ne
        if r < 30:
            what = random.choice(("BootNotification", "StatusNotification", "StatusNotification", "Heartbeat",
                                  "TransactionEvent", "MeterValues"))
            p = {"requestedMessage": what}
            if what in ("StatusNotification", "TransactionEvent", "MeterValues") and pct(5000):
                p["evse"] = {"id": between(1, ne)}
                if what == "StatusNotification":
                    p["evse"]["connectorId"] = 1
            self.queue("TriggerMessage", p)
        elif r < 55:  # Inoperative for a while (Operative again later), or Operative as it is
            target = 0 if pct(2500) else between(1, ne)
            off = pct(5000) and not self.want[target]
            self.availability(target, off)
            if off:
                s.push(s.vt + between(5 * MIN, 2 * HOUR), "operative", target)
        elif r < 80:
            comp, var, inst, values = random.choice(SETTINGS)
            v = {"name": var}
            if inst:
                v["instance"] = inst
            self.queue("SetVariables", {"setVariableData": [{"component": {"name": comp}, "variable": v,
                                                             "attributeValue": random.choice(values)}]})
        elif r < 95:
            self.rid += 1
            base = random.choice(("ConfigurationInventory", "FullInventory", "FullInventory", "SummaryInventory"))
            self.queue("GetBaseReport", {"requestId": self.rid, "reportBase": base}, self.rid)
        elif r < 105:
            self.queue("GetVariables", {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"},
                                                             "variable": {"name": "HeartbeatInterval"}}]})
        elif r < 120:
            if self.open_tx:
                self.remote_stop(random.choice(self.open_tx))
        elif s.vt - self.last_reset > 2 * DAY:
            self.last_reset = s.vt
            self.queue("Reset", {"type": "OnIdle"})

    def reply(self, m):
        s = self.s
        b = self.busy
        if b is None or m[1] != b[0]:
            s.bad(11, "a reply to no CALL of the CSMS: %s" % json.dumps(m)[:200])
            return
        self.busy = None
        mid, action, payload, what = b
        st = s.st
        if action == "ChangeAvailability" and what in self.unsure:
            self.unsure.remove(what)  # answered: the station shows its state from now on
        if m[0] == 4:
            if not (m[2] == "SecurityError" and st.boot.state == 2):  # B03.FR.08: while Rejected
                s.bad(11, "%s %s refused: %s %s" % (action, mid, m[2], m[3] if len(m) > 3 else ""))
            self.pump()
            return
        res = m[2]
        status = res.get("status") if type(res) is dict else None
        if action == "SetVariables" or action == "GetVariables":
            key = "setVariableResult" if action == "SetVariables" else "getVariableResult"
            items = res.get(key)
            if type(items) is not list or len(items) != 1 or items[0].get("attributeStatus") != "Accepted":
                s.bad(11, "%s %s: %s" % (action, json.dumps(payload), json.dumps(res)))
        elif status not in {"TriggerMessage": ("Accepted", "Rejected", "NotImplemented"),
                            "ChangeAvailability": ("Accepted", "Rejected", "Scheduled"),
                            "GetBaseReport": ("Accepted", "Rejected", "NotSupported", "EmptyResultSet"),
                            "RequestStartTransaction": ("Accepted", "Rejected"),
                            "RequestStopTransaction": ("Accepted", "Rejected"),
                            "Reset": ("Accepted", "Rejected", "Scheduled")}[action]:
            s.bad(11, "%s %s answered %s" % (action, mid, json.dumps(res)))
        elif action == "ChangeAvailability":
            if status != "Rejected":
                self.want[what] = payload["operationalStatus"] == "Inoperative"
        elif action == "GetBaseReport":
            if status == "Accepted":
                self.report = [what, 0, s.online()]
            elif status == "Rejected":
                rep = self.report
                if rep is None:
                    s.bad(9, "GetBaseReport refused (%s) with no report of ours running"
                          % json.dumps(res.get("statusInfo")))
                elif s.online() - rep[2] > REPORT_STUCK:
                    s.bad(9, "GetBaseReport refused: report %d made no progress for %d min of link time"
                          % (rep[0], (s.online() - rep[2]) // MIN))
            elif status == "NotSupported" and payload["reportBase"] != "SummaryInventory":
                s.bad(11, "GetBaseReport %s NotSupported" % payload["reportBase"])
        self.pump()


def main(argv):
    seed, days, spd, evses = 1, 3, 300, 3
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--seed":
            seed = int(argv[i + 1])
        elif a == "--days":
            days = int(argv[i + 1])
        elif a == "--sessions-per-day":
            spd = int(argv[i + 1])
        elif a == "--evses":
            evses = int(argv[i + 1])
        elif a != "--frozen":
            print("usage: soak.py --seed N --days D [--sessions-per-day S] [--evses E] [--frozen]")
            return 2
        i += 1 if a == "--frozen" else 2
    print("soak: seed %d, %d days, %d sessions a day, %d EVSEs, ocpp_lite from %s, LIMIT %d" %
          (seed, days, spd, evses, getattr(ocpp_lite, "__file__", "?"), LIMIT))
    s = Soak(seed, days, spd, evses)
    try:
        s.run()
    except Exception as e:  # out of the station (or the soak): a failure too
        sys.print_exception(e)
        s.bad("exception", "%s: %s" % (type(e).__name__, e))
    c = s.csms
    res = {"seed": seed, "days": days, "sessions": s.sessions, "outages": s.outages, "power_cuts": s.power_cuts,
           "reboots": s.reboots, "fallbacks": s.fallbacks, "messages": c.messages, "checks": s.checks,
           "failures": 1 if s.failure else 0, "first_failure": s.failure or "",
           "attempts": s.attempts, "given_up": s.given_up, "ended_given_up": s.ended_given_up,
           "queue_dropped": s.q_dropped, "ram_dropped": s.ram_dropped, "relay_synced": s.relay_synced,
           "spins": s.spins, "unchecked_taps": s.unchecked_taps, "heap": s.heap, "heap_base": s.heap_base,
           "simulated_s": s.vt // SEC}
    if s.failure:
        print("FAIL seed %d at %s (vt %d ms, wall %s): %s" % (seed, stamp(s.vt), s.vt, clock.iso(s.wall()),
                                                            s.failure))
        print("replay: micropython host_tests/mp/soak.py --seed %d --days %d --sessions-per-day %d --evses %d"
              % (seed, days, spd, evses))
        print("station log, last lines:")
        for line in s.logs:
            print("  " + line)
    print(json.dumps(res))
    if not s.failure:  # a failure keeps the flash for a look
        wipe(s.root)
        os.rmdir(s.root)
    return 1 if s.failure else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
