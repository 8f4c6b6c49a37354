# boards/unix/fleet.py - many simulated charging stations in one MicroPython process, for CSMS
# load tests (tools/fleet starts as many of these processes as it needs; docs/fleet.md). Each
# station is an App with its own Store (flash directory), simulated board and connection, all
# on one asyncio loop, sharing the imported code: what a station adds is its own objects only.
#
#   micropython fleet.py --dir DIR --csms URL --ids PATTERN --first K --count N
#                        [--password P] [--ca PEM] [--evses N] [--set Component.Variable=VALUE ...]
#                        [--ramp PER_S] [--stats MS] [--events key|all|calls|all,calls]
#
# Station k (K <= k < K+N) has the id PATTERN.format(k) and its flash in DIR/<id>, provisioned
# as tools/sim does (boards/unix/main.py). Inputs are JSON lines on stdin: a station's input is
# a simulator input with "s": its id ({"s":"CS0001","op":"plug","evse":1}, as tools/sim takes
# them, docs/simulator.md); the process's own: {"op":"add","n":M} (M more stations),
# {"op":"mem"} (heap after a full collection), {"op":"quit"}. Outputs are JSON lines on
# stdout: the stations' key events with "s" ({"s":"CS0001","ev":"tx",...}: ws, boot, tx, auth;
# every event with --events all; with --events calls also a line per CALL of a station answered,
# refused, timed out or cut off by a closed connection, {"s":id,"call":action,"ms":t,"ok":bool,
# "len":bytes of the answer,"err":"callerror"|"timeout"|"closed"}, and per CSMS request answered
# {"s":id,"req":action,"ms":the station's handling time,"ok":bool}), and every --stats ms the
# process's counters:
# {"ev":"stats","n":..,"conn":..,"boot":..,"txs":..,"txe":..,"sent":..,"recv":..,"err":{..},
#  "rtt":[histogram over _EDGES],"rtt_sum":..,"rtt_max":..,"lag":..}. The stations' log lines
# that say something failed go to stderr with the station's id.
#
# What one process of stations needs that one station does not (nothing here changes a station
# run by boards/unix/main.py):
# - runtime/ws.py writes each connection's frames through a buffer of its own (ws._TXBUF None):
#   the one shared buffer would be written by two connections at once;
# - modules are not let go of once used (ocpp_lite.station.forget): the code is shared by all
#   the stations, and a station's connection attempt would otherwise compile wsopen.py afresh;
# - no stdin reader thread per board, no 20 ms poll per board: the inputs come from this
#   process's one reader, the meters advance in one task for all, only while energy flows.
import asyncio
import gc
import json
import sys
from time import ticks_diff, ticks_ms
from micropython import const

_HERE = sys.argv[0].rpartition("/")[0] or "."
sys.path.extend((_HERE, _HERE + "/../../firmware"))

from simboard import SimBoard, wrap  # noqa: E402 (after the path is set)
from main import _args as _sim_args  # noqa: E402 (boards/unix/main.py: its options)
from runtime import ws  # noqa: E402
from runtime.store import Store  # noqa: E402
from ocpp_lite import __version__  # noqa: E402
from ocpp_lite import station as _station  # noqa: E402
from ocpp_lite.engine import session as _session  # noqa: E402

_USAGE = (
    "usage: fleet --dir DIR --csms URL --ids PATTERN --first K --count N [--password P] [--ca PEM]"
    " [--evses N] [--set Component.Variable=VALUE ...] [--ramp PER_S] [--stats MS] [--events key|all|calls|all,calls]"
)
_PHYSICAL = const(("plug", "unplug", "ev_ready"))  # what the hardware sees before the station does
_KEY = const(("ws", "boot", "tx", "auth"))  # the events forwarded without --events all
_EDGES = const((2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000))  # rtt buckets: < edge ms, then the rest
_METER_MS = const(1000)
_NET_MS = const(200)  # a station whose network is down looks again this often
_METER_FILE = const("/sim-meter.json")  # in the station's state directory (as SimBoard's)


class Stats:
    """The process's counters, summed over its stations."""

    def __init__(self):
        self.sent = 0  # frames the stations wrote (CALLs, results, errors)
        self.recv = 0  # messages they received
        self.txs = 0  # transactions started, ended (the stations' tx events)
        self.txe = 0
        self.err = {}  # kind: count
        self.rtt = [0] * (len(_EDGES) + 1)
        self.rtt_sum = 0
        self.rtt_max = 0

    def error(self, kind):
        self.err[kind] = self.err.get(kind, 0) + 1

    def answered(self, ms):
        i = 0
        while i < len(_EDGES) and ms >= _EDGES[i]:
            i += 1
        self.rtt[i] += 1
        self.rtt_sum += ms
        if ms > self.rtt_max:
            self.rtt_max = ms


