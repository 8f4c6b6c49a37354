# runtime/ws.py - WebSocket client over a non-blocking socket on asyncio, driven by
# runtime/wscodec.py (runtime/wsopen.py opens it). Every read and write has a timeout. The socket is read and written
# here as asyncio.stream would (its I/O queue) without importing that module (~0.9 kB of heap
# on the boards) or copying what the socket does not take at once. An incoming message over the bound
# (MaxMessageBytes) is not kept: its head is, for the session to answer it, and the rest is
# read and dropped as it arrives, so nothing is allocated for it and the connection stays up.
# With permessage-deflate negotiated (runtime/wsopen.py, runtime/wsdeflate.py) a compressed
# message is inflated within the bound (beyond it, or broken, the connection closes: 1009, 1007)
# and the station's text messages are sent compressed, but for the shortest.
import asyncio
import gc
import os
from asyncio import core
from time import ticks_ms
from micropython import const
from . import wscodec as wc

_RX = const(512)  # receive buffer: frame headers, control frames, handshake lines (while reading)
_TX = const(512)  # send buffer: a frame is written in pieces of this size
_TURN_MS = const(5)  # how often a write waiting for another to end looks again
_SMALL = const(32)  # a text message shorter than this is sent uncompressed (nothing to gain)
_KEEP = const(96)  # bytes kept of a message over the bound: its head (type, id, action)
# Outgoing frames are made here, a piece at a time (wscodec.frames): one small buffer, taken at
# start-up, instead of one the size of each message (a fragmented heap may not have it). None: a
# buffer per message (boards/unix/fleet.py: many connections in one process write at once).
_TXBUF = bytearray(_TX)
# mbedTLS takes its record buffers from the GC heap on the RP2040 and the 32-bit port: 16 kB in
# one piece with the boards' configuration. The heap a running station leaves may have no such
# piece, and a station that lost its connection would then never get it back (ENOMEM at every
# attempt). So when closing a connection gives memory back at once (mbedTLS's buffers; nothing
# where mbedTLS has a heap of its own: ESP32, the 64-bit port), it is taken again in the pieces
# the heap has (_hold), kept while the station is offline and let go just before it connects.
_room = [(), ()]  # the blocks held, and the sizes of the last ones
_ROOM_MIN = const(1024)
_ROOM_PIECES = const(3)  # mbedTLS's input and output buffers, and the rest


def _take(n):
    try:
        return bytearray(n)
    except MemoryError:  # the GC has collected before it says so
        return None


def _largest(most):
    """The size of the largest block of at most most bytes the heap has, to 256 bytes (a try
    that fails costs a collection)."""
    lo, hi = 0, most
    while hi - lo > 256:
        n = (lo + hi) // 2
        if _take(n) is None:
            hi = n
        else:
            lo = n
    return lo


def _hold(freed):
    """Hold freed bytes in the fewest pieces the heap has, largest first: the sizes held last
    time first, else found by _largest."""
    held, sizes = [], []
    last = _room[1]
    while freed >= _ROOM_MIN and len(held) < _ROOM_PIECES:
        n = last[len(held)] if len(held) < len(last) else 0
        b = _take(n) if _ROOM_MIN <= n <= freed else None
        if b is None:
            n = _largest(freed)
            b = _take(n) if n >= _ROOM_MIN else None
            if b is None:
                break
        held.append(b)
        sizes.append(n)
        freed -= n
    _room[0] = held
    _room[1] = sizes


# mbedTLS's errors for a record its input buffer cannot hold (a 2 kB-input build, boards/rp2040/
# mbedtls_config_board.h, with a CSMS that ignored max_fragment_length): one longer than the
# buffer (BAD_INPUT_DATA: "requesting more data than fits"), or one whose content is (INVALID_RECORD)
_TLS_BAD_INPUT = const(-0x7100)
_TLS_INVALID_RECORD = const(-0x7200)
_CLOSE_TLS = const(1015)  # Closed's code for either (link.py: _CLOSE_TLS too)
_CLOSE_NORMAL = const(1000)  # wscodec.CLOSE_NORMAL, a constant default: close() made static (frozen-static-functions.patch)


