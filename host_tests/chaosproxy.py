"""A TCP proxy on 127.0.0.1 for the network campaign (host_tests/test_campaign_network.py):
it sits between the station and the CSMS, forwards the WebSocket upgrade and then whole
WebSocket frames, records every message both ways, and on command, or on a seeded random
schedule, breaks the connection the ways a network does:

    drop("rst" | "fin")            end the live connections: a reset, or an orderly close
    stall("up" | "down" | "both")  stop forwarding a direction (held back, not lost) until resume()
    delay(seconds, direction)      deliver every frame that much later (in order)
    half_close("up" | "down")      FIN in one direction only ("down": the station reads EOF
                                   while its own writes still reach the CSMS)
    cut(direction, then, match)    the next frame in that direction (whose text contains match,
                                   if given) is cut in the middle, then the connection is reset
                                   ("rst"), closed ("fin") or stalls ("stall": that direction)
    refuse(mode)                   new connections: "refused" (nothing listens), "rst" / "fin"
                                   right after the accept, "mute" (never answers the upgrade),
                                   "cut_upgrade" (the upgrade response cut in the middle)
    heal()                         everything back to plain forwarding (live connections stay)

"up" is station to CSMS, "down" CSMS to station. The proxy runs an asyncio loop on its own
thread; the methods above are called from the test's thread. Records: accepted (monotonic
times of TCP connections from the station) and modes (what each of them got), attempts (both,
and the Conn of a forwarded one), conns (one Conn each), faults (what was done when), messages() (every text message and control frame that
passed, in order) and cut_frames()."""

import asyncio
import json
import socket
import struct
import threading
import time

from tools import wsframe

_POLL = 0.005


class Conn:
    """One connection through the proxy: n (its number), t (accepted), frames: dicts with
    dir, op, text (of text messages), t_in (first byte reached the proxy), t_out (last byte
    forwarded) and cut (only part of it was forwarded)."""

    def __init__(self, n):
        self.n = n
        self.t = time.monotonic()
        self.frames = []
        self.paused = {"up": False, "down": False}
        self.closed = None  # when both directions ended
        self.w = {}  # direction -> the StreamWriter the direction writes to
        self.ended = {"up": False, "down": False}  # the direction's sender closed or reset
        self.cut_head = False  # the upgrade response is cut (refuse("cut_upgrade"))
        self.upgraded = False  # the 101 response reached the station whole


