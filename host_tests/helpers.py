"""Test helpers: the CSMS (tools/csms.py, the `ocpp` package) on its own event-loop thread,
the simulated station (tools/sim on the MicroPython unix port) as a subprocess, and test
certificates. Tests stay synchronous and talk to both through these wrappers."""

import asyncio
import datetime
import json
import os
import pathlib
import subprocess
import threading
import time
import zlib

from tools import csms as csms_mod
from tools import wsframe

ROOT = pathlib.Path(__file__).resolve().parent.parent

MICROPYTHON = os.environ.get("MICROPYTHON") or str(ROOT / ".venv" / "bin" / "micropython")
# OCPP_PROFILE=lite|core|core-sc: every simulated station runs that build profile's code (the
# ROMFS image `make footprint` measures: tools/profiles.py) instead of the source tree.
PROFILE = os.environ.get("OCPP_PROFILE") or None
_images = {}


def profile_image():
    """The ROMFS image of PROFILE's modules, built once per test process (None: source tree)."""
    if PROFILE and PROFILE not in _images:
        import atexit
        import shutil
        import tempfile
        from tools.footprint import rom

        out = tempfile.mkdtemp(prefix="octt-%s-" % PROFILE)
        atexit.register(shutil.rmtree, out, True)
        _images[PROFILE] = rom.build(PROFILE, out)[2]
    return _images.get(PROFILE)


def wait_until(pred, timeout, what, poll=0.02):
    end = time.monotonic() + timeout
    while True:
        r = pred()
        if r:
            return r
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1f s waiting for %s"
                                 % (timeout, what() if callable(what) else what))
        time.sleep(poll)


class CsmsThread:
    """A Csms running on a background asyncio loop."""

    def __init__(self, **kw):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.csms = csms_mod.Csms(**kw)
        self.run(self.csms.start())

    def run(self, coro, timeout=15):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self):
        if not self.thread.is_alive():
            return
        try:
            self.run(self.csms.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)

    @property
    def url(self):
        return self.csms.url

    def __getattr__(self, name):  # boot_status, interval, hold, frames, violations ...
        return getattr(self.csms, name)

    def __setattr__(self, name, value):
        if name in ("boot_status", "interval", "hold", "fail", "tokens", "te_tokens", "response_timeout",
                    "misbehave"):
            setattr(self.csms, name, value)
        else:
            object.__setattr__(self, name, value)

    # --- frames ------------------------------------------------------------------------
    def inbound(self, action=None, kind=2):
        """Frames the station sent (CALLs of action, by default)."""
        return [f for f in list(self.csms.frames)
                if f.direction == "in" and f.kind == kind and (action is None or f.action == action)]

    def wait_call(self, action, n=1, timeout=10):
        """Wait until the station has sent n CALLs of action; returns the n-th."""
        return wait_until(lambda: len(self.inbound(action)) >= n and self.inbound(action)[n - 1],
                          timeout, "%d x %s" % (n, action))

    def wait_reply(self, mid, timeout=10):
        """The station's CALLRESULT or CALLERROR frame for message id mid."""
        def find():
            for f in list(self.csms.frames):
                if f.direction == "in" and f.kind in (3, 4) and f.id == mid:
                    return f
        return wait_until(find, timeout, "reply to %s" % mid)

    def send_raw(self, station, text, mid=None):
        self.run(self.csms.send_raw(station, text, mid))

    def raw_call(self, station, mid, action, payload, timeout=10):
        """Send a CALL as raw text and return the station's reply frame."""
        self.send_raw(station, json.dumps([2, mid, action, payload]), mid)
        return self.wait_reply(mid, timeout)

    def call(self, station, payload, timeout=15):
        return self.run(self.csms.call(station, payload), timeout)

    def wait_connected(self, station, n=1, timeout=10):
        return wait_until(lambda: sum(1 for c in self.csms.connects if c[1] == station and c[2]) >= n,
                          timeout, "connection %d of %s" % (n, station))


