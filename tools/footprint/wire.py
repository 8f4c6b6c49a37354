"""tools/footprint/wire.py - a TCP relay between the station and the CSMS on 127.0.0.1 that
counts what passes: WebSocket frames (plain ws://) or TLS records (wss://), with arrival times.

The relay parses the real byte stream, so a figure is what a board would send over its network
interface above TCP (TCP/IP headers excluded).
"""

import asyncio
import json
import time
import zlib

from tools import wsframe


class WsStream:
    """One direction of a ws:// connection: the HTTP upgrade head, then frames. Each frame is
    recorded as a dict: t0/t1 (arrival of its first/last byte), op, size (bytes on the wire)
    and text (of a text message in one frame); each text message, its fragments joined, in
    msgs likewise (a NotifyReport page goes as fragments). A text is inflated if it came
    compressed (RFC 7692
    permessage-deflate, when the response accepted it; each side's window is kept from
    message to message unless the response says otherwise, runtime/wsdeflate.py)."""

    def __init__(self, up=True):
        self.buf = b""
        self.head = None  # bytes of the upgrade request/response once complete
        self.frames = []
        self._t0 = None
        self.up = up  # station to CSMS
        self._z = None  # the station's messages' inflater
        self.msgs = []  # text messages, fragments joined: t0 of the first frame, t1 of the last, size of all
        self.units = []  # (arrival time, bytes) of the upgrade head and of each frame (tools/footprint/bill.py)
        self._msg = None  # the one being received
        self._keep = True  # the window is kept between messages (context takeover)

    def feed(self, data, t):
        if not self.buf:
            self._t0 = t
        self.buf += data
        if self.head is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head, self.buf = self.buf[: end + 4], self.buf[end + 4 :]
            self.units.append((t, end + 4))
            # (the CSMS's window as its response says; the station's kept: the CSMSs the
            # tools run never answer client_no_context_takeover)
            self._keep = self.up or b"server_no_context_takeover" not in self.head.lower()
        while True:
            n = wsframe.size(self.buf)
            if n is None:
                return
            frame, self.buf = self.buf[:n], self.buf[n:]
            op, fin, _, rsv, payload = wsframe.parse(frame)
            f = {"t0": self._t0, "t1": t, "op": op, "size": n, "text": None}
            self.frames.append(f)
            self.units.append((t, n))
            self._t0 = t
            if op == 1:  # a text message's first (or only) frame: RSV1 marks it compressed
                self._msg = {"t0": f["t0"], "size": 0, "data": [], "z": rsv & 0x40}
            if op in (0, 1) and self._msg is not None:
                m = self._msg
                m["size"] += n
                m["data"].append(payload)
                if fin:
                    data = b"".join(m["data"])
                    text = (self._inflate(data) if m["z"] else data).decode(errors="replace")
                    if op == 1:
                        f["text"] = text
                    self.msgs.append({"t0": m["t0"], "t1": t, "op": 1, "size": m["size"], "text": text})
                    self._msg = None

    def _inflate(self, payload):
        z = self._z
        if z is None or not self._keep:
            z = self._z = zlib.decompressobj(wbits=-15)
        try:
            return z.decompress(payload + b"\x00\x00\xff\xff")
        except zlib.error:
            return b""

    def total(self):
        return len(self.head or b"") + sum(f["size"] for f in self.frames) + len(self.buf)


TLS_TYPES = {20: "handshake", 21: "alert", 22: "handshake", 23: "app"}  # 20: ChangeCipherSpec
MFL = {1: 512, 2: 1024, 3: 2048, 4: 4096}  # RFC 6066 max_fragment_length codes


def hello_mfl(rec):
    """The max_fragment_length (bytes) a plaintext ClientHello or ServerHello record rec (TLS
    1.2, header included) asks for or grants, 0 without the extension, None if rec is not
    a whole hello."""
    try:
        if rec[0] != 22 or rec[5] not in (1, 2):
            return None
        end = 9 + int.from_bytes(rec[6:9], "big")
        if end > len(rec):
            return None
        i = 9 + 2 + 32  # version, random
        i += 1 + rec[i]  # session id
        if rec[5] == 1:  # ClientHello: cipher suites, compression methods
            i += 2 + int.from_bytes(rec[i:i + 2], "big")
            i += 1 + rec[i]
        else:  # ServerHello: the cipher suite, the compression method
            i += 3
        if i >= end:
            return 0  # no extensions
        stop = i + 2 + int.from_bytes(rec[i:i + 2], "big")
        i += 2
        while i + 4 <= stop:
            kind, n = int.from_bytes(rec[i:i + 2], "big"), int.from_bytes(rec[i + 2:i + 4], "big")
            if kind == 1 and n == 1:
                return MFL.get(rec[i + 4], -1)
            i += 4 + n
        return 0
    except IndexError:
        return None


def hello_suites(rec):
    """The cipher suites (IANA codes) a plaintext ClientHello record rec offers, or the one a
    ServerHello chose (a list of one); None if rec is not a whole hello."""
    try:
        if rec[0] != 22 or rec[5] not in (1, 2) or 9 + int.from_bytes(rec[6:9], "big") > len(rec):
            return None
        i = 9 + 2 + 32  # version, random
        i += 1 + rec[i]  # session id
        if rec[5] == 2:
            return [int.from_bytes(rec[i:i + 2], "big")]
        n = int.from_bytes(rec[i:i + 2], "big")
        return [int.from_bytes(rec[j:j + 2], "big") for j in range(i + 2, i + 2 + n, 2)]
    except IndexError:
        return None


