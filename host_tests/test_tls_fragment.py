"""The 2 kB-input TLS build (boards/rp2040/mbedtls_config_board.h with OCPP_LITE_TLS_IN_LEN=2048,
boards/common/tls-max-fragment-length.patch) as the station: the 32-bit unix port built with it
(tools/mp32.py, TLS configuration "in2k", the lite profile frozen in), talking wss:// through a
relay that parses the TLS records (tools/footprint/wire.py).

- Against the loopback CSMS (CPython ssl, OpenSSL), which honours RFC 6066 max_fragment_length:
  the ServerHello grants 2 kB, a CSMS message larger than 2 kB arrives as records of at most
  2 kB, and the station answers it on the same connection.
- Against a CSMS that ignores the extension: a TLS-terminating proxy on the stock MicroPython
  unix port (host_tests/mp/tls_proxy_nomfl.py: mbedTLS without MBEDTLS_SSL_MAX_FRAGMENT_LENGTH,
  4 kB records) in front of the CSMS. A message over 2 kB then comes as one record the station
  cannot hold: it logs the cause, records the TLSRecordTooLarge security event (once), goes
  through its reconnect back-off, and the event reaches the CSMS over the next connection.
"""

import json
import pathlib
import subprocess
import threading

import pytest

from frozen import FrozenSim, build_or_skip
from helpers import CsmsThread, listener, server_ssl, wait_until

from tools.footprint import session as fs
from tools.footprint.wire import Relay, tls_figures

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROXY = ROOT / "host_tests" / "mp" / "tls_proxy_nomfl.py"
HEAP = 256 * 1024
FAST = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
        "OCPPCommCtrlr.RetryBackOffRepeatTimes": 0}
BIG = 3000  # bytes of DataTransfer data: a CSMS message over 2 kB
AEAD = 24  # AES-GCM's explicit nonce and tag in a record's length
CAUSE = "TLS: the CSMS sent a record larger than our input buffer"
# TLS 1.2 AES-GCM suites (IANA): ECDHE-ECDSA, ECDHE-RSA with AES-128/256-GCM, RSA with AES-128/256-GCM
GCM_SUITES = {0xC02B, 0xC02C, 0xC02F, 0xC030, 0x009C, 0x009D}


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    """A private copy of the 32-bit port with the 2 kB-input TLS configuration, lite frozen in."""
    return build_or_skip("lite", tmp_path_factory, "in2k")


class TlsSim(FrozenSim):
    """FrozenSim with the CSMS root installed (--ca): security profile 2."""

    def __init__(self, exe, state, csms_url, ca, sets=None):
        super().__init__(exe, state, csms_url, HEAP, sets=sets, extra=("--ca", str(ca)))


def big_call(c, mid):
    c.send_raw("CS001", json.dumps([2, mid, "DataTransfer", {"vendorId": "org.example", "data": "x" * BIG}]), mid)


def test_2k_input_build_completes_a_session_with_a_csms_that_honours_max_fragment_length(exe, pki, tmp_path):
    c = CsmsThread(ssl=server_ssl(*pki["server"], tmp_path / "srv"))
    relay = c.run(Relay(c.csms.port, True).start())
    s = TlsSim(exe, tmp_path / "state", "wss://localhost:%d/ocpp" % relay.port, pki["ca_pem"])
    try:
        s.wait_event(ev="boot", status="Accepted", timeout=30)
        big_call(c, "big-1")
        reply = c.wait_reply("big-1", timeout=15)
        assert reply.kind == 3 and reply.payload == {"status": "UnknownVendorId"}
        t = tls_figures(relay)
        # the station asked for 2 kB records and OpenSSL granted them; the 3 kB CALL came as
        # records of at most 2 kB (plus the cipher's nonce and tag), on the one connection
        assert t["up"]["max_fragment_length"] == 2048 == t["down"]["max_fragment_length"]
        assert 2048 < BIG and t["down"]["largest_record"] <= 2048 + AEAD
        assert t["down"]["app"] > BIG and t["connections"] == 1
        # the boards' mbedTLS has no CBC: the ClientHello offers AES-GCM suites only (and the
        # renegotiation SCSV), the two ECDHE-ECDSA ones of OCPP's A00.FR.318 among them
        up, down = relay.conns[0][0].suites, relay.conns[0][1].suites
        assert {0xC02B, 0xC02C} <= set(up) and set(up) - {0x00FF} <= GCM_SUITES, [hex(x) for x in up]
        assert down[0] in GCM_SUITES
        assert not [line for line in s.log if CAUSE in line]
        assert s.quit() == 0
        assert not s.crashed(), "\n".join(s.log)
    finally:
        s.close()
        c.run(relay.stop())
        c.close()


