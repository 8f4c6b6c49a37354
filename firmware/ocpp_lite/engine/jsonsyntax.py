# ocpp_lite/engine/jsonsyntax.py - strict JSON syntax check run before json.loads.
# MicroPython's json parser is lenient (it takes "[1 2]", "[1,]", '{"a" 1}'), so every
# incoming frame is checked here first. The walk is per token, not per byte: strings are
# skipped with bytes.find, so the cost stays small on a microcontroller.
# It also refuses what json.loads would take but the station must not: UTF-8 that is not
# (overlong forms, surrogates, beyond U+10FFFF: MicroPython decodes them), \uD800-\uDFFF
# escapes (MicroPython makes CESU-8 of them, which would go back out in replies as invalid
# UTF-8), and messages whose parse would take more heap than a small station has: the weight
# below estimates the objects json.loads makes (32-bit MicroPython: an array or object about
# 48 bytes, a string 32 plus its text, a float or big integer 16, a slot 8).
from micropython import const

_DEPTH = const(16)  # OCPP 2.0.1 payloads nest at most ~8 levels deep
_NUMLEN = const(24)  # longest number literal accepted (OCPP numbers are 32-bit ints or decimals)
# The heap json.loads (or engine/lift.py) spends on the values of a message, in bytes on the
# 32-bit port (measured: tools/jsonweight.py), bounded by _WEIGHT before anything is built: a
# str is a 16-byte object and its characters and terminator in 16-byte blocks (counted from its
# length in the text, escapes included: never less than it decodes to), a key too (one the
# firmware names is an interned qstr and costs only its slot: counted all the same).
_WEIGHT = const(7168)
_W_CONTAINER = const(40)  # an array or object (16 bytes, its first table), with its slot
_W_STR = const(16)  # a str object, beyond its characters
_W_KEY = const(16)  # an object's slot for a key and its value, with the table's growth
_W_BOXED = const(32)  # a float, or an integer that may not be a small int on 32 bits
_W_SLOT = const(8)  # an array's slot, with its growth; a small int, true, false or null in it
_W_LONG = const(160)  # a string over _LONG bytes, beyond its str: lifting it (its offsets, its
# marker parsed then replaced, a bytearray's object where it is kept)
_LONG = const(64)  # a string value longer than this (quotes included) is listed in check's longs
# Values the check marks by their key (_PLACES: the key, the depth it is read at (the message is
# depth 1, its payload 2; 0: any depth) and what to do), when it is given a list for longs:
# - _KEEP: a long string value, and every string inside the value, is kept as bytes by
#   engine/lift.py (no str made of it): a PEM, a certificate chain, SetVariables'
#   attributeValue (up to 1000 characters, made a str only for a variable that may take it);
# - _RAW: the value, whatever its type, is kept as its JSON text by engine/lift.py, never
#   built and never weighed: DataTransfer's data (no handler reads it; a vendor extension
#   would json.loads it);
# - _BLANK: an object with exactly one vendorId, a string of at most 255 bytes in the text, is
#   a legal customData the station checks and drops (engine/schema.py): it is overwritten
#   in place with _VENDOR and blanks, never built and weighed as _VENDOR. Any other customData
#   is kept (_KEEP) and parsed, for schema.py to answer.
_KEEP = const(1)
_BLANK = const(2)
_RAW = const(4)
_PLACES = const(((b"certificate", 2, _KEEP), (b"certificateChain", 2, _KEEP), (b"data", 2, _RAW),
                 (b"signingCertificate", 3, _KEEP), (b"attributeValue", 4, _KEEP), (b"customData", 0, _KEEP | _BLANK)))
_LENS = const(1 << 4 | 1 << 10 | 1 << 11 | 1 << 14 | 1 << 16 | 1 << 18)  # the lengths of _PLACES' names
_VENDOR = const(b'{"vendorId":""}')
_W_VENDOR = const(128)  # _VENDOR's weight: an object, its key and a 2-byte string
_W_RAW = const(40)  # a value kept as its text: engine/lift.py's marker, a short string
_VENDOR_MAX = const(257)  # vendorId's text, quotes included: 255 bytes of UTF-8 at most are 255 characters at most
_BLANKS = const(b"                                                                ")

# check()'s result, in bits (engine/rpc.py has them too)
_CALL = const(1)  # an array of 4 elements, the last an object: shaped like a CALL
_HEAVY = const(2)  # it weighs more than _WEIGHT: not to be built
_HEAVY_WHOLE = const(4)  # with its _RAW values built, it would

# parser states
_VALUE = const(0)  # a value is expected
_VALUE_OR_END = const(1)  # a value or ']' (just after '[')
_KEY_OR_END = const(2)  # a key or '}' (just after '{')
_KEY = const(3)  # a key (after ',' in an object)
_AFTER = const(4)  # ',' or a closing bracket (after a value)