async def _alarm(t, ms):
    await asyncio.sleep_ms(ms)
    t.cancel()


async def within(aw, ms):
    """await aw; asyncio.TimeoutError when it has not ended within ms. What asyncio.wait_for_ms
    does, without its module (funcs: 432 bytes once imported) or the task it runs aw in: aw
    runs in the caller's task, which a task sleeping ms cancels."""
    a = asyncio.create_task(_alarm(asyncio.current_task(), ms))
    try:
        return await aw
    except asyncio.CancelledError:
        if a.done():  # the alarm went off (else the caller was cancelled)
            raise asyncio.TimeoutError
        raise
    finally:
        a.cancel()


class Closed(Exception):
    """Closed(code, text): the WebSocket ended (1006: the connection just broke; 1015, RFC
    6455's code for a TLS failure, never sent in a close frame: the CSMS sent a TLS record
    larger than the input buffer)."""


def _tls_error(e):
    """The exception to raise for OSError e of a read or write: Closed(1015) for mbedTLS's
    error of a record over the input buffer, else e."""
    code = e.args[0] if e.args else 0
    if code == _TLS_BAD_INPUT or code == _TLS_INVALID_RECORD:
        return Closed(_CLOSE_TLS, "mbedTLS -0x%04x" % -code)
    return e


def _closed(e):
    """Closed for OSError e of a read: Closed(1015) for mbedTLS's error of a record over the
    input buffer (_tls_error), else Closed(1006)."""
    e = _tls_error(e)
    return e if type(e) is Closed else Closed(1006, "socket error %s" % e)


def _recv(s, mv):
    """(awaited) Bytes read from socket s into mv once it is readable; None: a TLS record
    is not complete yet; 0: the connection ended."""
    yield core._io_queue.queue_read(s)
    return s.readinto(mv)


def _send(s, data):
    """(awaited) Write all of data to socket s, from data itself."""
    mv = memoryview(data)
    off = 0
    while off < len(mv):
        yield core._io_queue.queue_write(s)
        n = s.write(mv[off:])
        if n is not None:
            off += n


