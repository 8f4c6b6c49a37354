# runtime/link.py - keeps the station connected to its CSMS: connect (TLS, basic auth),
# read messages into the station, ping when idle, reconnect with the OCPP back-off
# (RetryBackOff*), and log failed TLS / authentication attempts as security events.
import asyncio
import os
from time import ticks_diff, ticks_ms
from ocpp_lite import backoff
from ocpp_lite.wscodec import HandshakeError, CLOSE_GOING_AWAY
from . import config, ws

_BAD_PROTOCOL_VERSION = -0x6E80  # MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION (mbedTLS 3)


def tls_context(cas):
    """An ssl context trusting the installed CSMS roots (DER list), or None without any."""
    if not cas:
        return None
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    for der in cas:
        ctx.load_verify_locations(cadata=der)
    return ctx


class Link:
    def __init__(self, app):
        self.app = app
        self.ws = None
        self._reader = None
        self._stopping = False

    async def run(self):
        app = self.app
        failures = 0
        while not self._stopping:
            await app.board.net_wait()
            w = await self._connect()
            if w:
                failures = 0
                await self._serve(w)
            if self._stopping:
                break
            c = app.cfg
            s = backoff.delay_s(
                failures,
                c["RetryBackOffWaitMinimum"],
                c["RetryBackOffRandomRange"],
                c["RetryBackOffRepeatTimes"],
                int.from_bytes(os.urandom(2), "little"),
            )
            failures += 1
            app.log("reconnect in %d s" % s)
            await asyncio.sleep(s)

    async def _connect(self):
        app = self.app
        c = app.cfg
        url = c["CsmsUrl"]
        app.log("connecting to %s as %s" % (url, c["Identity"]))
        try:
            ctx = tls_context(config.ca_certs(app.store)) if url.startswith("wss:") else None
            return await ws.connect(
                url, c["Identity"], c["BasicAuthPassword"], ctx, c["MessageTimeout"] * 1000, c["MaxMessageBytes"]
            )
        except ws.CertificateError as e:
            app.log("CSMS certificate refused: %s" % e.args[0])
            app.security_event("InvalidCsmsCertificate", e.args[0])
        except HandshakeError as e:
            app.log("upgrade refused: %s" % e.args[1])
            if e.args[0] in (401, 403):
                app.security_event("FailedToAuthenticateAtCsms", "HTTP %d" % e.args[0])
        except OSError as e:
            code = e.args[0] if e.args else 0
            app.log("connection failed: %r" % e)
            if code == _BAD_PROTOCOL_VERSION:
                app.security_event("InvalidTLSVersion", "TLS version refused")
        except Exception as e:  # bad URL, no root installed, timeout, closed during upgrade ...
            app.log("connection failed: %r" % e)
        return None

    async def _serve(self, w):
        app = self.app
        self.ws = w
        app.on_link(True)
        self._reader = asyncio.create_task(self._read(w))
        try:
            await self._reader
        except asyncio.CancelledError:
            pass
        except ws.Closed as e:
            app.log("connection closed: %d %s" % (e.args[0], e.args[1]))
        except Exception as e:
            app.log("connection dropped: %r" % e)
        self._reader = None
        self.ws = None
        w.abort()
        app.on_link(False)

    async def _read(self, w):
        app = self.app
        ping = app.cfg["WebSocketPingInterval"] * 1000 or None
        while True:
            try:
                msg = await w.recv(ping)
            except asyncio.TimeoutError:
                if ticks_diff(ticks_ms(), w.last_rx) > ping + w.t:
                    raise ws.Closed(1006, "no answer to ping")
                await w.ping()
                continue
            await app.received(msg)

    def drop(self):
        """Abandon the connection at once (network gone, write failed)."""
        if self.ws:
            self.ws.abort()
        if self._reader and self._reader is not asyncio.current_task():
            self._reader.cancel()

    async def stop(self):
        """Close the connection (code 1001) and stop reconnecting."""
        self._stopping = True
        w = self.ws
        if w:
            await w.close(CLOSE_GOING_AWAY)
            for _ in range(20):  # the server's close frame ends the reader
                if not self._reader:
                    break
                await asyncio.sleep_ms(50)
            self.drop()
