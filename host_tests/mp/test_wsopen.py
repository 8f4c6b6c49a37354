# host_tests/mp/test_wsopen.py - the opening handshake (runtime/wsopen.py, runtime/wsupgrade.py)
# is loaded for a connection attempt and let go of after it, whether the attempt connected or
# failed: its code takes no heap while the station is connected.
import asyncio
import binascii
import hashlib
import json
import sys
from fakes import NET, serve, station
from runtime import link

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MODULES = ("runtime.wsopen", "runtime.wsupgrade")


class App:
    def __init__(self, st):
        self.st = st
        self.settings = {"MaxMessageBytes": 4096, "DeflateWindowBits": 0}
        self.lines = []
        self.events = []

    def log(self, text):
        self.lines.append(text)

    def security_event(self, kind, info):
        self.events.append(kind)


async def _upgrade(reader, writer, ext=b""):
    """A WebSocket server's side of the upgrade, as the RFC has it (ext: the extension
    header line it answers with)."""
    head = b""
    while b"\r\n\r\n" not in head:
        head += await reader.read(512)
    key = [ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n") if ln.lower().startswith(b"sec-websocket-key:")][0]
    accept = binascii.b2a_base64(hashlib.sha1(key + _GUID).digest())[:-1]
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: ocpp2.0.1\r\n" + ext + b"\r\n")
    await writer.drain()


def _link(port):
    net = json.loads(json.dumps(NET))
    net["profiles"]["1"]["ocppCsmsUrl"] = "ws://127.0.0.1:%d/ocpp" % port
    return link.Link(App(station(net=net)))


def _gone():
    return [m for m in _MODULES if m in sys.modules] + [m for m in ("wsopen", "wsupgrade")
                                                          if hasattr(sys.modules["runtime"], m)]


def test_the_handshake_code_is_let_go_after_a_connection():
    async def main():
        srv, port = await serve(_upgrade)
        try:
            lk = _link(port)
            w, slot = await lk._connect()
            assert w is not None and slot == "1", lk.app.lines
            assert not _gone(), _gone()
            w.abort()
        finally:
            srv.close()

    asyncio.run(main())


def test_the_handshake_code_is_let_go_after_a_failed_attempt():
    async def main():
        lk = _link(1)  # nothing listens on port 1: refused
        w, slot = await lk._connect()
        assert w is None and slot == "1"
        assert any("connection failed" in ln for ln in lk.app.lines), lk.app.lines
        assert not _gone(), _gone()

    asyncio.run(main())


async def _deflating(reader, writer):
    await _upgrade(reader, writer, b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n")


def test_the_deflate_code_stays_only_while_a_connection_uses_it():
    """runtime/wsdeflate.py is loaded to offer permessage-deflate (DeflateWindowBits) and kept
    only by a connection that agreed to it; refused, it is let go of with the handshake."""
    async def main():
        for server, kept in ((_deflating, True), (_upgrade, False)):
            srv, port = await serve(server)
            try:
                lk = _link(port)
                lk.app.settings["DeflateWindowBits"] = 10
                w, slot = await lk._connect()
                assert w is not None, lk.app.lines
                assert not _gone(), _gone()
                assert ("runtime.wsdeflate" in sys.modules) == kept == (w.pmd is not None), (server, w.pmd)
                w.abort()
            finally:
                srv.close()

    asyncio.run(main())
