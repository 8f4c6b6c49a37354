"""A hostile CSMS for the fuzz and memory campaigns (issue 9): a hand-driven WebSocket server on
127.0.0.1 that sends whatever bytes a test gives it (broken JSON, broken WebSocket framing,
floods), answers the station's own CALLs (or answers them badly when told to), checks every
frame the station sends (masked text, strict UTF-8, OCPP-J shape, the official schemas for its
CALLs and for its answers to our CALLs) and keeps the station's answers in arrival order, so a
test can tell which answer belongs to which frame it sent.

With a Deflate policy it answers the station's permessage-deflate offer (RFC 7692), connection
by connection: with context takeover, without it, or not at all; the station's compressed
messages are then inflated (strictly: every back-reference checked against the window the
station agreed to) before they are checked. What the CSMS compresses is host_tests/fuzzframes.py's.

Threads, not asyncio: one to accept, one reader per connection; tests wait on a Condition, so
a flood is checked at the speed of the station rather than of a polling loop."""

import base64
import datetime
import hashlib
import json
import random
import socket
import threading
import time
import zlib

import helpers
from tools import csms as csms_mod
from tools import wsframe

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# What the CSMS answers to the station's CALLs.
ANSWERS = {
    "BootNotification": lambda: {"currentTime": _now(), "interval": 300, "status": "Accepted"},
    "Heartbeat": lambda: {"currentTime": _now()},
    "Authorize": lambda: {"idTokenInfo": {"status": "Accepted"}},
}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def frame(op, payload=b"", fin=True, rsv=0, mask=None, length=None, ext=None):
    """One server frame: opcode op, payload bytes; rsv: the RSV1-3 bits (0-7); mask: 4 bytes
    (servers must not mask); length: the length to announce (default: the payload's); ext:
    force the 16-bit (2) or 64-bit (8) length encoding."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv & 7) << 4 | op
    m = 0x80 if mask else 0
    if ext is None:
        ext = 0 if n < 126 else 2 if n < 65536 else 8
    if ext == 0:
        h = bytes([b0, m | n])
    elif ext == 2:
        h = bytes([b0, m | 126]) + n.to_bytes(2, "big")
    else:
        h = bytes([b0, m | 127]) + n.to_bytes(8, "big")
    if mask:
        payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        h += mask
    return h + payload


def text(data):
    """A text message in one frame (str or bytes)."""
    return frame(1, data.encode() if isinstance(data, str) else data)


# --- permessage-deflate (RFC 7692) ---------------------------------------------------------------
RSV1 = 4  # frame()'s rsv for RSV1: the message is compressed
TAIL = b"\x00\x00\xff\xff"  # what a sync flush ends with: stripped from a message, put back to inflate it
END = b"\x03\x00"  # an empty last block (fixed codes): ends a stream that is at a block boundary
END_STORED = b"\x01\x00\x00\xff\xff"  # the same, a stored block


def inflate(z, data, out, most):
    """Feed data to the raw zlib decompressor z, appending what comes out to out, up to most + 1
    bytes in all (then it stops: a bomb is never inflated further). One byte of output per call:
    zlib checks a distance against its window plus what the current call has written, so one
    byte at a time every distance is checked against the window alone (2**wbits bytes at most,
    only what came out before at the stream's start): a reference before the start of the data
    or beyond the window is zlib.error ("invalid distance too far back"), as RFC 1951 has it."""
    while len(out) <= most:
        b = z.decompress(data, 1)
        data = z.unconsumed_tail
        if not b:
            return out  # (no output with input left is not possible: zlib ran out of input)
        out += b
        if z.eof:
            return out
    return out


def ends(z, marker, most=1024):
    """(whether marker ends zlib decompressor z's stream without an error, the bytes it adds)."""
    out = bytearray()
    try:
        inflate(z, marker, out, most)
    except zlib.error:
        return False, len(out)
    return z.eof, len(out)


def at_block_boundary(z):
    """Whether zlib decompressor z (its input all read) is where a block may start: an empty
    last block of either kind ends its stream there and adds nothing (inside a block, their
    bytes would be read as codes or data)."""
    return all(ends(z.copy(), m) == (True, 0) for m in (END, END_STORED))


def parse_extensions(value):
    """[(name, {parameter: value or None})] of a Sec-WebSocket-Extensions header value."""
    out = []
    for ext in value.split(","):
        parts = [p.strip() for p in ext.split(";")]
        params = {}
        for p in parts[1:]:
            k, eq, v = p.partition("=")
            params[k.strip().lower()] = v.strip().strip('"') if eq else None
        out.append((parts[0].lower(), params))
    return out


class Pmd:
    """permessage-deflate as agreed on one connection. s_bits, s_keep: the window of the CSMS's
    messages (server_max_window_bits) and whether it lasts from message to message (context
    takeover: no server_no_context_takeover); c_bits, c_keep: the same of the station's. comp,
    params, hist: the CSMS's compressor kept between messages (context takeover), its zlib
    settings and what it compressed last (fuzzframes.zpayload); window: the oracle's record of
    the last 2**s_bits bytes the station inflated, made from the bytes sent only
    (fuzzframes.judge)."""

    def __init__(self, mode, s_bits, s_keep, c_bits, c_keep, params):
        self.mode = mode
        self.s_bits, self.s_keep, self.c_bits, self.c_keep = s_bits, s_keep, c_bits, c_keep
        self.params = params  # (level, memLevel, strategy) of comp
        self.comp = None
        self.hist = b""  # the last 2**s_bits bytes comp has compressed
        self.pending = None  # comp after the case being made, kept once it is sent (fuzzframes.Case.bind)
        self.pending_hist = None  # hist with it
        self.window = b""
        self._zin = None  # the station's messages: the decompressor kept between them

    def __repr__(self):
        return "<pmd %s S=%d%s C=%d%s>" % (self.mode, self.s_bits, "" if self.s_keep else " no-takeover",
                                           self.c_bits, "" if self.c_keep else " no-takeover")

    def inflate_station(self, payload):
        """The station's compressed message, or raises ValueError saying what is wrong with it:
        not a deflate stream within the window it agreed to (2**c_bits), not ended with a
        sync flush (RFC 7692 section 7.2.1: the payload ends where the flush's 00 00 ff ff
        was), or a last block (the station compresses with sync flushes only)."""
        if self._zin is None or not self.c_keep:
            self._zin = zlib.decompressobj(wbits=-self.c_bits)
        z = self._zin
        out = bytearray()
        try:
            inflate(z, payload + TAIL, out, 1 << 20)
            if z.eof:
                raise ValueError("a last block (BFINAL) in the station's message")
            if z.unconsumed_tail:
                raise ValueError("over 1 MB inflated")
            if not at_block_boundary(z):
                raise ValueError("not ended with a sync flush")
        except zlib.error as e:
            raise ValueError("broken deflate stream: %s" % e)
        return bytes(out)


class Deflate:
    """What the CSMS answers to the station's permessage-deflate offer, connection after
    connection in the turn of MODES: "keep" (context takeover both ways, if the offer allows
    it: else as "fresh"), "fresh" (server_no_context_takeover: each message of the CSMS on its
    own), "refuse" (no extension: plain frames only). server_max_window_bits S between 9 and
    the offer's (CPython's zlib has no raw compressor of 8 bits: an offer of 8 is refused); now and then
    client_no_context_takeover and a smaller client_max_window_bits too. zlib settings of the
    CSMS's compressor at random (fuzzframes.zpayload)."""

    MODES = ("keep", "fresh", "refuse", "keep", "fresh", "keep", "fresh", "keep", "fresh")

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.n = 0

    def answer(self, offer):
        """(the Sec-WebSocket-Extensions answer, Pmd), or (None, None) to refuse."""
        r = self.rng
        mode = self.MODES[self.n % len(self.MODES)]
        self.n += 1
        offers = [p for name, p in parse_extensions(offer) if name == "permessage-deflate"]
        if mode == "refuse" or not offers:
            return None, None
        p = offers[0]
        most = int(p.get("server_max_window_bits") or 15)
        if most < 9:
            return None, None
        if mode == "keep" and "server_no_context_takeover" in p:
            mode = "fresh"
        s_bits = r.randint(9, most)
        parts = ["permessage-deflate", "server_max_window_bits=%d" % s_bits]
        if mode == "fresh":
            parts.append("server_no_context_takeover")
        c_bits, c_keep = 15, True  # (no client_max_window_bits in the answer: up to 15, RFC 7692 7.1.2.2)
        if "client_max_window_bits" in p and r.random() < 0.4:
            c_bits = r.randint(8, int(p["client_max_window_bits"] or 15))
            parts.append("client_max_window_bits=%d" % c_bits)
        if r.random() < 0.3:
            c_keep = False
            parts.append("client_no_context_takeover")
        # (with context takeover, settings that make back-references: level 0 stores, Huffman
        # only and RLE make none, or of 1 byte; a new compressor per message has them all)
        params = (r.choice((1, 6, 9, 9)), r.choice((1, 8, 9)),
                  r.choice((zlib.Z_DEFAULT_STRATEGY, zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_FIXED)))
        return "; ".join(parts), Pmd(mode, s_bits, mode == "keep", c_bits, c_keep, params)


class Conn:
    """One accepted WebSocket connection of the station."""

    def __init__(self, no, sock):
        self.no = no
        self.sock = sock
        self.frames = []  # (monotonic time, opcode, payload) from the station, unmasked (as sent: compressed or not)
        self.offer = None  # the station's Sec-WebSocket-Extensions (None: none)
        self.pmd = None  # permessage-deflate as agreed (Pmd), None: plain frames
        self.zframes = 0  # compressed messages the station sent
        self._z = False  # the message being read is compressed
        self.close_code = None  # code of the station's close frame
        self.closed = False  # TCP connection ended
        self.sent_close = False
        self.lock = threading.Lock()

    def send(self, data):
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the station closed first: what it did is in frames / close_code

    def pongs(self):
        return [p for t, op, p in self.frames if op == 10]

    def shut(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class RawCsms:
    def __init__(self, interval=300, deflate=None):
        """deflate: a Deflate policy for the station's permessage-deflate offers (None: all
        refused)."""
        self.interval = interval
        self.deflate = deflate
        self.srv, self.port = helpers.listener()
        self.url = "ws://127.0.0.1:%d/ocpp" % self.port
        self.cond = threading.Condition()
        self.conns = []
        self.answers = []  # the station's CALLRESULTs and CALLERRORs: (conn no, message list)
        self.calls = []  # the station's CALLs: (conn no, message list)
        self.violations = []  # what the station sent that breaks RFC 6455, OCPP-J or a schema
        self.sent = {}  # id of a CALL we sent -> action (to check the station's answer)
        self.bad_answers = {}  # action -> list of texts (with %s for the id) to answer with next
        self.hold = set()  # actions left unanswered
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    # --- the server -----------------------------------------------------------------------
    def _accept(self):
        while not self._stop:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(4096)
            if not d:
                c.close()
                return
            head += d
        key = ""
        offer = None
        for line in head.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n"):
            if line.lower().startswith("sec-websocket-key:"):
                key = line.split(":", 1)[1].strip()
            if line.lower().startswith("sec-websocket-extensions:"):
                offer = line.split(":", 1)[1].strip()
        acc = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        answer, pmd = self.deflate.answer(offer) if offer is not None and self.deflate else (None, None)
        ext = "Sec-WebSocket-Extensions: %s\r\n" % answer if answer else ""
        conn = Conn(len(self.conns) + 1, c)
        conn.offer, conn.pmd = offer, pmd
        c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: ocpp2.0.1\r\n%s\r\n" % (acc, ext)).encode())
        with self.cond:
            self.conns.append(conn)
            self.cond.notify_all()
        self._read(conn, head.split(b"\r\n\r\n", 1)[1])

    def _read(self, conn, buf):
        msg = None
        while True:
            try:
                d = conn.sock.recv(65536)
            except OSError:
                d = b""
            if not d:
                with self.cond:
                    conn.closed = True
                    self.cond.notify_all()
                return
            got = []
            frames, buf = wsframe.split(buf + d)
            for f in frames:
                op, fin, masked, rsv, payload = wsframe.parse(f)
                # RSV1 (0x40): a compressed message, on its first frame only, with the extension
                z = rsv == 0x40 and op == 1 and conn.pmd is not None
                if not masked or rsv and not z:
                    self._violation(conn, "frame not masked or with RSV bits: %r" % f[:2])
                got.append((time.monotonic(), op, payload))
                if op in (0, 1):
                    if op == 1:
                        conn._z = z
                    msg = payload if op == 1 else (msg or b"") + payload
                    if fin:
                        if conn._z:
                            try:
                                msg = conn.pmd.inflate_station(msg)
                            except ValueError as e:
                                self._violation(conn, "compressed message: %s: %r" % (e, msg[:200]))
                                msg = None
                            conn.zframes += 1
                        if msg is not None:
                            self._message(conn, msg)
                        msg = None
                elif op == 9:
                    conn.send(frame(10, payload))
                elif op == 8:
                    conn.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                    if not conn.sent_close:
                        conn.sent_close = True
                        conn.send(frame(8, payload[:2]))
                    conn.shut()
                elif op != 10:
                    self._violation(conn, "opcode %d" % op)
            with self.cond:
                conn.frames.extend(got)
                self.cond.notify_all()

    def _violation(self, conn, what):
        with self.cond:
            self.violations.append((conn.no, what))

    def _message(self, conn, raw):
        try:
            m = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return self._violation(conn, "invalid UTF-8 in a text frame: %r" % raw[:200])
        except ValueError:
            return self._violation(conn, "not JSON: %r" % raw[:200])
        errs = self._check(m)
        if errs:
            self._violation(conn, "%s: %s" % (raw[:200], errs))
        if not isinstance(m, list) or not m or m[0] not in (2, 3, 4):
            return
        with self.cond:
            (self.calls if m[0] == 2 else self.answers).append((conn.no, m))
            self.cond.notify_all()
        if m[0] == 2 and len(m) == 4:
            self._answer(conn, m[1], m[2])

    def _check(self, m):
        if not isinstance(m, list) or len(m) < 3 or m[0] not in (2, 3, 4):
            return ["not an OCPP-J frame"]
        if not isinstance(m[1], str) or not 0 < len(m[1]) <= 36:
            return ["bad message id"]
        if m[0] == 2:
            return ["CALL needs 4 elements"] if len(m) != 4 else csms_mod.schema_errors(m[2] + "Request", m[3])
        if m[0] == 3:
            if len(m) != 3:
                return ["CALLRESULT needs 3 elements"]
            action = self.sent.get(m[1])
            return csms_mod.schema_errors(action + "Response", m[2]) if action else []
        if len(m) != 5 or m[2] not in csms_mod.ERROR_CODES or not isinstance(m[3], str) \
                or len(m[3]) > 255 or not isinstance(m[4], dict):
            return ["malformed CALLERROR"]
        return []

    def _answer(self, conn, mid, action):
        if action in self.hold:
            return
        bad = self.bad_answers.get(action)
        if bad:
            conn.send(text(bad.pop(0).replace("%s", mid)))
            return
        payload = ANSWERS[action]() if action in ANSWERS else {}
        if action == "BootNotification":
            payload["interval"] = self.interval
        conn.send(text(json.dumps([3, mid, payload])))

    # --- for the tests ----------------------------------------------------------------------
    @property
    def conn(self):
        return self.conns[-1] if self.conns else None

    def send(self, data, conn=None):
        (conn or self.conn).send(data)

    def call(self, mid, action, payload):
        """Send a CALL whose answer gets checked against the action's response schema."""
        self.sent[mid] = action
        self.send(text(json.dumps([2, mid, action, payload])))

    def wait(self, pred, timeout, what):
        """pred() under the lock, until true; raises AssertionError after timeout s."""
        with self.cond:
            if not self.cond.wait_for(pred, timeout):
                raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what() if callable(what) else what))
            return pred()

    def answer(self, mid, timeout=10, start=0):
        """The station's answer to the CALL with id mid (searching from answers[start])."""
        def find():
            for i in range(start, len(self.answers)):
                if self.answers[i][1][1] == mid:
                    return i + 1
            return None
        return self.answers[self.wait(find, timeout, "the answer to %s" % mid) - 1][1]

    def actions(self, action):
        return [m for _, m in self.calls if m[2] == action]

    def close(self):
        self._stop = True
        self.srv.close()
        for c in self.conns:
            c.shut()