class WebSocket:
    def __init__(self, sock, max_msg, timeout_ms):
        self.s = sock
        self.max = max_msg
        self.t = timeout_ms
        self.last_rx = ticks_ms()
        self.on_pong = None  # fn(payload): a pong arrived
        self.rx_bytes = 0
        self.tx_bytes = 0
        self.over = 0  # size of the message recv() last gave cut to its head, else 0
        self._b = bytearray(_RX)  # None while the connection waits for a frame (wait)
        self._mv = memoryview(self._b)
        self._r = 0
        self._w = 0
        self._busy = False  # a task is writing a message (frames never interleave)
        self._closing = False
        self._dead = False
        self.pmd = None  # permessage-deflate: (wsdeflate.Inflater, wsdeflate.Deflater)
        self._z = 0  # the message being read is compressed

    # --- reading ---------------------------------------------------------------------
    async def _fill(self):
        if self._dead:
            raise Closed(1006, "aborted")
        if self._r == self._w:
            self._r = self._w = 0
        elif self._w == _RX:
            n = self._w - self._r
            self._b[0:n] = self._b[self._r : self._w]
            self._r, self._w = 0, n
        self._got(await _recv(self.s, self._mv[self._w :]))

    def _got(self, n):
        """n bytes were read into the buffer (None: a TLS record not complete yet)."""
        if n is None:
            return
        if not n:
            raise Closed(1006, "connection lost")
        self._w += n
        self.rx_bytes += n

    def wait(self):
        """(awaited) Until the next frame's first two bytes are in the buffer. While none of it
        has arrived, the connection holds no receive buffer: it is let go of, and taken again
        once the socket is readable, before a byte of the frame is read (a MemoryError then
        ends the connection as one for the message would, with nothing of the frame consumed).
        An idle connection then costs 0.5 kB less: a board has it for messages, and a fleet
        process (boards/unix/fleet.py) holds one per station less. A generator, as _recv: it
        waits in its own frame, with no coroutine's under it."""
        try:
            if self._r == self._w:
                self._b = self._mv = None
                self._r = self._w = 0
                yield core._io_queue.queue_read(self.s)
                if self._dead:
                    raise Closed(1006, "aborted")
                self._b = bytearray(_RX)
                self._mv = memoryview(self._b)
                self._got(self.s.readinto(self._mv))
            yield from self._need(2)
        except OSError as e:  # as recv() says it (a TLS record over the input buffer: 1015)
            raise _closed(e)

    async def _need(self, n):
        while self._w - self._r < n:
            await self._fill()

    async def _read(self, mv):
        got = 0
        need = len(mv)
        while got < need:
            avail = self._w - self._r
            if avail:
                k = min(avail, need - got)
                mv[got : got + k] = self._mv[self._r : self._r + k]
                self._r += k
                got += k
            elif need - got >= _RX:  # large payload: straight into the message
                n = await _recv(self.s, mv[got:])
                if n is None:
                    continue
                if not n:
                    raise Closed(1006, "connection lost")
                got += n
                self.rx_bytes += n
            else:
                await self._fill()

    async def _frame(self, msg, total):
        await self._need(2)
        b0 = self._b[self._r]
        fin, op, n, ext = wc.head(b0, self._b[self._r + 1], wc.RSV1 if self.pmd else 0)
        if msg is None and op < wc.OP_CLOSE:
            self._z = b0 & wc.RSV1  # a compressed message (permessage-deflate)
        self._r += 2
        if ext:
            await self._need(ext)
            n = int.from_bytes(self._b[self._r : self._r + ext], "big")
            self._r += ext
        if op >= wc.OP_CLOSE:
            await self._need(n)
            payload = bytes(self._b[self._r : self._r + n])
            self._r += n
            return op, payload, fin, n
        wc.data_rule(op, msg is not None)
        if total + n > self.max and self._z:  # its head cannot be read without inflating it
            raise ValueError(wc.CLOSE_TOO_BIG, "compressed message over %d bytes" % self.max)
        if total + n > self.max:  # over the bound: the head only
            have = min(total, _KEEP)
            keep = min(n, _KEEP - have)
            buf = bytearray(have + keep)
            if have:
                buf[:have] = memoryview(msg)[:have]
            await self._read(memoryview(buf)[have:])
            await self._drop(n - keep)
            return op, buf, fin, n
        if msg is None:  # a fragmented message gets a buffer of the bound, filled in place
            msg = bytearray(n if fin else self.max)
        await self._read(memoryview(msg)[total : total + n])
        if fin and len(msg) > total + n:
            msg[total + n :] = b""
        return op, msg, fin, n

    async def _drop(self, n):
        """Read n bytes and keep none of them."""
        while n:
            if self._r == self._w:
                await self._fill()
            k = min(self._w - self._r, n)
            self._r += k
            n -= k

    async def recv(self):
        """The next text message as a bytearray in a list of one (the session takes it out:
        no frame on the way holds the text then, so it is let go of once parsed); one over the
        bound cut to its first _KEEP bytes, with self.over set to its size; None after a ping or
        a pong between messages. Answers pings and the close handshake. The wait for a frame to
        start has no bound (the idle check is the link's: link.py idle()); once a frame has
        started, it must arrive within the timeout. Raises Closed when the WebSocket ends. A
        caller that waits for the next frame with wait() first holds no frame of recv's while
        the connection is idle (link.py)."""
        msg = None
        total = 0
        try:
            while True:
                if msg is None:  # the wait for the next frame to start
                    await self.wait()
                try:
                    op, data, fin, n = await within(self._frame(msg, total), self.t)
                except asyncio.TimeoutError:
                    raise Closed(1006, "frame not complete in time")
                self.last_rx = ticks_ms()
                if op == wc.OP_PING:
                    await self._send(wc.OP_PONG, data)
                    if msg is None:
                        return None
                elif op == wc.OP_CLOSE:
                    code = wc.close_code(data)
                    if not self._closing:
                        self._closing = True
                        await self._send(wc.OP_CLOSE, data[:2])
                    raise Closed(code, "closed by the server")
                elif op == wc.OP_PONG:
                    if self.on_pong:
                        self.on_pong(data)
                    if msg is None:
                        return None
                else:
                    msg = data
                    total += n
                    if fin:
                        if self._z:  # (the compressed payload let go of once copied)
                            data = [msg]
                            msg = None
                            msg = self._inflate(data)
                        self.over = total if total > self.max else 0
                        data = [msg]  # (see recv's docstring)
                        msg = None
                        return data
        except ValueError as e:  # wscodec: the server broke RFC 6455 (close code, text)
            code, why = e.args if len(e.args) == 2 else (wc.CLOSE_PROTOCOL, str(e))
            await self.close(code)
            await self._linger()
            raise Closed(code, why)
        except OSError as e:
            raise _closed(e)

    def _inflate(self, data):
        """The message compressed as data (a list of one, which the inflater empties), inflated
        within the bound (wsdeflate.Inflater: ValueError 1009 beyond it, 1007 for a broken
        stream)."""
        return self.pmd[0].inflate(data, self.max)

    async def _linger(self):
        """After our close frame on a broken stream: discard what arrives until the server
        closes TCP (or the timeout), so unread data does not turn our close into a reset."""
        try:
            await within(self._discard(), self.t)
        except (asyncio.TimeoutError, Closed, OSError):
            pass

    async def _discard(self):
        while True:
            self._r = self._w = 0
            await self._fill()

    # --- writing ---------------------------------------------------------------------
    async def _write(self, data, op=None):
        """Write data, or with op the frames of payload data, and drain. One message at a
        time: another task's waits its turn (a few ms; no asyncio.Lock, whose module the heap
        would keep for this alone)."""
        while True:
            if self._dead:
                raise Closed(1006, "aborted")
            if not self._busy:
                break
            await asyncio.sleep_ms(_TURN_MS)
        self._busy = True  # (_TXBUF is ours: one station has one connection)
        try:
            await within(self._out(data, op), self.t)
        finally:
            self._busy = False

    async def _out(self, data, op):
        z = op == wc.OP_TEXT and self.pmd and (type(data) is list or len(data) >= _SMALL)
        if z:  # compressed in our turn (with context takeover the CSMS inflates messages in the
            # order they are compressed), into the frames as it comes: its length is not known
            # before, so one longer than the send buffer goes as fragments
            data = [self.pmd[1].compress(data if type(data) is list else (data,))]
            op |= wc.RSV1
        try:
            for f in (data,) if op is None else wc.frames(op, data, _TXBUF or bytearray(_TX), os.urandom):
                await _send(self.s, f)
                self.tx_bytes += len(f)
        except BaseException:  # (a part that fails to be made, no memory, a timeout): the
            if z:  # window now holds what the CSMS never got, so the stream cannot go on
                self.abort()
            raise

    async def _send(self, op, payload):
        await self._write(payload, op)

    async def send(self, text):
        """Send a text message: a str, or a list of str parts."""
        await self._write(text, wc.OP_TEXT)

    async def ping(self, payload=b""):
        await self._send(wc.OP_PING, payload)

    async def close(self, code=_CLOSE_NORMAL):
        """Start the close handshake; recv() then ends with Closed when the server answers."""
        if not self._closing:
            self._closing = True
            try:
                await self._send(wc.OP_CLOSE, wc.close_payload(code))
            except Exception:
                self.abort()

    def abort(self):
        """Drop the TCP connection at once; later reads and writes raise Closed. What the close
        gives back to the heap is held (_room) until the next connection."""
        self._dead = True
        free = gc.mem_free()
        try:
            self.s.close()
        except Exception:
            pass
        free = gc.mem_free() - free
        if free >= _ROOM_MIN:
            try:
                _hold(free)
            except MemoryError:  # (its lists): nothing held, and abort never raises
                _room[0] = ()
