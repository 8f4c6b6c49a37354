# ocpp_lite/crypto/rsa.py - RSA signature verification (RFC 8017) with SHA-256: RSASSA-PKCS1-v1_5
# (certificate signatures) and RSASSA-PSS with MGF1-SHA-256 and any salt length (firmware
# signatures, OCPP L01.FR.04). The public-key operation is pow(s, e, n) on MicroPython's big
# integers; verification only.
import hashlib
from micropython import const
from . import run

# DigestInfo prefix of a SHA-256 digest (RFC 8017 section 9.2, note 1)
_SHA256_INFO = const(b"\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20")
_MAX_BITS = const(8192)
_STEP_SQUARES = const(4)  # modular squarings per step of the steppers


def _bits(n):
    k = 0
    while n >> (k + 64):
        k += 64
    while n >> k:
        k += 1
    return k


def _open(n, e, sig):
    """(stepper) (s^e mod n as big-endian bytes of the modulus length, modulus bits), or
    None. s^e by squaring and multiplying from the top bit of e, a step every _STEP_SQUARES
    squarings (e = 65537: 16 squarings, one multiplication; as many as pow() does)."""
    bits = _bits(n)
    size = (bits + 7) // 8
    if bits < 1024 or bits > _MAX_BITS or len(sig) != size:
        return None
    s = int.from_bytes(sig, "big")
    if s >= n or e < 1:
        return None
    top = 1 << (_bits(e) - 1)
    m = s
    k = 0
    while top > 1:
        top >>= 1
        m = m * m % n
        if e & top:
            m = m * s % n
        k += 1
        if k == _STEP_SQUARES:
            k = 0
            yield
    return m.to_bytes(size, "big"), bits


def verify_pkcs1(n, e, digest, sig):
    """True when sig is the RSASSA-PKCS1-v1_5 signature of SHA-256 digest under (n, e)."""
    return run(pkcs1_steps(n, e, digest, sig))


def pkcs1_steps(n, e, digest, sig):
    """verify_pkcs1() as a stepper (crypto.run)."""
    m = yield from _open(n, e, sig)
    if m is None:
        return False
    em = m[0]
    pad = len(em) - len(_SHA256_INFO) - len(digest) - 3
    return pad >= 8 and em == b"\x00\x01" + b"\xff" * pad + b"\x00" + _SHA256_INFO + digest


def _mgf1(seed, size):
    out = bytearray()
    c = 0
    while len(out) < size:
        out.extend(hashlib.sha256(seed + c.to_bytes(4, "big")).digest())
        c += 1
    return out[:size]


def verify_pss(n, e, digest, sig):
    """True when sig is the RSASSA-PSS (MGF1-SHA-256, any salt length) signature of SHA-256
    digest under (n, e)."""
    return run(pss_steps(n, e, digest, sig))


def pss_steps(n, e, digest, sig):
    """verify_pss() as a stepper (crypto.run)."""
    m = yield from _open(n, e, sig)
    if m is None:
        return False
    em, bits = m
    em_bits = bits - 1
    em_len = (em_bits + 7) // 8
    if len(em) > em_len:  # the modulus has a whole top byte more than the encoding
        if em[0]:
            return False
        em = em[1:]
    h_len = len(digest)
    if em_len < h_len + 2 or em[-1] != 0xBC:
        return False
    db_len = em_len - h_len - 1
    h = em[db_len:-1]
    unused = 8 * em_len - em_bits
    top = 0xFF >> unused
    if em[0] & ~top & 0xFF:
        return False
    db = _mgf1(h, db_len)
    for i in range(db_len):
        db[i] ^= em[i]
    db[0] &= top
    i = 0
    while i < db_len and not db[i]:
        i += 1
    if i == db_len or db[i] != 1:
        return False
    salt = bytes(db[i + 1 :])
    return hashlib.sha256(b"\x00" * 8 + digest + salt).digest() == h
