# Unit tests of ocpp_lite.crypto.der, x509, ecdsa and rsa on the unix port: vectors made with
# `cryptography` (an EC P-256 root valid until 2056, GeneralizedTime, that issued an RSA-2048
# end-entity certificate; ECDSA and RSA-PSS signatures of DATA), and hostile input.
import binascii
import hashlib
from ocpp_lite.crypto import der, ecdsa, rsa, x509
from ocpp_lite.engine import clock

ROOT = binascii.a2b_base64(
    "MIIBZjCCAQugAwIBAgIUaxzDCl0IijOXDxOZFYdOcX8cIQ4wCgYIKoZIzj0EAwIwHzEdMBsGA1UEAwwUT0NQUDIuTGl0ZSB1bml0IHJvb3Qw"
    "IBcNMjYxMTIzMDM0NDAxWhgPMjA1NjExMTYwMzQ0MDFaMB8xHTAbBgNVBAMMFE9DUFAyLkxpdGUgdW5pdCByb290MFkwEwYHKoZIzj0CAQYI"
    "KoZIzj0DAQcDQgAEC/rLeo7DD/4KCUNc1MCInvc1C31uPH/VN5Sv0/+xJG49kb2xZ62j/9/zpruzGJa/2s1Kf1ryFi+mDGOVaA5d6KMjMCEw"
    "DwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAYYwCgYIKoZIzj0EAwIDSQAwRgIhAJHi4hpVHZIyD4pwfiQMehixGmsG7eVuyq9vOUlw"
    "YX5nAiEAgBtKgxxnTEsPvtFH4TD3pkJ6Kk8LGGx96L9CLQfGDKQ=")
SIGNER = binascii.a2b_base64(
    "MIICLjCCAdWgAwIBAgIUQx/gYkqwSdRHmSxu0LK0nSTLyIQwCgYIKoZIzj0EAwIwHzEdMBsGA1UEAwwUT0NQUDIuTGl0ZSB1bml0IHJvb3Qw"
    "IBcNMjYxMTIzMDM0NDAxWhgPMjA1NjExMTYwMzQ0MDFaMCExHzAdBgNVBAMMFk9DUFAyLkxpdGUgdW5pdCBzaWduZXIwggEiMA0GCSqGSIb3"
    "DQEBAQUAA4IBDwAwggEKAoIBAQC723hASWfkDid9x8kJGv6UXoT+15ls8kFLoKLKgRaKn3QzVW9GkEhsvAynu8x616V2iBzAcYwAP7k/wylX"
    "3frKF3+EblYYPJiCEDR5kX8WafrygqUoVzRrw1AoAJo8+IznNaMcUkjg/CMsxSm67TXhJh1zjehtwMFYqkBFYAxk9l9rf4s+8uC2bcCLGozs"
    "4qaSokWOlrIN38HRy+nBBXVLHjW4cc2htYQ7Gxktq/hWnawsa3w7hVHnSP+VOGjobgU8aQrs/oWCBnLsS+foZqrXlexM1202xNpPb1vEU4/n"
    "ATHnRt/vuoAYlyk4ett3A/jJePUeA4noee6iNepDHP2NAgMBAAGjIDAeMAwGA1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQDAgeAMAoGCCqGSM49"
    "BAMCA0cAMEQCIHjbdek5KD79It/P0Q8EVxm0eDcIR7Q2BjU5kgI7PIBxAiADCCANGtqbMugwYcWE8ZYzfM3/l71UyrH61C099ykFrw==")
DIGEST = hashlib.sha256(b"unit test data").digest()
EC_SIG = binascii.unhexlify(
    "304502202a2074474b1f811c4a5024a21e9a89b6d5f9386361b3c1d193e53b6e8549ef11022100d1ad9b5f207e43aae24b867919c58f"
    "20782f1863a636094bb0323351e2f34bb1")
PSS_SIG = binascii.unhexlify(
    "645d2ac4ead226e27d341ba90fe11529aac1c23ce860f4c81824d6aa56b3a7ca206918e99713f3ee0a8ed9e333cf06654a9cb9f58341"
    "9f11440ad33b9a6caacd923c2fc7fa7418ae933d861f1836aa8bfa792285c1bd47829c5c84b4efdcb640aeac0d5e782a24fe81663b0a"
    "019a772e7cacc17337a62d116eaa592389e6ca7a69825ed105d5ac06bfa76024b13a7d1ffa6d766bba9d11381fea2cf5ee37b24c03db"
    "4821cf2839224a9c991626269398b5d91e82530c9fcff0621e05bab9e23a37a5a73e1a3bcf4a8d13773310e97b964d13b7a059e2ea65"
    "9885b5613bef4c01b7a555ce90fd9565ffe5a28ed25988a3995c0b0628c46355fd4923f94527be16")
