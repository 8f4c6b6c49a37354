# ocpp_lite/station.py - the charging station without I/O: the one place where the functional
# blocks' services are created (Station.__init__), the wall clock, the effects for the
# runtime, and the timer that drives the services (tick, next_deadline).
#
# The runtime feeds received frames to the session (st.rpc.receive), link changes
# (connected, disconnected), hardware events through hw/inputs.py to the service that owns
# them, and the time (ticks_ms); it takes frames to write (st.rpc.out), effects for the
# hardware and logs (st.effects) and the next deadline.
#
# Effects: ("show", event_dict) something a person would see (LED, display, simulator
# stdout); ("seclog", line) append to the security log; ("clock", s2000) set the RTC;
# ("relay", evse, closed) switch a contactor (all open at start: the safe state);
# ("limit", evse, amps) the current the control pilot offers; ("reboot", reason);
# ("reconnect",) close the connection once the pending frames are written, and reconnect;
# ("firmware",) / ("upload",) start the runtime's task for st.firmware.job /
# st.diagnostics.upload (L01, N01).
import sys
from collections import deque
from time import ticks_add, ticks_diff
from micropython import const
from . import security
from .availability import Availability
from .engine import clock, schema
from .engine.session import Session
from .provisioning.devmodel import HEARTBEAT, DeviceModel
from .transactions import Transactions

_EFFECTS = const(32)
_MAX_WAIT = const(60000)  # the runtime wakes at least once a minute
_TIME = const(-4)  # engine/schema.py's date-time field type
_REQ = const(1)  # engine/schema.py's required flag
_HB_RESP = const((("currentTime", _TIME, _REQ),))
# The services made on use whose module a build profile may leave out (tools/profiles.py;
# __getattr__ gives None for them then): every build has the others' code
_OPTIONAL = const(("certquery",))


def forget(m):
    """Let go of module m: out of sys.modules, and its package keeps no reference either (a
    later import makes it afresh)."""
    if sys.modules.pop(m, None) is not None:
        up, _, attr = m.rpartition(".")
        if up in sys.modules and hasattr(sys.modules[up], attr):
            delattr(sys.modules[up], attr)


try:  # the blocks, or parts of blocks, that a build profile may leave out (tools/profiles.py)
    from .metering.aligned import Aligned  # clock-aligned meter values
except ImportError:
    Aligned = None
    forget("ocpp_lite.metering")  # the package, imported on the way: its sample() is loaded with a transaction
try:
    from .smartcharging import SmartCharging
except ImportError:
    SmartCharging = None


