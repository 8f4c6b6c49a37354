# runtime/link.py - keeps the station connected to its CSMS: connect (TLS, basic auth),
# read messages into the station, ping when idle, reconnect with the OCPP back-off
# (RetryBackOff*), and log failed TLS / authentication attempts as security events.
# A TLS record over the input buffer (a 2 kB-input build with a CSMS that ignores
# max_fragment_length) is logged at every connection it ends and recorded, once per boot, as the
# vendor security event TLSRecordTooLarge, sent to the CSMS over a later connection.
import asyncio
import os
from time import ticks_diff, ticks_ms
from micropython import const
from ocpp_lite.engine import clock
from ocpp_lite.provisioning.devmodel import IDENTITY, PASSWORD
from . import ws
from .wscodec import CLOSE_GOING_AWAY, CLOSE_NORMAL

_BAD_PROTOCOL_VERSION = const(-0x6E80)  # MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION (mbedTLS 3)
_CLOSE_TLS = const(1015)  # ws.Closed's code for a TLS record over the input buffer
_CLOSE_PROTOCOL = const(1002)  # RFC 6455 close codes a broken permessage-deflate ends with (either side)
_CLOSE_INVALID = const(1007)
_CSMS = const("CSMSRootCertificate")  # the roots wss:// trusts (runtime/certstore.py)
TOO_LARGE = "TLSRecordTooLarge"  # vendor security event: no OCPP type names this cause


async def sleep_s(s):
    """asyncio.sleep(s) for any s, in steps of at most a day: asyncio.sleep adds its wait to
    the ticks, which raises OverflowError from 2^29 ms (6.2 days) on 32-bit boards
    (clock.MAX_WAIT_S). For waits that must last as long as asked: a back-off, a retryInterval."""
    while s > 0:
        n = min(s, clock.MAX_WAIT_S)
        await asyncio.sleep_ms(int(n * 1000))
        s -= n


async def _ping(w):
    try:
        await w.ping()
    except Exception:  # the write failed: the link is gone, the reader says so
        pass


def _delay_s(st, failures):
    """The wait before the next attempt (runtime/backoff.py: loaded for it, let go of after)."""
    from ocpp_lite.station import forget  # (loaded: the station is running)
    from .backoff import delay_s

    try:
        return delay_s(
            failures,
            st.devmodel.get("OCPPCommCtrlr.RetryBackOffWaitMinimum"),
            st.devmodel.get("OCPPCommCtrlr.RetryBackOffRandomRange"),
            st.devmodel.get("OCPPCommCtrlr.RetryBackOffRepeatTimes"),
            int.from_bytes(os.urandom(2), "little"),
        )
    finally:
        forget("runtime.backoff")


def tls_context(cas):
    """An ssl context trusting the installed CSMS roots (DER list), or None without any. It is
    MicroPython's built-in tls.SSLContext, not the ssl module's wrapper of it: the same calls,
    without the wrapper's module, class and object in the heap (0.4-1 kB)."""
    if not cas:
        return None
    import tls

    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = tls.CERT_REQUIRED
    for der in cas:
        ctx.load_verify_locations(der)
    return ctx