SIGNER_HASH = {"hashAlgorithm": "SHA256",
               "issuerNameHash": "b502ca920e713c6282df595c3afecf3f9fc09b8d6a9c3059768e83778fc7af89",
               "issuerKeyHash": "6e6e6f8e8a34fa164d652e6fbfd7320edd9b8b0cc377ca8f48979b884de64e21",
               "serialNumber": "431fe0624ab049d447992c6ed0b2b49d24cbc884"}


def test_fields():
    root = x509.parse(ROOT)
    signer = x509.parse(SIGNER)
    assert root.key_alg == "ec" and signer.key_alg == "rsa"
    assert root.ca and root.signs_certs() and root.self_issued()
    assert not signer.ca and not signer.signs_certs() and not signer.self_issued()
    assert root.not_before == clock.parse("2026-11-23T03:44:01Z")
    assert root.not_after == clock.parse("2056-11-16T03:44:01Z")  # GeneralizedTime
    assert root.valid_at(root.not_before) and not root.valid_at(root.not_after + 1)
    assert signer.hash_data(root) == SIGNER_HASH


def test_signatures():
    root = x509.parse(ROOT)
    signer = x509.parse(SIGNER)
    assert root.signed_by(root) and signer.signed_by(root) and not root.signed_by(signer)
    assert root.verify(DIGEST, EC_SIG)
    assert signer.verify(DIGEST, PSS_SIG, True)
    wrong = hashlib.sha256(b"unit test date").digest()
    assert not root.verify(wrong, EC_SIG) and not signer.verify(wrong, PSS_SIG, True)
    assert not signer.verify(DIGEST, PSS_SIG)  # not PKCS#1 v1.5
    assert not signer.verify(DIGEST, PSS_SIG[:-1], True)
    assert not root.verify(DIGEST, b"\x30\x02\x02\x00")  # malformed: False, no exception
    r, s = ecdsa.signature(EC_SIG)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert root.verify(DIGEST, raw)  # r || s works too
    assert not ecdsa.verify(root.part(root.key), DIGEST, bytes(64))  # r = s = 0


def test_ecdsa_rejects_points_off_the_curve():
    key = bytearray(x509.parse(ROOT).part(x509.parse(ROOT).key))
    key[-1] ^= 1
    for bad in (bytes(key), b"\x04" + bytes(64), b"\x05" + bytes(64), b""):
        try:
            ecdsa.point(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    x, y = ecdsa.point(x509.parse(ROOT).part(x509.parse(ROOT).key))
    compressed = bytes([2 + (y & 1)]) + x.to_bytes(32, "big")
    assert ecdsa.point(compressed) == (x, y)


def test_rsa_bounds():
    n = (1 << 2047) + 1
    assert not rsa.verify_pkcs1(n, 65537, DIGEST, bytes(10))  # wrong length
    assert not rsa.verify_pss(n, 65537, DIGEST, b"\xff" * 256)  # not below n
    assert not rsa.verify_pss(97 * 89, 3, DIGEST, b"\x01\x02")  # a toy modulus is refused


def _hostile(data):
    try:
        x509.parse(data)
    except ValueError:
        return False
    return True


def test_hostile_der_never_crashes():
    for n in range(len(ROOT)):  # every truncation
        assert not _hostile(ROOT[:n])
    seed = 12345
    flips = 0
    for i in range(400):  # pseudo-random byte changes: ValueError or a certificate, nothing else
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        b = bytearray(SIGNER)
        b[seed % len(b)] = (seed >> 8) & 0xFF
        flips += _hostile(bytes(b))
    assert flips  # some changes only touch values (a name, the key), and parse
    for bad in (b"", b"\x30", b"\x30\x84\xff\xff\xff\xff", b"\x30\x83\xff\xff\xff" + bytes(8), b"\x1f\x01\x00",
                b"\x30\x80\x00\x00", b"\x30\x03\x02\x01\x05", b"\x04\x00" * 10, ROOT + b"\x00"):
        assert not _hostile(bad)


def test_der_reader():
    b = b"\x30\x06\x02\x01\x05\x03\x01\x00"
    e = der.tlv(b, 0, len(b))
    assert e == (0x30, 2, 8, 0)
    i, bits = der.items(b, e)
    assert der.uint(b, i) == 5 and i[3] == 2
    try:
        der.bits(b, (3, 7, 7, 5))  # empty BIT STRING
    except ValueError:
        pass
    else:
        raise AssertionError
    try:
        der.uint(b"\x02\x01\xff", (2, 2, 3, 0))  # negative
    except ValueError:
        pass
    else:
        raise AssertionError
