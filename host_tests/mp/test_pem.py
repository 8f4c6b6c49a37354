# Unit tests of ocpp_lite.crypto.pem on the unix port.
import binascii
from ocpp_lite.crypto import pem

DER = b"\x30\x03\x02\x01\x05"
B64 = binascii.b2a_base64(DER).decode()


def test_single_and_bundle():
    one = "-----BEGIN CERTIFICATE-----\n%s-----END CERTIFICATE-----\n" % B64
    assert pem.to_der(one) == [DER]
    assert pem.to_der("junk\n" + one + one.replace("\n", "\r\n")) == [DER, DER]


def test_a_bytearray_as_a_received_message_gives_it():
    one = "-----BEGIN CERTIFICATE-----\n%s-----END CERTIFICATE-----\n" % B64
    assert pem.to_der(bytearray(("junk\n" + one + one).encode())) == [DER, DER]
    try:
        pem.to_der(bytearray(b"-----BEGIN CERTIFICATE-----\nAAAA"))
    except ValueError:
        return
    raise AssertionError("not closed")


def test_errors():
    for t in ("", "-----BEGIN CERTIFICATE-----\nAAAA",
              "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----",
              "-----BEGIN PRIVATE KEY-----\n%s-----END PRIVATE KEY-----" % B64):
        try:
            pem.to_der(t)
        except ValueError:
            continue
        raise AssertionError(t)
