"""tools/bench.py - the same stream of CSMS requests sent to two stations, one at a time over
ws:// on 127.0.0.1 through the counting relay: OCPP2.Lite on the MicroPython unix port (the lite
profile's ROMFS image) and a station built on the `ocpp` package on CPython (this file, run as
`python -m tools.bench --ocpp-station URL`). Prints requests per second and bytes on the wire for each, and
the ratio. A benchmark, not a test: the numbers depend on the machine and its load.
The bill table has OCPP2.Lite with permessage-deflate twice: on the PyPI unix port (its deflate
module cannot compress: runtime/wsdeflate.py's compressor in MicroPython) and on the 32-bit port
(tools/mp32.py, lite frozen in; wss:// with the boards' TLS configuration), whose deflate module
has boards/common/deflate-takeover.patch as the boards' firmware has: what a board bills.

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
import tempfile
import time
import uuid

from tools import csms as csms_mod
from tools.footprint import bill, cli, rom
from tools.footprint.bill import HEARTBEAT_S, IDLE_S, OUR_PING_S, SCALE, idle_day, our_idle
from tools.footprint import session as fs
from tools.footprint.wire import Relay

ROOT = pathlib.Path(__file__).resolve().parent.parent

DEFLATE_BITS = 11  # DeflateWindowBits of the rows with permessage-deflate (docs/behaviour.md)
OURS32 = "OCPP2.Lite, boards' firmware (32-bit port)"  # the bill's row of the 32-bit port (C deflate)
HEARTBEAT_INTERVAL = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
STREAM = (
    ("GetVariables", {"getVariableData": [HEARTBEAT_INTERVAL]}),
    ("DataTransfer", {"vendorId": "bench"}),
    ("ClearCache", {}),
)


# --- the station on the `ocpp` package ---------------------------------------------------
async def ocpp_station(url, compression, heartbeat=None, ping=None, ca=None):
    """Answers the stream as OCPP2.Lite does (same payloads), after a BootNotification; with
    heartbeat (s), sends a Heartbeat that often, as a station would at the interval its boot
    answer gives; ping (s): websockets' ping interval and timeout (default: its own, 20 s)."""
    import ssl

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

    kw = {"ping_interval": ping, "ping_timeout": ping} if ping else {}
    if ca:
        kw["ssl"] = ssl.create_default_context(cafile=ca)
    async with websockets.connect(url + "/PY001", subprotocols=["ocpp2.0.1"],
                                  compression="deflate" if compression else None, **kw) as ws:
        st = Station("PY001", ws)
        task = asyncio.create_task(st.start())
        await st.call(call.BootNotification(
            charging_station={"model": "ocpp-bench", "vendor_name": "OCPP2.Lite"}, reason="PowerUp"))
        print(json.dumps({"ev": "boot", "status": "Accepted"}), flush=True)
        while heartbeat:
            await asyncio.sleep(heartbeat)
            await st.call(call.Heartbeat())
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


async def main(rounds, only):
    _, _, image = rom.build("lite", ROOT / "build" / "bench")
    if only != "speed":
        rows = await bills(image)
        print_bills(rows)
        (ROOT / "build" / "bench" / "bill.json").write_text(json.dumps(rows, indent=1))
    if only is None:
        print()
    if only != "bill":
        await speed(image, rounds)


async def speed(image, rounds):
    bench = Bench()
    await bench.csms.start()
    rows = []
    for bits in (0, DEFLATE_BITS):  # DeflateWindowBits: permessage-deflate off, on
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


# --- the bill: what a SIM card bills (tools/footprint/bill.py) ----------------------------
PEER_PING_S = 20  # websockets' ping_interval default (a ping that often)


async def our_session(image, pki, bits, exe=None):
    """The reference session (tools/footprint/session.py) of our station (ROMFS image, or the
    code frozen into exe); its relay."""
    s = fs.Session(image, tls=pki, exe=exe, extra=["--set", "DeflateWindowBits=%d" % bits])
    res = await s.run()
    if res.get("violations"):
        raise RuntimeError("schema violations: %s" % res["violations"][:3])
    return s.relay


