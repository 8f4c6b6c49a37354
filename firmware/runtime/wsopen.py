# runtime/wsopen.py - opens the OCPP WebSocket: TCP, TLS and the upgrade (runtime/wsupgrade.py),
# then hands over a runtime/ws.py WebSocket. Only a connection attempt needs this module:
# runtime/link.py imports it for the attempt and lets it go after, so its code and the
# handshake's take no heap while the station is connected.
import asyncio
import gc
import os
import socket
from asyncio import core
from errno import EINPROGRESS
from micropython import const
from ocpp_lite.provisioning.netprofile import parse_url
from . import ws
from . import wsupgrade as up
from .wsupgrade import HandshakeError  # noqa: F401 (raised here; runtime/link.py catches it from here)

PROTOCOL = "ocpp2.0.1"
_HEAD_LINES = const(48)  # most header lines accepted in the upgrade response


class CertificateError(Exception):
    """CertificateError(text): the CSMS certificate failed verification (TLS handshake)."""


async def connect(url, identity, password, ssl_ctx, timeout_ms, max_msg, deflate_bits=0):
    """Open the OCPP WebSocket <url>/<identity>, offering permessage-deflate with windows of
    2**deflate_bits (0: not offered; runtime/wsdeflate.py). Raises OSError (TCP or TLS), ValueError
    (bad URL, wss without CA), CertificateError, ws.Closed (1015: a TLS record over the input
    buffer), HandshakeError or asyncio.TimeoutError."""
    tls, host, port, path = parse_url(url)
    if tls and ssl_ctx is None:
        raise ValueError("wss:// needs an installed CSMS root certificate")
    s = await ws.within(_open(host, port, ssl_ctx if tls else None, host), timeout_ms)
    w = ws.WebSocket(s, max_msg, timeout_ms)
    try:
        key = up.make_key(os.urandom(16))
        auth = up.basic_auth(identity, password) if password else None
        ext = None
        if deflate_bits:
            from .wsdeflate import offer

            ext = offer(deflate_bits)
        try:  # with TLS the handshake runs in this first write
            await w._write(up.request(host, port, up.station_path(path, identity), key, PROTOCOL, auth, ext))
        except ValueError as e:  # how the ssl module reports a failed certificate verification
            raise CertificateError(str(e).strip())
        lines = await ws.within(_head(w), timeout_ms)
        agreed = up.check_response(lines, key, PROTOCOL, deflate_bits)
        if agreed:  # (window bits and context takeover: ours, the server's)
            from .wsdeflate import Deflater, Inflater

            w.pmd = (Inflater(agreed[2], agreed[3]), Deflater(agreed[0], agreed[1]))
    except OSError as e:  # the handshake's records included
        w.abort()
        raise ws._tls_error(e)
    except BaseException:
        w.abort()
        raise
    return w


def _open(host, port, ctx, name):
    """(awaited) A non-blocking socket connected to host:port, wrapped in TLS context ctx if
    not None (its handshake runs in the first reads and writes); closed again if this fails
    or is cancelled (a connect timeout). The room ws.py holds for mbedTLS is let go first."""
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], ai[1], ai[2])
    try:
        s.setblocking(False)
        try:
            s.connect(ai[-1])
        except OSError as e:
            if e.errno != EINPROGRESS:
                raise
        if ws._room[0]:  # (a ws:// connection lets it go too: nothing would take it back)
            ws._room[0] = ()
            if ctx:
                gc.collect()  # the room is free pieces again, for mbedTLS to take
        if ctx:
            s = ctx.wrap_socket(s, server_hostname=name, do_handshake_on_connect=False)
            s.setblocking(False)
        yield core._io_queue.queue_write(s)
    except BaseException:
        s.close()
        raise
    return s


async def _head(w):
    """The upgrade response read from WebSocket w: status line and the header lines
    wsupgrade needs."""
    lines = []
    for _ in range(_HEAD_LINES):
        while True:
            i = w._b.find(b"\r\n", w._r, w._w)
            if i >= 0:
                break
            if w._r == 0 and w._w == len(w._b):
                raise HandshakeError(0, "response header line too long")
            await w._fill()
        line = bytes(w._b[w._r : i])
        w._r = i + 2
        if not line:
            return lines
        if not lines or up.wanted(line):
            lines.append(line)
    raise HandshakeError(0, "too many response header lines")
