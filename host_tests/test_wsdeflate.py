"""runtime/wsdeflate.py (RFC 7692 permessage-deflate, without I/O) against CPython's zlib as
the reference deflate, both ways it works: in MicroPython on the PyPI unix port ("unix64": the
compressor in MicroPython, the CSMS's window put before each message) and in C on the 32-bit
port ("mp32": boards/common/deflate-takeover.patch, as on the boards): what the station's
compressor writes zlib inflates to the message (fixed codes, window kept from message to
message or not, a message given in parts, every window size RFC 7692 allows); what zlib writes
the station inflates, within its bound (a decompression bomb stops at MaxMessageBytes: 1009) and
a broken stream is 1007; the server's answer to the station's offer is accepted only as RFC 7692
section 5 allows. Then the patch's methods themselves, and sessions with the bundled CSMS on
both ports."""

import json
import os
import subprocess
import zlib

import pytest
from ocpp.v201 import call

import fuzzframes
from frozen import FrozenSim, build_or_skip
from helpers import MICROPYTHON, ROOT, CsmsThread, RawWs, wait_until
from tools.csms import schema_errors

_REPORT = "".join(
    '{"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"},'
    '"variableAttribute":[{"type":"Actual","value":"%d","mutability":"ReadWrite"}]},' % i for i in range(12))
MSGS = [b'[2,"1","Heartbeat",{}]', b'[2,"2","Heartbeat",{}]',
        ('[2,"3","NotifyReport",{"requestId":1,"reportData":[' + _REPORT + "]}]").encode(),
        b"a" * 1000, bytes(range(256)) * 3, b"", "[2,\"4\",\"DataTransfer\",{\"data\":\"\u00e9\u20ac\"}]".encode()]

_PRELUDE = "import sys, json, binascii\nsys.path.insert(0, %r)\nfrom runtime import wsdeflate as w\n" % str(ROOT / "firmware")


@pytest.fixture
def raw(closing):
    return lambda **kw: closing(RawWs(**kw))


@pytest.fixture(scope="module")
def mp32(tmp_path_factory):
    """The 32-bit port with the lite profile frozen in (tools/mp32.py), the patch applied."""
    return str(build_or_skip("lite", tmp_path_factory))


@pytest.fixture(params=["unix64", "mp32"])
def port(request):
    """The MicroPython that runs a test's script: the PyPI unix port (wsdeflate's MicroPython
    compressor and stored-block window) or the 32-bit port (the patch's C paths), each checked
    to take the path it should."""
    exe = MICROPYTHON if request.param == "unix64" else request.getfixturevalue("mp32")
    assert mp("print(json.dumps(w._C))", exe) is (request.param == "mp32")
    return exe


