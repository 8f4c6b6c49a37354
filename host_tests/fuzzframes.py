"""Hostile CSMS frames for the fuzz campaign (issue 9), each paired with what the station must do
with it: a seeded generator of every category the issue lists, and an oracle written on CPython
(json, jsonschema with the official OCPP 2.0.1 schemas) that says which answer a message gets
(docs/behaviour.md "Behaviour details": Part 4 section 4.3 CALLERROR codes, dropped responses, WebSocket
close codes).

A Case is one hostile message (or a WebSocket-level fault): the bytes to write, the answers
the station must give, in order, the pongs it must send, or the close code it must end the
connection with. The oracle works on the bytes that go out, never on the generator's intent, so
a mutation that happens to leave a valid message is expected to be answered as one.

permessage-deflate (RFC 7692, docs/behaviour.md "Compression"): on a connection where the
station's offer was accepted (rawcsms.Deflate) every message category is also sent compressed,
with faults of its own (bombs, broken deflate streams, RSV1 where it has no meaning). Such a
case is made when it goes out (Case.bind: with context takeover each message is compressed
after the ones before it) and judged then by judge(), which reads the frames from the bytes and
inflates a compressed message with zlib (inflate_message), strictly: what the station must do
follows from what those bytes inflate to on that connection, never from what was meant."""

import json
import random
import re
import string
import zlib

import jsonschema

from tools import csms as csms_mod, jsonweight, wsframe
from tools.largest import BYTES, HANDLED, MAX_MSG, node as _node, schema
from rawcsms import END, RSV1, TAIL, at_block_boundary, ends, frame, inflate

# --- the station's rules (docs/behaviour.md "Behaviour details", "Provisioning with --set")
# MAX_MSG: MaxMessageBytes default (read from runtime/config.py; Frames(max_msg=)): of a larger
# message the station keeps the first KEEP bytes and answers a CALL whose id they hold with
# FormatViolation
KEEP = 96  # runtime/ws.py _KEEP
DEPTH = 16  # deepest nesting of arrays and objects
NUMLEN = 24  # longest number literal
MAX_ID = 36  # longest message id
ITEMS = {"GetVariables": ("getVariableData", 4), "SetVariables": ("setVariableData", 4)}  # ItemsPerMessage
ALL_ACTIONS = tuple(sorted(p.name[:-len("Request.json")] for p in csms_mod.SCHEMAS.glob("*Request.json")))
# Handled actions whose valid requests change nothing the campaign depends on: only these are
# ever sent with a valid payload (the others only with a broken one, which must change nothing).
SAFE = ("DataTransfer", "ClearCache", "GetVariables", "GetTransactionStatus", "TriggerMessage",
        "GetChargingProfiles", "GetCompositeSchedule", "GetInstalledCertificateIds", "CustomerInformation",
        "UnlockConnector", "RequestStopTransaction", "ClearChargingProfile", "DeleteCertificate",
        "InstallCertificate", "ChangeAvailability")
# ... with these values where a valid request could still act
SAFE_TRIGGERS = ("Heartbeat", "StatusNotification", "FirmwareStatusNotification", "LogStatusNotification",
                 "BootNotification", "TransactionEvent", "MeterValues", "SignV2GCertificate")
STATION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]+$")  # the station's own message ids (session.py)

GOOD_TIMES = ("2024-01-01T00:00:00Z", "2030-12-31T23:59:59Z", "2025-06-15T12:30:45.123Z",
              "2024-02-29T08:00:00+05:30", "2019-03-10T02:00:00-08:00", "2000-01-01T00:00:00.0Z")
BAD_TIMES = ("", "yesterday", "2024-13-01T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00",
             "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-32T00:00:00Z", "2024-1-1T00:00:00Z",
             "2024-01-01T00:00:00+0100", "2024-01-01T00:00:00.Z", "20240101T000000Z", "2024-01-01T00:00:00ZZ",
             "2024-00-10T00:00:00Z", "T", "2024-01-01T00:00:00+01:00:00", "２０２４-01-01T00:00:00Z")
CODES = {"required": "OccurrenceConstraintViolation", "minItems": "OccurrenceConstraintViolation",
         "maxItems": "OccurrenceConstraintViolation", "additionalProperties": "FormatViolation",
         "type": "TypeConstraintViolation", "enum": "PropertyConstraintViolation",
         "maxLength": "PropertyConstraintViolation", "minimum": "PropertyConstraintViolation",
         "maximum": "PropertyConstraintViolation"}
RFE = "RpcFrameworkError"
FLOOD_MOST = 2048  # a flood holds small messages only (a big one may find no memory: sent alone)


class Case:
    """wire: the bytes to write (WebSocket frames); answers: the station's answers in order, each
    ("E", id, codes, size) for a CALLERROR with one of codes or ("R", id, action, size) for a
    CALLRESULT that must match the official response schema of action (size: the bytes of the
    message answered); pongs: ping payloads it must echo; close: the close codes one of which
    must end the connection (None: it stays up).

    A case made for the connection it goes out on (make: fn(pmd) -> wire, pmd the connection's
    rawcsms.Pmd or None) has no wire nor answers until bind(); size is then the bytes of its
    largest message before compression, needs "pmd" or "plain" the connection it is for."""

    __slots__ = ("cat", "wire", "answers", "pongs", "close", "note", "make", "size", "needs", "refs")

    def __init__(self, cat, wire, answers=(), pongs=(), close=None, note="", make=None, size=0, needs=None):
        self.cat, self.wire, self.answers, self.pongs, self.close, self.note = \
            cat, wire, list(answers), list(pongs), close, note
        self.make, self.size, self.needs, self.refs = make, size, needs, 0

    def __repr__(self):
        return "<%s %s %r>" % (self.cat, self.note, (self.wire or b"")[:160])

    def bind(self, pmd, max_msg=MAX_MSG):
        """Make the bytes of a case made for its connection now, in the order they go out, and
        take what judge() says of them on that connection (pmd: its rawcsms.Pmd, None without
        the extension); once only. False: the case is not to be sent (made for the other kind
        of connection; a request that would change the station: not sent, see note); the
        CSMS's compressor and the
        oracle's window are then left as they were."""
        if self.make is None:
            return True
        if self.needs == "pmd" and pmd is None or self.needs == "plain" and pmd is not None:
            self.note += "; not sent: made for a connection %s the extension" % ("with" if pmd is None else "without")
            return False
        self.wire = self.make(pmd)
        v = judge(self.wire, pmd, max_msg)
        if v.skip:
            self.note += "; not sent: " + v.skip
            if pmd is not None:
                pmd.pending = pmd.pending_hist = None
            return False
        self.answers, self.pongs, self.close, self.refs = v.answers, v.pongs, v.close, v.refs
        self.make = None  # (made: binding it again changes nothing)
        if pmd is not None:  # sent: the compressor and the window the station now has
            if pmd.pending is not None:
                pmd.comp, pmd.hist = pmd.pending, pmd.pending_hist
            pmd.pending = pmd.pending_hist = None
            pmd.window = v.window
            if pmd.s_keep and pmd.hist != v.window:
                # bytes not the compressor's own (a stream cut or with bits flipped that still
                # inflates): it starts again from what the station holds, or it would refer to
                # bytes the station does not have
                level, mem, strategy = pmd.params
                pmd.comp = zlib.compressobj(level, zlib.DEFLATED, -pmd.s_bits, mem, strategy,
                                            **({"zdict": v.window} if v.window else {}))
                pmd.hist = v.window
        return True


# --- the oracle -------------------------------------------------------------------------------


_validators = {}


def payload_codes(action, p, size):
    """The CALLERROR codes a CALL of a handled action with payload p (a message of size bytes)
    may get, or None when the station must take it."""
    if action in BYTES and size > BYTES[action]:
        return {"FormatViolation"}
    v = _validators.get(action)
    if v is None:
        v = _validators[action] = jsonschema.Draft6Validator(schema(action))
    # salesTariff (ISO 15118 only) is taken as it comes and ignored (smartcharging.py: ANY)
    codes = {CODES.get(e.validator, "?" + e.validator) for e in v.iter_errors(p) if "salesTariff" not in e.path}
    root = schema(action)
    if _bad_times(root, root, p):
        codes.add("TypeConstraintViolation")
    if codes:
        return codes
    if action in ITEMS and len(p[ITEMS[action][0]]) > ITEMS[action][1]:
        return {"OccurrenceConstraintViolation"}
    return None


