"""tools/simweb.py - the simulated station in a browser: `make sim WEB=1` (python -m tools.demo --web).

Three parts, all on the demo's asyncio loop:

- Station: tools/sim as a subprocess, fed JSON lines on stdin, its events read from stdout; a
  power cut kills it and starts it again on the same state directory (`--state DIR` only: what
  was provisioned is in there, as after a real power cut). Its end, whatever ends it, is told
  with its exit status.
- Frames: the station tells its own OCPP messages both ways (tools/sim --frames 1: its
  {"ev":"frame"} events, whatever the transport: ws://, wss://, compressed), and each is
  checked here against the official schemas (tools/csms.py's frame_errors).
- Hub: the page's server on 127.0.0.1, `websockets` alone: plain GETs of / are answered with
  tools/simweb.html through process_request, and /live is a WebSocket that carries everything
  the page knows: the station's events, its log lines, the inputs given to it, the frames and
  the station process's starts, ends and power cuts, first all of them since start, then live.
  What the page sends on /live are the simulator's own inputs, {"op": ...}, written unchanged as
  a line to the station's stdin (as a script would), and {"host": "power_cut"}.
"""

import asyncio
import json
import pathlib
import time

from websockets.asyncio.server import broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from tools import csms as csms_mod

PAGE = pathlib.Path(__file__).with_name("simweb.html")
KEEP = 20000  # items kept for a page that connects later (never those since the last state event)


def security_profile(url, password):
    """What the URL scheme (and a password) make of the link, as the page shows it."""
    if url.startswith("wss://"):
        return "2 (wss://: TLS, the CSMS's certificate checked, Basic auth)"
    return "1 (ws://, Basic auth)" if password else "none (ws://, no password)"


def exit_status(rc):
    """A process's exit status as a person reads it (asyncio's returncode: -N for signal N)."""
    return "killed by signal %d" % -rc if rc < 0 else "exit code %d" % rc


class Hub:
    """The page's server and the stream it is fed from (publish)."""

    def __init__(self, cfg, on_input, t0=None):
        """cfg: what the page is told first (station id, CSMS URL, evses, frames seen or not);
        on_input(msg): a message from a page, {"op": ...} or {"host": "power_cut"}."""
        self.cfg = cfg
        self.on_input = on_input
        self.t0 = time.monotonic() if t0 is None else t0
        self.items = []
        self._state_at = 0  # index of the last state event in items
        self.clients = set()
        self.port = None
        self._server = None
        self._page = PAGE.read_bytes()

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    async def start(self, port=0):
        self._server = await serve(self._ws, "127.0.0.1", port, process_request=self._http,
                                   max_size=2**16, compression=None, close_timeout=2)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        if self._server:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def publish(self, kind, **fields):
        item = dict(fields, k=kind, t=round(time.monotonic() - self.t0, 3))
        self.items.append(item)
        if kind == "ev" and fields["ev"].get("ev") == "state":
            self._state_at = len(self.items) - 1
        if len(self.items) > KEEP + KEEP // 10:  # (in steps: a page gets the last KEEP at least)
            cut = min(len(self.items) - KEEP, self._state_at)
            del self.items[:cut]
            self._state_at -= cut
        if self.clients:
            broadcast(self.clients, json.dumps(item))

    def _http(self, conn, request):
        # Only this machine's pages: the Host must be ours (no DNS rebinding), and the live
        # stream, which drives the station, only for a page of ours (its Origin).
        ours = ("127.0.0.1:%d" % self.port, "localhost:%d" % self.port)
        if request.headers.get("Host") not in ours:
            return conn.respond(403, "wrong Host\n")
        path = request.path.split("?", 1)[0]
        if path == "/live":
            if request.headers.get("Origin") not in ["http://" + h for h in ours]:
                return conn.respond(403, "not a page of this server\n")
            return None  # the WebSocket handshake goes on
        if path not in ("/", "/index.html"):
            return conn.respond(404, "not found\n")
        return Response(200, "OK", Headers([
            ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(self._page))),
            ("Cache-Control", "no-store"), ("Connection", "close"),
            ("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; "
             "script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:"),
        ]), self._page)

    async def _ws(self, conn):
        # history and registration in one step: nothing published in between is lost or doubled
        broadcast([conn], json.dumps({"k": "batch", "items": [dict(k="hello", t=0, cfg=self.cfg)] + self.items}))
        self.clients.add(conn)
        try:
            async for text in conn:
                try:
                    msg = json.loads(text)
                except ValueError:
                    continue
                if isinstance(msg, dict) and (isinstance(msg.get("op"), str) or msg.get("host") == "power_cut"):
                    self.on_input(msg)
        except Exception:
            pass  # the page went away
        finally:
            self.clients.discard(conn)


