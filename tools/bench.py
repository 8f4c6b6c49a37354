"""tools/bench.py - the same stream of CSMS requests sent to two stations, one at a time over
ws:// on 127.0.0.1 through the counting relay: OCPP2.Lite on the MicroPython unix port (the lite
profile's ROMFS image) and a station built on the `ocpp` package on CPython (this file, run as
`python -m tools.bench --ocpp-station URL`). Prints requests per second and bytes on the wire for each, and
the ratio. A benchmark, not a test: the numbers depend on the machine and its load.

    .venv/bin/python -m tools.bench [--rounds N]
"""

import argparse
import asyncio
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

from tools import csms as csms_mod
from tools.footprint import rom
from tools.footprint import session as fs
from tools.footprint.wire import Relay

ROOT = pathlib.Path(__file__).resolve().parent.parent

HEARTBEAT_INTERVAL = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
STREAM = (
    ("GetVariables", {"getVariableData": [HEARTBEAT_INTERVAL]}),
    ("DataTransfer", {"vendorId": "bench"}),
    ("ClearCache", {}),
)


# --- the station on the `ocpp` package ---------------------------------------------------
async def ocpp_station(url, compression):
    """Answers the stream as OCPP2.Lite does (same payloads), after a BootNotification."""
    import websockets
    from ocpp.routing import on
    from ocpp.v201 import ChargePoint, call, call_result

    class Station(ChargePoint):
        @on("GetVariables")
        def get_variables(self, get_variable_data, **_):
            return call_result.GetVariables(get_variable_result=[dict(
                HEARTBEAT_INTERVAL, attribute_value="300", attribute_status="Accepted")])

        @on("DataTransfer")
        def data_transfer(self, **_):
            return call_result.DataTransfer(status="UnknownVendorId")

        @on("ClearCache")
        def clear_cache(self, **_):
            return call_result.ClearCache(status="Rejected")

    async with websockets.connect(url + "/PY001", subprotocols=["ocpp2.0.1"],
                                  compression="deflate" if compression else None) as ws:
        st = Station("PY001", ws)
        task = asyncio.create_task(st.start())
        await st.call(call.BootNotification(
            charging_station={"model": "ocpp-bench", "vendor_name": "OCPP2.Lite"}, reason="PowerUp"))
        print(json.dumps({"ev": "boot", "status": "Accepted"}), flush=True)
        await task


# --- the CSMS side -----------------------------------------------------------------------
class Bench:
    def __init__(self):
        self.csms = csms_mod.Csms(log=self._frame)
        self.mid = None
        self.reply = None

    def _frame(self, f):
        if f.direction == "in" and f.kind in (3, 4) and f.id == self.mid and not self.reply.done():
            self.reply.set_result(f)

    async def stream(self, station, rounds):
        """Send the stream; seconds it took."""
        loop = asyncio.get_running_loop()
        t = time.perf_counter()
        for i in range(rounds):
            for j, (action, payload) in enumerate(STREAM):
                self.mid = "b-%d-%d" % (i, j)
                self.reply = loop.create_future()
                await self.csms.send_raw(station, json.dumps([2, self.mid, action, payload]), self.mid)
                f = await asyncio.wait_for(self.reply, 10)
                if f.kind != 3:
                    raise RuntimeError("%s: %s" % (station, f.text))
        return time.perf_counter() - t


async def run_one(bench, cmd, station, rounds):
    relay = await Relay(bench.csms.port, False).start()
    url = "ws://127.0.0.1:%d/ocpp" % relay.port
    p = await asyncio.create_subprocess_exec(*cmd(url), stdin=asyncio.subprocess.PIPE, cwd=ROOT,
                                             stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        while b'"boot"' not in await asyncio.wait_for(p.stdout.readline(), 20):
            pass
        await asyncio.sleep(0.3)  # let the boot's other messages pass
        before = _wire(relay)
        secs = await bench.stream(station, rounds)
        after = _wire(relay)
    finally:
        p.kill()
        await p.wait()
        await relay.stop()
    heads = b"".join(d.head or b"" for _, d in relay.conns).lower()
    return {"requests": rounds * len(STREAM), "seconds": secs, "bytes": after - before,
            "deflate": b"permessage-deflate" in heads}


def _wire(relay):
    return sum(u.total() + d.total() for u, d in relay.conns)


async def main(rounds):
    import ocpp.v201

    _, _, image = rom.build("lite", ROOT / "build" / "bench")
    bench = Bench()
    await bench.csms.start()
    rows = []
    for bits in (0, 10):  # DeflateWindowBits: permessage-deflate off, on with 1 kB windows
        state = ROOT / "build" / "bench" / ("state-deflate%d" % bits)
        rows.append(("OCPP2.Lite, MicroPython %s unix port, lite" % _mp_version(), await run_one(
            bench, lambda url: [fs.MICROPYTHON, str(ROOT / "boards" / "unix" / "main.py"), "--romfs", str(image),
                                "--state", str(state), "--csms", url, "--id", "CS001",
                                "--set", "DeflateWindowBits=%d" % bits], "CS001", rounds)))
    for deflate in (False, True):
        rows.append(("ocpp package station, CPython %s" % platform.python_version(), await run_one(
            bench, lambda url: [sys.executable, "-m", "tools.bench", "--ocpp-station", url] + (["--deflate"] if deflate else []),
            "PY001", rounds)))
    await bench.csms.stop()
    print("%d CSMS requests (%s, %d rounds), one at a time, ws:// on 127.0.0.1 (%s, %d cores)" % (
        rounds * len(STREAM), ", ".join(a for a, _ in STREAM), rounds, platform.machine(), os.cpu_count()))
    print("%-48s %12s %14s %12s" % ("station", "requests/s", "bytes/request", "compression"))
    for name, r in rows:
        print("%-48s %12.0f %14.1f %12s" % (name, r["requests"] / r["seconds"], r["bytes"] / r["requests"],
                                            "deflate" if r["deflate"] else "none"))
    for ours, r in zip(rows[:2], rows[2:]):  # like against like: without compression, with it
        ours, r = ours[1], r[1]
        print("%-48s %12.2f %14.2f %12s" % ("ratio OCPP2.Lite / ocpp", r["seconds"] / ours["seconds"],
                                            ours["bytes"] / r["bytes"], "deflate" if r["deflate"] else "none"))


def _mp_version():
    return subprocess.run([fs.MICROPYTHON, "-c", "import sys; print('%d.%d.%d' % sys.implementation.version[:3])"],
                          capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--ocpp-station", help=argparse.SUPPRESS)  # run the station on `ocpp`
    ap.add_argument("--deflate", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.ocpp_station:
        try:
            asyncio.run(ocpp_station(a.ocpp_station, a.deflate))
        except Exception:
            pass
    else:
        asyncio.run(main(a.rounds))