_HEX = const(b"0123456789abcdefABCDEF")
_ESC = const(b'"\\/bfnrt')


def check(b, longs=None):
    """Raise ValueError unless bytes/bytearray b holds exactly one strict JSON value. longs: a
    list to which the start and end of each string (key or value) over _LONG bytes are
    appended, in order, for engine/lift.py; the start as -1 - start for a value to keep as
    bytes, start and end as -1 - start, -1 - end for a value to keep as its text (_PLACES). With
    longs (b must then be a bytearray), a legal customData is overwritten in b (_BLANK), and
    the blanks of a long one listed as start, -1 - end. Returns _CALL | _HEAVY |
    _HEAVY_WHOLE bits: shaped like a CALL (engine/rpc.py may answer it without parsing it),
    heavier than _WEIGHT (not to be parsed), heavier with its _RAW values (not to be parsed
    if they cannot be kept)."""
    mv = memoryview(b)
    n = len(b)
    stack = bytearray(_DEPTH)
    d = 0
    w = 0
    wr = 0  # the weight of the _RAW values' contents, not in w
    st = _VALUE
    place = 0  # what _PLACES says of the key just read (only with longs)
    keep = _DEPTH + 1  # the depth from which every value is in _PLACES
    raw = -1  # the depth at which a _RAW or _BLANK value began, or -1
    rs = rw = rl = rk = 0  # its start, the weight and longs before it, its kind
    vid = 0  # in a _BLANK value: 1 for each vendorId that is a short string, 2 for any other
    vk = False  # the key just read is a vendorId of the _BLANK value
    tops = 0  # elements of the outermost value so far
    obj4 = False  # its fourth is an object
    i = _skip(b, 0, n)
    while i < n:
        c = b[i]
        if st == _AFTER:
            if not d:
                break
            top = stack[d - 1]
            if c == 44:  # ,
                st = _KEY if top == 123 else _VALUE
            elif c == top + 2:  # ] closes [ (91/93), } closes { (123/125)
                d -= 1
                if d < keep:
                    keep = _DEPTH + 1
            else:
                raise ValueError("expected , or close")
            i += 1
        elif st >= _KEY_OR_END:
            if c == 125 and st == _KEY_OR_END:
                d -= 1
                if d < keep:
                    keep = _DEPTH + 1
                st = _AFTER
                i += 1
            elif c == 34:
                s = i
                i = _string(b, mv, i, n)
                w += _W_KEY + _W_STR + ((i - s + 14) & -16)
                if i - s > _LONG:
                    w += _W_LONG
                    if longs is not None:
                        longs.append(s)
                        longs.append(i)
                if longs is not None and _LENS >> (i - s - 2) & 1:
                    place = _place(b, s + 1, i - 1, d)
                vk = rk == _BLANK and raw + 1 == d and i - s == 10 and b.find(b"vendorId", s + 1, i - 1) == s + 1
                i = _skip(b, i, n)
                if i >= n or b[i] != 58:  # :
                    raise ValueError("expected :")
                st = _VALUE
                i += 1
            else:
                raise ValueError("expected key")
        else:
            empty_ok = st == _VALUE_OR_END
            st = _AFTER
            if d == 1:
                tops += 1
                if tops == 4:
                    obj4 = c == 123
            if place > _KEEP and raw < 0 and (place == _RAW or c == 123):
                raw = d
                rs = i
                rw = w
                rl = len(longs)
                rk = place & ~_KEEP
                vid = 0
            if vk:
                vid += 2  # less 1 below for a short string
            if c == 123 or c == 91:  # { [
                if d == _DEPTH:
                    raise ValueError("too deep")
                stack[d] = c
                d += 1
                if place & _KEEP and d < keep:
                    keep = d
                st = _KEY_OR_END if c == 123 else _VALUE_OR_END
                i += 1
                w += _W_CONTAINER
            elif c == 93 and empty_ok:
                d -= 1
                if d < keep:
                    keep = _DEPTH + 1
                i += 1
            elif c == 34:
                s = i
                i = _string(b, mv, i, n)
                w += _W_SLOT + _W_STR + ((i - s + 14) & -16)
                if vk and i - s <= _VENDOR_MAX:
                    vid -= 1
                if i - s > _LONG:
                    w += _W_LONG
                    if longs is not None:
                        longs.append(-1 - s if place & _KEEP or d >= keep else s)
                        longs.append(i)
            elif c == 45 or 48 <= c <= 57:
                s = i
                i = _number(b, i, n)
                w += _W_BOXED if i - s > 9 or b.find(b".", s, i) >= 0 or b.find(b"e", s, i) >= 0 \
                    or b.find(b"E", s, i) >= 0 else _W_SLOT
            else:
                i = _literal(b, i)
                w += _W_SLOT
            place = 0
            vk = False
        if raw == d and st == _AFTER:  # the _RAW or _BLANK value that began at this depth is read
            if rk == _RAW:
                wr += w - rw - _W_RAW
                w = rw + _W_RAW
                del longs[rl:]
                longs.append(-1 - rs)
                longs.append(-1 - i)
            elif vid == 1:
                w = rw + _W_VENDOR
                del longs[rl:]
                fill(mv, rs, i, _VENDOR)
                if i - rs > _LONG:  # its blanks, for engine/lift.py to leave out of a copy
                    longs.append(rs + len(_VENDOR))
                    longs.append(-1 - i)
            raw = -1
            rk = 0
        i = _skip(b, i, n)
    if d or st != _AFTER or i != n:
        raise ValueError("incomplete or trailing data")
    return (_CALL if stack[0] == 91 and tops == 4 and obj4 else 0) | (_HEAVY if w > _WEIGHT else 0) \
        | (_HEAVY_WHOLE if w + wr > _WEIGHT else 0)


