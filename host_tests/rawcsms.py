"""A hostile CSMS for the fuzz and memory campaigns (issue 9): a hand-driven WebSocket server on
127.0.0.1 that sends whatever bytes a test gives it (broken JSON, broken WebSocket framing,
floods), answers the station's own CALLs (or answers them badly when told to), checks every
frame the station sends (masked text, strict UTF-8, OCPP-J shape, the official schemas for its
CALLs and for its answers to our CALLs) and keeps the station's answers in arrival order, so a
test can tell which answer belongs to which frame it sent.

Threads, not asyncio: one to accept, one reader per connection; tests wait on a Condition, so
a flood is checked at the speed of the station rather than of a polling loop."""

import base64
import datetime
import hashlib
import json
import socket
import threading
import time

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


class Conn:
    """One accepted WebSocket connection of the station."""

    def __init__(self, no, sock):
        self.no = no
        self.sock = sock
        self.frames = []  # (monotonic time, opcode, payload) from the station, unmasked
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
    def __init__(self, interval=300):
        self.interval = interval
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
        for line in head.decode(errors="replace").split("\r\n"):
            if line.lower().startswith("sec-websocket-key:"):
                key = line.split(":", 1)[1].strip()
        acc = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n" % acc).encode())
        with self.cond:
            conn = Conn(len(self.conns) + 1, c)
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
                if not masked or rsv:
                    self._violation(conn, "frame not masked or with RSV bits: %r" % f[:2])
                got.append((time.monotonic(), op, payload))
                if op in (0, 1):
                    msg = payload if op == 1 else (msg or b"") + payload
                    if fin:
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
