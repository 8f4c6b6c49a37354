# ocpp_lite/crypto/der.py - a DER (X.690) reader over bytes without copying: an element is a tuple
# (tag, start, stop, head) of offsets into the buffer, its value being b[start:stop] and the
# whole encoding b[head:stop]. Lengths are checked against the enclosing element, so hostile
# input raises ValueError, never more.
from micropython import const

# the tags the readers here and in x509.py / ecdsa.py know (each keeps its own copy: const()
# does not cross modules)
_BOOLEAN = const(0x01)
_INTEGER = const(0x02)
_BIT_STRING = const(0x03)
_OCTET_STRING = const(0x04)
_OID = const(0x06)
_UTC_TIME = const(0x17)
_GENERALIZED_TIME = const(0x18)
_SEQUENCE = const(0x30)


def tlv(b, i, end):
    """The element at b[i:end]. Raises ValueError."""
    head = i
    if i + 2 > end:
        raise ValueError("DER truncated")
    tag = b[i]
    if tag & 0x1F == 0x1F:
        raise ValueError("DER tag number too big")
    n = b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        if not 0 < k <= 3 or i + k > end:
            raise ValueError("DER length")
        n = 0
        for j in range(k):
            n = (n << 8) | b[i + j]
        i += k
    if n > end - i:
        raise ValueError("DER length beyond its container")
    return tag, i, i + n, head


def items(b, e, least=1):
    """The elements inside constructed element e (SEQUENCE, SET, [n]), in order; at least
    least of them."""
    if not e[0] & 0x20:
        raise ValueError("DER element %02x is not constructed" % e[0])
    out = []
    i = e[1]
    while i < e[2]:
        x = tlv(b, i, e[2])
        out.append(x)
        i = x[2]
    if len(out) < least:
        raise ValueError("DER element with too few items")
    return out


def expect(e, tag):
    if e[0] != tag:
        raise ValueError("DER tag %02x where %02x was expected" % (e[0], tag))
    return e


def uint(b, e):
    """The non-negative INTEGER of element e."""
    expect(e, _INTEGER)
    if e[1] == e[2] or b[e[1]] & 0x80:
        raise ValueError("DER integer not positive")
    return int.from_bytes(b[e[1] : e[2]], "big")


def bits(b, e):
    """(start, stop) of the bytes of a BIT STRING without unused bits."""
    expect(e, _BIT_STRING)
    if e[1] == e[2] or b[e[1]] != 0:
        raise ValueError("DER bit string with unused bits")
    return e[1] + 1, e[2]