def _bad_times(root, s, v):
    """True when a date-time field of v is not an RFC 3339 date-time the station reads."""
    s = _node(root, s)
    if s.get("format") == "date-time" and isinstance(v, str):
        return v not in GOOD_TIMES and not _TIME.match(v)
    if isinstance(v, dict) and s.get("type") == "object":
        props = s.get("properties", {})
        return any(k in props and _bad_times(root, props[k], x) for k, x in v.items())
    if isinstance(v, list) and s.get("type") == "array":
        return any(_bad_times(root, s["items"], x) for x in v)
    return False


_TIME = re.compile(r"^20[0-3]\d-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?Z$")
_SURROGATE = re.compile(r"(\\+)u[dD][89a-fA-F][0-9a-fA-F]{2}")


class _Invalid(Exception):
    pass


def _constant(c):
    raise _Invalid(c)


HEAVY = object()


def strict(b):
    """The value of bytes b when the station's strict JSON check takes it, else None; HEAVY
    when it is strict JSON heavier than the parse bound (tools/jsonweight.py)."""
    try:
        t = b.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(len(m.group(1)) % 2 for m in _SURROGATE.finditer(t)):
        return None  # \uD800-\uDFFF escapes: MicroPython would make CESU-8 of them

    def number(s):
        if len(s) > NUMLEN:
            raise _Invalid("number literal over %d characters" % NUMLEN)
        return float(s) if any(c in s for c in ".eE") else int(s)

    try:
        v = json.loads(t, parse_float=number, parse_int=number, parse_constant=_constant)
    except (ValueError, _Invalid, RecursionError):
        return None
    if _depth(v) > DEPTH:
        return None
    if jsonweight.weight(t) > jsonweight.WEIGHT:
        return HEAVY
    return v


def head_call_id(b):
    """The id of a text that starts like a CALL, read as the station reads it without parsing
    (ocpp_lite/engine/rpc.py head: '[2,"<id>"', printable ASCII, no escape), else None."""
    m = re.match(rb'[ \t\r\n]*\[[ \t\r\n]*2[ \t\r\n]*,[ \t\r\n]*"([^"]{1,%d})"' % MAX_ID, b)
    if not m or min(m.group(1)) < 32 or max(m.group(1)) > 126 or b"\\" in m.group(1):
        return None
    return m.group(1).decode()


def head_action(b):
    """The action of a text that starts like a CALL, read as the station reads it without
    parsing (ocpp_lite/engine/rpc.py _action: plain printable ASCII, at most 40), else None."""
    m = re.match(rb'[ \t\r\n]*\[[ \t\r\n]*2[ \t\r\n]*,[ \t\r\n]*"[^"]{1,%d}"[ \t\r\n]*,[ \t\r\n]*"([^"]{1,40})"'
                 % MAX_ID, b)
    if not m or min(m.group(1)) < 33 or max(m.group(1)) > 126 or b"\\" in m.group(1):
        return None
    return m.group(1).decode()


def _depth(x):
    if isinstance(x, list):
        return 1 + max((_depth(i) for i in x), default=0)
    if isinstance(x, dict):
        return 1 + max((_depth(i) for i in x.values()), default=0)
    return 0


def expect(b, max_msg=MAX_MSG):
    """What the station answers to the text message b (bytes): [] when it drops it, else one
    ("E", id, codes) or ("R", id, action) (a CALLRESULT valid against the action's response
    schema); or "unsafe" for a valid request the campaign must not send (it would change the
    station). A message over max_msg (MaxMessageBytes) is answered from its head."""
    if len(b) > max_msg:
        mid = head_call_id(b[:KEEP])
        return [("E", mid, {"FormatViolation"})] if mid else []
    m = strict(b)
    if m is HEAVY:  # not built: answered from its head (ocpp_lite/engine/rpc.py parse)
        mid = head_call_id(b)
        if not mid:
            return [("E", "-1", {RFE})]
        v = json.loads(b)
        action = head_action(b)
        if action and isinstance(v, list) and len(v) == 4 and isinstance(v[3], dict):
            if action not in ALL_ACTIONS:
                return [("E", mid, {"NotImplemented"})]
            if action not in HANDLED:
                return [("E", mid, {"NotSupported"})]
        return [("E", mid, {"FormatViolation"})]
    if not isinstance(m, list) or not m:
        return [("E", "-1", {RFE})]
    n = len(m)
    mid = m[1] if n > 1 and isinstance(m[1], str) and 0 < len(m[1]) <= MAX_ID else None
    kind = m[0]
    if type(kind) is int and kind == 2:
        if mid is None:
            return [("E", "-1", {RFE})]
        if n != 4 or not isinstance(m[2], str):
            return [("E", mid, {RFE})]
        if not isinstance(m[3], dict):
            return [("E", mid, {"FormatViolation"})]
        action = m[2]
        if action not in ALL_ACTIONS:
            return [("E", mid, {"NotImplemented"})]
        if action not in HANDLED:
            return [("E", mid, {"NotSupported"})]
        codes = payload_codes(action, m[3], len(b))
        if codes:
            return [("E", mid, codes)]
        if not safe(action, m[3]):
            return "unsafe"
        return [("R", mid, action)]
    if type(kind) is int and kind in (3, 4):
        if mid is not None and STATION_ID.match(mid):
            return "unsafe"  # could answer the station's own CALL
        return []
    if type(kind) is not int:
        return [("E", mid or "-1", {RFE})]
    return [("E", mid or "-1", {"MessageTypeNotSupported"})]


def safe(action, p):
    if action not in SAFE:
        return False
    if action == "TriggerMessage":
        return p["requestedMessage"] in SAFE_TRIGGERS
    if action == "ChangeAvailability":
        return p["operationalStatus"] == "Operative"
    return True


# --- permessage-deflate: the oracle ------------------------------------------------------------------
# What MicroPython's inflater (uzlib, as on the PyPI unix port) takes that a strict inflater
# refuses: test_campaign_fuzz.py keeps a reproducer of each, expected to fail where it is taken.
# The campaign's station (the 32-bit port, boards/common/deflate-takeover.patch) refuses all
# three, with context takeover or without: they are sent (judge: closed 1007).
FINDINGS = {
    "F1": "a back-reference before the first byte of the data (MicroPython's inflater copies its "
          "zeroed window: no error)",
    "F2": "a Huffman code set that is not a prefix code (MicroPython's inflater does not check "
          "code sets)",
    "F3": "a stream cut inside a block that the station's own end marker (03 00) completes",
}
# zlib's reasons for a code set it refuses (inflate.c), which MicroPython's uzlib does not check
_CODE_SETS = ("invalid code lengths set", "invalid literal/lengths set", "invalid distances set",
              "too many length or distance symbols", "invalid code -- missing end-of-block")
SLACK = 1024  # inflated past the bound: a fault within this much more may close 1007 instead of 1009


def inflate_message(payload, bits, most, window=b""):
    """RFC 7692 section 7.2.2 on the bytes of one compressed message: payload + 00 00 ff ff
    inflated as raw deflate (RFC 1951) by zlib with a window of 2**bits bytes holding window
    (the station's last inflated bytes with context takeover), every distance checked against
    what that window holds (rawcsms.inflate). (kind, bytes, why):
    - ("ok", the message, ""): a stream that ends at a block boundary after the tail
      (rawcsms.at_block_boundary) or with a last block (RFC 7692 section 7.2.3.3), within most
      bytes;
    - ("big", its first most + 1 bytes, why): it inflates past most (MaxMessageBytes); why
      "broken after the bound" when a fault follows within SLACK bytes (the station inflates in
      pieces: it may meet the fault before it counts past the bound);
    - ("broken", what came before the fault, zlib's reason or "cut inside a block");
    - ("skip", b"", FINDINGS key): broken, but in a way the station is known to take."""
    def run(win):
        z = zlib.decompressobj(wbits=-bits, zdict=win) if win else zlib.decompressobj(wbits=-bits)
        out = bytearray()
        try:
            inflate(z, payload + TAIL, out, most)
            if len(out) > most:
                try:
                    inflate(z, z.unconsumed_tail, out, most + SLACK)
                except zlib.error:
                    return "big", bytes(out[:most + 1]), "broken after the bound"
                return "big", bytes(out[:most + 1]), ""
            if z.eof:
                return "ok", bytes(out), ""
            if at_block_boundary(z):
                return "ok", bytes(out), ""
            done, more = ends(z, END, SLACK)  # what the station reads next: 03 00
            if done or len(out) + more > most:
                return "skip", b"", "F3"
            return "broken", bytes(out), "cut inside a block"
        except zlib.error as e:
            why = str(e).split(": ", 1)[-1]
            return ("skip", b"", "F2") if why in _CODE_SETS else ("broken", bytes(out), why)

    kind, data, why = run(window)
    if kind == "broken" and why == "invalid distance too far back" and len(window) < 1 << bits:
        # the same with the part of the window nothing was written to yet as zeros: what the
        # station reads there
        if run(bytes((1 << bits) - len(window)) + window)[0] != "broken":
            return "skip", b"", "F1"
    return kind, data, why