def mp(script, exe=MICROPYTHON):
    p = subprocess.run([exe, "-c", _PRELUDE + script], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.mark.parametrize("bits,keep", [(10, True), (9, False), (8, True), (12, True), (15, False)])
def test_what_the_station_compresses_zlib_inflates(bits, keep, port):
    script = """
msgs = [binascii.unhexlify(h) for h in %s]
d = w.Deflater(%d, %s)
out = []
for m in msgs:
    half = len(m) // 3
    parts = [m[:half], m[half:2 * half], m[2 * half:]]
    if max(m or b"a") < 128:
        parts[1] = parts[1].decode()  # text parts as str, as the station sends them
    out.append(binascii.hexlify(b"".join(bytes(c) for c in d.compress(parts))).decode())
print(json.dumps(out))
""" % (json.dumps([m.hex() for m in MSGS]), bits, keep)
    out = [bytes.fromhex(h) for h in mp(script, port)]
    z = zlib.decompressobj(wbits=-max(bits, 9))  # (zlib has no 8-bit raw window; 9 reads it)
    for m, o in zip(MSGS, out):
        if not keep:
            z = zlib.decompressobj(wbits=-max(bits, 9))
        assert o[-4:] != b"\x00\x00\xff\xff"  # the sync flush's tail is not sent (section 7.2.1)
        assert z.decompress(o + b"\x00\x00\xff\xff") == m
    report = MSGS.index(max(MSGS, key=len))
    assert len(out[report]) * 5 < len(MSGS[report])  # a base report page: 5 times smaller at least
    if keep:  # the second heartbeat refers to the first
        assert len(out[1]) < len(out[0]) < len(MSGS[0]) + 4


@pytest.mark.parametrize("bits", [8, 10, 15])
def test_long_messages_made_in_small_parts_compress_across_the_parts(bits, port):
    """A message many times longer than the window, made as written in 50-byte pieces (a
    NotifyReport page's iterator), goes through the compressor piece by piece, the window
    moving on, and matches run on from one piece into the next (in MicroPython: its buffer holds
    the window and 256 bytes after it; in C a match reaches back across the pieces); what comes
    out inflates to the message, in pieces of the output buffer (64 bytes; in C 256)."""
    report = ('[2,"9","NotifyReport",{"requestId":1,"reportData":[' + _REPORT * 5 + "]}]").encode()
    script = """
text = binascii.unhexlify(%r).decode()
d = w.Deflater(%d, True)
def made():
    for i in range(0, len(text), 50):
        yield text[i : i + 50]
out = []
for _ in range(2):
    sizes = []
    for c in d.compress(["", made()]):
        sizes.append(len(c))
        out.append(binascii.hexlify(c).decode())
    out.append(max(sizes))
print(json.dumps(out))
""" % (report.hex(), bits)
    res = mp(script, port)
    assert max(r for r in res if type(r) is int) <= (64 if port == MICROPYTHON else 256)
    first = res.index(next(r for r in res if type(r) is int))
    one, two = [bytes.fromhex("".join(h for h in part if type(h) is str)) for part in (res[:first], res[first + 1 : -1])]
    z = zlib.decompressobj(wbits=-max(bits, 9))
    assert z.decompress(one + b"\x00\x00\xff\xff") == report
    assert z.decompress(two + b"\x00\x00\xff\xff") == report
    assert len(one) * 12 < len(report)  # (measured: 15.7 to 17.9 times smaller with 8 to 15 bits)


def _zlib_message(data, bits):
    c = zlib.compressobj(9, zlib.DEFLATED, -bits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


@pytest.mark.parametrize("bits", [9, 10, 15])
def test_the_station_inflates_what_zlib_compresses_within_its_bound(bits, port):
    cases = [(_zlib_message(m, bits).hex(), 4096) for m in MSGS]
    cases.append((_zlib_message(b"x" * 4096, bits).hex(), 4096))  # exactly the bound
    cases.append((_zlib_message(b"x" * 4097, bits).hex(), 4096))  # one byte over it
    cases.append((_zlib_message(b"{}" * 500000, bits).hex(), 4096))  # 1 MB from 1 kB: a bomb
    cases.append(("ffffffff00", 4096))  # no deflate stream
    cases.append((bytes([0b111]).hex(), 4096))  # a block of a reserved type
    script = """
out = []
for h, bound in %s:
    try:
        buf = w.Inflater(%d, False).inflate(binascii.unhexlify(h), bound)
        out.append(["ok", binascii.hexlify(buf).decode()])
    except ValueError as e:
        out.append(["closed", e.args[0], e.args[1]])
print(json.dumps(out))
""" % (json.dumps(cases), bits)
    res = mp(script, port)
    for m, r in zip(MSGS, res):
        assert r == ["ok", m.hex()]
    assert res[-5] == ["ok", (b"x" * 4096).hex()]
    assert res[-4][:2] == ["closed", 1009] and res[-3][:2] == ["closed", 1009]
    assert res[-2][:2] == ["closed", 1007] and res[-1][:2] == ["closed", 1007]


@pytest.mark.parametrize("bits", [9, 10, 12])
def test_the_station_keeps_the_servers_window_between_messages(bits, port):
    """With context takeover the server's messages refer back into the ones before them: one
    zlib stream, sync-flushed after each message; the station inflates each (its window of
    2**bits kept: as bytes in MicroPython, in C with the patch) to what was sent, whatever their
    lengths against the window."""
    msgs = MSGS[:3] + [m for m in MSGS[3:] if m] + [MSGS[0], b"y" * (3 << bits), MSGS[2], MSGS[0], MSGS[1]]
    c = zlib.compressobj(9, zlib.DEFLATED, -bits)
    packed = []
    for m in msgs:
        out = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        packed.append(out[:-4].hex())
    res = mp("""
z = w.Inflater(%d, True)
out = []
for h in %s:
    out.append(binascii.hexlify(z.inflate(binascii.unhexlify(h), 32768)).decode())
    out.append(getattr(z, "k", 0))
print(json.dumps(out))
""" % (bits, json.dumps(packed)), port)
    assert [bytes.fromhex(h) for h in res[::2]] == msgs
    if port == MICROPYTHON:
        assert max(res[1::2]) == 1 << bits  # the window: never more than 2**bits bytes
    assert len(bytes.fromhex(packed[-1])) * 2 < len(msgs[-1])  # the heartbeat refers to the one before it


# --- the patch's methods (boards/common/deflate-takeover.patch), on the 32-bit port -----------

_PATCH = """
import sys, json, binascii
from deflate import DeflateIO, RAW
def run(f):
    try:
        return f()
    except (OSError, ValueError) as e:
        return type(e).__name__
"""


def mp32_script(exe, script):
    p = subprocess.run([exe, "-c", _PATCH + script], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.mark.parametrize("bits", [9, 11, 15])
def test_the_patchs_compress_and_sync_write_what_zlib_inflates_message_by_message(mp32, bits):
    """DeflateIO(None, RAW, bits).compress(src, dst) and .sync(dst[, forget]) against zlib: each
    message ends on a byte with an empty stored block's header and without the 00 00 ff ff that
    RFC 7692 strips, so that zlib, given them, inflates exactly the message; with the window
    kept one zlib stream reads them all (the second heartbeat a few bytes: it refers to the
    first), forget empties it (a fresh inflater reads the next); dst too short for 9 bits a byte
    is refused before anything is written."""
    res = mp32_script(mp32, """
msgs = [binascii.unhexlify(h) for h in %s]
d = DeflateIO(None, RAW, %d)
out = bytearray(600)
res = []
for i, m in enumerate(msgs):
    z = b""
    for j in range(0, len(m), 500):
        n = d.compress(m[j : j + 500], out)
        z += out[:n]
    n = d.sync(out, i == 4)
    res.append(binascii.hexlify(z + out[:n]).decode())
res.append(run(lambda: d.compress(b"x" * 100, bytearray(113))))
res.append(d.compress(b"x" * 100, bytearray(115)) >= 0)
print(json.dumps(res))
""" % (json.dumps([m.hex() for m in MSGS]), bits))
    out = [bytes.fromhex(h) for h in res[: len(MSGS)]]
    z = zlib.decompressobj(wbits=-bits)
    for i, (m, o) in enumerate(zip(MSGS, out)):
        assert not o.endswith(b"\x00\x00\xff\xff")
        assert z.decompress(o + b"\x00\x00\xff\xff") == m and not z.unconsumed_tail
        if i == 4:  # forgotten: the next message stands alone
            z = zlib.decompressobj(wbits=-bits)
    assert len(out[1]) < 10 < len(out[0])
    assert res[len(MSGS):] == ["ValueError", True]


def test_the_patchs_inflate_keeps_the_window_counts_within_a_bound_and_refuses_broken_streams(mp32):
    """DeflateIO.inflate(src, dst) against zlib: one zlib stream of messages, sync-flushed and
    stripped, each inflated after being counted (dst an int: the window put back as it was, so
    the count and the fill agree, twice over); a count stops one past its bound, a fill one past
    its buffer; a message ending with a final block (zlib's Z_FINISH) inflates; a reference to
    before the first byte ever inflated (finding F1), a stream cut inside a block (F3) or no
    deflate stream raise OSError, and the window is still right for the next message."""
    c = zlib.compressobj(9, zlib.DEFLATED, -9)
    msgs = MSGS[:3] + [b"y" * 2000, MSGS[0], MSGS[1]]
    packed = [(c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH))[:-4].hex() for m in msgs]
    final = (c.compress(MSGS[2]) + c.flush(zlib.Z_FINISH)).hex()
    b = fuzzframes.Bits()  # a literal, then a match of 3 from 2 back: only 1 byte exists
    b.block(0, 1)
    b.lit(b"a")
    b.match(3, 2)
    f1 = b.sync().hex()
    res = mp32_script(mp32, """
d = DeflateIO(None, RAW, 9)
res = []
f1 = binascii.unhexlify(%r)
res.append(run(lambda: DeflateIO(None, RAW, 9).inflate(f1, 100)))
for h in %s:
    src = binascii.unhexlify(h)
    n = d.inflate(src, 1 << 20)
    again = d.inflate(src, 1 << 20)
    short = d.inflate(src, n - 1) if n else None
    buf = bytearray(n)
    res.append([n, again, short, d.inflate(src, buf), binascii.hexlify(buf).decode()])
res.append(run(lambda: d.inflate(binascii.unhexlify(%r)[:-3], 1 << 20)))
res.append(run(lambda: d.inflate(b"\\xff\\xff\\xff\\xff\\x00", 100)))
src = binascii.unhexlify(%r)
buf = bytearray(10)
res.append(d.inflate(src, buf))
print(json.dumps(res))
""" % (f1, json.dumps(packed + [final]), packed[2], packed[0]))
    assert res[0] == "OSError"
    for m, (n, again, short, filled, h) in zip(msgs + [MSGS[2]], res[1:-3]):
        assert n == again == filled == len(m) and bytes.fromhex(h) == m
        assert short == (len(m) if m else None)
    assert res[-3:-1] == ["OSError", "OSError"]
    assert res[-1] == 11  # (the heartbeat is 22 bytes: one past the 10-byte buffer)
    with pytest.raises(zlib.error, match="too far back"):  # (what zlib says of f1)
        zlib.decompressobj(wbits=-9).decompress(bytes.fromhex(f1) + b"\x00\x00\xff\xff")


def test_the_patchs_inflate_refuses_every_code_set_zlib_refuses(mp32, tmp_path):
    """A block with dynamic codes whose code sets are not prefix codes (over-subscribed, or
    incomplete but for a single one-bit literal/length or distance code), with more than 286
    literal/length or 30 distance codes, or with no end-of-block code: zlib refuses each
    ("invalid code lengths set", ...: fuzzframes._CODE_SETS), and so does DeflateIO.inflate
    (finding F2; uzlib does not check code sets). 3000 random streams that start a block with
    dynamic codes: every one zlib refuses for its code sets the patch refuses (OSError), and
    at least 2000 of them are such (the check cannot pass by having nothing to check)."""
    import random

    rnd = random.Random(7692)
    refused = []
    for _ in range(3000):
        b = bytearray(rnd.randbytes(48))
        b[0] = b[0] & 0xF8 | 0x04  # BFINAL 0, BTYPE 10: dynamic codes
        try:
            zlib.decompressobj(wbits=-15).decompress(bytes(b) + b"\x00\x00\xff\xff")
        except zlib.error as e:
            if any(r in str(e) for r in fuzzframes._CODE_SETS):
                refused.append(bytes(b))
    assert len(refused) >= 2000, len(refused)
    (tmp_path / "streams.json").write_text(json.dumps([b.hex() for b in refused]))
    res = mp32_script(mp32, """
res = []
for h in json.load(open(%r)):
    try:
        DeflateIO(None, RAW, 15).inflate(binascii.unhexlify(h), 1 << 16)
        res.append(h)
    except OSError:
        pass
print(json.dumps(res))
""" % str(tmp_path / "streams.json"))
    assert res == [], "%d of %d taken, as %s" % (len(res), len(refused), res[:3])


def test_without_the_servers_context_takeover_a_reference_to_an_earlier_message_closes_1007(port):
    """RFC 7692 section 7.1.1.1: with server_no_context_takeover the CSMS compresses each message
    alone, so a reference into an earlier one is a broken stream: the boards' inflater (the
    patch's C path, runtime/wsdeflate.py Inflater) takes a new window for each message and
    refuses it (1007); with context takeover the same messages inflate. The PyPI unix port's
    inflater keeps no window without takeover and reads the reference as zeros (finding F1,
    MicroPython's uzlib unpatched): its result is checked to be what it is."""
    c = zlib.compressobj(9, zlib.DEFLATED, -9)
    msgs = [(c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH))[:-4] for m in MSGS[:2]]
    res = mp("""
res = []
for keep in (True, False):
    i = w.Inflater(9, keep)
    out = []
    for h in %s:
        try:
            out.append(bytes(i.inflate(binascii.unhexlify(h), 4096)).decode())
        except ValueError as e:
            out.append(e.args[0])
    res.append(out)
print(json.dumps(res))
""" % json.dumps([m.hex() for m in msgs]), port)
    assert res[0] == [m.decode() for m in MSGS[:2]]
    assert res[1][0] == MSGS[0].decode()
    if port == MICROPYTHON:
        assert res[1][1] != MSGS[1].decode() and "\x00" in res[1][1]  # (lenient: F1)
    else:
        assert res[1][1] == 1007


OFFER = "permessage-deflate; client_max_window_bits=10; server_max_window_bits=9"


# (the window bits the station compresses with, whether it keeps its window, the same two of
# the server's messages)
@pytest.mark.parametrize("answer,result", [
    ("permessage-deflate", [10, True, 9, True]),
    ("permessage-deflate; server_max_window_bits=9", [10, True, 9, True]),
    ("permessage-deflate; server_no_context_takeover", [10, True, 9, False]),
    ("permessage-deflate;server_no_context_takeover;client_max_window_bits=9", [9, True, 9, False]),
    ("Permessage-Deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
     [10, False, 8, False]),
    ('permessage-deflate; server_no_context_takeover; client_max_window_bits="12"', [10, True, 9, False]),
    # refused: RFC 7692 section 5: the client fails the connection
    ("permessage-deflate; server_no_context_takeover; server_max_window_bits=12", "not offered"),
    ("permessage-deflate; server_max_window_bits=10", "not offered"),  # (9 was)
    ("permessage-deflate; server_no_context_takeover; client_max_window_bits=7", "not offered"),
    ("permessage-deflate; server_no_context_takeover; client_max_window_bits", "not offered"),
    ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", "repeated"),
    ("permessage-deflate; server_no_context_takeover; x_other=1", "not offered"),
    ("x-webkit-deflate-frame", "not offered"),
    ("permessage-deflate; server_no_context_takeover, permessage-deflate", "more than one"),
])
def test_the_servers_answer_to_the_offer(answer, result):
    offer, got = mp("""
try:
    got = list(w.accept(%r, 10))
except ValueError as e:
    got = e.args[0]
print(json.dumps([w.offer(10), got]))
""" % answer.encode())
    assert offer == OFFER
    if isinstance(result, list):
        assert got == result
    else:
        assert result in got, got


# --- on a connection: the simulated station (runtime/ws.py, wsopen.py) with DeflateWindowBits ---

ON = {"DeflateWindowBits": 10, "OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
      "OCPPCommCtrlr.RetryBackOffRandomRange": 0, "OCPPCommCtrlr.MessageTimeout": 2}
ANSWER = "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"


def _header(request, name):
    for line in request.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            return v.strip()
    return None


@pytest.fixture(params=["unix64", "mp32"])
def station(request, sims, tmp_path):
    """station(url, sets): the simulated station on the PyPI unix port (sims: wsdeflate in
    MicroPython) or on the 32-bit port with the lite profile frozen in (the patch's C paths,
    as the boards' firmware)."""
    if request.param == "unix64":
        yield sims
        return
    exe = request.getfixturevalue("mp32")
    started = []

    def start(url, sets):
        s = FrozenSim(exe, tmp_path / ("state32-%d" % len(started)), url, 96 << 10, sets=sets)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()
        assert not s.crashed() and not s.memory_errors(), "station crashed:\n" + "\n".join(s.log)


def _no_takeover():
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

    return [ServerPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True)]


