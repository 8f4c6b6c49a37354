"""tools/demo.py - `make sim`: the bundled CSMS and a simulated station, talking.

Starts tools/csms.py on 127.0.0.1 and tools/sim (the station on the MicroPython unix port)
against it, and prints both sides: OCPP frames as the CSMS sees them, and the station's
events. Once the station is accepted it plays a charging session (plug in, tap a card,
charge with meter updates, tap again, unplug); then lines typed on stdin are passed to the
station, e.g. {"op":"plug","evse":1}. Ctrl-C (or --duration) ends the demo.

--web (`make sim WEB=1`) also serves the station's page on 127.0.0.1 (tools/simweb.py) and
plays no session: the page's buttons give the station the same input lines; it runs until
Ctrl-C, the station's end shown on the page. --csms URL points the station at another CSMS
(ws:// or wss://) instead of the bundled one; the station then tells its frames (tools/sim
--frames 1), printed as the bundled CSMS prints its own, each with its schema check.
"""

import argparse
import asyncio
import json
import os
import pathlib
import shutil
import sys
import time

from tools import csms as csms_mod
from tools import simweb

ROOT = pathlib.Path(__file__).resolve().parent.parent

T0 = time.monotonic()


def out(who, text):
    print("[%7.2f] %-16s %s" % (time.monotonic() - T0, who, text), flush=True)


async def _pipe_lines(stream, who, accepted=None):
    while True:
        line = await stream.readline()
        if not line:
            return
        text = line.decode(errors="replace").rstrip()
        out(who, text)
        if accepted and '"boot"' in text and '"Accepted"' in text:
            accepted.set()


SESSION = (  # (seconds to wait first, input for the station)
    (1, {"op": "plug", "evse": 1}),
    (2, {"op": "tap", "idToken": "AA11BB22"}),
    (1, {"op": "ev_power", "evse": 1, "w": 7400}),
    (12, {"op": "tap", "idToken": "AA11BB22"}),
    (2, {"op": "unplug", "evse": 1}),
)


async def play(station, accepted, given):
    await accepted.wait()
    for pause, op in SESSION:
        await asyncio.sleep(pause)
        given(op, "demo")


