# boards/unix/simboard.py - simulated charging-station hardware for the MicroPython unix
# port. Inputs are JSON lines on stdin ({"op": ...}); what a person would see on the
# hardware is printed as JSON lines on stdout; logs go to stderr.
import asyncio
import json
import sys
import time
from ocpp_lite import __version__
from ocpp_lite.clock import UNIX_2000

_OPS = ("plug", "unplug", "tap", "ev_power", "net", "reboot", "quit", "mem")


class SimBoard:
    def __init__(self, evses, serial):
        self.evses = evses
        self.info = {
            "model": "OCPP2.Lite-Sim",
            "vendorName": "OCPP2.Lite",
            "serialNumber": serial[:25],
            "firmwareVersion": __version__,
        }
        self.hw = {"phases": 3, "power_max": 11000, "connector": "sType2"}  # 16 A 3-phase socket
        self._net = asyncio.Event()
        self._net.set()
        self._plugged = set()  # hardware state survives a reboot of the firmware

    # --- outputs -----------------------------------------------------------------------
    def show(self, ev):
        print(json.dumps(ev))

    def relay(self, evse, closed):
        self.show({"ev": "relay", "evse": evse, "closed": closed})

    def log(self, msg):
        print(msg, file=sys.stderr)

    def wall(self):
        """RTC in seconds since 2000 (the host clock)."""
        return int(time.time()) - UNIX_2000

    def set_wall(self, s):
        pass  # the host clock is not ours to set; the station keeps its own offset

    async def net_wait(self):
        await self._net.wait()

    # --- inputs ------------------------------------------------------------------------
    async def run(self, app):
        for evse in self._plugged:
            app.hw(app.st.plug, evse)
        self.show({"ev": "ready"})
        rd = asyncio.StreamReader(sys.stdin)
        while True:
            line = await rd.readline()
            if not line:  # stdin closed: keep running without inputs
                return
            try:
                op = json.loads(line)
                self._op(app, op["op"], op)
            except Exception as e:
                self.log("bad input %r: %r" % (line, e))

    def _mem(self, app):
        """The footprint probe (tools/footprint.py): heap in use before and after a full
        collection, and the store's flash writes since start."""
        import gc

        used = gc.mem_alloc()
        gc.collect()
        self.show({"ev": "mem", "used": used, "live": gc.mem_alloc(), "free": gc.mem_free(), "writes": app.store.writes})

    def _op(self, app, name, op):
        st = app.st
        if name not in _OPS:
            raise ValueError("unknown op")
        evse = op.get("evse", 1)
        if name in ("plug", "unplug", "ev_power") and not 1 <= evse <= self.evses:
            raise ValueError("no such evse")
        if name == "plug":
            self._plugged.add(evse)
            app.hw(st.plug, evse)
        elif name == "unplug":
            self._plugged.discard(evse)
            app.hw(st.unplug, evse)
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
        elif name == "mem":
            self._mem(app)
        else:
            self.log("op %s is not acted on by this build" % name)
