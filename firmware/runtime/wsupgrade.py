# runtime/wsupgrade.py - the WebSocket opening handshake (RFC 6455 section 4) without I/O: the
# upgrade request and the check of the server's response. Only a connection attempt needs it
# (runtime/wsopen.py imports it, runtime/link.py lets both go after the attempt): its code
# takes no heap while the station is connected.
import binascii
import hashlib

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


class HandshakeError(Exception):
    """HandshakeError(status, text): the upgrade was refused (HTTP status) or broken (0)."""


def quote(s):
    """Percent-encode s for a URL path segment."""
    out = []
    for c in s.encode():
        out.append(chr(c) if c in _UNRESERVED else "%%%02X" % c)
    return "".join(out)


def station_path(path, identity):
    """The CSMS endpoint path followed by '/<identity>' (Part 4 section 3.1.1)."""
    return path.rstrip("/") + "/" + quote(identity)


def make_key(rand16):
    return binascii.b2a_base64(rand16)[:-1].decode()


def accept_for(key):
    return binascii.b2a_base64(hashlib.sha1(key.encode() + _GUID).digest())[:-1]


def basic_auth(user, password):
    return binascii.b2a_base64(("%s:%s" % (user, password)).encode())[:-1].decode()


def request(host, port, path, key, protocol, auth=None, ext=None):
    """The HTTP upgrade request as bytes; auth is the base64 Basic credential or None, ext the
    Sec-WebSocket-Extensions offer or None."""
    if ":" in host:
        host = "[" + host + "]"
    if port not in (80, 443):
        host = "%s:%d" % (host, port)
    r = (
        "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n"
        % (path, host, key, protocol)
    )
    if auth:
        r += "Authorization: Basic %s\r\n" % auth
    if ext:
        r += "Sec-WebSocket-Extensions: %s\r\n" % ext
    return (r + "\r\n").encode()


def check_response(lines, key, protocol, deflate_bits=0):
    """Check the server's upgrade response: its status line and header lines (bytes, as kept
    by wanted()). deflate_bits: permessage-deflate was offered with windows of 2**deflate_bits
    (runtime/wsdeflate.py), 0: no extension was. Returns what wsdeflate.accept() makes of the
    server's acceptance of it, or None (not accepted: plain frames). Raises HandshakeError."""
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise HandshakeError(0, "not an HTTP response")
    status = int(parts[1])
    if status != 101:
        raise HandshakeError(status, "HTTP status %d" % status)
    hdr = {}
    for line in lines[1:]:
        if line:
            k, sep, v = line.partition(b":")
            if not sep:
                raise HandshakeError(0, "malformed header line")
            k = k.strip().lower()
            if k in hdr:
                raise HandshakeError(0, "repeated header")
            hdr[k] = v.strip()
    if hdr.get(b"upgrade", b"").lower() != b"websocket":
        raise HandshakeError(0, "no Upgrade: websocket")
    if b"upgrade" not in hdr.get(b"connection", b"").lower():
        raise HandshakeError(0, "no Connection: upgrade")
    if hdr.get(b"sec-websocket-accept") != accept_for(key):
        raise HandshakeError(0, "wrong Sec-WebSocket-Accept")
    if hdr.get(b"sec-websocket-protocol") != protocol.encode():
        raise HandshakeError(0, "server did not confirm subprotocol " + protocol)
    ext = hdr.get(b"sec-websocket-extensions")
    if ext is None:
        return None
    if not deflate_bits:
        raise HandshakeError(0, "extension not requested")
    from .wsdeflate import accept

    try:
        return accept(ext, deflate_bits)
    except ValueError as e:
        raise HandshakeError(0, e.args[0])


def wanted(line):
    """True for the header lines check_response needs (the others need not be kept)."""
    k = line[: line.find(b":") + 1].lower()
    return k in (b"upgrade:", b"connection:", b"sec-websocket-accept:", b"sec-websocket-protocol:", b"sec-websocket-extensions:")