class Station:
    """tools/sim as a subprocess: on_line(kind, text) gets each stdout line ("out") and stderr
    line ("err"), on_start(first, pid) each start, on_exit(rc) each end once its output is read
    (rc: the exit status, -N for signal N: a power cut is -9); power_cut() kills it and starts it
    on the same state directory (or only starts it, once it has ended)."""

    def __init__(self, argv, restart_argv, on_line, on_start=None, on_exit=None):
        self.argv = argv
        self.restart_argv = restart_argv
        self.on_line = on_line
        self.on_start = on_start or (lambda first, pid: None)
        self.on_exit = on_exit or (lambda rc: None)
        self.proc = None
        self._readers = []
        self._ended = None  # the task that tells the running process's end
        self._cutting = False
        self.cuts = 0

    async def start(self, argv=None):
        self.proc = await asyncio.create_subprocess_exec(
            *(argv or self.argv), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self._readers = [asyncio.ensure_future(self._read(self.proc.stdout, "out")),
                         asyncio.ensure_future(self._read(self.proc.stderr, "err"))]
        self.on_start(argv is None, self.proc.pid)
        self._ended = asyncio.ensure_future(self._end(self.proc, self._readers))

    async def _end(self, proc, readers):
        rc = await proc.wait()
        await asyncio.gather(*readers, return_exceptions=True)
        self.on_exit(rc)

    async def _read(self, stream, kind):
        while True:
            line = await stream.readline()
            if not line:
                return
            self.on_line(kind, line.decode(errors="replace").rstrip("\n"))

    def send(self, line):
        if self.proc and self.proc.returncode is None and self.proc.stdin:
            self.proc.stdin.write(line.rstrip("\n").encode() + b"\n")

    async def power_cut(self):
        """Kill the process (SIGKILL: no shutdown at all) and start it again (once it has
        ended by itself: start it again)."""
        if self._cutting or not self.proc:
            return
        self._cutting = True
        try:
            if self.proc.returncode is None:
                self.proc.kill()
            await asyncio.shield(self._ended)  # (its end told before the next start)
            self.cuts += 1
            await self.start(self.restart_argv)
        finally:
            self._cutting = False

    async def wait(self):
        """The exit status once the station ends otherwise than by a power cut."""
        while True:
            proc, ended = self.proc, self._ended
            rc = await proc.wait()
            await asyncio.shield(ended)
            while self._cutting:
                await asyncio.sleep(0.05)
            if self.proc is proc:
                return rc

    async def stop(self, timeout=5):
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        self.send('{"op":"quit"}')
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()


class Frames:
    """The station's own OCPP messages (its {"ev":"frame"} events: tools/sim --frames 1), each
    checked against the official schemas (tools/csms.py's frame_errors, as the bundled CSMS checks
    what it receives; here also what the CSMS sends): a CALLRESULT against its CALL's Response, so
    the CALLs each side sent and not yet answered are kept, per connection."""

    def __init__(self):
        self.conn = 0
        self.calls = {"up": {}, "down": {}}  # ids of the CALLs each side sent -> action

    def connected(self):
        """A new connection (the station's {"ev":"ws","state":"connected"}): CALLs of the last
        one are not answered on this one."""
        self.conn += 1
        self.calls = {"up": {}, "down": {}}

    def check(self, ev):
        """The page's item for one frame event: dict(conn, dir ("up" from the station, "down"
        to it), text, msg (None: not JSON), errors, answers (the action a CALLRESULT or
        CALLERROR answers))."""
        d = "up" if ev.get("dir") == "out" else "down"
        text = ev.get("text", "")
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        mine, theirs = self.calls[d], self.calls["down" if d == "up" else "up"]
        answers = None
        if isinstance(msg, list) and len(msg) > 2 and isinstance(msg[1], str):
            if msg[0] == 2 and isinstance(msg[2], str):
                mine[msg[1]] = msg[2]
            elif msg[0] in (3, 4):
                answers = theirs.get(msg[1])
        if ev.get("over"):  # only its head reached the station
            errors = ["%d bytes, over the station's MaxMessageBytes: its head only" % ev["over"]]
        else:
            errors = csms_mod.frame_errors(msg, theirs)
        if answers:
            theirs.pop(msg[1], None)
        return dict(conn=self.conn, dir=d, text=text, msg=msg, errors=errors, answers=answers)