S = Stats()
_events_all = [False]
_calls = [False]  # --events calls: a line per CALL and per CSMS request
_quitting = [False]  # the process is ending: the CALLs its closes cut off are not reported
_fin = [None]  # how the CALL taken in the receive under way ended: "answer"

# The CSMS's response times as the stations see them: from the CALL written to its answer taken
# (session.py: one CALL outstanding; last_call is when it was written out), and the frames both
# ways; the session's methods wrapped on the class (simboard.wrap, as the simulator's --frames
# wraps the WebSocket's), so a station carries nothing for it.
def _timed_receive(_receive, self, buf, now, over=0):
    b = self._busy
    t = self.last_call
    k = buf[0][1] if type(buf) is list and len(buf[0]) > 1 else 0
    if _calls[0]:
        n = len(buf[0]) if type(buf) is list else len(buf)
        _fin[0] = ""
    _receive(self, buf, now, over)
    S.recv += 1
    if b is not None and self._busy is not b and k in (0x33, 0x34):  # "[3" CALLRESULT, "[4" CALLERROR
        S.answered(ticks_diff(now, t))
        if k == 0x34:
            S.error("callerror")
        if _calls[0] and _fin[0] == "answer":
            _call(self, b[1], ticks_diff(now, t), k == 0x33, over or n, None if k == 0x33 else "callerror")
    _fin[0] = None


def _call(session, action, ms, ok, n, err=None):
    """--events calls: one station CALL ended."""
    ev = {"s": getattr(session, "fleet_id", None), "call": action, "ms": ms, "ok": ok, "len": n}
    if err:
        ev["err"] = err
    print(json.dumps(ev))


def _counted_emit(_emit, self, frame):
    S.sent += 1
    _emit(self, frame)


def _timed_finish(_finish, self, st, payload, now, timed_out=False):
    if timed_out:
        S.error("timeout")
    if _calls[0] and self._busy is not None:
        if timed_out:
            _call(self, self._busy[1], ticks_diff(now, self.last_call), False, 0, "timeout")
        elif _fin[0] is not None:  # in receive: an answer (reported there)
            _fin[0] = "answer"
        elif not _quitting[0]:  # the connection closed with the CALL outstanding
            _call(self, self._busy[1], ticks_diff(now, self.last_call), False, 0, "closed")
    _finish(self, st, payload, now, timed_out)


# --events calls: the CSMS's requests, timed from their dispatch to the station's answer
def _timed_dispatch(_dispatch, self, st, mid, action, payload, now):
    self.fleet_req = (mid, action, ticks_ms())
    _dispatch(self, st, mid, action, payload, now)


def _answered(self, mid, ok):
    r = getattr(self, "fleet_req", None)
    if r is not None and r[0] == mid:
        self.fleet_req = None
        ev = {"s": getattr(self, "fleet_id", None), "req": r[1], "ms": ticks_diff(ticks_ms(), r[2]), "ok": ok}
        print(json.dumps(ev))


def _timed_reply(_reply, self, mid, payload):
    _reply(self, mid, payload)
    _answered(self, mid, True)


def _timed_reply_error(_reply_error, self, mid, code, text=""):
    _reply_error(self, mid, code, text)
    _answered(self, mid, False)


wrap(_session.Session, "receive", _timed_receive)
wrap(_session.Session, "_emit", _counted_emit)
wrap(_session.Session, "_finish", _timed_finish)


def _keep(m):
    """ocpp_lite.station.forget in a fleet: the code stays, shared by the stations."""


_station.forget = _keep
from runtime.app import App  # noqa: E402 (after the line above: app.py binds forget when imported)
ws._TXBUF = None  # a send buffer per message: connections write at the same time

_FAILED = (  # log lines that say something failed: (text in the line, kind)
    ("connection failed", "connect"),
    ("upgrade refused", "connect"),
    ("certificate refused", "connect"),
    ("write failed", "write"),
    ("no answer to", "link"),
    ("out of memory", "oom"),
    ("bad frame", "frame"),
    ("broken response", "frame"),
    ("task failed", "task"),
    ("timer:", "task"),
    ("bad input", "input"),
)


