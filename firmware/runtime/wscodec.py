# runtime/wscodec.py - WebSocket client codec (RFC 6455) without I/O: frame headers, masking,
# message rules and close payloads. runtime/ws.py drives it over an asyncio stream; the
# opening handshake is runtime/wsupgrade.py's, loaded only to connect (runtime/wsopen.py).
import struct
from micropython import const

OP_CONT = const(0)
OP_TEXT = const(1)
OP_BINARY = const(2)
OP_CLOSE = const(8)
OP_PING = const(9)
OP_PONG = const(10)

CLOSE_NORMAL = const(1000)
CLOSE_GOING_AWAY = const(1001)
CLOSE_PROTOCOL = const(1002)
CLOSE_UNSUPPORTED = const(1003)
CLOSE_NO_STATUS = const(1005)
CLOSE_INVALID_DATA = const(1007)
CLOSE_TOO_BIG = const(1009)
RSV1 = const(0x40)  # permessage-deflate: the message is compressed (runtime/wsdeflate.py)

# A frame that breaks RFC 6455 raises ValueError(close_code, text): close with close_code (a
# ValueError, not a class of its own: one type object less in the heap).

_PLAIN = (str, bytes, bytearray)  # frames() parts written as they are (else made as written)


def frames(opcode, payload, buf, rand):
    """The masked client frames of one message, as views of buf to write in turn (each valid
    until the next is asked for): nothing is allocated for them, whatever the message's size.
    payload: bytes, or text as a str or a list of parts (a message made in parts is never
    joined): str, or iterators of str made only now, as they are written (a NotifyReport page:
    its text never lives in the heap whole). A payload whose length is known (no iterator) is
    one frame, written through buf in pieces; text made as written is one frame when it fits
    buf, else fragments of buf's size (RFC 6455 section 5.4: a message of unknown size sent
    without holding it). rand(4): a frame's mask, fresh for each frame."""
    parts = payload if type(payload) is list else (payload,)
    n = 0
    for p in parts:
        if type(p) not in _PLAIN:
            n = -1
            break
        n += len(memoryview(p))  # bytes, not characters
    size = len(buf)
    if n >= 0:  # one frame: its header, then its payload as buf takes it
        mask = rand(4)
        i = _head(buf, 0, 0x80 | opcode, n, mask)
        k = 0  # payload bytes masked so far: the mask's phase
        for p in parts:
            mv = memoryview(p)
            j = 0
            while j < len(mv):
                if i == size:
                    yield memoryview(buf)[:i]
                    i = 0
                c = min(size - i, len(mv) - j)
                buf[i : i + c] = mv[j : j + c]
                _mask(buf, i, i + c, mask, k)
                i += c
                j += c
                k += c
        yield memoryview(buf)[:i]
        return
    i = 8  # made as written: the text goes in at 8, the header before it once its length is known
    for p in parts:
        for s in (p,) if type(p) in _PLAIN else p:
            mv = memoryview(s)
            j = 0
            while j < len(mv):
                if i == size:  # buf is full and more follows: a fragment
                    yield _fragment(buf, opcode, i, rand)
                    opcode = OP_CONT
                    i = 8
                c = min(size - i, len(mv) - j)
                buf[i : i + c] = mv[j : j + c]
                i += c
                j += c
    yield _fragment(buf, 0x80 | opcode, i, rand)


def _fragment(buf, b0, i, rand):
    """The frame of buf[8:i] with first byte b0 (FIN and opcode), masked: a view of buf."""
    mask = rand(4)
    s = 8 - _header(i - 8)  # 0, or 2 for a short one (its header is 6 bytes)
    _head(buf, s, b0, i - 8, mask)
    _mask(buf, 8, i, mask, 0)
    return memoryview(buf)[s:i]


def _head(buf, s, b0, n, mask):
    """Write at s a client frame's header for n bytes of payload; returns where they start."""
    buf[s] = b0
    if n < 126:
        buf[s + 1] = 0x80 | n
    elif n < 65536:
        buf[s + 1] = 0xFE
        struct.pack_into(">H", buf, s + 2, n)
    else:
        buf[s + 1] = 0xFF
        struct.pack_into(">Q", buf, s + 2, n)
    o = s + _header(n)
    buf[o - 4 : o] = mask
    return o


def _mask(buf, i, j, mask, k):
    """Mask buf[i:j], the payload from its byte k on."""
    for t in range(i, j):
        buf[t] ^= mask[(t - i + k) & 3]


def _header(n):
    """Bytes of a masked client frame's header for n bytes of payload."""
    return 6 if n < 126 else 8 if n < 65536 else 14


def head(b0, b1, rsv=0):
    """First two bytes of a server frame -> (fin, opcode, len7, extended-length bytes to read).
    rsv: the reserved bits a negotiated extension gives a meaning (RSV1, 0x40: permessage-deflate's
    "compressed", on a message's first frame only)."""
    op = b0 & 0x0F
    n = b1 & 0x7F
    if b0 & 0x70 & ~rsv or b0 & 0x40 and (op == OP_CONT or op >= OP_CLOSE):
        raise ValueError(CLOSE_PROTOCOL, "reserved bits set")
    if b1 & 0x80:
        raise ValueError(CLOSE_PROTOCOL, "server frame is masked")
    if op >= OP_CLOSE:
        if op > OP_PONG:
            raise ValueError(CLOSE_PROTOCOL, "unknown control opcode")
        if not b0 & 0x80 or n > 125:
            raise ValueError(CLOSE_PROTOCOL, "bad control frame")
    elif op > OP_BINARY:
        raise ValueError(CLOSE_PROTOCOL, "unknown data opcode")
    return b0 & 0x80, op, n, 2 if n == 126 else 8 if n == 127 else 0


def data_rule(op, fragmented):
    """Check a data frame against the message so far. Raises ValueError(close_code, text)."""
    if op == OP_CONT and not fragmented:
        raise ValueError(CLOSE_PROTOCOL, "continuation without a message")
    if op != OP_CONT and fragmented:
        raise ValueError(CLOSE_PROTOCOL, "new message inside a fragmented one")
    if op == OP_BINARY:
        raise ValueError(CLOSE_UNSUPPORTED, "OCPP-J is text only")


def close_payload(code, reason=""):
    return struct.pack(">H", code) + reason.encode()[:120]


def close_code(payload):
    """Status code of a received close frame (1005 when it carries none)."""
    if len(payload) >= 2:
        return (payload[0] << 8) | payload[1]
    return CLOSE_NO_STATUS