class Sim:
    """The simulated station: tools/sim as a subprocess, events read from its stdout."""

    def __init__(self, state, csms_url=None, ident="CS001", password=None, ca=None, evses=None,
                 heap=None, sets=None, flash=None, romfs=None, frames=False):
        args = [str(ROOT / "tools" / "sim"), "--state", str(state)]
        romfs = romfs or profile_image()
        if romfs:  # the code of a build profile (ROMFS image) instead of the source tree
            args += ["--romfs", str(romfs)]
        if csms_url:
            args += ["--csms", csms_url]
        if ident:
            args += ["--id", ident]
        if password is not None:
            args += ["--password", password]
        if ca:
            args += ["--ca", str(ca)]
        if evses:
            args += ["--evses", str(evses)]
        if heap:
            args += ["--heap", str(heap)]
        if flash:
            args += ["--flash", str(flash)]
        if frames:  # every OCPP message both ways as an event
            args += ["--frames", "1"]
        for k, v in (sets or {}).items():
            args += ["--set", "%s=%s" % (k, v)]
        self.state = pathlib.Path(state)
        self.events = []  # (monotonic time, dict)
        self.log = []
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, bufsize=1,
                                  env=dict(os.environ, MICROPYTHON=MICROPYTHON))
        self._threads = [threading.Thread(target=self._read, args=(self.p.stdout, True), daemon=True),
                         threading.Thread(target=self._read, args=(self.p.stderr, False), daemon=True)]
        for t in self._threads:
            t.start()

    def _read(self, stream, events):
        for line in stream:
            if events:
                try:
                    self.events.append((time.monotonic(), json.loads(line)))
                except ValueError:
                    self.log.append("STDOUT NOT JSON: " + line)
            else:
                self.log.append(line.rstrip("\n"))

    def send(self, **op):
        self.p.stdin.write(json.dumps(op) + "\n")
        self.p.stdin.flush()

    def find(self, **match):
        return [e for t, e in list(self.events) if all(e.get(k) == v for k, v in match.items())]

    def wait_event(self, timeout=10, n=1, **match):
        return wait_until(lambda: len(self.find(**match)) >= n and self.find(**match)[n - 1],
                          timeout, lambda: "station event %r (x%d); log tail: %s" % (match, n, self.log[-5:]))

    def quit(self, timeout=10):
        self.send(op="quit")
        rc = self.p.wait(timeout)
        self.close()
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)

    def close(self):
        self.kill()
        for t in self._threads:
            t.join(2)
        for s in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                s.close()
            except Exception:
                pass

    def crashed(self):
        return [line for line in self.log if "Traceback" in line]

    def seclog(self):
        p = self.state / "security.log"
        return p.read_text().splitlines() if p.exists() else []


# --- certificates ----------------------------------------------------------------------
def make_ca(name):
    return make_cert(name)