def fill(mv, s, e, head):
    """Overwrite mv[s:e] with head and blanks: the text stays JSON of the same length (a legal
    customData here, a lifted string in engine/lift.py)."""
    k = s + len(head)
    mv[s:k] = head
    while k < e:
        m = min(e - k, len(_BLANKS))
        mv[k : k + m] = _BLANKS[:m]
        k += m


def _place(b, s, e, d):
    """What _PLACES says of the key b[s:e] read at depth d (0: nothing)."""
    for name, at, what in _PLACES:
        if len(name) == e - s and (at == d or not at) and b.find(name, s, e) == s:
            return what
    return 0


def _skip(b, i, n):
    while i < n and b[i] in b" \t\n\r":
        i += 1
    return i


def _string(b, mv, i, n):
    # i is at the opening quote; returns the index after the closing quote
    i += 1
    while True:
        q = b.find(b'"', i)
        if q < 0:
            raise ValueError("open string")
        e = b.find(b"\\", i, q)
        end = q if e < 0 else e
        if end > i:
            if min(mv[i:end]) < 32:
                raise ValueError("control character in string")
            if max(mv[i:end]) > 127:
                _utf8(b, i, end)
        if e < 0:
            return q + 1
        c = b[e + 1] if e + 1 < n else 0
        if c == 117:  # \uXXXX
            if e + 6 > n:
                raise ValueError("bad escape")
            for k in range(e + 2, e + 6):
                if b[k] not in _HEX:
                    raise ValueError("bad escape")
            if b[e + 2] in b"dD" and b[e + 3] in b"89abcdefABCDEF":
                raise ValueError("surrogate escape")
            i = e + 6
        elif c and c in _ESC:
            i = e + 2
        else:
            raise ValueError("bad escape")


def _utf8(b, i, end):
    """Raise ValueError unless b[i:end] is well-formed UTF-8 (RFC 3629)."""
    while i < end:
        c = b[i]
        i += 1
        if c < 0x80:
            continue
        lo, hi = 0x80, 0xBF
        if 0xC2 <= c <= 0xDF:
            k = 1
        elif 0xE0 <= c <= 0xEF:
            k = 2
            if c == 0xE0:
                lo = 0xA0  # no overlong forms
            elif c == 0xED:
                hi = 0x9F  # no surrogates
        elif 0xF0 <= c <= 0xF4:
            k = 3
            if c == 0xF0:
                lo = 0x90
            elif c == 0xF4:
                hi = 0x8F  # nothing beyond U+10FFFF
        else:
            raise ValueError("invalid UTF-8")
        if i + k > end or not lo <= b[i] <= hi:
            raise ValueError("invalid UTF-8")
        for j in range(i + 1, i + k):
            if not 0x80 <= b[j] <= 0xBF:
                raise ValueError("invalid UTF-8")
        i += k


def _digits(b, i, n):
    s = i
    while i < n and 48 <= b[i] <= 57:
        i += 1
    if i == s:
        raise ValueError("digit expected")
    return i


def _number(b, i, n):
    s = i
    if b[i] == 45:  # -
        i += 1
    if i < n and b[i] == 48:  # a leading 0 stands alone
        i += 1
    else:
        i = _digits(b, i, n)
    if i < n and b[i] == 46:  # .
        i = _digits(b, i + 1, n)
    if i < n and (b[i] == 101 or b[i] == 69):  # e E
        i += 1
        if i < n and (b[i] == 43 or b[i] == 45):
            i += 1
        i = _digits(b, i, n)
    if i - s > _NUMLEN:
        raise ValueError("number too long")
    return i


def _literal(b, i):
    for w in (b"true", b"false", b"null"):
        if b[i : i + len(w)] == w:
            return i + len(w)
    raise ValueError("unexpected character")