class ChaosProxy:
    def __init__(self, target_port, host="127.0.0.1"):
        self.target = (host, target_port)
        self.port = None
        self.accepted = []
        self.modes = []
        self.attempts = []  # one dict per TCP connection from the station: t, mode, conn (Conn or None)
        self.conns = []
        self.faults = []  # (monotonic time, description)
        self.mode = "pass"  # what new connections get (refuse())
        self.paused = {"up": False, "down": False}
        self.delays = {"up": 0.0, "down": 0.0}
        self.cuts = {"up": None, "down": None}  # armed: (what follows the cut, match)
        self._server = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._run(self._listen())

    def _run(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def url(self, csms_url):
        """csms_url with the proxy's port instead of the CSMS's."""
        scheme, rest = csms_url.split("://", 1)
        path = rest.split("/", 1)[1] if "/" in rest else ""
        return "%s://127.0.0.1:%d/%s" % (scheme, self.port, path)

    def close(self):
        if not self.thread.is_alive():
            return
        try:
            self._run(self._shutdown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)

    # --- commands (from the test thread) -------------------------------------------------
    def _note(self, what):
        self.faults.append((time.monotonic(), what))

    def drop(self, how="rst"):
        self._note("drop " + how)
        self.loop.call_soon_threadsafe(self._drop_all, how)

    def stall(self, direction="both"):
        self._note("stall " + direction)
        for d in _dirs(direction):
            self.paused[d] = True

    def resume(self, direction="both"):
        self._note("resume " + direction)
        for d in _dirs(direction):
            self.paused[d] = False

    def delay(self, seconds, direction="both"):
        self._note("delay %s %.2f" % (direction, seconds))
        for d in _dirs(direction):
            self.delays[d] = seconds

    def half_close(self, direction):
        self._note("half_close " + direction)
        self.loop.call_soon_threadsafe(self._half_close_all, direction)

    def cut(self, direction, then="rst", match=None):
        self._note("cut %s then %s%s" % (direction, then, " at " + match if match else ""))
        self.cuts[direction] = (then, match)

    def refuse(self, mode="refused"):
        """What new connections get: "refused", "rst", "fin", "mute", "cut_upgrade" or "pass"."""
        self._note("connections " + mode)
        old, self.mode = self.mode, mode
        if (mode == "refused") != (old == "refused"):
            self._run(self._listen() if old == "refused" else self._unlisten())

    def heal(self):
        """Plain forwarding from now on (what is held back is delivered)."""
        self._note("heal")
        self.refuse("pass")
        for d in ("up", "down"):
            self.paused[d] = False
            self.delays[d] = 0.0
            self.cuts[d] = None

    def live(self):
        return [c for c in self.conns if c.closed is None]

    # --- records -------------------------------------------------------------------------
    def messages(self, direction=None):
        """Every message and control frame forwarded whole, in the order they were forwarded:
        dicts with conn, dir, op, text, msg (the JSON of a text message or None), t_in, t_out."""
        out = []
        for c in list(self.conns):
            for f in list(c.frames):
                if not f["cut"] and (direction is None or f["dir"] == direction):
                    out.append(dict(f, conn=c.n))
        return sorted(out, key=lambda f: f["t_out"])

    def cut_frames(self):
        return [dict(f, conn=c.n) for c in list(self.conns) for f in list(c.frames) if f["cut"]]

    # --- the loop ------------------------------------------------------------------------
    async def _listen(self):
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port or 0,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _unlisten(self):
        self._server.close()
        await self._server.wait_closed()

    async def _shutdown(self):
        if self.mode != "refused":
            await self._unlisten()
        self._drop_all("rst")
        await asyncio.sleep(0.05)  # the pumps see their ends; what is left (mute accepts) is cancelled
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in rest:
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    async def _accept(self, sr, sw):
        self.accepted.append(time.monotonic())
        mode = self.mode
        self.modes.append(mode)
        attempt = {"t": self.accepted[-1], "mode": mode, "conn": None}
        self.attempts.append(attempt)
        if mode in ("rst", "fin"):
            _end(sw, mode)
            return
        if mode == "mute":  # reads the upgrade request, never answers it
            try:
                while await sr.read(4096):
                    pass
            except OSError:
                pass
            _end(sw, "fin")
            return
        try:
            ur, uw = await asyncio.open_connection(*self.target)
        except OSError:
            _end(sw, "rst")
            return
        c = Conn(len(self.conns))
        self.conns.append(c)
        attempt["conn"] = c
        c.w = {"up": uw, "down": sw}
        c.cut_head = mode == "cut_upgrade"
        await asyncio.gather(self._pump(c, "up", sr, uw), self._pump(c, "down", ur, sw))
        c.closed = time.monotonic()
        _end(sw, "fin")
        _end(uw, "fin")

    async def _pump(self, c, d, r, w):
        """One direction: a reader task cuts what arrives into units, this forwards them."""
        q = asyncio.Queue()
        reader = asyncio.ensure_future(self._read(c, d, r, q))
        try:
            while True:
                item = await q.get()
                if item is None:  # the end of one direction is passed on as it came
                    try:
                        if w.can_write_eof() and not w.is_closing():
                            w.write_eof()
                    except OSError:
                        pass
                    return
                if not await self._forward(c, d, w, *item):
                    return
        except (OSError, asyncio.CancelledError):
            self._drop(c, "rst")
        finally:
            reader.cancel()

    async def _read(self, c, d, r, q):
        split = _Splitter()
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    break
                t_in = time.monotonic()
                for unit in split.feed(data):
                    q.put_nowait(unit + (t_in,))
        except OSError:
            pass
        c.ended[d] = True
        q.put_nowait(None)

    async def _forward(self, c, d, w, kind, unit, info, t_in):
        """Forward one unit (the upgrade head, a frame or raw bytes); False: the direction ends."""
        while self.paused[d] or c.paused[d]:
            if c.ended["up"] or c.ended["down"] or w.is_closing():
                self._drop(c, "rst")  # the connection died during the stall: what was held is lost
                return False
            await asyncio.sleep(_POLL)
        wait = t_in + self.delays[d] - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if w.is_closing():
            return False
        then = None
        if kind == "head" and d == "down" and c.cut_head:
            then = "rst"
        elif kind == "frame" and self.cuts[d] and (self.cuts[d][1] is None or self.cuts[d][1] in (info["text"] or "")):
            then, self.cuts[d] = self.cuts[d][0], None
        if then:
            k = max(1, (len(unit) * 3) // 7)
            w.write(unit[:k])
            await w.drain()
            if kind == "frame":
                c.frames.append(dict(info, dir=d, t_in=t_in, t_out=time.monotonic(), cut=True))
            self._note("conn %d: %s %s cut after %d of %d bytes, then %s" % (c.n, d, kind, k, len(unit), then))
            if then == "stall":
                c.paused[d] = True
                return True
            self._drop(c, then)
            return False
        w.write(unit)
        await w.drain()
        if kind == "head" and d == "down":
            c.upgraded = unit.startswith(b"HTTP/1.1 101")
        if kind == "frame" and info.get("whole", True):
            c.frames.append(dict(info, dir=d, t_in=t_in, t_out=time.monotonic(), cut=False))
        return True

    def _drop(self, c, how):
        for w in c.w.values():
            _end(w, how)

    def _drop_all(self, how):
        for c in self.live():
            self._drop(c, how)

    def _half_close_all(self, direction):
        for c in self.live():
            w = c.w[direction]
            c.paused[direction] = True  # nothing more goes that way
            try:
                if w.can_write_eof() and not w.is_closing():
                    w.write_eof()
            except OSError:
                pass


def _dirs(direction):
    return ("up", "down") if direction == "both" else (direction,)


def _end(w, how):
    """Close a connection: "rst" (SO_LINGER 0: a reset) or "fin"."""
    try:
        if how == "rst":
            s = w.get_extra_info("socket")
            if s is not None:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            w.transport.abort()
        else:
            w.close()
    except OSError:
        pass


class _Splitter:
    """Cuts one direction of a WebSocket connection into units: the HTTP upgrade head, then
    whole frames (anything else: raw bytes as they come). Each unit comes with info: op, and
    for a whole text message its text and msg (JSON) once its last fragment is there."""

    def __init__(self):
        self.buf = b""
        self.head = False
        self.raw = False
        self.parts = []

    def feed(self, data):
        self.buf += data
        out = []
        if self.raw:
            out.append(("raw", self.buf, {}))
            self.buf = b""
            return out
        if not self.head:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return out
            head, self.buf = self.buf[: end + 4], self.buf[end + 4 :]
            self.head = True
            self.raw = not (head.startswith(b"GET ") or head.startswith(b"HTTP/1.1 101"))
            out.append(("head", head, {}))
            if self.raw:
                if self.buf:
                    out.append(("raw", self.buf, {}))
                self.buf = b""
                return out
        while True:
            n = wsframe.size(self.buf)
            if n is None:
                return out
            frame, self.buf = self.buf[:n], self.buf[n:]
            out.append(("frame", frame, self._info(frame)))

    def _info(self, frame):
        fin, op = frame[0] & 0x80, frame[0] & 0x0F
        payload = wsframe.parse(frame)[4]
        if op >= 8:
            return {"op": op, "text": None, "msg": None}
        self.parts.append(payload)
        if not fin:
            return {"op": op, "text": None, "msg": None, "whole": False}
        text = b"".join(self.parts).decode(errors="replace")
        self.parts = []
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        return {"op": 1, "text": text, "msg": msg}

