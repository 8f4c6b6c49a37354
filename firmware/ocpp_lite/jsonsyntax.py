# ocpp_lite/jsonsyntax.py - strict JSON syntax check run before json.loads.
# MicroPython's json parser is lenient (it takes "[1 2]", "[1,]", '{"a" 1}'), so every
# incoming frame is checked here first. The walk is per token, not per byte: strings are
# skipped with bytes.find, so the cost stays small on a microcontroller.
from micropython import const

_DEPTH = const(16)  # OCPP 2.0.1 payloads nest at most ~8 levels deep
_NUMLEN = const(24)  # longest number literal accepted (OCPP numbers are 32-bit ints or decimals)

# parser states
_VALUE = const(0)  # a value is expected
_VALUE_OR_END = const(1)  # a value or ']' (just after '[')
_KEY_OR_END = const(2)  # a key or '}' (just after '{')
_KEY = const(3)  # a key (after ',' in an object)
_AFTER = const(4)  # ',' or a closing bracket (after a value)

_HEX = b"0123456789abcdefABCDEF"
_ESC = b'"\\/bfnrt'


def check(b):
    """Raise ValueError unless bytes/bytearray b holds exactly one strict JSON value."""
    mv = memoryview(b)
    n = len(b)
    stack = bytearray(_DEPTH)
    d = 0
    st = _VALUE
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
            else:
                raise ValueError("expected , or close")
            i += 1
        elif st >= _KEY_OR_END:
            if c == 125 and st == _KEY_OR_END:
                d -= 1
                st = _AFTER
                i += 1
            elif c == 34:
                i = _skip(b, _string(b, mv, i, n), n)
                if i >= n or b[i] != 58:  # :
                    raise ValueError("expected :")
                st = _VALUE
                i += 1
            else:
                raise ValueError("expected key")
        else:
            empty_ok = st == _VALUE_OR_END
            st = _AFTER
            if c == 123 or c == 91:  # { [
                if d == _DEPTH:
                    raise ValueError("too deep")
                stack[d] = c
                d += 1
                st = _KEY_OR_END if c == 123 else _VALUE_OR_END
                i += 1
            elif c == 93 and empty_ok:
                d -= 1
                i += 1
            elif c == 34:
                i = _string(b, mv, i, n)
            elif c == 45 or 48 <= c <= 57:
                i = _number(b, i, n)
            else:
                i = _literal(b, i)
        i = _skip(b, i, n)
    if d or st != _AFTER or i != n:
        raise ValueError("incomplete or trailing data")


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
        if end > i and min(mv[i:end]) < 32:
            raise ValueError("control character in string")
        if e < 0:
            return q + 1
        c = b[e + 1] if e + 1 < n else 0
        if c == 117:  # \uXXXX
            if e + 6 > n:
                raise ValueError("bad escape")
            for k in range(e + 2, e + 6):
                if b[k] not in _HEX:
                    raise ValueError("bad escape")
            i = e + 6
        elif c and c in _ESC:
            i = e + 2
        else:
            raise ValueError("bad escape")


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
