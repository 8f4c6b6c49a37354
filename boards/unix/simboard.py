# boards/unix/simboard.py - simulated charging-station hardware for the MicroPython unix
# port. Inputs are JSON lines on stdin ({"op": ...}), fed to the station through hw/inputs.py
# as on the other boards; what a person would see on the hardware is printed as JSON lines on
# stdout; logs go to stderr. The simulated meter counts
# energy while the contactor is closed and the EV draws power (ev_power), and keeps its
# register in its own file, as a real meter keeps it over power cuts.
#
# The interlock, as on the boards (docs/boards.md "The interlock"), does not wait for the
# asyncio loop: stdin is the world outside the station, read by a thread as it happens; a
# cable or a control-pilot change goes to the interlock at once (micropython.schedule: it runs
# between two bytecodes of whatever the loop is doing), which opens the contactor when the EV
# stops asking for energy. The contactor closes only while the station allows it and the EV
# asks (state C). The loop then tells the station, as the boards' hardware loop does.
import _thread
import asyncio
import json
import micropython
import sys
import time
from time import ticks_diff, ticks_ms, ticks_us
from micropython import const
from hw.inputs import Inputs
from ocpp_lite import __version__
from ocpp_lite.engine.clock import UNIX_2000

_OPS = const(("plug", "unplug", "tap", "ev_power", "ev_ready", "net", "reboot", "quit", "mem", "busy"))
_PHYSICAL = const(("plug", "unplug", "ev_ready"))  # what the hardware sees before the station does
_METER_MS = const(1000)
_WATCH_MS = const(2)  # --stalls: the watch task's period
_POLL_MS = const(20)  # the loop takes the lines the reader thread queued
_LINES = const(32)  # lines queued for the loop at most: beyond, the reader waits (as a pipe would)
_wrapped = ()  # (class, name) of the methods wrap() has replaced (a tuple: nothing in the heap unused)


def wrap(cls, name, fn):
    """Replace the method cls.name by fn(method, self, *args), method being the one replaced:
    how the simulator's boards (--frames here, fleet.py's timings) learn what the station does
    without the firmware's help; a station carries nothing for it. Only for options the
    footprint's runs do not use (the 32-bit port keeps the frozen modules' class dicts in ROM).
    Once per class and name: a reboot onto the same code wraps nothing twice."""
    global _wrapped
    for c, n in _wrapped:
        if c is cls and n == name:
            return
    _wrapped += ((cls, name),)
    m = getattr(cls, name)
    setattr(cls, name, lambda self, *a: fn(m, self, *a))


