"""tools/simweb.py - the simulated station in a browser: `make sim WEB=1` (python -m tools.demo --web).

Three parts, all on the demo's asyncio loop:

- Station: tools/sim as a subprocess, fed JSON lines on stdin, its events read from stdout; a
  power cut kills it and starts it again on the same state directory (`--state DIR` only: what
  was provisioned is in there, as after a real power cut).
- Relay: a TCP relay on 127.0.0.1 between the station and a ws:// CSMS (the bundled one or any
  other), which reads the OCPP frames both ways (tools/footprint/wire.py's WsStream: fragments
  joined, permessage-deflate inflated) and checks each against the official schemas
  (tools/csms.py's frame_errors). The station is pointed at the relay; the upgrade request's
  Host header is set back to the CSMS's. Over wss:// to another CSMS the frames are encrypted:
  the station connects directly and the page says it sees no frames.
- Hub: the page's server on 127.0.0.1, `websockets` alone: plain GETs of / are answered with
  tools/simweb.html through process_request, and /live is a WebSocket that carries everything
  the page knows: the station's events, its log lines, the inputs given to it, the frames and
  the station process's starts and power cuts, first all of them since start, then live. What
  the page sends on /live are the simulator's own inputs, {"op": ...}, written unchanged as a
  line to the station's stdin (as a script would), and {"host": "power_cut"}.
"""

import asyncio
import json
import pathlib
import time
import urllib.parse

from websockets.asyncio.server import broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from tools import csms as csms_mod
from tools.footprint.wire import WsStream

PAGE = pathlib.Path(__file__).with_name("simweb.html")
KEEP = 20000  # items kept for a page that connects later (never those since the last state event)


def security_profile(url, password):
    """What the URL scheme (and a password) make of the link, as the page shows it."""
    if url.startswith("wss://"):
        return "2 (wss://: TLS, the CSMS's certificate checked, Basic auth)"
    return "1 (ws://, Basic auth)" if password else "none (ws://, no password)"


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
    line ("err"); power_cut() kills it and starts it on the same state directory."""

    def __init__(self, argv, restart_argv, on_line, on_start=None):
        self.argv = argv
        self.restart_argv = restart_argv
        self.on_line = on_line
        self.on_start = on_start or (lambda first: None)
        self.proc = None
        self._readers = []
        self._cutting = False
        self.cuts = 0

    async def start(self, argv=None):
        self.proc = await asyncio.create_subprocess_exec(
            *(argv or self.argv), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self._readers = [asyncio.ensure_future(self._read(self.proc.stdout, "out")),
                         asyncio.ensure_future(self._read(self.proc.stderr, "err"))]
        self.on_start(argv is None)

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
        """Kill the process (SIGKILL: no shutdown at all) and start it again."""
        if self._cutting or not self.proc:
            return
        self._cutting = True
        try:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
            await asyncio.gather(*self._readers, return_exceptions=True)
            self.cuts += 1
            await self.start(self.restart_argv)
        finally:
            self._cutting = False

    async def wait(self):
        """The exit status once the station ends otherwise than by a power cut."""
        while True:
            proc = self.proc
            rc = await proc.wait()
            await asyncio.gather(*self._readers, return_exceptions=True)
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


class Relay:
    """Listens on 127.0.0.1 and relays each connection to the ws:// CSMS at upstream; each OCPP
    message either way goes to on_frame(conn, dir, text, msg, errors, answers) (dir "up" from the
    station; answers: the action a CALLRESULT or CALLERROR answers); on_conn(conn, what, detail)
    tells a connection's opening ("open"), its upgrade's answer ("upgrade", the status line)
    and its end ("closed" or "failed")."""

    def __init__(self, upstream, on_frame, on_conn=None):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "ws":
            raise ValueError("the relay reads ws:// only")
        self.host = u.hostname
        self.cport = u.port or 80
        self.netloc = u.netloc.rpartition("@")[2]
        self.path = u.path.rstrip("/")
        self.on_frame = on_frame
        self.on_conn = on_conn or (lambda *a: None)
        self.port = None
        self.n = 0
        self._server = None
        self._tasks = set()

    @property
    def url(self):
        """The URL the station is given (the CSMS's path on the relay)."""
        return "ws://127.0.0.1:%d%s" % (self.port, self.path)

    async def start(self):
        self._server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        if self._server:
            self._server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _conn(self, r, w):
        task = asyncio.current_task()
        self._tasks.add(task)
        self.n += 1
        n = self.n
        try:
            try:
                ur, uw = await asyncio.open_connection(self.host, self.cport)
            except OSError as e:
                self.on_conn(n, "failed", "%s:%d: %s" % (self.host, self.cport, e.strerror or e))
                w.close()
                return
            self.on_conn(n, "open", "%s:%d" % (self.host, self.cport))
            calls = {"up": {}, "down": {}}  # ids of the CALLs each side sent -> action
            await asyncio.gather(self._pipe(n, r, uw, "up", calls), self._pipe(n, ur, w, "down", calls))
            self.on_conn(n, "closed", "")
        finally:
            self._tasks.discard(task)
            w.close()

    def _host(self, head):
        """The upgrade request with the CSMS's Host instead of the relay's."""
        lines = head.split(b"\r\n")
        for i, line in enumerate(lines):
            if line.lower().startswith(b"host:"):
                lines[i] = b"Host: " + self.netloc.encode()
        return b"\r\n".join(lines)

    async def _pipe(self, n, r, w, d, calls):
        stream = WsStream(up=d == "up")
        parse = True
        head = d == "up"  # the request head still to be rewritten
        buf = b""
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    break
                if head:
                    buf += data
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    data, buf, head = self._host(buf[:end]) + buf[end:], b"", False
                if parse:
                    parse = self._feed(n, stream, d, data, calls)
                w.write(data)
                await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    def _feed(self, n, stream, d, data, calls):
        """Parse data into frames; False once the stream is not WebSocket frames (a refused
        upgrade, a parse error): the bytes are still relayed."""
        had_head = stream.head is not None
        try:
            stream.feed(data, time.monotonic())
        except Exception:
            return False
        if not had_head and stream.head is not None and d == "down":
            status = stream.head.split(b"\r\n", 1)[0].decode(errors="replace")
            self.on_conn(n, "upgrade", status)
            if " 101 " not in status + " ":
                return False
        for m in stream.msgs:
            text = m["text"]
            try:
                msg = json.loads(text)
            except ValueError:
                msg = None
            mine, theirs = calls[d], calls["down" if d == "up" else "up"]
            answers = None
            if isinstance(msg, list) and len(msg) > 2 and isinstance(msg[1], str):
                if msg[0] == 2 and isinstance(msg[2], str):
                    mine[msg[1]] = msg[2]
                elif msg[0] in (3, 4):
                    answers = theirs.get(msg[1])
            errors = csms_mod.frame_errors(msg, theirs)
            if answers and isinstance(msg, list):
                theirs.pop(msg[1], None)
            self.on_frame(n, d, text, msg, errors, answers)
        # what was reported is not kept (a simulator may run for days)
        stream.msgs.clear()
        stream.frames.clear()
        stream.units.clear()
        return True