class Link:
    def __init__(self, app):
        self.app = app
        self.ws = None
        self._reader = None
        self._stopping = False
        self._soon = False  # reconnect at once, without back-off (new password)
        self._probes = 0  # payload of the next link check's ping
        self._probe = None  # (WebSocket, payload) of the link check waiting for its pong
        self._pinged = None  # ticks of the idle ping not answered yet (idle())
        self._too_large = False  # TOO_LARGE recorded since boot
        self._tls = None  # (Store.certs, ssl context) of the last wss:// connection
        # permessage-deflate not offered again until a restart: a compressed connection ended
        # with 1002 or 1007 before a message from the CSMS was read (a CSMS that takes the
        # extension and cannot inflate the station's first message, or whose own compressor is
        # broken, would otherwise have it reconnect for nothing, connection after connection)
        self._plain = False

    async def run(self):
        app = self.app
        failures = 0
        st = app.st
        while not self._stopping:
            try:
                await app.board.net_wait()
                w, slot = await self._connect()
                if w:
                    failures = 0
                    await self._serve(w, slot)
                else:
                    st.network.failed()
            except MemoryError:  # anywhere in an attempt: recorded, and the task goes on
                app.oom("link")
                self._gone()
            if self._stopping:
                break
            if self._soon:
                self._soon = False
                continue
            s = _delay_s(st, failures)
            failures += 1
            app.log("reconnect in %d s" % s)
            app.board.show({"ev": "backoff", "s": s})
            await sleep_s(s)  # RetryBackOffWaitMinimum << RetryBackOffRepeatTimes: up to 42 days

    async def _connect(self):
        """(WebSocket, slot) on the network profile due next, or (None, slot)."""
        app = self.app
        st = app.st
        slot, prof = st.network.current()
        if prof is None:
            app.log("no network profile to connect with")
            return None, None
        url = prof["ocppCsmsUrl"]
        ident = st.devmodel.get(IDENTITY)
        app.log("connecting to %s as %s (profile %s)" % (url, ident, slot))
        from ocpp_lite.provisioning.netprofile import timeout_ms  # (loaded: st.network is, while offline)
        from . import wsopen  # the opening handshake: loaded for the attempt, let go of after it

        w = None
        try:
            ctx = None
            if prof["securityProfile"] > 1:
                ctx = self._context()
            else:
                self._tls = None  # a ws:// profile: the context of a wss:// one is not kept for it
            w = await wsopen.connect(
                url, ident, st.devmodel.get(PASSWORD), ctx,
                timeout_ms(prof), app.settings["MaxMessageBytes"], 0 if self._plain else app.settings["DeflateWindowBits"],
            )
            return w, slot
        except wsopen.CertificateError as e:
            app.log("CSMS certificate refused: %s" % e.args[0])
            app.security_event("InvalidCsmsCertificate", e.args[0])
        except ws.Closed as e:
            if e.args[0] == _CLOSE_TLS:
                self.record_too_large(e, True)
            else:
                app.log("connection failed: %r" % e)
        except wsopen.HandshakeError as e:
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
        finally:
            from ocpp_lite.station import forget  # (loaded: the station is running)

            wsopen = None
            forget("runtime.wsopen")
            forget("runtime.wsupgrade")
            if w is None or w.pmd is None:  # permessage-deflate not in use on this connection
                forget("runtime.wsdeflate")
        return None, slot

    def _context(self):
        """The ssl context trusting the installed CSMS roots, kept from one connection to the
        next until they change: made while the heap is whole, not in pieces of a heap that
        months of uptime have cut up (ws.py holds the room for mbedTLS's buffers)."""
        n = self.app.store.certs
        if not self._tls or self._tls[0] != n:
            self._tls = None
            self._tls = (n, tls_context(self.app.st.certstore.ders(_CSMS)))
        return self._tls[1]

    def record_too_large(self, e, handshake=False):
        """The CSMS sent a TLS record our input buffer cannot hold: it ignored the
        max_fragment_length extension the station asked for, or (handshake) a handshake message
        such as its certificate chain is larger than the buffer. The connection is lost; the
        back-off follows as after any failure."""
        app = self.app
        if handshake:
            why = "its certificate chain is larger or it ignored max_fragment_length"
            app.log("TLS: the CSMS's handshake does not fit our input buffer (%s): %s: use the "
                    "16 kB-input TLS build" % (e.args[1], why))
        else:
            why = "it ignored max_fragment_length"
            app.log("TLS: the CSMS sent a record larger than our input buffer (%s); %s: use the "
                    "16 kB-input TLS build" % (e.args[1], why))
        if not self._too_large:
            self._too_large = True
            app.hw(app.st.security.record, TOO_LARGE, "over the TLS input buffer (%s): %s" % (e.args[1], why),
                   send=True)

    def _gone(self):
        """Drop a connection that _serve could not finish with (a MemoryError)."""
        w = self.ws
        if w:
            self.ws = None
            self._reader = None
            self._probe = None
            w.abort()
            self.app.on_link(None)

    async def _serve(self, w, slot):
        app = self.app
        self.ws = w
        self._pinged = None
        w.on_pong = self._pong
        app.on_link(slot)
        # Messages into the station, until the WebSocket ends (the idle check is the timer's:
        # idle()); read here, in the link's task, which drop() cancels: no task and frame of
        # their own for each connection
        self._reader = asyncio.current_task()
        why = (1006, "dropped by the station")  # (close code, reason): RFC 6455's 1006 without a close frame
        heard = False  # a message read on this connection
        try:
            while True:
                await w.wait()  # the next frame's start (idle: no frame of recv's meanwhile)
                msg = await w.recv()  # the text in a list, which the session empties
                if msg is None:  # a ping or a pong
                    continue
                heard = True
                try:
                    app.st.rpc.receive(msg, ticks_ms(), w.over)  # the session answers or hands it on
                except MemoryError:
                    app.oom("receive")
                app.wake()  # deadlines may have moved
                await app.service()
        except asyncio.CancelledError:
            pass
        except ws.Closed as e:
            why = e.args
            if e.args[0] == _CLOSE_TLS:
                self.record_too_large(e)
            else:
                app.log("connection closed: %d %s" % (e.args[0], e.args[1]))
            if w.pmd and not heard and (e.args[0] == _CLOSE_PROTOCOL or e.args[0] == _CLOSE_INVALID):
                self._plain = True
                app.log("permessage-deflate off until restart")
        except MemoryError:  # no room for a frame: a new connection (nothing queued is lost)
            app.oom("reading a message")
        except Exception as e:
            app.log("connection dropped: %r" % e)
        self._reader = None
        self.ws = None
        self._probe = None
        w.abort()
        app.on_link(None, why)

    def idle(self, now):
        """The idle check, run by the timer: after WebSocketPingInterval without a frame from
        the server a ping; nothing heard within MessageTimeout of it, the link is dead and
        dropped. Returns the ms until the next check, or None (no link, no pings). The reader
        waits without a bound, so no timeout task waits with it."""
        w = self.ws
        ping = self.app.st.devmodel.get("OCPPCommCtrlr.WebSocketPingInterval") * 1000
        p = self._pinged
        if w is None or not ping:
            self._pinged = None
            return None
        if p is not None and ticks_diff(w.last_rx, p) >= 0:
            p = self._pinged = None  # heard from the server since the ping
        if p is None:
            left = ping - ticks_diff(now, w.last_rx)
            if left > 0:
                return left
            self._pinged = now
            asyncio.create_task(_ping(w))
            return w.t
        left = w.t - ticks_diff(now, p)
        if left > 0:
            return left
        self.app.log("no answer to ping")
        self.drop()
        return None

    def probe(self):
        """The session's link check (a CALL it keeps in flash timed out): a ping at once; its
        pong tells the session the CSMS left the CALL unanswered; no pong within MessageTimeout
        and the link is dropped (the CALL stays queued for the next connection)."""
        w = self.ws
        if w and not self._probe:
            self._probes = (self._probes + 1) & 0xFFFF
            self._probe = (w, str(self._probes).encode())
            asyncio.create_task(self._check(w, self._probe[1]))

    async def _check(self, w, payload):
        try:
            await w.ping(payload)
            await asyncio.sleep_ms(w.t)
        except Exception:  # the write failed: the link is gone
            pass
        if self._probe and self._probe[0] is w:
            self._probe = None
            if self.ws is w:
                self.app.log("no answer to the link check")
                self.drop()

    def _pong(self, payload):
        p = self._probe
        if p and p[0] is self.ws and p[1] == payload:
            self._probe = None
            st = self.app.st
            st.rpc.alive(st, ticks_ms())
            self.app.wake()

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
