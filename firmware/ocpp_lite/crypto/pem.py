# ocpp_lite/crypto/pem.py - PEM text -> DER bytes. OCPP carries certificates as PEM while the
# MicroPython ssl module (mbedTLS) takes DER only.
import binascii

_BEGIN = "-----BEGIN "
_END = "-----END "


def to_der(text, label="CERTIFICATE"):
    """All '-----BEGIN <label>-----' blocks of text (a str, or a bytearray or memoryview of it as
    a received message may give it: engine/lift.py) as a list of DER bytes. Raises ValueError."""
    out = []
    if type(text) is memoryview:  # one of several long values of a message (engine/lift.py)
        text = bytes(text)
    begin = _BEGIN + label + "-----"
    end = _END + label + "-----"
    if type(text) is not str:
        begin = begin.encode()
        end = end.encode()
    i = text.find(begin)
    while i >= 0:
        j = text.find(end, i)
        if j < 0:
            raise ValueError("PEM block not closed")
        try:
            der = binascii.a2b_base64(text[i + len(begin) : j])
        except Exception:
            raise ValueError("PEM body is not base64")
        if len(der) < 2 or der[0] != 0x30:
            raise ValueError("PEM body is not DER")
        out.append(der)
        i = text.find(begin, j)
    if not out:
        raise ValueError("no %s in PEM text" % label)
    return out