class Verdict:
    """judge()'s answer: answers (each with the size of the message answered), pongs, close
    (the close codes one of which must end the connection, or None), window (what the
    station's window holds after it), refs (compressed messages that inflate only with the
    window: back-references into earlier messages), skip (why the case is not to be sent)."""

    def __init__(self, answers=(), pongs=(), close=None, window=b"", refs=0, skip=None):
        self.answers, self.pongs, self.close, self.window, self.refs, self.skip = \
            list(answers), list(pongs), close, window, refs, skip


def judge(wire, pmd, max_msg=MAX_MSG):
    """What the station must do with the bytes wire (whole server frames) on a connection with
    permessage-deflate as pmd (a rawcsms.Pmd; None: not agreed): RFC 6455 and RFC 7692 as
    docs/behaviour.md states them. RSV2/RSV3, a masked frame, RSV1 without the extension, on a
    control frame or on a continuation: 1002; a compressed message over max_msg on the wire or
    once inflated: 1009; a broken deflate stream: 1007; a ping: its pong; every message the
    answers expect() gives for its bytes (inflated, if compressed)."""
    frames, rest = wsframe.split(wire)
    assert frames and not rest, "not whole frames: %r" % wire[:40]
    answers, pongs = [], []
    window = pmd.window if pmd is not None else b""
    refs = 0
    msg = None
    z = False

    def closed(*codes):
        return Verdict(answers, pongs, set(codes), window, refs)

    for f in frames:
        op, fin, masked, rsv, payload = wsframe.parse(f)
        if masked or rsv & ~(0x40 if pmd is not None else 0) or rsv and (op == 0 or op >= 8):
            return closed(1002)
        if op >= 8:
            if op > 10 or not fin or len(payload) > 125:
                return closed(1002)
            if op == 9:
                pongs.append(payload)
            elif op == 8:
                return closed(int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005)
            continue
        if op > 2 or (op == 0) != (msg is not None):
            return closed(1002)
        if op == 2:
            return closed(1003)
        if msg is None:
            msg, z = b"", bool(rsv)
        msg += payload
        if z and len(msg) > max_msg:
            return closed(1009)
        if not fin:
            continue
        data = msg
        if z:
            keep = window if pmd.s_keep else b""
            kind, data, why = inflate_message(msg, pmd.s_bits, max_msg, keep)
            if kind == "skip":
                # the campaign's station (the 32-bit port: boards/common/deflate-takeover.patch)
                # refuses these (without takeover it takes a new window for each message); one
                # that also inflates past the bound may meet it first
                return closed(1007, 1009)
            if kind == "big":
                return closed(1009, 1007) if why else closed(1009)
            if kind == "broken":
                return closed(1007)
            if keep and inflate_message(msg, pmd.s_bits, max_msg)[0] != "ok":
                refs += 1
            if pmd.s_keep:
                window = (window + data)[-(1 << pmd.s_bits):]
        e = expect(data, max_msg)
        if e == "unsafe":
            return Verdict(skip="a request that would change the station")
        answers += [a + (len(data),) for a in e]
        msg = None
    assert msg is None, "a case ends inside a message"
    return Verdict(answers, pongs, None, window, refs)


# --- valid payloads from the official schemas ---------------------------------------------------
_ALPHABET = string.ascii_letters + string.digits + " -_.:/@\"\\\t\x01\x7f" + "é中ß€😀"


def rand_string(rng, most):
    n = rng.choice((0, 1, 2, 5, 8, 12, 20, most, most)) if rng.random() < 0.3 else rng.randint(1, 12)
    n = min(n, most)
    if rng.random() < 0.5:
        return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))
    return "".join(rng.choice(_ALPHABET) for _ in range(n))


INTS = (0, 1, 2, 3, -1, 7, 42, 255, 3600, -2**31, 2**31 - 1, 2**32, 2**53, 10**20, 10**23 - 1)
NUMS = (0, 1, 16, 0.5, 6.25, -3.5, 1e3, 32.0, 1e-6, 1e300)


def instance(rng, root, s, depth=0):
    """A random value that matches schema node s."""
    s = _node(root, s)
    if "enum" in s:
        return rng.choice(s["enum"])
    t = s.get("type")
    if t == "object":
        out = {}
        props = s.get("properties", {})
        req = s.get("required", ())
        for k, sub in props.items():
            if k == "customData":
                if rng.random() < 0.05:
                    out[k] = {"vendorId": rand_string(rng, 255), "v": rng.choice((1, "x", [1, {}], None))}
            elif k in req or (depth < 4 and rng.random() < 0.4):
                out[k] = instance(rng, root, sub, depth + 1)
        return out
    if t == "array":
        lo = s.get("minItems", 0)
        hi = min(s.get("maxItems", lo + 2), lo + 2)
        return [instance(rng, root, s["items"], depth + 1) for _ in range(rng.randint(lo, hi))]
    if t == "string":
        if s.get("format") == "date-time":
            return rng.choice(GOOD_TIMES)
        return rand_string(rng, s.get("maxLength", 64))
    if t == "integer":
        lo = s.get("minimum", -2**63)
        return rng.choice([i for i in INTS if i >= lo])
    if t == "number":
        return rng.choice(NUMS)
    if t == "boolean":
        return rng.random() < 0.5
    return rng.choice((1, "x", None, [], {}))


def valid_payload(rng, action):
    """A random payload of action that the station must take."""
    for _ in range(50):
        p = instance(rng, schema(action), schema(action))
        if action in ITEMS:
            key, most = ITEMS[action]
            p[key] = p[key][:most]
        if action == "TriggerMessage" and p["requestedMessage"] not in SAFE_TRIGGERS:
            continue
        if action == "ChangeAvailability":
            p["operationalStatus"] = "Operative"
        if payload_codes(action, p, len(json.dumps(p)) + 60) is None:
            return p
    raise AssertionError("no valid %s payload" % action)


# --- mutations: one broken field each ------------------------------------------------------------
def _places(root, s, v, path=()):
    """(path, schema node, value) of every value in v."""
    s = _node(root, s)
    yield path, s, v
    if isinstance(v, dict) and s.get("type") == "object":
        props = s.get("properties", {})
        for k, x in v.items():
            if k in props:
                yield from _places(root, props[k], x, path + (k,))
    elif isinstance(v, list) and s.get("type") == "array":
        for i, x in enumerate(v):
            yield from _places(root, s["items"], x, path + (i,))


def _get(v, path):
    for k in path:
        v = v[k]
    return v


WRONG = (0, 1, -5, 2.5, 1e999, "", "7", "Accepted", True, False, None, [], [1], {}, {"id": 1}, [[[]]])


def mutate(rng, action, p):
    """p with one random violation (in place); a note says what was done."""
    root = schema(action)
    places = list(_places(root, root, p))
    path, s, v = rng.choice(places)
    how = rng.choice(("drop", "extra", "type", "type", "enum", "long", "items", "time", "custom"))
    if how == "drop" and isinstance(v, dict) and s.get("required"):
        k = rng.choice(s["required"])
        v.pop(k, None)
        return "drop %s" % ".".join(map(str, path + (k,)))
    if how == "extra" and isinstance(v, dict):
        k = rng.choice(("extra", "x", "", "CustomData", "customdata", "évse", "id ", "__proto__", "requestid"))
        v[k] = rng.choice(WRONG)
        return "extra %s" % ".".join(map(str, path + (k,)))
    if how == "enum" and "enum" in s and path:
        e = rng.choice(s["enum"])
        new = rng.choice((e.lower(), e.upper(), e + " ", " " + e, e[:-1], "", e + "\x00", e.replace("e", "е"), e * 3))
        _get(p, path[:-1])[path[-1]] = new
        return "enum %s=%r" % (".".join(map(str, path)), new)
    if how == "long" and s.get("type") == "string" and "maxLength" in s and path:
        n = s["maxLength"] + rng.choice((1, 1, 2, 10, 100, 1000))
        _get(p, path[:-1])[path[-1]] = rng.choice(("x", "é", "中", "\\")) * n
        return "long %s+%d" % (".".join(map(str, path)), n - s["maxLength"])
    if how == "items" and isinstance(v, list) and path:
        if "maxItems" in s and s["maxItems"] < 30 and rng.random() < 0.5:
            v.extend([v[0] if v else {}] * (s["maxItems"] + 1 - len(v)))
            return "items %s>%d" % (".".join(map(str, path)), s["maxItems"])
        del v[:]
        return "items %s=[]" % ".".join(map(str, path))
    if how == "time" and s.get("format") == "date-time" and path:
        _get(p, path[:-1])[path[-1]] = rng.choice(BAD_TIMES)
        return "time %s" % ".".join(map(str, path))
    if how == "custom" and isinstance(v, dict):
        v["customData"] = rng.choice(({}, {"vendorId": 5}, {"vendorId": "v" * 256}, [], "x", {"vendorid": "v"}))
        return "customData %s" % ".".join(map(str, path))
    if path:
        new = rng.choice(WRONG)
        _get(p, path[:-1])[path[-1]] = new
        return "type %s=%r" % (".".join(map(str, path)), new)
    return "unchanged"