async def main(a):
    web = a.web
    c = None
    if a.csms:  # another CSMS: the station is pointed at it
        upstream = a.csms.rstrip("/")
        if not upstream.startswith(("ws://", "wss://")):
            out("demo", "--csms needs a ws:// or wss:// URL")
            return 2
    else:
        c = csms_mod.Csms("127.0.0.1", a.port, log=lambda f: out(
            ("%s -> CSMS" % f.station) if f.direction == "in" else ("CSMS -> %s" % f.station), f.text))
        c.interval = a.interval
        await c.start()
        out("csms", "listening on %s/<station id>" % c.url)
        upstream = c.url
    hub = None
    bad = []  # schema errors in the station's frames (another CSMS: the bundled one keeps its own)
    frames = simweb.Frames() if web or c is None else None  # the station tells its frames

    def publish(kind, **fields):
        if hub:
            hub.publish(kind, **fields)

    def on_frame(ev):
        f = frames.check(ev)
        publish("frame", **f)
        if c is None:  # the bundled CSMS prints its own
            d = f["dir"]
            out(("%s -> CSMS" % a.id) if d == "up" else ("CSMS -> %s" % a.id), f["text"])
            for e in f["errors"]:
                out("schema", "%s: %s" % ("station" if d == "up" else "CSMS", e))
            bad.extend(f["errors"] if d == "up" else [])

    state = pathlib.Path(a.state)
    if a.fresh and state.exists():
        shutil.rmtree(state)
    sets = list(a.set) if a.set else ([] if a.csms else ["SampledDataCtrlr.TxUpdatedInterval=5"])
    argv = [str(ROOT / "tools" / "sim"), "--csms", upstream, "--id", a.id, "--state", str(state),
            "--evses", str(a.evses)]
    again = [str(ROOT / "tools" / "sim"), "--state", str(state), "--evses", str(a.evses)]  # after a power cut
    if frames:
        argv += ["--frames", "1"]
        again += ["--frames", "1"]
    for kv in sets:
        argv += ["--set", kv]
    if a.password:
        argv += ["--password", a.password]
    if a.ca:
        argv += ["--ca", a.ca]
    accepted = asyncio.Event()

    def on_line(kind, text):
        if kind == "err":
            out("station log", text)
            publish("log", text=text)
            return
        try:
            ev = json.loads(text)
        except ValueError:
            ev = None
        if isinstance(ev, dict) and ev.get("ev") == "frame" and frames:
            on_frame(ev)
            return
        out("station", text)
        if not isinstance(ev, dict):
            return
        if frames and ev.get("ev") == "ws" and ev.get("state") == "connected":
            frames.connected()
        publish("ev", ev=ev)
        if ev.get("ev") == "boot" and ev.get("status") == "Accepted":
            accepted.set()

    def on_exit(rc):
        out("station", "process ended: %s" % simweb.exit_status(rc))
        publish("proc", what="exit", rc=rc)

    station = simweb.Station(argv, again, on_line,
                             lambda first, pid: publish("proc", what="start" if first else "restart", pid=pid),
                             on_exit)

    def given(op, who):
        line = json.dumps(op)
        out(who, "input %s" % line)
        publish("input", op=op, by=who)
        station.send(line)

    def from_page(msg):
        if msg.get("host") == "power_cut":
            out("web", "power cut: the station is killed and started again on %s" % state)
            publish("proc", what="power_cut")
            asyncio.ensure_future(station.power_cut())
        else:
            given(msg, "web")

    if web:
        hub = simweb.Hub({"station": a.id, "csms": upstream, "bundled": c is not None,
                          "profile": simweb.security_profile(upstream, a.password),
                          "evses": a.evses, "state": str(state)}, from_page, T0)
        await hub.start(a.web_port)
    await station.start()
    if web:
        out("web", "the station in a browser: %s" % hub.url)
    tasks = []
    if not a.no_session and not web:
        tasks.append(asyncio.create_task(play(station, accepted, given)))
    loop = asyncio.get_running_loop()

    def forward():
        line = sys.stdin.readline()
        if not line:
            loop.remove_reader(sys.stdin.fileno())
        elif line.strip():
            try:
                op = json.loads(line)
            except ValueError:
                op = None
            if isinstance(op, dict):
                given(op, "stdin")
            else:
                station.send(line)  # the station says what is wrong with it

    try:
        loop.add_reader(sys.stdin.fileno(), forward)
    except (OSError, ValueError):
        pass  # stdin is not pollable (e.g. /dev/null): no interactive input
    rc = None
    try:  # with the page: until Ctrl-C (or --duration), the station's end shown on it
        ends = asyncio.Event().wait() if web else station.wait()
        if a.duration:
            rc = await asyncio.wait_for(ends, a.duration)
        else:
            rc = await ends
    except (asyncio.TimeoutError, asyncio.CancelledError):
        pass
    finally:
        try:
            loop.remove_reader(sys.stdin.fileno())
        except (OSError, ValueError):
            pass
        await station.stop()
        rc = station.proc.returncode
        for t in tasks:
            t.cancel()
        if hub:
            await hub.stop()
        if c:
            await c.stop()
    nbad = len(c.violations) if c else len(bad)
    out("demo", "station exited %s; %d schema violation(s)" % (rc, nbad))
    return 1 if nbad or rc else 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=int(os.environ.get("CSMS_PORT", 9000)))
    p.add_argument("--id", default="CS001")
    p.add_argument("--evses", type=int, default=1)
    p.add_argument("--interval", type=int, default=10, help="heartbeat interval the CSMS gives")
    p.add_argument("--state", default=str(ROOT / "build" / "sim-state"))
    p.add_argument("--fresh", action="store_true", help="start with empty station flash")
    p.add_argument("--duration", type=float, default=0, help="stop after this many seconds")
    p.add_argument("--no-session", action="store_true", help="do not play the charging session")
    p.add_argument("--web", action="store_true",
                   help="serve the station's page on 127.0.0.1 (no session played: the page drives it)")
    p.add_argument("--web-port", type=int, default=int(os.environ.get("SIM_WEB_PORT", 9001)),
                   help="the page's port (0: any free one)")
    p.add_argument("--csms", help="another CSMS's ws:// or wss:// URL (without the station id) "
                   "instead of the bundled one")
    p.add_argument("--password", help="Basic auth password for --csms (16 to 40 characters)")
    p.add_argument("--ca", help="PEM of the CSMS root certificate(s), for wss://")
    p.add_argument("--set", action="append", metavar="Component.Variable=VALUE",
                   help="provision a variable (default with the bundled CSMS: "
                   "SampledDataCtrlr.TxUpdatedInterval=5)")
    try:
        sys.exit(asyncio.run(main(p.parse_args())))
    except KeyboardInterrupt:
        sys.exit(0)