class TlsStream:
    """One direction of a wss:// connection: TLS records counted by content type, the largest
    record (its length field: the fragment plus, once encrypted, the AEAD's explicit nonce and
    tag, 24 bytes with AES-GCM) and the max_fragment_length of the hello (mfl: what the
    ClientHello asks for / the ServerHello grants, 0 for none, None before the hello)."""

    def __init__(self):
        self.buf = b""
        self.bytes = {"handshake": 0, "alert": 0, "app": 0}
        self.app_records = 0
        self.largest = 0
        self.mfl = None
        self.suites = None  # hello_suites of the hello
        self.units = []  # (arrival time, bytes) of each record (tools/footprint/bill.py)

    def feed(self, data, t):
        self.buf += data
        while len(self.buf) >= 5:
            n = 5 + int.from_bytes(self.buf[3:5], "big")
            if len(self.buf) < n:
                return
            kind = TLS_TYPES.get(self.buf[0], "alert")
            self.bytes[kind] += n
            self.app_records += kind == "app"
            self.units.append((t, n))
            self.largest = max(self.largest, n - 5)
            if self.mfl is None:
                self.mfl = hello_mfl(self.buf[:n])
                self.suites = hello_suites(self.buf[:n])
            self.buf = self.buf[n:]

    def total(self):
        return sum(self.bytes.values()) + len(self.buf)


class Relay:
    """Listens on 127.0.0.1 (port after start()) and forwards every connection to
    127.0.0.1:target. conns holds (up, down) streams: up = station to CSMS."""

    def __init__(self, target, tls):
        self.target = target
        self.kind = TlsStream if tls else WsStream
        self.conns = []
        self.port = None
        self._server = None

    async def start(self):
        self._server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        self._server.close()
        await self._server.wait_closed()

    async def _conn(self, r, w):
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            w.close()
            return
        if self.kind is WsStream:
            up, down = WsStream(up=True), WsStream(up=False)
        else:
            up, down = self.kind(), self.kind()
        self.conns.append((up, down))
        await asyncio.gather(_pipe(r, uw, up), _pipe(ur, w, down))

    def messages(self):
        """OCPP messages of all ws:// connections in order: dicts with t0, t1, size, dir
        ("up"/"down"), msg (the decoded JSON array)."""
        out = []
        for up, down in self.conns:
            for d, s in (("up", up), ("down", down)):
                for f in s.msgs:
                    if f["text"] is not None:
                        try:
                            out.append(dict(f, dir=d, msg=json.loads(f["text"])))
                        except ValueError:
                            pass
        return sorted(out, key=lambda m: m["t0"])


async def _pipe(r, w, stream):
    try:
        while True:
            data = await r.read(65536)
            if not data:
                break
            stream.feed(data, time.monotonic())
            w.write(data)
            await w.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        w.close()


def data_figures(relay):
    """Bytes on the wire of a ws:// session: per OCPP action (CALLs and their replies, by who
    sent the CALL), the HTTP upgrades, control frames (ping, pong, close) and totals."""
    calls = {}  # message id -> action
    per = {}
    for m in relay.messages():
        msg = m["msg"]
        if not isinstance(msg, list) or len(msg) < 3:
            continue
        if msg[0] == 2:
            calls[msg[1]] = msg[2]
            a = per.setdefault(msg[2], {"from": "station" if m["dir"] == "up" else "csms",
                                        "n": 0, "call": 0, "reply": 0})
            a["n"] += 1
            a["call"] += m["size"]
        elif msg[1] in calls:
            per[calls[msg[1]]]["reply"] += m["size"]
    up = sum(s.total() for s, _ in relay.conns)
    down = sum(s.total() for _, s in relay.conns)
    frames = [f for u, d in relay.conns for f in u.frames + d.frames]
    return {
        "messages": per,
        "upgrade": sum(len(u.head or b"") + len(d.head or b"") for u, d in relay.conns),
        "control": sum(f["size"] for f in frames if f["op"] >= 8),
        "up": up,
        "down": down,
        "total": up + down,
    }


def tls_figures(relay):
    """Bytes of a wss:// session by TLS content type and direction; per direction also the
    largest record's length (largest_record) and max_fragment_length: what the station's
    ClientHello asked for (up) and the CSMS's ServerHello granted (down), the least over the
    connections (0: not asked / not granted on some connection)."""
    out = {}
    for d, i in (("up", 0), ("down", 1)):
        ss = [c[i] for c in relay.conns]
        out[d] = {k: sum(s.bytes[k] for s in ss) for k in ("handshake", "app", "alert")}
        out[d]["app_records"] = sum(s.app_records for s in ss)
        out[d]["largest_record"] = max([s.largest for s in ss] or [0])
        mfl = [s.mfl for s in ss if s.mfl is not None]
        out[d]["max_fragment_length"] = min(mfl) if mfl else None
    out["total"] = sum(out[d][k] for d in ("up", "down") for k in ("handshake", "app", "alert"))
    out["connections"] = len(relay.conns)
    return out


def response_times(relay):
    """Per CSMS action: seconds from the last byte of the CALL reaching the relay to the first
    byte of the station's reply (the station's whole path: WebSocket, parse, handler, reply)."""
    sent = {}
    out = {}
    for m in relay.messages():
        msg = m["msg"]
        if not isinstance(msg, list) or len(msg) < 3:
            continue
        if msg[0] == 2 and m["dir"] == "down":
            sent[msg[1]] = (msg[2], m["t1"])
        elif msg[0] in (3, 4) and m["dir"] == "up" and msg[1] in sent:
            action, t = sent.pop(msg[1])
            out.setdefault(action, []).append(m["t0"] - t)
    return out