def _peer_texts(relay):
    """Per connection of our station's ws:// session: its messages as (seconds from the first,
    "up"/"down", text), as the `ocpp` package would write them (compact JSON, its CALLs with
    uuid4 ids, which the CSMS's answers carry)."""
    out = []
    for up, down in relay.conns:
        ms = sorted([(m["t0"], "up", m["text"]) for m in up.msgs] + [(m["t0"], "down", m["text"]) for m in down.msgs])
        ids = {}
        conn = []
        for t, d, text in ms:
            msg = json.loads(text)
            if msg[0] == 2 and d == "up":
                msg[1] = ids[msg[1]] = str(uuid.uuid4())
            elif msg[0] in (3, 4) and d == "down":
                msg[1] = ids.get(msg[1], msg[1])
            conn.append((t - ms[0][0], d, json.dumps(msg, separators=(",", ":"))))
        out.append(conn)
    return out


async def peer_session(texts, pki, compression):
    """The same messages through the `ocpp` package's transport: a websockets client with its
    defaults (compression=\"deflate\" or None) and a websockets server as tools/csms.py runs it,
    each message sent at its time in our session, one connection per connection of ours;
    their relay."""
    import ssl

    import websockets
    from websockets.asyncio.server import serve

    inbox = asyncio.Queue()
    server = await serve(lambda ws: _csms_side(ws, inbox), "127.0.0.1", 0, subprotocols=["ocpp2.0.1"],
                         compression="deflate" if compression else None, ssl=pki["server_ssl"] if pki else None,
                         ping_interval=None, max_size=2 ** 20)
    port = server.sockets[0].getsockname()[1]
    relay = await Relay(port, bool(pki)).start()
    url = ("wss://localhost:%d/ocpp/PY001" if pki else "ws://127.0.0.1:%d/ocpp/PY001") % relay.port
    kw = {"ssl": ssl.create_default_context(cafile=str(pki["ca_pem"]))} if pki else {}
    try:
        for conn in texts:
            async with websockets.connect(url, subprotocols=["ocpp2.0.1"],
                                          compression="deflate" if compression else None, **kw) as ws:
                csms = await asyncio.wait_for(inbox.get(), 10)
                t0 = time.monotonic()
                for t, d, text in conn:
                    await asyncio.sleep(max(0, t0 + t - time.monotonic()))
                    a, b = (ws, csms[0]) if d == "up" else (csms[0], ws)
                    await a.send(text)
                    if await asyncio.wait_for(b.recv(), 10) != text:
                        raise RuntimeError("replay: a message changed on the way")
                csms[1].set_result(None)
    finally:
        await relay.stop()
        server.close()
        await server.wait_closed()
    return relay


async def _csms_side(ws, inbox):
    done = asyncio.get_running_loop().create_future()
    await inbox.put((ws, done))
    await done


async def peer_idle(pki, compression):
    """The `ocpp`-package station booted (on the CSMS of tools/csms.py), then its idle link:
    (relay, since, until), as our_idle."""
    c = csms_mod.Csms(ssl=pki["server_ssl"] if pki else None)
    await c.start()
    relay = await Relay(c.port, bool(pki)).start()
    url = ("wss://localhost:%d/ocpp" if pki else "ws://127.0.0.1:%d/ocpp") % relay.port
    cmd = [sys.executable, "-m", "tools.bench", "--ocpp-station", url, "--heartbeat", str(HEARTBEAT_S / SCALE),
           "--ping", str(PEER_PING_S / SCALE)] + (["--deflate"] if compression else []) + (
        ["--ca", str(pki["ca_pem"])] if pki else [])
    p = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                             stderr=asyncio.subprocess.DEVNULL)
    try:
        while b'"boot"' not in await asyncio.wait_for(p.stdout.readline(), 20):
            pass
        await asyncio.sleep(0.5)
        since = time.monotonic()
        await asyncio.sleep(IDLE_S)
        until = time.monotonic()
    finally:
        p.kill()
        await p.wait()
        await relay.stop()
        await c.stop()
    return relay, since, until