class SimBoard:
    frames = False  # --frames: every OCPP message both ways as an event (tap_frames)

    def __init__(self, evses, serial, state, flash=None):
        """flash: bytes of simulated flash for firmware downloads (None: the host's free space)."""
        self.evses = evses
        self.info = {
            "model": "OCPP2.Lite-Sim",
            "vendorName": "OCPP2.Lite",
            "serialNumber": serial[:25],
            "firmwareVersion": __version__,
        }
        # 16 A 3-phase socket with a cable lock
        self.hw = {"phases": 3, "power_max": 11000, "amps": 16, "connector": "sType2", "unlock": self.unlock}
        self._net = True  # the simulated network is up (op net)
        # hardware state survives a reboot of the firmware
        self._plugged = set()
        self._demand = [0] * evses  # W the EV would draw
        self._idle = set()  # EVSEs whose EV does not ask for energy (control pilot B)
        self._io = None  # hw.inputs.Inputs of the running App (set by run)
        self._app = None  # the running App (set by run)
        self._closed = [False] * evses  # contactors
        self._allowed = [False] * evses  # the station's relay(evse, closed)
        self._told_idle = set()  # EVSEs the station was told their EV draws nothing
        # stdin lines for the loop: a ring the reader thread writes (_w) and the loop reads
        # (_r), counted modulo 2 * _LINES, each counter moved by one side only; one size always
        self._lines = [None] * _LINES
        self._r = self._w = 0
        self._reading = False  # the reader thread runs (it outlives reboots of the firmware)
        self._stop = False
        self._guard_cb = self._guard  # bound once
        self._meter_file = state.rstrip("/") + "/sim-meter.json"
        self._state = state
        self._flash = flash
        self._installer = None
        self.stalls = None  # --stalls: the longest event-loop stall (us) since the last probe
        try:
            with open(self._meter_file) as f:
                self._mwh = json.load(f)  # energy registers in mWh
        except (OSError, ValueError):
            self._mwh = [0] * evses
        self._mwh = (self._mwh + [0] * evses)[:evses]

    @property
    def installer(self):
        """Firmware updates: application bundles (runtime/bundle.py), loaded when needed."""
        if self._installer is None:
            from runtime.bundle import Bundles

            self._installer = Bundles(self._state, self._flash)
        return self._installer

    # --- outputs -----------------------------------------------------------------------
    def show(self, ev):
        print(json.dumps(ev))
        if ev.get("state") == "connected" and ev["ev"] == "ws":
            self._whole()

    def _whole(self):
        """The whole state, after a connection and at start (a consumer of the events starts
        from it): the station's snapshot with each EVSE's cable, contactor and energy register."""
        app = self._app
        if app is None or app.st is None:
            return
        ev = app.st.snapshot()
        for e in ev["evses"]:
            i = e["evse"] - 1
            e["plugged"] = e["evse"] in self._plugged
            e["closed"] = self._closed[i]
            e["wh"] = self._mwh[i] // 1000
            e["w"] = self._power(i)
        print(json.dumps(ev))

    def relay(self, evse, closed):
        """The station allows the contactor to close, or opens it (at once, from any side)."""
        self._allowed[evse - 1] = closed
        self._interlock(evse, True)

    def _interlock(self, evse, told=False):
        """The contactor closed only while the station allows it and the EV is plugged in and
        asks for energy (state C); shown when it moves, or when the station told it (told)."""
        i = evse - 1
        closed = self._allowed[i] and evse in self._plugged and evse not in self._idle
        moved = closed != self._closed[i]
        if told or moved:
            self._closed[i] = closed
            ev = {"ev": "relay", "evse": evse, "closed": closed}
            if not told:
                ev["by"] = "interlock"
            self.show(ev)
        if moved and self._demand[i]:  # the power flowing moved
            self._metered(i)

    def _guard(self, change):
        """The interlock, scheduled by the reader thread: (op, evse, ready) of a cable or
        control-pilot change, seen by the hardware now (the station learns of it in the loop)."""
        name, evse, ready = change
        if name != "ev_ready" and (evse in self._plugged) != (name == "plug"):  # the cable moved
            self.show({"ev": "cable", "evse": evse, "plugged": name == "plug"})
        if name == "plug":
            self._plugged.add(evse)
        elif name == "unplug":
            self._plugged.discard(evse)
            self._idle.discard(evse)  # the next EV asks for energy until told otherwise
        else:
            (self._idle.discard if ready else self._idle.add)(evse)
        self._interlock(evse)

    def _read(self):
        """The reader thread: each stdin line, a physical change first to the interlock, then
        queued for the loop; "" at the end of stdin. It polls, so that close() can end it: a
        thread still blocked in a read when the process exits is cancelled, which aborts the
        32-bit port."""
        import select

        p = select.poll()
        p.register(sys.stdin, select.POLLIN)
        while not self._stop:
            if not p.poll(_POLL_MS):
                continue
            line = sys.stdin.readline()
            try:
                op = json.loads(line)
                change = (op["op"], int(op.get("evse", 1)), bool(op.get("ready", True)))
            except Exception:  # the loop says what is wrong with it
                change = None
            if change and change[0] in _PHYSICAL and 1 <= change[1] <= self.evses:
                while True:
                    try:
                        micropython.schedule(self._guard_cb, change)
                        break
                    except RuntimeError:  # the schedule queue is full: an instant later
                        time.sleep_ms(1)
            while (self._w - self._r) % (2 * _LINES) >= _LINES and not self._stop:
                time.sleep_ms(_POLL_MS)
            if self._stop:  # (the loop has quit: nothing takes lines any more)
                break
            self._lines[self._w % _LINES] = line
            self._w = (self._w + 1) % (2 * _LINES)
            if not line:
                break
        self._reading = False

    def close(self):
        """End the reader thread (before the process exits)."""
        self._stop = True
        while self._reading:
            time.sleep_ms(_POLL_MS)

    def limit(self, evse, amps):
        """The current offered on the control pilot (smart charging); None: the EVSE's rating."""
        self.show({"ev": "limit", "evse": evse, "amps": amps})

    def unlock(self, evse):
        """The cable lock of the socket: opens on request (UnlockConnector)."""
        self.show({"ev": "unlock", "evse": evse})
        return True

    def log(self, msg):
        print(msg, file=sys.stderr)

    def wall(self):
        """RTC in seconds since 2000 (the host clock)."""
        return int(time.time()) - UNIX_2000

    def set_wall(self, s):
        pass  # the host clock is not ours to set; the station keeps its own offset

    async def net_wait(self):
        while not self._net:
            await asyncio.sleep_ms(_POLL_MS)

    # --- the meter ---------------------------------------------------------------------
    def _power(self, i):
        return self._demand[i] if self._closed[i] else 0

    def _meter(self, app, last):
        """The energy registers advanced by the power since last (ticks), once _METER_MS have
        passed (the input task calls it between its looks at the input lines); returns the
        ticks of the last advance."""
        now = ticks_ms()
        dt = ticks_diff(now, last)
        if dt >= _METER_MS:
            last = now
            old = list(self._mwh)
            for i in range(self.evses):
                self._mwh[i] += self._power(i) * dt // 3600  # W * ms / 3600 = mWh
            if [x // 1000 for x in old] != [x // 1000 for x in self._mwh]:
                with open(self._meter_file, "w") as f:  # the register first, then the reading
                    json.dump(self._mwh, f)
                for i in range(self.evses):
                    if old[i] // 1000 != self._mwh[i] // 1000:
                        self._metered(i)
            self._readings(app)
        return last

    def _metered(self, i):
        """{"ev":"meter"}: EVSE i's power flowing and energy register, when either moved (the
        power when the contactor or the EV's demand moves it, the register at the meter's pace):
        told as it happens, so nothing is kept to compare."""
        self.show({"ev": "meter", "evse": i + 1, "w": self._power(i), "wh": self._mwh[i] // 1000})

    def _readings(self, app):
        for i in range(self.evses):
            w = self._power(i)
            self._io.meter(i + 1, self._mwh[i] // 1000, w, v=230, a=w // 690 if w else 0)

    # --- inputs ------------------------------------------------------------------------
    def _start(self, app):
        """A new station instance (start, reboot) knows nothing: it is told what the hardware
        is (cables, control pilots, meters)."""
        self._io = io = Inputs(app)
        self._app = app
        self._told_idle = set()
        for evse in self._plugged:
            io.plug(evse)
            if evse in self._idle:
                self._told_idle.add(evse)
                io.ev_ready(evse, False)
        self._readings(app)

    # --- --frames: the OCPP messages both ways -----------------------------------------------
    def tap_frames(self):
        """Every OCPP message as the station's WebSocket wrote it ("out") or read it ("in"),
        shown as {"ev":"frame","dir":...,"text":...}: whatever the transport (ws://, wss://,
        compressed), the frames are the station's own. Its WebSocket class is wrapped (wrap()),
        that of the code running now (a firmware update brings another)."""
        from runtime.ws import WebSocket

        wrap(WebSocket, "send", self._sent)
        wrap(WebSocket, "recv", self._received)

    async def _sent(self, send, w, text):
        t = "".join(text) if type(text) is list else text  # (before: the compressor empties the list)
        await send(w, text)
        self.show({"ev": "frame", "dir": "out", "text": t})  # written out: not one the link lost

    async def _received(self, recv, w):
        m = await recv(w)
        if m is None:  # a ping or a pong
            return m
        try:
            t = str(m[0], "utf-8")
        except UnicodeError:  # (the station takes it as it is, and answers it)
            t = repr(bytes(m[0]))
        ev = {"ev": "frame", "dir": "in", "text": t}
        if w.over:  # over MaxMessageBytes: its head, and its size
            ev["over"] = w.over
        self.show(ev)
        return m

    async def run(self, app):
        if self.frames:
            self.tap_frames()
        self._start(app)
        last = ticks_ms()  # of the meter's last advance
        if self.stalls is not None:
            asyncio.create_task(self._watch())
        self.show({"ev": "ready"})
        self._whole()
        if not self._reading:
            self._reading = True
            _thread.start_new_thread(self._read, ())
        while True:
            while self._r == self._w:
                await asyncio.sleep_ms(_POLL_MS)
                last = self._meter(app, last)
            i = self._r % _LINES
            line = self._lines[i]
            self._lines[i] = None
            self._r = (self._r + 1) % (2 * _LINES)
            if not line:  # stdin closed: keep running without inputs
                while True:
                    await asyncio.sleep_ms(_METER_MS)
                    last = self._meter(app, last)
            try:
                op = json.loads(line)
                self._op(app, op["op"], op)
            except Exception as e:
                self.log("bad input %r: %r" % (line, e))

    async def _watch(self):
        """--stalls (tools.footprint stalls): how much later than asked this task comes
        back, the longest since the last probe (us): the longest time the loop was held."""
        t = ticks_us()
        while True:
            await asyncio.sleep_ms(_WATCH_MS)
            now = ticks_us()
            late = ticks_diff(now, t) - _WATCH_MS * 1000
            if late > self.stalls:
                self.stalls = late
            t = now

    def _mem(self, app, map=False):
        """The footprint probe (tools/footprint/cli.py): heap in use before and after a full
        collection, and the store's flash writes since start; with map, the heap's block map
        (micropython.mem_info(1), on stdout before the event) and the modules loaded, for
        tools/footprint/census.py."""
        import gc

        used = gc.mem_alloc()
        gc.collect()
        ev = {"ev": "mem", "used": used, "live": gc.mem_alloc(), "free": gc.mem_free(), "writes": app.store.writes}
        if map:
            import micropython

            micropython.mem_info(1)
            ev["modules"] = sorted(sys.modules)
        if self.stalls is not None:
            ev["stall"] = self.stalls
            self.stalls = 0
        self.show(ev)

    def _op(self, app, name, op):
        io = self._io
        if name not in _OPS:
            raise ValueError("unknown op")
        evse = op.get("evse", 1)
        if name in ("plug", "unplug", "ev_power", "ev_ready") and not 1 <= evse <= self.evses:
            raise ValueError("no such evse")
        if name == "plug":  # (the interlock has seen it: _guard)
            io.plug(evse)
        elif name == "unplug":
            self._demand[evse - 1] = 0
            io.unplug(evse)
            if evse in self._told_idle:  # the next EV asks for energy until told otherwise
                self._told_idle.discard(evse)
                io.ev_ready(evse, True)
        elif name == "tap":
            io.tap(str(op["idToken"]), op.get("type", "ISO14443"))
        elif name == "ev_power":
            w = self._power(evse - 1)
            self._demand[evse - 1] = int(op["w"])
            if self._power(evse - 1) != w:
                self._metered(evse - 1)
            self._readings(app)
        elif name == "ev_ready":  # the control pilot: C/D (the EV asks for energy) or B (it draws nothing)
            (self._told_idle.discard if op["ready"] else self._told_idle.add)(evse)
            io.ev_ready(evse, bool(op["ready"]))
            self._readings(app)
        elif name == "busy":  # hold the loop for ms, as a slow handler would: the interlock goes on
            ms = int(op["ms"])
            self.show({"ev": "busy", "ms": ms, "done": False})
            t = ticks_ms()
            while ticks_diff(ticks_ms(), t) < ms:
                pass
            self.show({"ev": "busy", "ms": ms, "done": True})
        elif name == "net":
            self._net = bool(op["up"])
            if not self._net:
                app.link.drop()
            self.show({"ev": "net", "up": bool(op["up"])})
        elif name == "reboot":
            app.stop("reboot", "LocalReset")
        elif name == "quit":
            app.stop("quit")
        elif name == "mem":  # the footprint tool's probe (docs/footprint.md)
            self._mem(app, op.get("map"))