# --- the generator ----------------------------------------------------------------------------------
def dumps(rng, obj):
    """JSON text of obj as a CSMS might write it: compact or spaced, raw UTF-8 or escaped."""
    sep = rng.choice(((",", ":"), (", ", ": "), (",", ":"), (" ,\n", " :\t")))
    return json.dumps(obj, separators=sep, ensure_ascii=rng.random() < 0.3)


class Frames:
    """Seeded stream of hostile cases. ids are unique, never the station's pattern."""

    def __init__(self, seed, max_msg=MAX_MSG):
        self.rng = random.Random(seed)
        self.max_msg = max_msg
        self.n = 0
        self._decks = {}  # closing()'s: with the extension or not -> kinds still to deal
        self._zfirst = None  # zcase()'s first kinds, one of each
        self._ztrunc = False  # z_truncated() was dealt before

    def mid(self):
        self.n += 1
        return "z%x" % self.n

    def message(self, cat, b, note=""):
        """A case of text message b (bytes) in one frame, answers by the oracle; None if the
        message must not be sent."""
        e = expect(b, self.max_msg)
        if e == "unsafe":
            return None
        return Case(cat, frame(1, b), [a + (len(b),) for a in e], note=note)

    def call(self, cat, action, payload, note="", raw=None):
        text = raw if raw is not None else '[2,"%s","%s",%s]' % (self.mid(), action, dumps(self.rng, payload))
        return self.message(cat, text.encode(), note or action)

    # one generator per category; each returns a Case or None (try again)
    def payload(self):
        """A handled action with one broken field (missing, extra, wrong type, out of the
        enumeration, too long, too many or few items, bad date-time, bad customData)."""
        action = self.rng.choice(HANDLED)
        p = instance(self.rng, schema(action), schema(action))
        how = mutate(self.rng, action, p)
        return self.call("payload", action, p, "%s %s" % (action, how))

    def valid(self):
        """A valid request of a harmless action, with random values (ids out of range, long
        strings, unicode...): a CALLRESULT that matches the response schema."""
        action = self.rng.choice(SAFE)
        return self.call("valid", action, valid_payload(self.rng, action))

    def actions(self):
        """Actions that are not OCPP 2.0.1 (NotImplemented) or not handled (NotSupported)."""
        r = self.rng.random()
        if r < 0.4:
            a = self.rng.choice([x for x in ALL_ACTIONS if x not in HANDLED])
        elif r < 0.8:
            a = self.rng.choice(("", " ", "heartbeat", "DATATRANSFER", "Data Transfer", "DataTransfer ",
                                 "FlyToTheMoon", "Reset\x00", "GetVariables2", "ReserveNow ReserveNow",
                                 "Authorize BootNotification", "Ré" * 20, "x" * 3000, "\\", "中文", "None",
                                 "__init__", "handler", "../../etc/passwd", "ocpp_lite.station",
                                 rand_string(self.rng, 60)))
        else:
            a = self.rng.choice(ALL_ACTIONS) + self.rng.choice(("s", "Request", "Response", ".py", "\t"))
        p = self.rng.choice(({}, {"a": 1}, {"vendorId": "v"}, {"requestId": 1, "reportBase": "FullInventory"}))
        return self.call("actions", a, p, "action %r" % a[:40])

    def rpc(self):
        """Broken envelopes: message type, id, element count, action and payload types;
        responses with unknown ids or broken shapes (dropped)."""
        mid = self.mid()
        t = self.rng.choice((
            '[%(t)s,"%(id)s","DataTransfer",{"vendorId":"v"}]', '[2,%(idv)s,"DataTransfer",{"vendorId":"v"}]',
            '[2,"%(id)s","DataTransfer"]', '[2,"%(id)s","DataTransfer",{"vendorId":"v"},{}]', '[2,"%(id)s"]',
            '[2]', '[]', '{}', '"x"', '2', 'null', '[2,"%(id)s",%(v)s,{}]', '[2,"%(id)s","DataTransfer",%(v)s]',
            '[3,"%(id)s",{}]', '[3,"%(id)s",%(v)s]', '[3,"%(id)s"]', '[3,"%(id)s",{},1]', '[3]',
            '[4,"%(id)s","GenericError","",{}]', '[4,"%(id)s",%(v)s,"",{}]', '[4,"%(id)s","X",%(v)s,{}]',
            '[4,"%(id)s","X","",%(v)s]', '[4,"%(id)s"]', '[4,"%(id)s","X","",{},5]', '[%(t)s,"%(id)s",{}]',
            '[%(t)s]', '[%(t)s,%(idv)s,"Heartbeat",{}]'))
        vals = ("0", "1", "5", "-1", "99", "2.0", "2.5", "1e0", "-0", '"2"', "true", "false", "null", "[]", "{}",
                "2" + "0" * 23, "1e999", '"Heartbeat"')
        ids = ('""', '"%s"' % ("i" * 36), '"%s"' % ("i" * 37), '"%s"' % ("é" * 36), '"%s"' % ("é" * 37), "17", "null",
               "[]", "{}", "true", '"\\u0000"', '"-1"', '"a\\"b"', '"%s"' % ("x" * 5000))
        text = t % {"t": self.rng.choice(vals), "id": mid, "idv": self.rng.choice(ids), "v": self.rng.choice(vals)}
        return self.message("rpc", text.encode(), "rpc " + text[:60])

    def json(self):
        """Not strict JSON: one to three random edits of a good frame, and known traps."""
        mid = self.mid()
        base = self.rng.choice((
            '[2,"%s","DataTransfer",{"vendorId":"v","data":[1,-2.5e3,true,null,"s\\"\\\\\\u00e9",{}]}]' % mid,
            '[2,"%s","TriggerMessage",{"requestedMessage":"Heartbeat","evse":{"id":1}}]' % mid,
            '[2,"%s","GetVariables",{"getVariableData":[{"component":{"name":"OCPPCommCtrlr"},'
            '"variable":{"name":"HeartbeatInterval"}}]}]' % mid,
            '[3,"%s",{"currentTime":"2024-01-01T00:00:00Z"}]' % mid))
        if self.rng.random() < 0.3:
            text = self.rng.choice((
                base.replace(",", ",,", 1), base[:-1] + ",]", base.replace('"', "'"), base.replace("1", "01", 1),
                base + " x", "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":NaN}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":Infinity}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":+1}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":0x10}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\" /* c */}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\\x41\"}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\\u12\"}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\nw\"}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\\ud800\"}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\\ud83d\\ude00\"}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\\\\ud800\"}]" % mid,
                "[2,\"\\ud800\",\"DataTransfer\",{\"vendorId\":\"v\"}]",
                "\ufeff" + base, base.replace(",", "\f,", 1), base.replace(",", "\u00a0,", 1),
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\"}" % mid, base[:len(base) // 2], "",
                " ", "[", "]", "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"vendorId\":\"w\"}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":tru}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":-}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":1.}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":.5}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":1e}]" % mid,
                "[2,\"%s\",\"DataTransfer\",{\"vendorId\":\"v\",\"data\":-0.0e-0}]" % mid))
        else:
            s = list(base)
            alphabet = '[]{}",:0123456789-+.eEtruefalsn \\/u\x01'
            for _ in range(self.rng.randint(1, 3)):
                i = self.rng.randrange(len(s) + 1)
                op = self.rng.random()
                if op < 0.35 and s:
                    del s[min(i, len(s) - 1)]
                elif op < 0.7:
                    s.insert(i, self.rng.choice(alphabet))
                elif s:
                    s[min(i, len(s) - 1)] = self.rng.choice(alphabet)
            text = "".join(s)
        return self.message("json", text.encode("utf-8", "surrogatepass"), "json %r" % text[:60])

    def utf8(self):
        """Invalid UTF-8: bytes no encoder makes, in a string or outside one."""
        mid = self.mid()
        bad = self.rng.choice((b"\xff", b"\xfe\xff", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xed\xa0\x80",
                               b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80",
                               b"\x80", b"\xbf", b"\xe2\x82", b"\xe2\x28\xa1", b"\xf0\x9f\x98", b"\xc3",
                               b"\xc3\xa9", b"\xf0\x9f\x98\x80", b"\xef\xbb\xbf", b"\xe2\x82\xac"))
        where = self.rng.choice(("vendorId", "id", "action", "outside", "key"))
        if where == "vendorId":
            b = b'[2,"%s","DataTransfer",{"vendorId":"v%sw"}]' % (mid.encode(), bad)
        elif where == "id":
            b = b'[2,"%s%s","DataTransfer",{"vendorId":"v"}]' % (mid.encode(), bad)
        elif where == "action":
            b = b'[2,"%s","Data%sTransfer",{"vendorId":"v"}]' % (mid.encode(), bad)
        elif where == "key":
            b = b'[2,"%s","DataTransfer",{"vendorId":"v","data":{"%s":1}}]' % (mid.encode(), bad)
        else:
            b = b'[2,"%s","DataTransfer",{"vendorId":"v"}]%s' % (mid.encode(), bad)
        return self.message("utf8", b, "utf8 %s %r" % (where, bad))

    def depth(self):
        """Nesting around the bound, in a free field (DataTransfer.data) and in a typed one."""
        d = self.rng.choice((1, 12, 13, 14, 15, 16, 17, 20, 100, 1000, 4000))
        mid = self.mid()
        inner = self.rng.choice((("[" * d) + ("]" * d), ('{"a":' * d) + "1" + ("}" * d), "[" * d))
        if self.rng.random() < 0.7:
            text = '[2,"%s","DataTransfer",{"vendorId":"v","data":%s}]' % (mid, inner)
        else:
            text = '[2,"%s","TriggerMessage",{"requestedMessage":"Heartbeat","evse":%s}]' % (mid, inner)
        return self.message("depth", text.encode(), "depth %d" % d)

    def numbers(self):
        """Number literals around the length bound, huge, tiny, negative zero, in integer fields."""
        lit = self.rng.choice(("0", "-0", "1e999", "-1e999", "1e-999", "5.0", "5.5", "1E2", "0.0e0", "2e-1",
                               "9" * 23, "9" * 24, "9" * 25, "-" + "9" * 23, "-" + "9" * 24, "1." + "0" * 22,
                               "1." + "0" * 23, "1e" + "9" * 20, "123456789012345678901234", "2147483648",
                               "4294967296", "-2147483649", "18446744073709551616", "1e308", "4.9e-324",
                               "3.4028236e38", "0.1", "1" + "0" * 400))
        mid = self.mid()
        field = self.rng.choice(('"GetBaseReport",{"requestId":%s,"reportBase":"Bogus"}',
                                 '"UnlockConnector",{"evseId":%s,"connectorId":1}',
                                 '"TriggerMessage",{"requestedMessage":"Heartbeat","evse":{"id":%s}}',
                                 '"GetCompositeSchedule",{"duration":%s,"evseId":1}',
                                 '"DataTransfer",{"vendorId":"v","data":%s}',
                                 '"ChangeAvailability",{"operationalStatus":"Operative","evse":{"id":%s}}',
                                 '"GetVariables",{"getVariableData":[{"component":{"name":"EVSE","evse":{"id":%s}},'
                                 '"variable":{"name":"Power"}}]}',
                                 '"ClearChargingProfile",{"chargingProfileId":%s}'))
        text = '[2,"%s",%s]' % (mid, field % lit)
        return self.message("numbers", text.encode(), "number %s" % lit[:30])

    def strings(self):
        """Long strings: ids, actions, values over their bound, messages close to MaxMessageBytes."""
        m = self.max_msg
        n = self.rng.choice((255, 256, 1000, 1500, m // 2, m - 60, m - 46, m - 45, m - 44, m - 40, m + 100))
        ch = self.rng.choice(("v", "é", "\\\\", "\\u00e9", "中"))
        mid = self.mid()
        s = ch * max(1, n // len(ch.encode()))
        field = self.rng.choice(('"DataTransfer",{"vendorId":"v","data":"%s"}', '"DataTransfer",{"vendorId":"%s"}',
                                 '"DataTransfer",{"vendorId":"v","messageId":"%s"}',
                                 '"InstallCertificate",{"certificateType":"CSMSRootCertificate","certificate":"%s"}',
                                 '"GetTransactionStatus",{"transactionId":"%s"}'))
        text = '[2,"%s",%s]' % (mid, field % s)
        return self.message("strings", text.encode(), "string %d x %r" % (n, ch))

    def count(self):
        """Many small values in one message: the parser's cost, not the message size, is bounded;
        in DataTransfer's data and a legal customData (never built: taken), or in a customData
        without vendorId (weighed: over the bound, or its schema error)."""
        k = self.rng.choice((10, 100, 500, 1000, 1015, 1016, 1017, 1200, 2000, 2700))
        item = self.rng.choice(("[]", "{}", "0", "1.5", '""', '"ab"', "[0]", '{"a":[]}', "null"))
        mid = self.mid()
        place = self.rng.choice(('"data":[%s]', '"customData":{"vendorId":"c","x":[%s]}', '"customData":{"x":[%s]}'))
        text = '[2,"%s","DataTransfer",{"vendorId":"v",%s}]' % (mid, place % ",".join([item] * k))
        return self.message("count", text.encode(), "count %d x %s" % (k, item))

    def certificates(self):
        """InstallCertificate of random and damaged PEM: the X.509 parser on hostile input."""
        import base64
        kind = self.rng.choice(("random", "truncated", "der-ish", "empty", "many"))
        rng = self.rng
        if kind == "random":
            body = base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.randint(1, 1500)))).decode()
        elif kind == "der-ish":
            body = base64.b64encode(bytes([0x30, 0x82, rng.randrange(256), rng.randrange(256)] +
                                          [rng.choice((0x30, 0x02, 0x06, 0x03, 0xa0, 0x81, 0x82, 0xff, 0))
                                           for _ in range(rng.randint(0, 600))])).decode()
        elif kind == "truncated":
            body = base64.b64encode(bytes([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30, 0x82, 0xff, 0xff])).decode()
        elif kind == "empty":
            body = ""
        else:
            body = "A" * rng.choice((3, 5, 4000))
        pem = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % body
        if rng.random() < 0.3:
            pem = pem * rng.randint(2, 3)
        ctype = rng.choice(("CSMSRootCertificate", "ManufacturerRootCertificate", "V2GRootCertificate"))
        return self.call("certificates", "InstallCertificate", {"certificateType": ctype, "certificate": pem},
                         "certificate %s" % kind)

    def fragments(self):
        """A message (valid or not) in several frames, maybe with pings between them; fragments
        split UTF-8 characters."""
        c = None
        while c is None or c.close:
            c = self.rng.choice((self.valid, self.payload, self.rpc, self.utf8))()
        whole = _payload_of(c.wire)
        k = self.rng.randint(2, min(6, max(2, len(whole))))
        cuts = sorted(self.rng.sample(range(1, len(whole)), k - 1)) if len(whole) > k else [len(whole) // 2]
        parts = [whole[a:b] for a, b in zip([0] + cuts, cuts + [len(whole)])]
        wire = b""
        pongs = []
        for i, p in enumerate(parts):
            wire += frame(1 if i == 0 else 0, p, fin=i == len(parts) - 1)
            if i < len(parts) - 1 and self.rng.random() < 0.3:
                ping = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 125)))
                wire += frame(9, ping)
                pongs.append(ping)
        if self.rng.random() < 0.1:  # zero-length frames are fragments too
            wire = wire.replace(frame(1, parts[0], fin=False), frame(1, b"", fin=False) + frame(0, parts[0], fin=False), 1)
        return Case("fragments", wire, c.answers, pongs, note="%d fragments of %s" % (len(parts), c.note))

    def oversize(self):
        """Messages over MaxMessageBytes, in one frame or fragments that cross the bound: the
        station keeps only the head, drops the rest as it arrives and answers a CALL
        FormatViolation; a response or a head without a readable id is dropped."""
        r = self.rng
        m = self.max_msg
        mid = self.mid()
        head = r.choice(('[2,"%s","DataTransfer",{"vendorId":"v","data":"' % mid,
                         ' [ 2 ,\n "%s" , "InstallCertificate",{"certificateType":"CSMSRootCertificate","certificate":"' % mid,
                         '[3,"%s",{"status":"' % mid, '[2,"%s","X","' % ("i" * 37), '{"x":"'))
        n = r.choice((m + 1, m + 2, m + 1000, 3 * m))
        b = (head + "x" * (n - len(head) - 2) + '"}').encode()
        e = expect(b, m)
        if r.random() < 0.5:
            return Case("oversize", frame(1, b), [a + (len(b),) for a in e], note="%d bytes in one frame" % n)
        cuts = sorted(r.sample(range(1, n), r.randint(1, 4)))
        if r.random() < 0.5:
            cuts = sorted(set(cuts + [m - 10]))  # a fragment under the bound, the next over it
        parts = [b[a:c] for a, c in zip([0] + cuts, cuts + [n])]
        wire = b"".join(frame(1 if i == 0 else 0, p, fin=i == len(parts) - 1) for i, p in enumerate(parts))
        return Case("oversize", wire, [a + (len(b),) for a in e], note="%d bytes in %d fragments" % (n, len(parts)))

    def control(self):
        """Pings (answered with the same payload) and unsolicited pongs (ignored)."""
        data = bytes(self.rng.randrange(256) for _ in range(self.rng.choice((0, 1, 60, 125))))
        if self.rng.random() < 0.6:
            return Case("control", frame(9, data), pongs=[data], note="ping %d" % len(data))
        return Case("control", frame(10, data), note="pong %d" % len(data))

    def flood(self):
        """Many messages in one write, all answered, in order."""
        cases = []
        n = self.rng.choice((20, 50, 100, 200))
        while len(cases) < n:
            c = self.rng.choice((self.valid, self.payload, self.rpc, self.actions, self.control))()
            if c is not None and not c.close and len(c.wire) < FLOOD_MOST:
                cases.append(c)
        return Case("flood", b"".join(c.wire for c in cases), [a for c in cases for a in c.answers],
                    [p for c in cases for p in c.pongs], note="flood of %d" % n)

    def plain_closing(self):
        """WebSocket faults that end the connection, with the close code the station must send."""
        r = self.rng
        mid = self.mid()
        msg = ('[2,"%s","DataTransfer",{"vendorId":"v"}]' % mid).encode()
        cases = (
            ("masked frame", frame(1, msg, mask=b"abcd"), {1002}),
            ("binary frame", frame(2, msg), {1003}),
            ("reserved opcode", frame(r.choice((3, 4, 5, 6, 7, 11, 12, 13, 14, 15)), msg), {1002}),
            ("RSV bits", frame(1, msg, rsv=r.randint(1, 7)), {1002}),
            ("continuation first", frame(0, msg), {1002}),
            ("text inside a fragmented message", frame(1, msg[:5], fin=False) + frame(1, msg), {1002}),
            ("long ping", frame(9, b"p" * 126, ext=2), {1002}),
            ("fragmented ping", frame(9, b"p", fin=False), {1002}),
            ("fragmented close", frame(8, b"\x03\xe8", fin=False), {1002}),
            ("server close", frame(8, (1000).to_bytes(2, "big") + b"bye"), {1000}),
            ("server close 4000", frame(8, (4000).to_bytes(2, "big")), {4000}),
            ("server close, no code", frame(8, b""), {1000, 1005}),
        )
        note, wire, codes = r.choice(cases)
        if note == "RSV bits":  # RSV1 alone means "compressed" where the extension was agreed: judged there
            return Case("closing", None, note="RSV bits %d" % (wire[0] >> 4 & 7), make=lambda pmd: wire)
        return Case("closing", wire, close=codes, note=note)

    WEIGHTS = (("payload", 30), ("valid", 12), ("actions", 6), ("rpc", 10), ("json", 12), ("utf8", 5),
               ("depth", 4), ("numbers", 6), ("strings", 4), ("count", 3), ("certificates", 3),
               ("fragments", 8), ("oversize", 3), ("control", 3), ("flood", 1))

    def case(self, pmd=None):
        """The next case that keeps the connection up (WebSocket faults: closing()); on a
        connection with permessage-deflate (pmd) a share ZSHARE of them compressed (zcase())."""
        if pmd is not None and self.rng.random() < self.ZSHARE:
            return self.zcase()
        cats = [c for c, w in self.WEIGHTS for _ in range(w)]
        while True:
            c = getattr(self, self.rng.choice(cats))()
            if c is not None and not c.close:
                return c

    # --- permessage-deflate (RFC 7692) -----------------------------------------------------------
    ZSHARE = 0.5
    # every message category compressed; not control frames (RSV1 on one: a fault, below) nor
    # messages over the bound (compressed, a bomb: below)
    ZPLAIN = tuple((c, w) for c, w in WEIGHTS if c not in ("control", "oversize"))
    ZWEIGHTS = (("zplain", 24), ("zempty", 2), ("zbackref", 3))
    # the faults that end a connection with the extension: compressed faults first, so that a
    # short run has each
    ZCLOSINGS = ("z-bomb", "z-truncated", "z-blocktype", "z-distance", "z-garbage", "z-rsv1-control",
                 "z-rsv1-continuation", "z-over-wire")
    ZFIRST = tuple(c for c, w in ZPLAIN) + ("zempty", "zbackref")
    # what a campaign must have sent (test_campaign_fuzz.py checks): every compressed category,
    # and RSV1 where the extension was refused
    ZCATEGORIES = tuple("z-" + c for c, w in ZPLAIN) + ("z-empty", "z-backref") + ZCLOSINGS + ("rsv1-plain",)

    def zcase(self):
        """A compressed case that keeps the connection up, made when it goes out (Case.bind):
        at first one of each kind in turn (so that a short run has them all), then by ZWEIGHTS."""
        if self._zfirst is None:
            self._zfirst = self.rng.sample(self.ZFIRST, len(self.ZFIRST))
        kind = self._zfirst.pop() if self._zfirst else self.rng.choice([c for c, w in self.ZWEIGHTS for _ in range(w)])
        if kind == "zempty":
            return self.zempty()
        if kind == "zbackref":
            return self.zbackref()
        cats = [c for c, w in self.ZPLAIN for _ in range(w)] if kind == "zplain" else [kind]
        c = None
        while c is None or c.close or _largest(_frames_of(c.wire)) > self.max_msg:  # (over it: a bomb, below)
            c = getattr(self, self.rng.choice(cats))()
        return self.compressed(c)

    def compressed(self, c, cat=None):
        """Plain case c with each of its messages compressed (zwire), fragmented as it was."""
        frames = _frames_of(c.wire)
        seed = self.rng.getrandbits(32)
        return Case(cat or "z-" + c.cat, None, note="compressed " + c.note, needs="pmd", size=_largest(frames),
                    make=lambda pmd: zwire(pmd, frames, random.Random(seed)))

    def zempty(self):
        """The empty message compressed: 00 (RFC 7692 section 7.2.3.6), an empty block with fixed
        codes, the same as a last block, zlib's, or in fragments, some of them empty."""
        r = self.rng
        how = r.choice(("00", "0200", "0300", "zlib", "fragments"))
        seed = r.getrandbits(32)

        def make(pmd):
            rr = random.Random(seed)
            if how == "zlib":
                return frame(1, zpayload(pmd, b"", rr), rsv=RSV1)
            if how == "fragments":
                parts = rr.choice(([b"", b"\x00"], [b"\x00", b""], [b"", b"", b"\x02\x00"], [b"\x02", b"\x00"]))
                return b"".join(frame(0 if i else 1, p, fin=i == len(parts) - 1, rsv=0 if i else RSV1)
                                for i, p in enumerate(parts))
            return frame(1, bytes.fromhex(how), rsv=RSV1)
        return Case("z-empty", None, note="empty message %s" % how, make=make, needs="pmd")

    def zbackref(self):
        """Two compressed DataTransfer requests, the second naming the first's vendorId, which
        lies up to about the window's size back: with context takeover the compressor refers
        to it (the oracle counts such messages: Case.refs), without it each stands alone."""
        r = self.rng
        token = "".join(r.choice(string.ascii_letters + string.digits) for _ in range(r.randint(24, 60)))
        mids = self.mid(), self.mid()
        share = r.random()
        seed = r.getrandbits(32)

        def make(pmd):
            rr = random.Random(seed)
            fill = "".join(rr.choice(string.ascii_lowercase + string.digits)
                           for _ in range(int(min((1 << pmd.s_bits) - 320, self.max_msg - 200) * share)))
            a = '[2,"%s","DataTransfer",{"vendorId":"%s","data":"%s"}]' % (mids[0], token, fill)
            b = '[2,"%s","DataTransfer",{"vendorId":"%s","messageId":"%s"}]' % (mids[1], token, token[:50])
            return zwire(pmd, [(1, True, a.encode()), (1, True, b.encode())], rr)
        return Case("z-backref", None, note="back-reference %d%% of the window back" % (share * 100), make=make,
                    needs="pmd", size=self.max_msg)  # (size: the most it may be, the window not known yet)

    def closing(self, pmd=None, kind=None):
        """The next WebSocket fault that ends the connection, for a connection with
        permessage-deflate (pmd) or without: kind, or the next of a deck dealt so that the
        compressed faults come first (ZCLOSINGS, with the extension; RSV1 without it), then
        plain ones (plain_closing)."""
        if kind is None:
            deck = self._decks.setdefault(pmd is not None, [])
            if not deck:
                if pmd is not None:
                    deck.extend(self.rng.sample(self.ZCLOSINGS, len(self.ZCLOSINGS)) + ["plain"] * 3)
                else:
                    deck.extend(["rsv1-plain"] + ["plain"] * 2)
            kind = deck.pop(0)
        if kind == "plain":
            return self.plain_closing()
        return getattr(self, kind.replace("-", "_"))()

    def _zmessage(self):
        """A message to compress for a fault: valid, or of any message category."""
        c = None
        while c is None or c.close:
            c = self.rng.choice((self.valid, self.payload, self.rpc, self.json, self.utf8))()
        return _payload_of(c.wire)

    def z_bomb(self):
        """A small compressed message that inflates past MaxMessageBytes: by a byte, a little, a
        lot (1 MB from about 1 kB, or less, as zlib's settings have it), maybe in fragments;
        or a message over the bound of any category compressed. The station must stop at the
        bound (1009) and make nothing beyond it."""
        r = self.rng
        if r.random() < 0.25:
            return self.compressed(self.oversize(), "z-bomb")
        m = self.max_msg
        mid = self.mid()
        n = r.choice((m + 1, m + 2, m + 100, 3 * m, 100000, 1000000))
        head = r.choice(('[2,"%s","DataTransfer",{"vendorId":"v","data":"' % mid,
                         '[2,"%s","DataTransfer",{"vendorId":"v","data":[' % mid, "["))
        fill = r.choice(("x", "[", "0,", " ", "\u00e9", "{}"))
        body = (head.encode() + fill.encode() * n)[:n]
        k = r.choice((1, 1, 2, 3))
        seed = r.getrandbits(32)
        frames = [(1 if i == 0 else 0, i == k - 1, body[i * n // k:(i + 1) * n // k]) for i in range(k)]
        return Case("z-bomb", None, note="bomb of %d bytes %r in %d" % (n, fill, k), needs="pmd",
                    make=lambda pmd: zwire(pmd, frames, random.Random(seed)))

    def z_truncated(self):
        """A compressed message cut short by one byte or more (down to nothing), or a stored
        block (what zlib's level 0 writes) cut inside its data, so that the stream runs out of
        input (the first time: a short run has both ends, a fault in the codes and no more
        input)."""
        data = self._zmessage()
        r = self.rng
        stored = not self._ztrunc or r.random() < 0.3
        self._ztrunc = True
        cut = r.random()
        seed = r.getrandbits(32)

        def make(pmd):
            rr = random.Random(seed)
            if stored:  # header, LEN, NLEN (5 bytes), the data: cut within it
                c = zlib.compressobj(0, zlib.DEFLATED, -pmd.s_bits)
                z = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
                return frame(1, z[:5 + int(cut * len(data))], rsv=RSV1)
            z = zpayload(pmd, data, rr)
            return frame(1, z[:len(z) - 1 - int(cut * len(z))], rsv=RSV1)
        return Case("z-truncated", None, note="%s truncated %r" % ("stored" if stored else "", data[:40]),
                    needs="pmd", make=make)

    def z_blocktype(self):
        """A compressed message (maybe empty) followed by a block of type 3, which RFC 1951
        reserves, and random bytes."""
        r = self.rng
        data = self._zmessage() if r.random() < 0.7 else b""
        final = r.randint(0, 1)
        junk = bytes(r.randrange(256) for _ in range(r.choice((0, 1, 5, 40))))
        seed = r.getrandbits(32)

        def make(pmd):
            b = Bits()
            b.block(final, 3)
            return frame(1, zpayload(pmd, data, random.Random(seed), "tail") + b.flush() + junk, rsv=RSV1)
        return Case("z-blocktype", None, note="block type 3 after %r" % data[:40], needs="pmd", make=make)

    def z_distance(self):
        """A message with fixed codes whose back-reference lies beyond the window (more than
        2**S bytes back: with context takeover, beyond the bytes kept too), or uses distance
        code 30 or 31, which RFC 1951 does not define."""
        r = self.rng
        mid = self.mid()
        pre = ('[2,"%s","DataTransfer",{"vendorId":"v","data":"' % mid).encode()
        fill = r.choice((0, 10, 600, 2000))
        length = r.choice((3, 10, 258))
        how = r.choice(("far", "far", "code"))
        x = r.random()
        code = r.choice((30, 31))

        def make(pmd):
            b = Bits()
            b.block(0, 1)
            b.lit(pre + b"y" * fill)
            if how == "far":
                b.match(length, (1 << pmd.s_bits) + 1 + int(x * (32768 - (1 << pmd.s_bits) - 1)))
            else:
                b.sym(257)
                b.huff(code, 5)
                b.put(0, 13)
            b.lit(b'"}}]')
            return frame(1, b.sync(), rsv=RSV1)
        return Case("z-distance", None, note="distance %s after %d bytes" % (how, len(pre) + fill), needs="pmd",
                    make=make)

    def z_garbage(self):
        """Random bytes sent as a compressed message, or a compressed message with bits flipped."""
        r = self.rng
        if r.random() < 0.5:
            junk = bytes(r.randrange(256) for _ in range(r.choice((1, 2, 3, 8, 40, 300, 2000))))
            return Case("z-garbage", None, note="%d random bytes" % len(junk), needs="pmd",
                        make=lambda pmd: frame(1, junk, rsv=RSV1))
        data = self._zmessage()
        flips = [r.random() for _ in range(r.randint(1, 3))]
        seed = r.getrandbits(32)

        def make(pmd):
            z = bytearray(zpayload(pmd, data, random.Random(seed)))
            for f in flips:
                i = int(f * len(z) * 8)
                if z:
                    z[i // 8 % len(z)] ^= 1 << i % 8
            return frame(1, bytes(z), rsv=RSV1)
        return Case("z-garbage", None, note="%d bits flipped in %r" % (len(flips), data[:40]), needs="pmd",
                    make=make)

    def z_rsv1_control(self):
        """RSV1 on a ping, a pong or a close: it has no meaning there (RFC 7692 section 6)."""
        r = self.rng
        op = r.choice((8, 9, 10))
        payload = (1000).to_bytes(2, "big") if op == 8 else bytes(r.randrange(256) for _ in range(r.randint(0, 20)))
        wire = frame(op, payload, rsv=RSV1)
        return Case("z-rsv1-control", None, note="RSV1 on opcode %d" % op, make=lambda pmd: wire)

    def z_rsv1_continuation(self):
        """A message, compressed or not, in fragments, with RSV1 on a continuation frame."""
        r = self.rng
        data = self._zmessage()
        k = r.randint(2, 4)
        which = r.randint(1, k - 1)
        z = r.random() < 0.7
        seed = r.getrandbits(32)

        def make(pmd):
            rr = random.Random(seed)
            payload = zpayload(pmd, data, rr) if z and pmd is not None else data
            cuts = sorted(rr.randint(0, len(payload)) for _ in range(k - 1))
            parts = [payload[a:b] for a, b in zip([0] + cuts, cuts + [len(payload)])]
            return b"".join(frame(0 if i else 1, p, fin=i == k - 1,
                                  rsv=RSV1 if i == which or i == 0 and z and pmd is not None else 0)
                            for i, p in enumerate(parts))
        return Case("z-rsv1-continuation", None, note="RSV1 on fragment %d of %d" % (which + 1, k), make=make)

    def z_over_wire(self):
        """A compressed message over MaxMessageBytes on the wire (random bytes, or text that does
        not compress), in one frame or in fragments whose sum crosses the bound: 1009 without
        inflating it."""
        r = self.rng
        m = self.max_msg
        n = r.choice((m + 1, m + 50, 2 * m))
        text = r.random() < 0.5
        k = r.choice((1, 1, 2, 4))
        seed = r.getrandbits(32)

        def make(pmd):
            rr = random.Random(seed)
            if text:
                import base64  # (n random bytes as base64: no compressor makes them much shorter than n)
                junk = base64.b64encode(bytes(rr.randrange(256) for _ in range(n)))
                payload = zpayload(pmd, b'[2,"x","DataTransfer",{"vendorId":"v","data":"%s"}]' % junk, rr)
            else:
                payload = bytes(rr.randrange(256) for _ in range(n))
            cuts = sorted(rr.randint(0, len(payload)) for _ in range(k - 1))
            parts = [payload[a:b] for a, b in zip([0] + cuts, cuts + [len(payload)])]
            return b"".join(frame(0 if i else 1, p, fin=i == k - 1, rsv=0 if i else RSV1) for i, p in enumerate(parts))
        return Case("z-over-wire", None, note="%s of about %d bytes in %d" % ("text" if text else "junk", n, k),
                    needs="pmd", make=make)

    def rsv1_plain(self):
        """A compressed message (RSV1) on a connection without the extension: 1002."""
        data = self._zmessage()
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        wire = frame(1, (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4], rsv=RSV1)
        return Case("rsv1-plain", None, note="RSV1 without the extension", needs="plain", make=lambda pmd: wire)

    def sentinel(self, sid, pmd):
        """The window's closing CALL (ClearCache), compressed on a connection with the extension."""
        b = ('[2,"%s","ClearCache",{}]' % sid).encode()
        if pmd is None:
            return Case("sentinel", rawcsms_text(b), [("R", sid, "ClearCache", len(b))])
        seed = self.rng.getrandbits(32)
        return Case("z-sentinel", None, make=lambda pmd: zwire(pmd, [(1, True, b)], random.Random(seed)), needs="pmd")


def _payload_of(wire):
    """The payload of one unmasked frame."""
    n = wire[1] & 0x7F
    h = 2 if n < 126 else 4 if n == 126 else 10
    return wire[h:]


def rawcsms_text(b):
    return frame(1, b)


def _frames_of(wire):
    """[(opcode, fin, payload)] of the whole unmasked frames in wire."""
    return [wsframe.parse(f)[:2] + wsframe.parse(f)[4:] for f in wsframe.split(wire)[0]]


def _largest(frames):
    """Bytes of the largest message in frames."""
    most = n = 0
    for op, fin, p in frames:
        if op < 8:
            n += len(p)
            if fin:
                most, n = max(most, n), 0
    return most


# --- permessage-deflate: what the CSMS compresses ----------------------------------------------------
STRATEGIES = (zlib.Z_DEFAULT_STRATEGY, zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE,
              zlib.Z_FIXED)


def zpayload(pmd, data, rng, how=None):
    """The payload of message data compressed by the CSMS on pmd's connection (RFC 7692 section
    7.2.1; zlib with a window of 2**pmd.s_bits): with context takeover by the compressor kept
    from message to message (a copy: pmd.pending, kept once the case goes out), else by a new
    one with settings drawn from rng. how (else drawn): "sync" (a sync flush, its 00 00 ff ff
    stripped), "blocks" (flushed two or three times within the message, section 7.2.3.4),
    "final" (a last block, section 7.2.3.3; not with context takeover, where the stream goes
    on); "tail": the sync flush's 00 00 ff ff left in (not a message: another block follows)."""
    how = how or rng.choice(("sync", "sync", "sync", "sync", "blocks", "final"))
    if pmd.s_keep:
        if pmd.comp is None:
            level, mem, strategy = pmd.params
            pmd.comp = zlib.compressobj(level, zlib.DEFLATED, -pmd.s_bits, mem, strategy)
        c = (pmd.pending or pmd.comp).copy()
        hist = pmd.hist if pmd.pending is None else pmd.pending_hist
        how = "sync" if how == "final" else how
    else:
        c = zlib.compressobj(rng.choice((0, 1, 6, 9, 9)), zlib.DEFLATED, -pmd.s_bits, rng.choice((1, 8, 9)),
                             rng.choice(STRATEGIES))
    if how == "final":
        out = c.compress(data) + c.flush(zlib.Z_FINISH)
    else:
        cuts = sorted(rng.randint(0, len(data)) for _ in range(rng.randint(1, 2))) if how == "blocks" else []
        out = b"".join(c.compress(data[a:b]) + c.flush(rng.choice((zlib.Z_SYNC_FLUSH, zlib.Z_FULL_FLUSH)) if cuts
                                                        else zlib.Z_SYNC_FLUSH)
                       for a, b in zip([0] + cuts, cuts + [len(data)]))
        assert out.endswith(TAIL)
        if how != "tail":
            out = out[:-4]
    if pmd.s_keep:
        pmd.pending, pmd.pending_hist = c, (hist + data)[-(1 << pmd.s_bits):]
    return out


def zwire(pmd, frames, rng, how=None):
    """frames ((opcode, fin, payload) of a plain case) with each message compressed (zpayload)
    and cut into as many fragments as it had, at random places (a fragment may be empty: RFC
    7692 section 7.2.3.5), RSV1 on its first; control frames where they were."""
    out = []
    msg, ctl = [], []  # the message's payloads so far, the control frames after each
    for op, fin, payload in frames:
        if op >= 8:
            (ctl[-1] if msg else out).append(frame(op, payload))
            continue
        msg.append(payload)
        ctl.append([])
        if fin:
            z = zpayload(pmd, b"".join(msg), rng, how)
            k = len(msg)
            cuts = sorted(rng.randint(0, len(z)) for _ in range(k - 1))
            for i, (a, b) in enumerate(zip([0] + cuts, cuts + [len(z)])):
                out.append(frame(0 if i else 1, z[a:b], fin=i == k - 1, rsv=0 if i else RSV1))
                out.extend(ctl[i])
            msg, ctl = [], []
    return b"".join(out)


# RFC 1951 section 3.2.5: the first length of each length code 257..285 and its extra bits, and the
# first distance of each distance code 0..29
_LBASE = (3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
          227, 258)
_LEXTRA = (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0)
_DBASE = (1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
          4097, 6145, 8193, 12289, 16385, 24577)


class Bits:
    """A deflate stream written by hand (RFC 1951): blocks with fixed codes, literals and
    matches of any length and distance, what zlib would never write."""

    def __init__(self):
        self.out = bytearray()
        self.acc = self.n = 0

    def put(self, v, n):
        """n bits of v, least significant first (header fields, extra bits)."""
        self.acc |= v << self.n
        self.n += n
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8

    def huff(self, code, n):
        """A Huffman code of n bits, most significant first."""
        self.put(int(format(code, "0%db" % n)[::-1], 2), n)

    def block(self, final, btype):
        self.put(final, 1)
        self.put(btype, 2)

    def sym(self, s):
        """Literal/length symbol s with its fixed code (section 3.2.6)."""
        if s < 144:
            self.huff(0x30 + s, 8)
        elif s < 256:
            self.huff(0x190 + s - 144, 9)
        elif s < 280:
            self.huff(s - 256, 7)
        else:
            self.huff(0xC0 + s - 280, 8)

    def lit(self, data):
        for c in data:
            self.sym(c)

    def match(self, length, dist):
        c = max(i for i in range(29) if _LBASE[i] <= length)
        self.sym(257 + c)
        self.put(length - _LBASE[c], _LEXTRA[c])
        d = max(i for i in range(30) if _DBASE[i] <= dist)
        self.huff(d, 5)
        self.put(dist - _DBASE[d], max(0, (d >> 1) - 1))

    def flush(self):
        """The bytes so far, the last one padded with zeros."""
        if self.n:
            self.put(0, 8 - self.n)
        return bytes(self.out)

    def sync(self):
        """The block's end and a sync flush, its 00 00 ff ff stripped (RFC 7692 section 7.2.1):
        a message's payload."""
        self.sym(256)
        self.block(0, 0)
        return self.flush()