@pytest.mark.parametrize("takeover", [True, False])
def test_a_session_compressed_both_ways_with_the_bundled_csms(station, takeover):
    """The `websockets` CSMS (its permessage-deflate) accepts the offer, with context takeover
    both ways (its default) or without it either way: a boot, a base report whose pages go
    out compressed (every message schema-checked by the CSMS once inflated), and CSMS
    messages that come compressed, a 3 kB one among them, are answered on the one
    connection."""
    c = CsmsThread(**({} if takeover else {"compression": _no_takeover()}))
    try:
        s = station(c.url, sets=dict(ON, DeflateWindowBits=11))
        s.wait_event(ev="boot", status="Accepted")
        conn = c.csms._taps["CS001"].conn
        agreed = conn.response.headers["Sec-WebSocket-Extensions"]
        assert agreed.startswith("permessage-deflate")
        assert ("no_context_takeover" in agreed) is not takeover
        assert [type(e).__name__ for e in conn.protocol.extensions] == ["PerMessageDeflate"]
        for _ in range(2):  # (like requests: the second answer refers back to the first with takeover)
            r = c.call("CS001", call.GetVariables(get_variable_data=[{
                "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]))
            assert r.get_variable_result[0]["attribute_status"] == "Accepted"
        r = c.call("CS001", call.GetBaseReport(request_id=7, report_base="FullInventory"))
        assert r.status == "Accepted"
        wait_until(lambda: any(not f.msg[3].get("tbc") for f in c.inbound("NotifyReport")), 10, "last report page")
        pages = c.inbound("NotifyReport")
        assert len(pages) > 1 and [f.msg[3]["seqNo"] for f in pages] == list(range(len(pages)))
        big = c.raw_call("CS001", "big", "DataTransfer", {"vendorId": "v", "data": "x" * 3000})
        assert big.msg[2] == {"status": "UnknownVendorId"}
        assert len(c.csms.connects) == 1 and not c.closes
    finally:
        c.close()
    assert not c.violations, c.violations


def test_a_csms_that_refuses_the_offer_gets_plain_frames(station, sims, raw):
    """The offer in the upgrade; a CSMS without the extension (websockets' compression=None)
    answers without it and the session runs uncompressed (on both ports); with
    DeflateWindowBits 0 nothing is offered."""
    c = CsmsThread(compression=None)
    try:
        s = station(c.url, sets=ON)
        s.wait_event(ev="boot", status="Accepted")
        assert "Sec-WebSocket-Extensions" not in c.csms._taps["CS001"].conn.response.headers
        r = c.raw_call("CS001", "dt", "DataTransfer", {"vendorId": "v", "data": "y" * 2000})
        assert r.msg[2] == {"status": "UnknownVendorId"}
    finally:
        c.close()
    assert not c.violations, c.violations
    r = raw(extensions=None)
    sims(r.url, sets=ON)
    wait_until(lambda: r.texts(), 5, "BootNotification")
    assert _header(r.requests[0], "sec-websocket-extensions") == OFFER
    assert all(op == 1 for op, *_ in r.frames)  # (not answered: plain text frames)
    r2 = raw()
    sims(r2.url, sets=dict(ON, DeflateWindowBits=0))
    wait_until(lambda: r2.texts(), 5, "BootNotification")
    assert _header(r2.requests[0], "sec-websocket-extensions") is None


@pytest.mark.parametrize("case,code", [
    ("rsv1 not negotiated", 1002), ("rsv1 on a ping", 1002), ("rsv1 on a continuation", 1002),
    ("broken stream", 1007), ("broken stream after a message", 1007), ("bomb", 1009), ("compressed over the bound", 1009)])
def test_hostile_compressed_frames_close_with_their_code_and_the_station_reconnects(raw, station, case, code):
    """RFC 7692 / RFC 6455: RSV1 without the extension, on a control frame or on a message's
    continuation closes 1002; a broken deflate stream 1007; a message that inflates beyond
    MaxMessageBytes (a decompression bomb: 1 MB from 1 kB; nothing is made beyond the bound) or
    whose compressed form already is over it 1009. The station then reconnects and sends its
    BootNotification again: its queue is kept (on both ports); after a compressed connection
    that ended with 1002 or 1007 before any message was read (here: the first frame) it no
    longer offers the extension (runtime/link.py: a CSMS that mishandles it does not keep the
    station from being heard); after 1009, or after a message it read and answered, it does."""
    r = raw(extensions=None if case == "rsv1 not negotiated" else ANSWER)
    s = station(r.url, sets=ON)
    wait_until(lambda: r.texts(), 5, "BootNotification")
    z = zlib.compressobj(9, zlib.DEFLATED, -9)
    if case == "rsv1 not negotiated":
        r.send(r.frame(1, b'[3,"x",{}]', rsv1=True))
    elif case == "rsv1 on a ping":
        r.send(r.frame(9, b"p", rsv1=True))
    elif case == "rsv1 on a continuation":
        r.send(r.frame(1, b'[3,"x",', fin=False) + r.frame(0, b"{}]", rsv1=True))
    elif case.startswith("broken stream"):
        if case.endswith("after a message"):  # one the station reads (and answers) first
            r.send(r.frame(1, _zlib_message(b'[2,"hv","GetVariables",{"getVariableData":[{"component":'
                                            b'{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]}]', 9),
                           rsv1=True))
            wait_until(lambda: any(m[1:2] == ["hv"] for m in r.texts()), 5, "the GetVariables answer")
        r.send(r.frame(1, b"\xff\xff\xff\xff\x00", rsv1=True))
    elif case == "bomb":
        bomb = (z.compress(b"[" * 1000000) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]
        assert len(bomb) < 2000
        r.send(r.frame(1, bomb, rsv1=True))
    else:
        r.send(r.frame(1, os.urandom(5000), rsv1=True))
    wait_until(lambda: any(op == 8 for op, *_ in r.frames), 5, "close frame")
    close = [p for op, p, *_ in r.frames if op == 8][0]
    assert int.from_bytes(close[:2], "big") == code
    boots = len([m for m in r.texts() if m[2:3] == ["BootNotification"]])
    r.drop()
    wait_until(lambda: len(r.accepted) >= 2, 10, "reconnect")
    wait_until(lambda: len([m for m in r.texts() if m[2:3] == ["BootNotification"]]) > boots, 10, "BootNotification again")
    assert not s.crashed()
    offered = _header(r.requests[-1], "sec-websocket-extensions") is not None
    assert offered is (code == 1009 or case in ("rsv1 not negotiated", "broken stream after a message")), r.requests[-1]
    if not offered:
        assert any("permessage-deflate off until restart" in line for line in s.log), s.log[-5:]


def test_the_stations_messages_are_compressed_with_its_window_kept(raw, station):
    """Through RawWs (which inflates what it gets with zlib): the BootNotification and the
    answers to two like CALLs come as compressed frames (RSV1), each inflating to a
    schema-valid message; the second answer refers back to the first (context takeover), so
    its frame is a fraction of it (on both ports)."""
    r = raw(extensions=ANSWER)
    station(r.url, sets=ON)
    wait_until(lambda: r.texts(), 5, "BootNotification")
    m = r.texts()[0]
    assert m[2] == "BootNotification" and not schema_errors("BootNotificationRequest", m[3])
    for mid in ("dt-1", "dt-2"):
        r.send(r.frame(1, json.dumps([2, mid, "DataTransfer", {"vendorId": "org.example.vendor"}]).encode()))
    wait_until(lambda: len([m for m in r.texts() if m[0] == 3]) >= 2, 5, "two answers")
    answers = [m for m in r.texts() if m[0] == 3]
    assert [a[1] for a in answers] == ["dt-1", "dt-2"]
    assert all(not schema_errors("DataTransferResponse", a[2]) for a in answers)
    assert all(op == 1 for op, *_ in r.frames) and len(r.zsizes) == 3
    (zb, nb), (z1, n1), (z2, n2) = r.zsizes
    assert zb < nb and n1 == n2 and z2 * 2 < z1


def test_the_local_setting_takes_off_or_a_window_of_8_to_15_bits(tmp_path):
    """DeflateWindowBits is provisioned like MaxMessageBytes (runtime/config.py): 0 (the
    default: nothing offered) or 8 to 15; anything else is refused and nothing is written."""
    out = mp("""
from runtime import config
from runtime.store import Store
st = Store(%r)
res = [config.station(st)["DeflateWindowBits"]]
for v in ("10", "20", "7", "0", "15"):
    try:
        config.provision(st, {"DeflateWindowBits": v})
        res.append(config.station(st)["DeflateWindowBits"])
    except ValueError as e:
        res.append([str(e), config.station(st)["DeflateWindowBits"]])
print(json.dumps(res))
""" % str(tmp_path))
    refused = "DeflateWindowBits: 0 (off) or 8 to 15"
    assert out == [0, 10, [refused, 10], [refused, 10], 0, 15]


def test_the_footprint_relay_reads_a_compressed_session():
    """tools/footprint/wire.py inflates what it relays (the station's window kept, the CSMS's
    not): with DeflateWindowBits the reference session's first steps run, their messages are
    read from the compressed frames (a base report's pages among them), and the bytes on the
    wire are the compressed frames' (what a SIM card bills): the station's less than half the
    plain session's."""
    import asyncio

    from tools.footprint import session as fs
    from tools.footprint.wire import data_figures

    steps = fs.STEPS[:[n for n, _ in fs.STEPS].index("get_base_report") + 1]

    def run(bits):
        s = fs.Session(None, extra=["--set", "DeflateWindowBits=%d" % bits])
        return asyncio.run(s.run(steps)), s

    (plain, sp), (packed, sz) = run(0), run(10)
    assert plain["steps"] == packed["steps"] == {n: fs.OK for n, _ in steps}
    a, b = data_figures(sp.relay), data_figures(sz.relay)
    # (plain, a page longer than the 512-byte send buffer goes as fragments: the relay joins them)
    assert a["messages"]["NotifyReport"]["n"] == b["messages"]["NotifyReport"]["n"] > 1
    assert set(a["messages"]) == set(b["messages"]) and b["messages"]["BootNotification"]["n"] == 1
    assert 2 * b["messages"]["NotifyReport"]["call"] < a["messages"]["NotifyReport"]["call"]
    assert 2 * b["up"] < a["up"], (a["up"], b["up"])  # (measured: 22.5 kB -> 8.6 kB)
