# boards/unix/simboard.py - simulated charging-station hardware for the MicroPython unix
# port. Inputs are JSON lines on stdin ({"op": ...}), fed to the station through hw/inputs.py
# as on the other boards; what a person would see on the hardware is printed as JSON lines on
# stdout; logs go to stderr. The simulated meter counts
# energy while the contactor is closed and the EV draws power (ev_power), and keeps its
# register in its own file, as a real meter keeps it over power cuts.
import asyncio
import json
import sys
import time
from asyncio import core
from time import ticks_diff, ticks_ms, ticks_us
from hw.inputs import Inputs
from ocpp_lite import __version__
from ocpp_lite.engine.clock import UNIX_2000

_OPS = ("plug", "unplug", "tap", "ev_power", "ev_ready", "net", "reboot", "quit", "mem")
_METER_MS = 1000
_WATCH_MS = 2  # --stalls: the watch task's period



def _line():
    """(awaited) The next line of stdin, "" at its end: asyncio.stream's way, without that
    module (a board has no stdin to read; the heap after boot is measured here)."""
    yield core._io_queue.queue_read(sys.stdin)
    return sys.stdin.readline()

class SimBoard:
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
        self._net = asyncio.Event()
        self._net.set()
        # hardware state survives a reboot of the firmware
        self._plugged = set()
        self._demand = [0] * evses  # W the EV would draw
        self._idle = set()  # EVSEs whose EV does not ask for energy (control pilot B)
        self._io = None  # hw.inputs.Inputs of the running App (set by run)
        self._closed = [False] * evses  # contactors
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

    def relay(self, evse, closed):
        self._closed[evse - 1] = closed
        self.show({"ev": "relay", "evse": evse, "closed": closed})

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
        await self._net.wait()

    # --- the meter ---------------------------------------------------------------------
    def _power(self, i):
        return self._demand[i] if self._closed[i] and i + 1 not in self._idle else 0

    async def _meter(self, app):
        last = ticks_ms()
        while True:
            await asyncio.sleep_ms(_METER_MS)
            now = ticks_ms()
            dt = ticks_diff(now, last)
            last = now
            old = list(self._mwh)
            for i in range(self.evses):
                self._mwh[i] += self._power(i) * dt // 3600  # W * ms / 3600 = mWh
            if [x // 1000 for x in old] != [x // 1000 for x in self._mwh]:
                with open(self._meter_file, "w") as f:  # the register first, then the reading
                    json.dump(self._mwh, f)
            self._readings(app)

    def _readings(self, app):
        for i in range(self.evses):
            w = self._power(i)
            self._io.meter(i + 1, self._mwh[i] // 1000, w, v=230, a=w // 690 if w else 0)

    # --- inputs ------------------------------------------------------------------------
    async def run(self, app):
        self._io = io = Inputs(app)
        for evse in self._plugged:
            io.plug(evse)
        self._readings(app)
        asyncio.create_task(self._meter(app))
        if self.stalls is not None:
            asyncio.create_task(self._watch())
        self.show({"ev": "ready"})
        while True:
            line = await _line()
            if not line:  # stdin closed: keep running without inputs
                await asyncio.Event().wait()
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

    def _mem(self, app):
        """The footprint probe (tools/footprint/cli.py): heap in use before and after a full
        collection, and the store's flash writes since start."""
        import gc

        used = gc.mem_alloc()
        gc.collect()
        ev = {"ev": "mem", "used": used, "live": gc.mem_alloc(), "free": gc.mem_free(), "writes": app.store.writes}
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
        if name == "plug":
            self._plugged.add(evse)
            io.plug(evse)
        elif name == "unplug":
            self._plugged.discard(evse)
            self._demand[evse - 1] = 0
            io.unplug(evse)
            if evse in self._idle:  # the next EV asks for energy until told otherwise
                self._idle.discard(evse)
                io.ev_ready(evse, True)
        elif name == "tap":
            io.tap(str(op["idToken"]), op.get("type", "ISO14443"))
        elif name == "ev_power":
            self._demand[evse - 1] = int(op["w"])
            self._readings(app)
        elif name == "ev_ready":  # the control pilot: C/D (the EV asks for energy) or B (it draws nothing)
            (self._idle.discard if op["ready"] else self._idle.add)(evse)
            io.ev_ready(evse, bool(op["ready"]))
            self._readings(app)
        elif name == "net":
            if op["up"]:
                self._net.set()
            else:
                self._net.clear()
                app.link.drop()
            self.show({"ev": "net", "up": bool(op["up"])})
        elif name == "reboot":
            app.stop("reboot", "LocalReset")
        elif name == "quit":
            app.stop("quit")
        elif name == "mem":  # the footprint tool's probe (docs/footprint.md)
            self._mem(app)
