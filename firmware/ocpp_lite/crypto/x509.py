# ocpp_lite/crypto/x509.py - X.509 certificates (RFC 5280) as the station needs them: the fields of
# a certificate, its OCPP certificateHashData, and signatures made with its key (certificate
# signatures, firmware signatures). Signature algorithms: RSA (PKCS#1 v1.5 for certificates,
# PSS for files) and ECDSA on P-256, all with SHA-256; their code is in rsa.py and ecdsa.py,
# which a build may leave out (then such signatures count as invalid).
import binascii
import hashlib
from micropython import const
from . import der, run
from ..engine import clock

# DER tags (der.py), as constants here (const() does not cross modules)
_BOOLEAN = const(0x01)
_INTEGER = const(0x02)
_BIT_STRING = const(0x03)
_OCTET_STRING = const(0x04)
_OID = const(0x06)
_UTC_TIME = const(0x17)
_GENERALIZED_TIME = const(0x18)
_SEQUENCE = const(0x30)

_RSA_KEY = const(b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01")
_RSA_SHA256 = const(b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b")
_EC_KEY = const(b"\x2a\x86\x48\xce\x3d\x02\x01")
_P256 = const(b"\x2a\x86\x48\xce\x3d\x03\x01\x07")
_ECDSA_SHA256 = const(b"\x2a\x86\x48\xce\x3d\x04\x03\x02")
_BASIC_CONSTRAINTS = const(b"\x55\x1d\x13")
_KEY_USAGE = const(b"\x55\x1d\x0f")
_KEY_CERT_SIGN = const(0x04)  # keyUsage bit 5, in the first byte


class Cert:
    """A parsed certificate: spans (start, stop) into der of tbs, issuer, subject (whole
    elements), key (the subjectPublicKey bits) and sig; key_alg "rsa", "ec" (P-256) or None
    (another algorithm); validity in seconds since 2000; ca: basicConstraints cA."""

    def __init__(self, data):
        b = self.der = bytes(data)
        top = der.tlv(b, 0, len(b))
        c = der.items(b, der.expect(top, _SEQUENCE), 3)
        if top[2] != len(b) or len(c) != 3:
            raise ValueError("not one certificate")
        self.tbs = _whole(c[0])
        f = der.items(b, der.expect(c[0], _SEQUENCE), 6)
        f = f[1:] if f[0][0] == 0xA0 else f  # [0] version
        self.serial = b[der.expect(f[0], _INTEGER)[1] : f[0][2]]
        self.issuer = _whole(der.expect(f[2], _SEQUENCE))
        when = der.items(b, der.expect(f[3], _SEQUENCE), 2)
        self.not_before = _time(b, when[0])
        self.not_after = _time(b, when[1])
        self.subject = _whole(der.expect(f[4], _SEQUENCE))
        spki = der.items(b, der.expect(f[5], _SEQUENCE), 2)
        alg = _alg(b, spki[0])
        self.key = der.bits(b, spki[1])
        self.key_alg = "rsa" if alg[0] == _RSA_KEY else "ec" if alg == (_EC_KEY, _P256) else None
        self.ca = False
        self.usage = None  # keyUsage bits of the first byte, None without the extension
        for e in f[6:]:
            if e[0] == 0xA3:
                self._extensions(b, der.items(b, e)[0])
        self.sig_alg = _alg(b, c[1])[0]
        self.sig = der.bits(b, c[2])

    def _extensions(self, b, exts):
        for ext in der.items(b, der.expect(exts, _SEQUENCE)):
            parts = der.items(b, der.expect(ext, _SEQUENCE), 2)
            oid = b[der.expect(parts[0], _OID)[1] : parts[0][2]]
            val = der.expect(parts[-1], _OCTET_STRING)
            if oid == _BASIC_CONSTRAINTS:
                bc = der.items(b, der.expect(der.tlv(b, val[1], val[2]), _SEQUENCE), 0)
                self.ca = bool(bc) and bc[0][0] == _BOOLEAN and bc[0][2] > bc[0][1] and b[bc[0][1]] != 0
            elif oid == _KEY_USAGE:
                u = der.expect(der.tlv(b, val[1], val[2]), _BIT_STRING)
                self.usage = b[u[1] + 1] if u[2] - u[1] > 1 else 0

    def part(self, span):
        return self.der[span[0] : span[1]]

    def self_issued(self):
        return self.part(self.issuer) == self.part(self.subject)

    def valid_at(self, s):
        return self.not_before <= s <= self.not_after

    def signs_certs(self):
        return self.ca and (self.usage is None or self.usage & _KEY_CERT_SIGN)

    def hash_data(self, issuer=None):
        """certificateHashData (SHA256): hashes of the issuer's Name and of the issuer's public
        key bits (issuer: its certificate; by default this one, as for a root), and the serial
        number in hex without leading zeros."""
        issuer = issuer or self
        serial = _hex(self.serial).lstrip("0") or "0"
        return {"hashAlgorithm": "SHA256", "issuerNameHash": _sha_hex(self.part(self.issuer)),
                "issuerKeyHash": _sha_hex(issuer.part(issuer.key)), "serialNumber": serial}

    def verify(self, digest, sig, pss=False):
        """True when sig (bytes) is this certificate's key's SHA-256 signature of digest:
        ECDSA (DER or r||s) for an EC key, RSA PKCS#1 v1.5 or, with pss, RSA-PSS."""
        return run(self.verifying(digest, sig, pss))

    def verifying(self, digest, sig, pss=False):
        """verify() as a stepper (crypto.run): yields between steps of the check."""
        key = self.part(self.key)
        try:
            if self.key_alg == "ec":
                from . import ecdsa

                return (yield from ecdsa.steps(key, digest, sig))
            if self.key_alg == "rsa":
                from . import rsa

                k = der.items(key, der.expect(der.tlv(key, 0, len(key)), _SEQUENCE), 2)
                n, e = der.uint(key, k[0]), der.uint(key, k[1])
                return (yield from (rsa.pss_steps if pss else rsa.pkcs1_steps)(n, e, digest, sig))
        except (ImportError, ValueError):
            pass
        return False

    def signed_by(self, issuer):
        """True when issuer's key made this certificate's signature (SHA-256 algorithms only)."""
        return run(self.signing(issuer))

    def signing(self, issuer):
        """signed_by() as a stepper (crypto.run)."""
        want = _ECDSA_SHA256 if issuer.key_alg == "ec" else _RSA_SHA256 if issuer.key_alg == "rsa" else None
        if self.sig_alg != want or self.part(self.issuer) != issuer.part(issuer.subject):
            return False
        return (yield from issuer.verifying(hashlib.sha256(self.part(self.tbs)).digest(), self.part(self.sig)))


def parse(data):
    """A Cert from DER bytes. Raises ValueError for anything that is not one."""
    try:
        return Cert(data)
    except (IndexError, TypeError, UnicodeError) as e:  # a field missing or of another type
        raise ValueError("malformed certificate: %r" % e)


def _whole(e):
    return e[3], e[2]


def _alg(b, e):
    """(algorithm OID, parameter OID or None) of an AlgorithmIdentifier."""
    a = der.items(b, der.expect(e, _SEQUENCE), 1)
    oid = b[der.expect(a[0], _OID)[1] : a[0][2]]
    return oid, b[a[1][1] : a[1][2]] if len(a) > 1 and a[1][0] == _OID else None


def _time(b, e):
    t = b[e[1] : e[2]].decode()
    if e[0] == _UTC_TIME and len(t) == 13:
        t = ("20" if t < "50" else "19") + t
    elif e[0] != _GENERALIZED_TIME or len(t) != 15:
        raise ValueError("bad time")
    s = clock.parse("%s-%s-%sT%s:%s:%s%s" % (t[:4], t[4:6], t[6:8], t[8:10], t[10:12], t[12:14], t[14:]))
    if s is None:
        raise ValueError("bad time")
    return s


def _hex(data):
    return binascii.hexlify(data).decode()


def _sha_hex(data):
    return _hex(hashlib.sha256(data).digest())