@pytest.fixture
def proxy(pki, tmp_path):
    """Start the non-honouring TLS proxy in front of a CSMS: (CsmsThread, its port)."""
    from cryptography.hazmat.primitives import serialization

    cert, key = pki["server"]
    (tmp_path / "cert.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    (tmp_path / "key.der").write_bytes(key.private_bytes(serialization.Encoding.DER,
                                                         serialization.PrivateFormat.TraditionalOpenSSL,
                                                         serialization.NoEncryption()))
    c = CsmsThread()
    sock, port = listener()
    sock.close()
    p = subprocess.Popen([fs.MICROPYTHON, str(PROXY), str(tmp_path / "cert.der"), str(tmp_path / "key.der"),
                          str(port), str(c.csms.port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = p.stdout.readline()
        assert line.startswith("proxy: listening"), line + p.stdout.read()
        threading.Thread(target=p.stdout.read, daemon=True).start()  # keep its pipe drained
        yield c, port
    finally:
        p.kill()
        p.wait(5)
        c.close()


def test_2k_input_build_with_a_csms_that_ignores_max_fragment_length_fails_cleanly(exe, pki, proxy, tmp_path):
    c, port = proxy
    relay = c.run(Relay(port, True).start())
    s = TlsSim(exe, tmp_path / "state", "wss://localhost:%d/ocpp" % relay.port, pki["ca_pem"], sets=FAST)
    try:
        s.wait_event(ev="boot", status="Accepted", timeout=30)
        big_call(c, "big-1")
        wait_until(lambda: [line for line in s.log if CAUSE in line], 15, "the log line naming the cause")
        s.wait_event(ev="security", type="TLSRecordTooLarge", timeout=5)
        # the back-off, a new connection, and the event reaches the CSMS over it
        wait_until(lambda: [f for f in c.inbound("SecurityEventNotification")
                            if f.payload["type"] == "TLSRecordTooLarge"], 20, "TLSRecordTooLarge delivered")
        got = [f.payload for f in c.inbound("SecurityEventNotification") if f.payload["type"] == "TLSRecordTooLarge"]
        assert len(got) == 1 and "max_fragment_length" in got[0]["techInfo"]
        assert any("reconnect in" in line for line in s.log)
        # the proxy's mbedTLS did not grant the extension and sent a record over 2 kB
        t = tls_figures(relay)
        assert t["up"]["max_fragment_length"] == 2048 and t["down"]["max_fragment_length"] == 0
        assert t["down"]["largest_record"] > 2048 + AEAD
        # it keeps going: the next large message ends that connection too, logged again, the
        # security event recorded once; the station answers small requests in between
        n = t["connections"]
        mid = "small-1"
        c.send_raw("CS001", json.dumps([2, mid, "DataTransfer", {"vendorId": "org.example"}]), mid)
        assert c.wait_reply(mid, timeout=15).kind == 3
        big_call(c, "big-2")
        wait_until(lambda: len([line for line in s.log if CAUSE in line]) >= 2, 15, "the second failure logged")
        wait_until(lambda: len(relay.conns) > n, 20, "a connection after the second failure")
        assert len(s.find(ev="security", type="TLSRecordTooLarge")) == 1
        assert len([line for line in s.seclog() if "TLSRecordTooLarge" in line]) == 1
        assert s.p.poll() is None and not s.crashed(), "\n".join(s.log)
        assert s.quit() == 0
    finally:
        s.close()
        c.run(relay.stop())


def test_2k_input_build_with_a_certificate_chain_over_2k_fails_cleanly(exe, pki, tmp_path):
    """max_fragment_length splits the CSMS's records, not its handshake messages: a server
    certificate over 2 kB (here a leaf with many names) does not fit the 2 kB input buffer even
    from a CSMS that honours the extension. The station says so, records the event once, and
    keeps retrying."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    names = [x509.DNSName("localhost")] + [x509.DNSName("csms%03d.example.com" % i) for i in range(100)]
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(pki["ca"].subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3))
            .add_extension(x509.SubjectAlternativeName(names), critical=False).sign(pki["ca_key"], hashes.SHA256()))
    assert len(cert.public_bytes(serialization.Encoding.DER)) > 2048
    c = CsmsThread(ssl=server_ssl(cert, key, tmp_path / "srv"))
    s = TlsSim(exe, tmp_path / "state", "wss://localhost:%d/ocpp" % c.csms.port, pki["ca_pem"], sets=FAST)
    try:
        wait_until(lambda: len([line for line in s.log if "handshake does not fit our input buffer" in line]) >= 2,
                   20, "two handshakes that did not fit, logged")
        assert any("reconnect in" in line for line in s.log)
        assert len(s.find(ev="security", type="TLSRecordTooLarge")) == 1
        assert not c.inbound("BootNotification")
        assert s.p.poll() is None and not s.crashed(), "\n".join(s.log)
        assert s.quit() == 0
    finally:
        s.close()
        c.close()


def test_boards_tls_build_without_cbc_still_has_cryptolib_aes_cbc(exe):
    """The boards' mbedTLS configuration leaves CBC out (OCPP's suites are AES-GCM: 288 bytes
    less in each record buffer); boards/common/cryptolib-cbc.patch keeps cryptolib.aes's
    MODE_CBC, made of ECB blocks: NIST SP 800-38A's CBC-AES128 and CBC-AES256 examples (F.2.1,
    F.2.5), encrypted in one call and in two, and decrypted in place."""
    script = """import cryptolib, binascii
h = binascii.unhexlify
iv = h("000102030405060708090a0b0c0d0e0f")
pt = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
for key in (h("2b7e151628aed2a6abf7158809cf4f3c"),
            h("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")):
    whole = cryptolib.aes(key, 2, iv).encrypt(pt)
    e = cryptolib.aes(key, 2, iv)
    print(binascii.hexlify(whole).decode(), whole == e.encrypt(pt[:16]) + e.encrypt(pt[16:]))
    buf = bytearray(whole)
    cryptolib.aes(key, 2, iv).decrypt(buf, buf)
    print(buf == pt)
"""
    out = subprocess.run([str(exe), "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2", "True", "True",
                   "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d", "True", "True"], out