class FleetBoard(SimBoard):
    """SimBoard (boards/unix/simboard.py) without its stdin thread and polls: inputs come from
    the fleet's reader (feed), the meter advances in the fleet's meter task (tick). What is the
    same for every station of a fleet until a station changes it is the class's (an attribute in
    each station's own dict costs 16 bytes or more a station)."""

    stalls = None  # (SimBoard's --stalls, not in a fleet)
    _net = True  # the network is up (the simulator's net input)
    running = True  # not quit
    _on = False  # energy flowed at the meter's last advance
    _last = 0  # ticks of the meter's last advance, while energy flows

    def __init__(self, ident, evses, state):
        self.ident = ident
        self.evses = evses
        self.info = {"model": "OCPP2.Lite-Sim", "vendorName": "OCPP2.Lite",
                     "serialNumber": ident if len(ident) <= 25 else ident[:25], "firmwareVersion": ""}
        self.hw = {"phases": 3, "power_max": 11000, "amps": 16, "connector": "sType2", "unlock": self.unlock}
        self._plugged = set()
        self._demand = [0] * evses
        self._idle = set()
        self._io = None
        self._app = None
        self._closed = [False] * evses
        self._allowed = [False] * evses
        self._told_idle = set()
        self._state = state
        self.online = False  # the WebSocket is open
        self.booted = False  # the running App's BootNotification was accepted
        try:
            with open(state + _METER_FILE) as f:
                self._mwh = json.load(f)
        except (OSError, ValueError):
            self._mwh = [0] * evses
        self._mwh = (self._mwh + [0] * evses)[:evses]

    def show(self, ev):
        k = ev["ev"]
        if k == "ws":
            self.online = ev["state"] == "connected"
        elif k == "boot":
            self.booted = ev.get("status") == "Accepted"
        elif k == "tx":
            if ev.get("event") == "Started":
                S.txs += 1
            elif ev.get("event") == "Ended":
                S.txe += 1
        if _events_all[0] or k in _KEY:
            ev["s"] = self.ident
            print(json.dumps(ev))

    def log(self, msg):
        for text, kind in _FAILED:
            if text in msg:
                S.error(kind)
                print("%s: %s" % (self.ident, msg), file=sys.stderr)
                return

    async def net_wait(self):
        while not self._net:
            await asyncio.sleep_ms(_NET_MS)

    def run(self, app):
        """What SimBoard.run does before its loop: the station told what the hardware is; at
        once, in App.main: no task (the fleet's reader and meter tasks are the board's)."""
        if _calls[0]:
            app.st.rpc.fleet_id = self.ident
        self.booted = False
        self._start(app)
        self.show({"ev": "ready"})

    def feed(self, op):
        """One input line's op (a dict): a physical change to the interlock first, as the
        simulator's reader thread does, then to the station."""
        try:
            name = op["op"]
            evse = int(op.get("evse", 1))
            if name in _PHYSICAL and 1 <= evse <= self.evses:
                self._guard((name, evse, bool(op.get("ready", True))))
            if self._io is None:
                raise ValueError("station not running")
            self._op(self._app, name, op)
        except Exception as e:
            self.log("bad input %r: %r" % (op, e))

    def tick(self, now):
        """The meter (the fleet's meter task, every second): energy counted and read while a
        contactor is closed, and once more when the last opens; the register kept in the
        state directory when a contactor opens (SimBoard writes it at every Wh)."""
        on = False
        for c in self._closed:
            on = on or c
        if not on and not self._on:  # (nothing written: an idle station's dict stays as it is)
            return
        dt = ticks_diff(now, self._last) if self._on else _METER_MS  # energy since the last tick
        self._last = now
        for i in range(self.evses):
            self._mwh[i] += self._power(i) * dt // 3600
        if self._io is not None:
            self._readings(self._app)
        if self._on and not on:
            try:
                with open(self._state + _METER_FILE, "w") as f:
                    json.dump(self._mwh, f)
            except OSError:
                pass
        self._on = on