def make_cert(name, issuer=None, issuer_key=None, kind="ec", ca=True, days=(-1, 30), serial=None):
    """A certificate and its key, made with `cryptography`: kind "ec" (P-256) or "rsa" (2048);
    self-signed unless issuer and issuer_key are given (signed with SHA-256: ECDSA, or RSA
    PKCS#1 v1.5); ca: a CA certificate (basicConstraints cA, keyCertSign) or an end entity;
    valid from days[0] to days[1] days from now."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(issuer.subject if issuer else subject)
            .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days[0]))
            .not_valid_after(now + datetime.timedelta(days=days[1]))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(issuer_key or key, hashes.SHA256()))
    return cert, key


def make_server_cert(ca, ca_key, host):
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    names = [x509.DNSName(host)]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        pass
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def pem(obj):
    from cryptography.hazmat.primitives import serialization

    if hasattr(obj, "public_bytes") and hasattr(obj, "subject"):
        return obj.public_bytes(serialization.Encoding.PEM).decode()
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def server_ssl(cert, key, directory, maximum_version=None):
    """A server ssl.SSLContext from cryptography objects (files written to directory)."""
    import ssl

    d = pathlib.Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cp, kp = d / "server.pem", d / "server.key"
    cp.write_text(pem(cert))
    kp.write_text(pem(key))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if maximum_version:
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = maximum_version
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cp), str(kp))
    return ctx


def listener():
    """(a listening TCP socket on 127.0.0.1 at a free port, the port)."""
    import socket

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    return srv, srv.getsockname()[1]


class RawWs:
    """A hand-driven WebSocket server for transport faults the `websockets` library will not
    produce (broken upgrades, masked or stalled frames). One client at a time; frames the
    client sends are decoded (unmasked) into .frames as (opcode, payload bytes)."""

    GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, accept="good", protocol="ocpp2.0.1", status=101, extensions=None):
        """extensions: the Sec-WebSocket-Extensions answer (e.g. permessage-deflate's) to an
        upgrade that offers one (none to one that does not, as RFC 6455 has it); with it, a
        station frame with RSV1 set is inflated (no context takeover assumed unless the
        station keeps its window: zlib's one inflater follows it) into .frames."""
        self.accept, self.protocol, self.status = accept, protocol, status
        self.extensions = extensions
        self.inflater = None
        self.zsizes = []  # (compressed size, inflated size) of each compressed message
        self.srv, self.port = listener()
        self.url = "ws://127.0.0.1:%d/ocpp" % self.port
        self.conn = None
        self.requests = []  # upgrade request heads
        self.frames = []
        self.accepted = []  # monotonic times of accepted TCP connections
        self.eof = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import base64
        import hashlib

        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.accepted.append(time.monotonic())
            head = b""
            while b"\r\n\r\n" not in head:
                d = c.recv(4096)
                if not d:
                    break
                head += d
            self.requests.append(head.decode(errors="replace"))
            key = ""
            for line in head.decode(errors="replace").split("\r\n"):
                if line.lower().startswith("sec-websocket-key:"):
                    key = line.split(":", 1)[1].strip()
            acc = base64.b64encode(hashlib.sha1(key.encode() + self.GUID).digest()).decode()
            if self.accept == "bad":
                acc = base64.b64encode(b"x" * 20).decode()
            resp = "HTTP/1.1 %d X\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" % self.status
            if self.accept:
                resp += "Sec-WebSocket-Accept: %s\r\n" % acc
            if self.protocol:
                resp += "Sec-WebSocket-Protocol: %s\r\n" % self.protocol
            if self.extensions and "sec-websocket-extensions:" in head.decode(errors="replace").lower():
                resp += "Sec-WebSocket-Extensions: %s\r\n" % self.extensions  # (as offered)
            c.sendall((resp + "\r\n").encode())
            self.inflater = zlib.decompressobj(wbits=-15)  # the station's window is at most that
            self.conn = c
            self.eof.clear()
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c):
        buf = b""
        while True:
            try:
                d = c.recv(65536)
            except OSError:
                d = b""
            if not d:
                self.eof.set()
                return
            frames, buf = wsframe.split(buf + d)
            for f in frames:
                op, fin, masked, rsv, payload = wsframe.parse(f)
                if rsv & 0x40 and self.extensions:  # a compressed message (one frame: the station's are)
                    n = len(payload)
                    payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
                    self.zsizes.append((n, len(payload)))
                self.frames.append((op, payload, masked, fin))

    def send(self, data):
        self.conn.sendall(data)

    def frame(self, op, payload, fin=True, mask=None, length=None, rsv1=False):
        n = len(payload) if length is None else length
        b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | op
        if n < 126:
            h = bytes([b0, (0x80 if mask else 0) | n])
        elif n < 65536:
            h = bytes([b0, (0x80 if mask else 0) | 126]) + n.to_bytes(2, "big")
        else:
            h = bytes([b0, (0x80 if mask else 0) | 127]) + n.to_bytes(8, "big")
        if mask:
            payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
            h += mask
        return h + payload

    def texts(self):
        return [json.loads(p) for op, p, m, fin in list(self.frames) if op == 1]

    def drop(self):
        if self.conn:
            try:
                self.conn.shutdown(2)
            except OSError:
                pass
            self.conn.close()

    def close(self):
        self.drop()
        self.srv.close()
