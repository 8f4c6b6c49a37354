# ocpp_lite/engine/rpc.py - OCPP-J RPC framing (OCPP 2.0.1 Part 4 section 4): parse and build
# CALL / CALLRESULT / CALLERROR frames. No I/O, no clock.
import json
from micropython import const
from .jsonsyntax import check

CALL = const(2)
CALLRESULT = const(3)
CALLERROR = const(4)
MAX_ID = const(36)
_ACTION = const(40)  # longer than any OCPP 2.0.1 action
_SHAPED = const(1)  # jsonsyntax.check's bits: shaped like a CALL
_HEAVY = const(2)  # heavier than its bound
_HEAVY_WHOLE = const(4)  # heavier with its values kept as text (DataTransfer data) built

# RPC framework error codes (Part 4 section 4.3) the parser gives: private constants, as in
# every module that names one (a module global each would be a slot in every importer's dict)
_FORMAT = const("FormatViolation")
_INTERNAL = const("InternalError")
_TYPE_NOT_SUPPORTED = const("MessageTypeNotSupported")
_RPC_FRAMEWORK = const("RpcFrameworkError")

_SEP = const((",", ":"))


class CallError(Exception):
    """Raised to answer a CALL with a CALLERROR: CallError(code, description[, message_id])."""


def parse(buf, admit=None):
    """Decode one received text message (bytes-like).

    Returns (CALL, id, action, payload), (CALLRESULT, id, None, payload),
    (CALLERROR, id, code, description) or None for a broken response (dropped: a response
    is never answered). Raises CallError(code, description, id) for a CALL that must be
    answered with a CALLERROR; id is "-1" when it cannot be read. A bytearray has its legal
    customData blanked and its long strings lifted out first (engine/jsonsyntax.py,
    engine/lift.py: buf is changed, and may become the value of a certificate or data field). admit(action, size): raises
    CallError(code, description) for a CALL to be answered from its action and size alone (an
    action the build does not handle, a message over a size limit): checked as JSON but never
    parsed, it costs no heap.
    """
    longs = [] if type(buf) is bytearray else None
    lifted = None
    try:
        bits = check(buf, longs)
        h = bits and head(buf)
        if h and h[0] == CALL:
            a = bits & _SHAPED and admit and _action(buf, h[2])
            try:
                if a:
                    admit(a, len(buf))
                if bits & _HEAVY:  # strict JSON, too heavy to build: answered like one too long
                    raise CallError(_FORMAT, "over the parse bound")
            except CallError as e:
                raise CallError(e.args[0], e.args[1], h[1])
        if bits & _HEAVY:
            raise ValueError
        text = buf
        if longs and _lifts(longs):
            from . import lift

            lifted = lift.lift(buf, longs)
            if lifted:
                text = lifted[1]
            elif bits & _HEAVY_WHOLE:  # (its own \u0000: nothing kept) too heavy to build
                if h and h[0] == CALL:
                    raise CallError(_FORMAT, "over the parse bound", h[1])
                raise ValueError
        msg = json.loads(text)
    except (ValueError, UnicodeError):
        raise CallError(_RPC_FRAMEWORK, "not valid JSON", "-1")
    if lifted:
        try:
            msg = lift.put_back(msg, lift.finish(buf, lifted[0]))
        except MemoryError:  # buf may be half moved: the id is taken from what was parsed
            if type(msg) is list and len(msg) == 4 and msg[0] == CALL and type(msg[1]) is str and 0 < len(msg[1]) <= MAX_ID:
                raise CallError(_INTERNAL, "out of memory", msg[1])
            raise
    if type(msg) is not list or not msg:
        raise CallError(_RPC_FRAMEWORK, "not a JSON array", "-1")
    n = len(msg)
    mid = msg[1] if n > 1 else None
    if type(mid) is not str or not mid or len(mid) > MAX_ID:
        mid = None
    kind = msg[0]
    if kind == CALL and type(kind) is int:
        if mid is None:
            raise CallError(_RPC_FRAMEWORK, "messageId unreadable", "-1")
        if n != 4 or type(msg[2]) is not str:
            raise CallError(_RPC_FRAMEWORK, "CALL needs 4 elements", mid)
        if type(msg[3]) is not dict:
            raise CallError(_FORMAT, "payload is not an object", mid)
        return CALL, mid, msg[2], msg[3]
    if kind == CALLRESULT and type(kind) is int:
        if mid is None or n != 3 or type(msg[2]) is not dict:
            return None
        return CALLRESULT, mid, None, msg[2]
    if kind == CALLERROR and type(kind) is int:
        if mid is None or n != 5 or type(msg[2]) is not str or type(msg[3]) is not str:
            return None
        return CALLERROR, mid, msg[2], msg[3]
    if type(kind) is not int:
        raise CallError(_RPC_FRAMEWORK, "messageTypeId is not a number", mid or "-1")
    raise CallError(_TYPE_NOT_SUPPORTED, "unknown messageTypeId", mid or "-1")


