# ocpp_lite/crypto/ecdsa.py - ECDSA signature verification on NIST P-256 (FIPS 186-4) with the
# MicroPython big integers: Jacobian coordinates (no inversion per step), both scalars in one
# pass (Shamir's trick), one inversion at the end by Fermat (pow(x, -1, m) is not in
# MicroPython). Verification only: nothing here is secret, so nothing needs constant time.
from micropython import const
from . import der, run

_SEQUENCE = const(0x30)  # the DER tag (der.py)
_STEP_BITS = const(32)  # scalar bits per step of steps()
_P = const(0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF)
_N = const(0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)
_B = const(0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B)
_GX = const(0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296)
_GY = const(0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)


def _double(pt):
    x, y, z = pt
    if not y or not z:
        return (1, 1, 0)
    p = _P
    zz = z * z % p
    m = 3 * (x - zz) * (x + zz) % p  # a = -3
    yy = y * y % p
    s = 4 * x * yy % p
    x3 = (m * m - 2 * s) % p
    return (x3, (m * (s - x3) - 8 * yy * yy) % p, 2 * y * z % p)


def _add(a, b):
    if not a[2]:
        return b
    if not b[2]:
        return a
    p = _P
    x1, y1, z1 = a
    x2, y2, z2 = b
    z1z1 = z1 * z1 % p
    z2z2 = z2 * z2 % p
    u1 = x1 * z2z2 % p
    s1 = y1 * z2 * z2z2 % p
    h = (x2 * z1z1 - u1) % p
    r = (y2 * z1 * z1z1 - s1) % p
    if not h:
        return _double(a) if not r else (1, 1, 0)
    hh = h * h % p
    hhh = h * hh % p
    v = u1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return (x3, (r * (v - x3) - s1 * hhh) % p, h * z1 * z2 % p)


def point(key):
    """(x, y) of an uncompressed (04) or compressed (02/03) P-256 public key. Raises ValueError
    when it is not a point of the curve."""
    p = _P
    if len(key) == 65 and key[0] == 4:
        x = int.from_bytes(key[1:33], "big")
        y = int.from_bytes(key[33:], "big")
    elif len(key) == 33 and key[0] in (2, 3):
        x = int.from_bytes(key[1:], "big")
        y = pow((x * x * x - 3 * x + _B) % p, (p + 1) // 4, p)  # p = 3 mod 4
        if y & 1 != key[0] & 1:
            y = p - y
    else:
        raise ValueError("not a P-256 key")
    if x >= p or y >= p or (y * y - x * x * x + 3 * x - _B) % p:
        raise ValueError("not on P-256")
    return x, y


def signature(sig):
    """(r, s) of a DER ECDSA-Sig-Value or of 64 bytes r || s."""
    if len(sig) != 64:
        e = der.tlv(sig, 0, len(sig))
        rs = der.items(sig, der.expect(e, _SEQUENCE), 2)
        if e[2] != len(sig) or len(rs) != 2:
            raise ValueError("not an ECDSA signature")
        return der.uint(sig, rs[0]), der.uint(sig, rs[1])
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")


def verify(key, digest, sig):
    """True when sig is the ECDSA signature with P-256 public key (point bytes) of a SHA-256
    digest. Raises ValueError for a malformed key or signature."""
    return run(steps(key, digest, sig))


def steps(key, digest, sig):
    """verify() cut into steps: a generator that yields about every _STEP_BITS of the
    scalars (each step some 1/10 of the work) and returns verify()'s result, so a caller can
    give its event loop back in between (yield from, or crypto.run())."""
    qx, qy = point(key)
    r, s = signature(sig)
    n = _N
    if not (0 < r < n and 0 < s < n):
        return False
    yield
    w = pow(s, n - 2, n)
    u1 = int.from_bytes(digest, "big") * w % n
    u2 = r * w % n
    g = (_GX, _GY, 1)
    q = (qx, qy, 1)
    both = _add(g, q)
    acc = (1, 1, 0)
    top = 1 << 255
    while top and not (u1 | u2) & top:
        top >>= 1
    k = 0
    while top:
        acc = _double(acc)
        a = u1 & top
        c = u2 & top
        if a or c:
            acc = _add(acc, both if a and c else g if a else q)
        top >>= 1
        k += 1
        if k == _STEP_BITS:
            k = 0
            yield
    x, _, z = acc
    if not z:
        return False
    yield
    zi = pow(z, _P - 2, _P)
    return x * zi * zi % _P % n == r