async def bills(image):
    """The bill table: reference session and idle day, ws:// and wss://, our station and the
    `ocpp`-package peer, each without and with permessage-deflate. Rows of (station, compression,
    {"session_ws": bill, "session_wss": ..., "idle_ws": ..., "idle_wss": ...})."""
    from tools import mp32

    try:  # the boards' path: ws:// on the plain build, wss:// on the boards' TLS configuration
        exes = (str(mp32.build("lite")), str(mp32.build("lite", "boards")))
    except mp32.Unavailable as e:
        print("no row of the 32-bit port: %s" % e, file=sys.stderr)
        exes = None
    with tempfile.TemporaryDirectory() as d:
        pki = cli.make_pki(pathlib.Path(d))
        idle = [our_idle(image, t, b) for b in (0, DEFLATE_BITS) for t in (None, pki)]
        if exes:
            idle += [our_idle(None, t, DEFLATE_BITS, x) for t, x in zip((None, pki), exes)]
        idle += [peer_idle(t, z) for z in (False, True) for t in (None, pki)]
        idle = asyncio.gather(*idle)  # (side by side: they mostly wait)
        rows = []
        for bits in (0, DEFLATE_BITS):
            ws = await our_session(image, None, bits)
            wss = await our_session(image, pki, bits)
            rows.append(["OCPP2.Lite", bits, {"session_ws": bill.relay(ws), "session_wss": bill.relay(wss)}, ws])
        if exes:
            ws = await our_session(None, None, DEFLATE_BITS, exes[0])
            wss = await our_session(None, pki, DEFLATE_BITS, exes[1])
            rows.append([OURS32, DEFLATE_BITS, {"session_ws": bill.relay(ws), "session_wss": bill.relay(wss)}, ws])
        texts = _peer_texts(rows[0][3])  # (the plain session's messages)
        for z in (False, True):
            rows.append(["ocpp package", z, {"session_ws": bill.relay(await peer_session(texts, None, z)),
                                              "session_wss": bill.relay(await peer_session(texts, pki, z))}, None])
        for r, (ws, wss) in zip(rows, zip(*[iter(await idle)] * 2)):
            r[2]["idle_ws"], r[2]["idle_wss"] = idle_day(*ws), idle_day(*wss)
    return [(name, "deflate" if z else "none", b) for name, z, b, _ in rows]


def print_bills(rows):
    print("What a SIM card bills, bytes of IPv4/TCP packets (tools/footprint/bill.py): the reference session "
          "and an idle day (HeartbeatInterval %d s; pings: ours after %d s of silence, websockets' every %d s)"
          % (HEARTBEAT_S, OUR_PING_S, PEER_PING_S))
    cols = ("session_ws", "session_wss", "idle_ws", "idle_wss")
    print("%-54s %12s %12s %12s %12s" % (("station, compression",) + cols))
    for name, z, b in rows:
        print("%-54s %12d %12d %12d %12d" % (("%s, %s" % (name, z),) + tuple(b[c]["billed"] for c in cols)))
    peer = {z: b for name, z, b in rows if name == "ocpp package"}
    for name, z, b in rows:
        if name != "ocpp package":
            for against in ("none", "deflate"):
                print("%-54s %12s %12s %12s %12s" % (("ratio: ours%s %s / peer %s" % (
                    " (32-bit)" if name == OURS32 else "", z, against),) + tuple(
                    "%.2f" % (b[c]["billed"] / peer[against][c]["billed"]) for c in cols)))


def _mp_version():
    return subprocess.run([fs.MICROPYTHON, "-c", "import sys; print('%d.%d.%d' % sys.implementation.version[:3])"],
                          capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=300, help="rounds of the request stream (speed)")
    ap.add_argument("--only", choices=("speed", "bill"), help="one of the two tables")
    ap.add_argument("--ocpp-station", help=argparse.SUPPRESS)  # run the station on `ocpp`
    ap.add_argument("--deflate", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--heartbeat", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--ping", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--ca", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.ocpp_station:
        try:
            asyncio.run(ocpp_station(a.ocpp_station, a.deflate, a.heartbeat, a.ping, a.ca))
        except Exception:
            pass
    else:
        asyncio.run(main(a.rounds, a.only))