def _lifts(longs):
    """Whether check's longs list a string for engine/lift.py: not only the blanks of a
    customData it dropped (start, -1 - end), which lift would leave as they are."""
    for j in range(0, len(longs), 2):
        if longs[j] < 0 or longs[j + 1] >= 0:
            return True
    return False


def head(buf):
    """(message type, id, offset after the id) of a text that starts like a message ('[2,"<id>"', 3 or 4 likewise),
    else None; read without parsing it: for a message that was not (out of memory) or could
    not be (over MaxMessageBytes: only its head was kept)."""
    n = len(buf)
    i = 0
    kind = 0
    for want in b'[2,"':
        while i < n and buf[i] in b" \t\r\n":
            i += 1
        if i == n:
            return None
        if want == 50 and 50 <= buf[i] <= 52:  # 2 3 4
            kind = buf[i] - 48
        elif buf[i] != want:
            return None
        i += 1
    m = _plain(buf, i, MAX_ID, 32)  # printable ASCII only: echoed without checking it further
    return m and (kind, m[0], m[1])


def _action(buf, i):
    """The action of a CALL whose id ends before buf[i], read without parsing: a plain ASCII
    string after the comma, else None."""
    n = len(buf)
    for want in b',"':
        while i < n and buf[i] in b" \t\r\n":
            i += 1
        if i == n or buf[i] != want:
            return None
        i += 1
    a = _plain(buf, i, _ACTION, 33)
    return a and a[0]


def _plain(buf, i, most, low):
    """(the string that starts at buf[i], after its quote, offset after its closing quote) when
    it is 1 to most bytes from low to 126 and no escape, else None."""
    j = buf.find(b'"', i, i + most + 1)
    if j <= i:
        return None
    t = bytes(buf[i:j])
    if min(t) < low or max(t) > 126 or b"\\" in t:
        return None
    return t.decode(), j + 1


def call_id(buf):
    """The message id of a text that starts like a CALL, else None (see head)."""
    h = head(buf)
    return h[1] if h and h[0] == CALL else None


def dumps(obj):
    return json.dumps(obj, separators=_SEP)


def call(mid, action, payload):
    """The frame as a list of str parts: the WebSocket frames them one by one, so the payload's
    text is never copied into a frame string (a fragmented heap may have no room for a second
    copy of a 400-byte TransactionEvent). payload: a dict, or its JSON text already made, whole
    or as a list of parts (wscodec.frames: str, or iterators of str made as written)."""
    head = '[2,"%s","%s",' % (mid, action)
    if type(payload) is list:
        return [head] + payload + ["]"]
    return [head, payload if type(payload) is str else dumps(payload), "]"]


def result(mid, payload):
    """The frame as a list of str parts (see call)."""
    return ["[3,%s," % dumps(mid), dumps(payload), "]"]


def error(mid, code, description=""):
    return '[4,%s,"%s",%s,{}]' % (dumps(mid), code, dumps(description[:255]))
