# runtime/link.py - keeps the station connected to its CSMS: connect (TLS, basic auth),
# read messages into the station, ping when idle, reconnect with the OCPP back-off
# (RetryBackOff*), and log failed TLS / authentication attempts as security events.
import asyncio
import os
from time import ticks_diff, ticks_ms
from ocpp_lite import backoff, devmodel, netprofile
from ocpp_lite.wscodec import HandshakeError, CLOSE_GOING_AWAY, CLOSE_NORMAL
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
        self._soon = False  # reconnect at once, without back-off (new password)

    async def run(self):
        app = self.app
        failures = 0
        st = app.st
        while not self._stopping:
            await app.board.net_wait()
            w, slot = await self._connect()
            if w:
                failures = 0
                await self._serve(w, slot)
            else:
                netprofile.failed(st)
            if self._stopping:
                break
            if self._soon:
                self._soon = False
                continue
            s = backoff.delay_s(
                failures,
                devmodel.get(st, "OCPPCommCtrlr.RetryBackOffWaitMinimum"),
                devmodel.get(st, "OCPPCommCtrlr.RetryBackOffRandomRange"),
                devmodel.get(st, "OCPPCommCtrlr.RetryBackOffRepeatTimes"),
                int.from_bytes(os.urandom(2), "little"),
            )
            failures += 1
            app.log("reconnect in %d s" % s)
            await asyncio.sleep(s)

    async def _connect(self):
        """(WebSocket, slot) on the network profile due next, or (None, slot)."""
        app = self.app
        st = app.st
        slot, prof = netprofile.current(st)
        if prof is None:
            app.log("no network profile to connect with")
            return None, None
        url = prof["ocppCsmsUrl"]
        ident = devmodel.get(st, devmodel.IDENTITY)
        app.log("connecting to %s as %s (profile %s)" % (url, ident, slot))
        try:
            ctx = tls_context(config.ca_certs(app.store)) if prof["securityProfile"] > 1 else None
            w = await ws.connect(
                url, ident, devmodel.get(st, devmodel.PASSWORD), ctx,
                prof["messageTimeout"] * 1000, app.settings["MaxMessageBytes"],
            )
            return w, slot
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
        return None, slot

    async def _serve(self, w, slot):
        app = self.app
        self.ws = w
        app.on_link(slot)
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
        app.on_link(None)

    async def _read(self, w):
        app = self.app
        while True:
            ping = devmodel.get(app.st, "OCPPCommCtrlr.WebSocketPingInterval") * 1000 or None
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

    async def reconnect(self):
        """Close the connection normally and connect again at once (A01: new password)."""
        if self.ws:
            self._soon = True
            await self.ws.close(CLOSE_NORMAL)

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
