"""tools/demo.py - `make sim`: the bundled CSMS and a simulated station, talking.

Starts tools/csms.py on 127.0.0.1 and tools/sim (the station on the MicroPython unix port)
against it, and prints both sides: OCPP frames as the CSMS sees them, and the station's
events. Once the station is accepted it plays a charging session (plug in, tap a card,
charge with meter updates, tap again, unplug); then lines typed on stdin are passed to the
station, e.g. {"op":"plug","evse":1}. Ctrl-C (or --duration) ends the demo.
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


async def play(proc, accepted):
    await accepted.wait()
    for pause, op in SESSION:
        await asyncio.sleep(pause)
        out("demo", "input %s" % json.dumps(op))
        proc.stdin.write((json.dumps(op) + "\n").encode())


async def main(a):
    c = csms_mod.Csms("127.0.0.1", a.port, log=lambda f: out(
        ("%s -> CSMS" % f.station) if f.direction == "in" else ("CSMS -> %s" % f.station), f.text))
    c.interval = a.interval
    await c.start()
    out("csms", "listening on %s/<station id>" % c.url)
    state = pathlib.Path(a.state)
    if a.fresh and state.exists():
        shutil.rmtree(state)
    proc = await asyncio.create_subprocess_exec(
        str(ROOT / "tools" / "sim"), "--csms", c.url, "--id", a.id, "--state", str(state),
        "--evses", str(a.evses), "--set", "SampledDataCtrlr.TxUpdatedInterval=5", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    accepted = asyncio.Event()
    tasks = [asyncio.create_task(_pipe_lines(proc.stdout, "station", accepted)),
             asyncio.create_task(_pipe_lines(proc.stderr, "station log"))]
    if not a.no_session:
        tasks.append(asyncio.create_task(play(proc, accepted)))
    loop = asyncio.get_running_loop()

    def forward():
        line = sys.stdin.readline()
        if not line:
            loop.remove_reader(sys.stdin.fileno())
        elif proc.stdin and line.strip():
            proc.stdin.write(line.encode())

    try:
        loop.add_reader(sys.stdin.fileno(), forward)
    except (OSError, ValueError):
        pass  # stdin is not pollable (e.g. /dev/null): no interactive input
    try:
        if a.duration:
            await asyncio.wait_for(proc.wait(), a.duration)
        else:
            await proc.wait()
    except (asyncio.TimeoutError, asyncio.CancelledError):
        pass
    finally:
        if proc.returncode is None:
            proc.stdin.write(b'{"op":"quit"}\n')
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except asyncio.TimeoutError:
                proc.kill()
        for t in tasks:
            t.cancel()
        await c.stop()
    bad = len(c.violations)
    out("demo", "station exited %s; %d schema violation(s)" % (proc.returncode, bad))
    return 1 if bad or proc.returncode else 0


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
    try:
        sys.exit(asyncio.run(main(p.parse_args())))
    except KeyboardInterrupt:
        sys.exit(0)