class Fleet:
    def __init__(self, o):
        self.o = o
        self.boards = []
        self.by_id = {}
        self.tasks = []
        self.taken = 0  # station numbers given out
        self.quit = False

    def _provision(self, ident, state):
        from runtime import config

        o = self.o
        store = Store(state)
        config.provision(store, dict(o["sets"]), o.get("csms"), ident, o.get("password"))
        if "ca" in o:
            with open(o["ca"]) as f:
                config.install_ca(store, f.read())
        if not config.provisioned(store):
            raise ValueError("no CSMS URL or station id provisioned for " + ident)

    def add(self, n):
        """n more stations, made and started at --ramp per second (by the caller's task); their
        numbers are taken at once (two adds ramping at the same time number on)."""
        k = self.o["first"] + self.taken
        self.taken += n
        return self._make(k, n)

    def _make(self, k, n):
        o = self.o
        for i in range(k, k + n):
            ident = o["ids"].format(i)
            state = o["dir"].rstrip("/") + "/" + ident
            self._provision(ident, state)
            b = FleetBoard(ident, o["evses"], state)
            self.boards.append(b)
            self.by_id[ident] = b
            yield b

    async def station(self, b):
        b.info["firmwareVersion"] = __version__
        while b.running:
            app = App(b, Store(b._state))
            try:
                why = await app.main()
            except Exception as e:
                print("%s: station failed: %r" % (b.ident, e), file=sys.stderr)
                S.error("crash")
                why = "reboot"
                await asyncio.sleep_ms(1000)
            b._io = b._app = None
            b.online = b.booted = False
            if why != "reboot":
                b.running = False

    async def start(self, n):
        ms = 1000 // self.o["ramp"] if self.o["ramp"] else 0
        for b in self.add(n):
            if self.quit:
                break
            self.tasks.append(asyncio.create_task(self.station(b)))
            if ms:
                await asyncio.sleep_ms(ms)

    async def meter(self):
        while not self.quit:
            await asyncio.sleep_ms(_METER_MS)
            now = ticks_ms()
            for b in self.boards:
                b.tick(now)

    def stats(self, lag):
        conn = boot = 0
        for b in self.boards:
            conn += b.online
            boot += b.booted
        print(json.dumps({"ev": "stats", "n": len(self.boards), "conn": conn, "boot": boot, "txs": S.txs,
                          "txe": S.txe, "sent": S.sent, "recv": S.recv, "err": S.err, "rtt": S.rtt,
                          "rtt_sum": S.rtt_sum, "rtt_max": S.rtt_max, "lag": lag, "heap": gc.mem_alloc()}))

    async def report(self, ms):
        """The counters every ms; lag: how much later than asked this task woke at worst (ms),
        the longest the loop was held meanwhile."""
        while not self.quit:
            lag = 0
            for _ in range(ms // 100):
                t = ticks_ms()
                await asyncio.sleep_ms(100)
                late = ticks_diff(ticks_ms(), t) - 100
                if late > lag:
                    lag = late
                if self.quit:
                    return
            self.stats(lag)

    async def inputs(self):
        r = asyncio.StreamReader(sys.stdin)
        while not self.quit:
            line = await r.readline()
            if not line:  # stdin closed: the stations run on without inputs
                return
            try:
                op = json.loads(line)
                s = op.get("s")
            except Exception:
                print("bad input %r" % line, file=sys.stderr)
                continue
            if s is not None:
                b = self.by_id.get(s)
                if b is None:
                    print("no station %r" % s, file=sys.stderr)
                else:
                    b.feed(op)
            elif op.get("op") == "add":
                self.tasks.append(asyncio.create_task(self.start(int(op["n"]))))
            elif op.get("op") == "mem":
                used = gc.mem_alloc()
                gc.collect()
                print(json.dumps({"ev": "mem", "n": len(self.boards), "used": used, "live": gc.mem_alloc(),
                                  "free": gc.mem_free(), "conn": sum(b.online for b in self.boards),
                                  "boot": sum(b.booted for b in self.boards)}))
            elif op.get("op") == "stats":
                self.stats(0)
            elif op.get("op") == "quit":
                self.quit = True
            else:
                print("bad input %r" % line, file=sys.stderr)

    async def main(self):
        asyncio.create_task(self.meter())
        asyncio.create_task(self.report(self.o["stats"]))
        reader = asyncio.create_task(self.inputs())
        await self.start(self.o["count"])
        while not self.quit:
            await asyncio.sleep_ms(100)
        _quitting[0] = True
        reader.cancel()
        for b in self.boards:  # each closes its connection (1001) and ends
            b.running = False
            if b._app is not None:
                b._app.stop("quit")
        for _ in range(100):
            if all(t.done() for t in self.tasks):
                break
            await asyncio.sleep_ms(50)
        self.stats(0)


def _args(argv):
    o = {"first": 0, "count": 1, "evses": 1, "ramp": 100, "stats": 1000, "events": "key"}
    o.update(_sim_args(argv))  # the simulator's options, --set among them
    for k in ("first", "count", "evses", "ramp", "stats"):
        o[k] = int(o[k])
    if "dir" not in o or "ids" not in o:
        raise ValueError("--dir and --ids")
    return o


def main():
    try:
        o = _args(sys.argv[1:])
    except (ValueError, KeyError):
        print(_USAGE, file=sys.stderr)
        sys.exit(2)
    ev = o["events"].split(",")
    _events_all[0] = "all" in ev
    if "calls" in ev:
        _calls[0] = True
        wrap(_session.Session, "_dispatch", _timed_dispatch)
        wrap(_session.Session, "reply", _timed_reply)
        wrap(_session.Session, "reply_error", _timed_reply_error)
    f = Fleet(o)
    asyncio.run(f.main())


if __name__ == "__main__":
    main()