class Station:
    def __init__(self, info, hw, evses, load, save, q, now, wall, seed, reason, log, certs=None, probe=None):
        """info: chargingStation object of BootNotification; hw: board facts for the device
        model ({"phases", "power_max", "connector"}, "unlock"); evses: EVSE count (one connector
        each); load(name): the stored document name ("vars", "net", "tx", "avail", "profiles",
        "fw"), or None; save(name, doc): persist a document (raises OSError); q: the must-deliver message queue
        in flash (runtime/queue.py); now: ticks_ms; wall: seconds since 2000 from the RTC or
        None if unknown; seed: 8 random bytes; reason: BootReasonEnumType value; certs:
        fn(station) that makes the store of the installed certificates' files
        (runtime/certstore.py; st.certstore, created on use), None without a file system;
        probe: fn() that checks the link at once (session.py), None if the runtime cannot."""
        # The blocks whose code only a CSMS request (or a tap) needs are created when first
        # used (__getattr__): their code costs no RAM until then.
        self._lazy = {}  # service name: (the service, the modules its creation imported), once created
        self.info = info
        self.reason = reason  # BootReasonEnumType of this power-up (provisioning/boot.py)
        self.hw = hw
        self.load = load
        self.save = save
        self.q = q
        self.log = log
        self.effects = deque((), _EFFECTS, 1)  # for the runtime, taken after every input (effect())
        self.offline_at = None  # wall time (time(), ms()) when the connection went down
        self._wall = wall or 0
        self._wall_t = now
        self._clock_known = wall is not None
        prefix = "%02x%02x%02x%02x-" % tuple(seed[:4])
        self.rpc = Session(prefix, 30, log, q.last(), self, probe)  # the network profile sets the timeout
        # The services, one per functional block (dispatch.py names them), in the order they
        # need each other while starting: a block reaches another as st.<service>.
        self._certs = certs
        self._fw = load("fw")
        self.security = security.Security(self)  # A
        self.devmodel = DeviceModel(self, load("vars"), SmartCharging is not None, Aligned is not None)  # B
        self._slot = None  # B: the network profile slot of the last connection, kept while st.network is let go of
        self.boot  # B: created now (the first BootNotification due), let go of once Accepted
        self.network  # B: created now (the first connection attempt), its profiles loaded (and checked)
        self.aligned = Aligned(self) if Aligned else None  # J
        self.smartcharging = None  # K, after the transactions it limits
        self.availability = Availability(self, evses, load("avail"))  # G
        for evse in range(1, evses + 1):
            self.effect(("relay", evse, False))
        self.transactions = Transactions(self, load("tx"), evses, now, seed)  # E
        self.ev = self.transactions.ev  # the EVSEs (transactions.Evse), owned by the transactions
        self.q_full = q.full(evses)  # the flash queue has no room for new transactions (queue.py)
        self.availability.ended(now)  # changes that waited for transactions the power cut ended
        self.transactions.refresh(now)
        if self._fw and not self._fw.get("done"):
            self.firmware  # the job is in the firmware block, and
            self.effect(("firmware",))  # the runtime carries on with it
        if SmartCharging:
            self.smartcharging = SmartCharging(self, load("profiles"))
            self.smartcharging.apply(now)

    # --- the services created when first used ---------------------------------------
    def __getattr__(self, name):
        """The services whose code only a CSMS request (or a tap, a reset) needs: created on
        first use, so their code costs no RAM until then, and let go of once they hold no work
        (release()); loaded() tells whether one is there."""
        s = self._lazy.get(name)
        if s is not None:
            return s[0]
        had = set(sys.modules)
        if name == "boot":  # B: registration, until Accepted (and a switch of network profile)
            from .provisioning.boot import Boot as service
        elif name == "network":  # B: the connection's profile, while offline (and SetNetworkProfile)
            from .provisioning.netprofile import Network as service
        elif name == "provisioning":  # B: GetVariables, SetVariables, GetBaseReport
            from .provisioning.variables import Variables as service
        elif name == "reset":  # B
            from .provisioning.reset import Reset as service
        elif name == "authorization":  # C
            from .authorization import Authorization as service
        elif name == "remote":  # F
            from .remotecontrol import RemoteControl as service
        elif name == "firmware":  # L
            from .firmware import Firmware as service
        elif name == "certificates":  # M
            from .certificates import Certificates as service
        elif name == "certstore":  # M: the installed certificates' files (the runtime's)
            service = self._certs
            if service is None:  # no file system
                return None
        elif name == "certquery":  # M: GetInstalledCertificateIds, DeleteCertificate
            try:  # left out of the lite build
                from .certificates.query import CertQuery as service
            except ImportError:
                return None
        elif name == "diagnostics":  # N
            from .diagnostics import Diagnostics as service
        elif name == "datatransfer":  # P
            from .datatransfer import DataTransfer as service
        else:
            raise AttributeError(name)
        # (the firmware block takes the last job, the network the slot of the last connection
        # (its profiles it loads); Boot a tick not after now: what is due, is due)
        s = service(self, self._fw) if name == "firmware" else service(self, self._slot) if name == "network" \
            else service(self, self._wall_t) if name == "boot" else service(self)
        self._lazy[name] = (s, [m for m in sys.modules if m not in had])
        return s

    def release(self):
        """Let go of every service created on first use that holds no work (its busy(), if it
        has one, is false), and of the modules its creation imported, with the modules of
        those packages imported since (crypto/x509.py imports a signature's algorithm when it
        checks one): a handler that a CSMS needs once a day does not stay in the heap. Run
        after every input (tick). Not while a handler runs in steps (session.py later): its
        service must stay the station's."""
        if self.rpc.later is not None:
            return
        for name, (s, code) in list(self._lazy.items()):
            if hasattr(s, "busy") and s.busy():
                continue
            if name == "firmware":
                self._fw = s.job  # the last update's status outlives the code (TriggerMessage)
            elif name == "network":  # (its profiles are in the store: loaded again when needed)
                self._slot = s.active_slot
            del self._lazy[name]
            for m in [m for m in sys.modules if m in code or m.rpartition(".")[0] in code]:
                forget(m)
        if not self._lazy:  # a dict emptied keeps its table: a new one has none
            self._lazy = {}

    def offers(self, name):
        """Whether this build has service name, without loading its code (a CALL is admitted
        before its payload is parsed, dispatch.py admit: the parse need not find the
        handler's code in the heap). A service made at start is there unless None; one made on
        use is there in every build but those a profile may leave out (_OPTIONAL), which is
        looked for (its code then loaded: the certificate queries' requests are small)."""
        d = self.__dict__
        if name in d:
            return d[name] is not None
        return name not in _OPTIONAL or getattr(self, name) is not None

    def loaded(self, name):
        """The service name if it was created (__getattr__), else None."""
        s = self._lazy.get(name)
        return s and s[0]

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
        self.effect(("clock", s))
        if self._clock_known and (jump > 60 or jump < -60):
            self.security.record("SettingSystemTime", "moved %d s" % jump, now)
        self._clock_known = True

    # --- keep-alive (G02): the Heartbeat, whose answer sets the clock ----------------------
    def heartbeat(self, flags=0):
        self.rpc.call("Heartbeat", {}, self._beat, flags)

    def _beat(self, st, res, now):
        res = schema.response(res, _HB_RESP, self.log)
        if res is not None:
            self.set_time(clock.parse(res["currentTime"]), now)

    def _beat_in(self, now):
        """ms until the next Heartbeat is due (HeartbeatInterval after the last CALL, once
        Accepted, while online and idle), or None."""
        r = self.rpc
        if not (r.online and r.accepted and r.idle()):
            return None
        return ticks_diff(ticks_add(r.last_call, self.devmodel.get(HEARTBEAT) * 1000), now)

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
        self.boot.connected(self.network.connected(slot, now), now)
        self.tick(now)

    def disconnected(self, now):
        self.rpc.disconnected(self, now)
        self.offline_at = (self.time(now), self.ms(now))  # an outage may outlast the ticks' range

    def tick(self, now):
        self.time(now)  # keeps the wall clock's tick anchor within ticks_diff's range (a minute)
        if self.rpc.jammed and self.effect(("reconnect",)):
            self.rpc.jammed = False  # frames could not be queued: renew the connection (session.py)
        full = self.q.full(len(self.ev))
        if full != self.q_full:  # no room for new transactions, or room again
            self.q_full = full
            self.log("flash queue %s: new transactions %s" % (("full", "refused") if full else ("has room", "allowed")))
            self.transactions.refresh(now)
        self.rpc.tick(self, now)
        boot = self.loaded("boot")
        if boot:
            boot.tick(now)
        t = self._beat_in(now)
        if t is not None and t <= 0:
            self.heartbeat()
        self.transactions.tick(now)
        if self.aligned:
            self.aligned.tick(now)
        if self.smartcharging:
            self.smartcharging.tick(now)
        self.rpc.pump(self, now)
        if self._lazy:
            self.release()

    def next_deadline(self, now):
        """ms until tick() has work to do (0 = now)."""
        d = _MAX_WAIT
        boot = self.loaded("boot")
        for t in (self.rpc.deadline(self, now), boot.deadline(now) if boot else None, self._beat_in(now),
                  self.transactions.deadline(now),
                  self.aligned.deadline(now) if self.aligned else None,
                  self.smartcharging.deadline(now) if self.smartcharging else None):
            if t is not None and t < d:
                d = t
        return d if d > 0 else 0

    def out_of_memory(self, where, now):
        """A MemoryError was caught: logged and recorded (security.py)."""
        self.security.out_of_memory(where, now)

    # --- between blocks -----------------------------------------------------------------
    def inoperative(self, evse):
        """No new transaction on evse: set Inoperative, an OnIdle reset or a firmware
        installation is waiting, or the flash queue has no room for one."""
        fw = self.loaded("firmware")
        reset = self.loaded("reset")
        return (self.availability.inoperative(evse) or (reset and reset.pending is not None) or (fw and fw.holding)
                or self.q.full(len(self.ev)))

    def attempts(self):
        """(MessageAttempts, MessageAttemptInterval) for TransactionEvent (E13), for the session."""
        return (self.devmodel.get("OCPPCommCtrlr.MessageAttempts[TransactionEvent]"),
                self.devmodel.get("OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]"))

    def effect(self, e):
        """Queue effect e for the runtime; False when it did not fit. The runtime takes the
        effects after every input, so a full queue means it is stuck: what does not fit is
        logged, never lost in silence. A relay command is not lost either way: the runtime sets
        every contactor to its EVSE's state (Evse.relay) after taking the effects."""
        try:
            self.effects.append(e)
            return True
        except IndexError:
            if e[0] != "show":
                self.log("effects full: %s lost" % (e,))
            return False

    def show(self, ev):
        self.effect(("show", ev))

    def snapshot(self):
        """What a person would see, in one event: the boot state (None, Pending, Rejected,
        Accepted), whether the link is up, and each EVSE's connector status and open
        transaction (the simulator shows it at start and on every connection)."""
        return {"ev": "state", "boot": "Accepted" if self.rpc.accepted else self.boot.name(), "online": self.rpc.online,
                "evses": [{"evse": ev.id, "status": self.availability.conn[ev.id - 1],
                           "tx": ev.tx["id"] if ev.tx else None} for ev in self.ev]}

    def rejected(self, why):
        """The answer of a handler that rejects a request, with the reasonCode why."""
        return {"status": "Rejected", "statusInfo": {"reasonCode": why}}
