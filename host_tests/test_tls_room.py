"""A station that lost its wss:// connection gets it back in a heap cut into small pieces
(runtime/ws.py: the room mbedTLS's buffers leave when a connection closes is held until the
next one; runtime/link.py keeps the ssl context from one connection to the next).

On the 32-bit port built with the boards' TLS configuration (tools/mp32.py "boards": 16 kB input
buffer, mbedTLS in the GC heap as on the RP2040), host_tests/mp/tls_room.py connects to the
loopback CSMS over wss://, drops the connection, fills the heap with 500-byte objects that stay
and frees every other one (10-20 kB free, none of it in a piece over 512 bytes but the room),
and connects again: it must, and without the room (the same script with ws._hold disabled) it
must not, so that the test shows what the room does."""

import json
import os
import pathlib
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from frozen import build_or_skip
from helpers import CsmsThread, server_ssl

from tools.footprint import session as fs

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "host_tests" / "mp" / "tls_room.py"
HEAP = 96 * 1024


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    return build_or_skip("lite", tmp_path_factory, "boards")


@pytest.fixture
def csms(pki, tmp_path):
    """A wss:// CSMS on loopback and the DER of its root: (url, der path)."""
    (tmp_path / "ca.der").write_bytes(pki["ca"].public_bytes(serialization.Encoding.DER))
    c = CsmsThread(ssl=server_ssl(*pki["server"], tmp_path / "srv"))
    try:
        yield "wss://localhost:%d/ocpp" % c.csms.port, tmp_path / "ca.der"
    finally:
        c.close()


def run(cmd, url, der, hold, env=None, ws_url=None):
    p = subprocess.run(cmd + [str(SCRIPT), url, str(der), hold, "500"] + ([ws_url] if ws_url else []),
                       capture_output=True, text=True, timeout=60, env=env)
    return p.stdout.splitlines(), p.stderr


def test_a_lost_wss_connection_comes_back_in_a_heap_cut_into_small_pieces(exe, csms):
    url, der = csms
    plain = CsmsThread()
    try:
        out, err = run([str(exe), "-X", "heapsize=%d" % HEAP], url, der, "1", ws_url=plain.url)
    finally:
        plain.close()
    # what the close gave back is held: mbedTLS's 16 kB input buffer and the rest, in one piece
    held = json.loads(out[0].split(" ", 1)[1])
    assert out[0].startswith("held") and sum(held) > 16 * 1024 and held[0] > 16 * 1024, (out, err)
    assert out[1].startswith("free ") and int(out[1].split()[1]) > 10 * 1024
    assert out[2:] == ["reconnected", "ws:// []"], (out, err)  # a ws:// connection holds no room
    # the same heap without the room: free memory enough, but no piece for the buffers (ENOMEM)
    out, err = run([str(exe), "-X", "heapsize=%d" % HEAP], url, der, "0")
    assert out[0] == "held []" and int(out[1].split()[1]) > 16 * 1024
    assert out[2:] == ["failed OSError(12,)"], (out, err)


def test_nothing_is_held_where_mbedtls_has_a_heap_of_its_own(csms):
    """The stock 64-bit unix port: mbedTLS allocates with malloc (as on the ESP32, from the IDF
    heap): closing a connection gives the GC heap nothing back, and nothing is held."""
    url, der = csms
    env = dict(os.environ, MICROPYPATH=".frozen:" + str(ROOT / "firmware"))
    out, err = run([fs.MICROPYTHON], url, der, "1", env)
    assert out[0] == "held []" and out[2:] == ["reconnected"], (out, err)
