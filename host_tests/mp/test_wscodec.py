# Unit tests of runtime.wscodec, runtime.wsupgrade (and ocpp_lite.provisioning.netprofile.parse_url)
# on the unix port.
from ocpp_lite.provisioning.netprofile import parse_url
from runtime import wscodec as wc
from runtime import wsupgrade as up


def test_parse_url():
    assert parse_url("ws://h/ocpp") == (False, "h", 80, "/ocpp")
    assert parse_url("wss://csms.example.com:8443/a/b/") == (True, "csms.example.com", 8443, "/a/b/")
    assert parse_url("ws://[::1]:9000") == (False, "::1", 9000, "/")
    for bad in ("http://h/", "ws://", "ws://h:x/", "ws://u@h/", "ws://h:/"):
        try:
            parse_url(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_station_path_percent_encodes_identity():
    assert up.station_path("/ocpp/", "CS 1/é") == "/ocpp/CS%201%2F%C3%A9"
    assert up.station_path("/", "CS-1_a.b~") == "/CS-1_a.b~"


def test_accept_key_rfc6455_example():
    assert up.accept_for("dGhlIHNhbXBsZSBub25jZQ==") == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_request_has_protocol_and_auth():
    r = up.request("h", 9000, "/o/CS1", "KEY", "ocpp2.0.1", up.basic_auth("CS1", "pw:x"))
    t = r.decode()
    assert t.startswith("GET /o/CS1 HTTP/1.1\r\nHost: h:9000\r\n") and t.endswith("\r\n\r\n")
    assert "Sec-WebSocket-Protocol: ocpp2.0.1\r\n" in t
    assert "Authorization: Basic Q1MxOnB3Ong=\r\n" in t  # base64("CS1:pw:x")


def _resp(**over):
    h = {b"upgrade": b"Upgrade: websocket", b"connection": b"Connection: Upgrade",
         b"accept": b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
         b"proto": b"Sec-WebSocket-Protocol: ocpp2.0.1"}
    for k, v in over.items():
        h[k.encode()] = v
    return [b"HTTP/1.1 101 Switching Protocols"] + [v for v in h.values() if v]


def _status(lines):
    try:
        up.check_response(lines, "dGhlIHNhbXBsZSBub25jZQ==", "ocpp2.0.1")
    except up.HandshakeError as e:
        return e.args[0]
    return "ok"


def test_check_response():
    assert _status(_resp()) == "ok"
    assert _status([b"HTTP/1.1 401 Unauthorized"]) == 401
    assert _status([b"garbage"]) == 0
    assert _status(_resp(accept=b"Sec-WebSocket-Accept: x")) == 0
    assert _status(_resp(proto=None)) == 0
    assert _status(_resp(proto=b"Sec-WebSocket-Protocol: ocpp1.6")) == 0
    assert _status(_resp(upgrade=None)) == 0
    assert _status(_resp(connection=b"Connection: close")) == 0
    assert _status(_resp() + [b"Sec-WebSocket-Extensions: permessage-deflate"]) == 0
    assert _status(_resp() + [b"Sec-WebSocket-Protocol: ocpp2.0.1"]) == 0  # repeated
    assert up.wanted(b"Sec-WebSocket-Accept: x") and not up.wanted(b"Server: x")


def _masks(*masks):
    """A rand(4) for frames() giving masks in turn, and the list of those it gave."""
    given = []

    def rand(n):
        given.append(masks[len(given) % len(masks)])
        return given[-1]

    return rand, given


def _write(op, payload, size, *masks):
    """What frames() has the socket write, piece by piece (bytes each: a view is valid only
    until the next is asked for), and the masks it took."""
    rand, given = _masks(*(masks or (b"\x01\x02\x03\x04",)))
    buf = bytearray(size)
    pieces = []
    for v in wc.frames(op, payload, buf, rand):
        if type(v) is not memoryview or len(v) > size:
            raise AssertionError("not a view of the buffer")
        pieces.append(bytes(v))
    return pieces, given


def _decode(wire):
    """[(fin, opcode, mask, payload unmasked)] of the client frames in wire."""
    out = []
    i = 0
    while i < len(wire):
        n = wire[i + 1] & 0x7F
        h = 2
        if n == 126:
            n, h = int.from_bytes(wire[i + 2 : i + 4], "big"), 4
        elif n == 127:
            n, h = int.from_bytes(wire[i + 2 : i + 10], "big"), 10
        if not wire[i + 1] & 0x80:
            raise AssertionError("client frame not masked")
        mask = wire[i + h : i + h + 4]
        body = wire[i + h + 4 : i + h + 4 + n]
        if len(body) != n:
            raise AssertionError("frame cut short")
        out.append((wire[i] >> 7, wire[i] & 0x0F, mask, bytes(b ^ mask[k & 3] for k, b in enumerate(body))))
        i += h + 4 + n
    return out


def test_frame_is_masked_and_sized():
    pieces, _ = _write(wc.OP_TEXT, b"abcd", 512)
    f = pieces[0]
    assert len(pieces) == 1 and f[:2] == b"\x81\x84" and f[2:6] == b"\x01\x02\x03\x04"
    assert f[6:] == bytes([0x61 ^ 1, 0x62 ^ 2, 0x63 ^ 3, 0x64 ^ 4])
    assert _write(wc.OP_TEXT, b"x" * 126, 512)[0][0][1:4] == b"\xfe\x00\x7e"
    pieces, masks = _write(wc.OP_TEXT, b"x" * 70000, 512)
    big = b"".join(pieces)
    assert big[1] == 0xFF and big[2:10] == (70000).to_bytes(8, "big") and len(big) == 14 + 70000
    assert len(masks) == 1 and _decode(big) == [(1, wc.OP_TEXT, masks[0], b"x" * 70000)]
    assert [len(p) for p in pieces[:-1]] == [512] * (len(pieces) - 1)  # through the buffer, in pieces
    assert _decode(b"".join(_write(wc.OP_PING, b"", 512)[0])) == [(1, wc.OP_PING, b"\x01\x02\x03\x04", b"")]


def test_text_of_known_length_is_one_frame_through_the_buffer_without_joining():
    parts = ['[2,"1","A",', '{"t":"\u00e9t\u00e9"', "}", "]"]  # characters != bytes
    text = "".join(parts).encode()
    pieces, _ = _write(wc.OP_TEXT, parts, 300, b"\x09\x08\x07\x06")
    assert len(pieces) == 1 and len(pieces[0]) == 6 + len(text)
    assert _decode(pieces[0]) == [(1, wc.OP_TEXT, b"\x09\x08\x07\x06", text)]
    for size in (14, 17, 100):  # longer than the buffer: still one frame, in pieces, mask in phase
        big = ["x" * 100, "\u00e9" * 50, "y" * 99]
        pieces, masks = _write(wc.OP_TEXT, big, size, b"\x01\x02\x03\x04", b"\x05\x06\x07\x08")
        assert len(masks) == 1 and all(len(p) == size for p in pieces[:-1])
        assert _decode(b"".join(pieces)) == [(1, wc.OP_TEXT, masks[0], "".join(big).encode())]
    assert _decode(b"".join(_write(wc.OP_TEXT, "abc\u00e9", 64)[0]))[0][3] == "abc\u00e9".encode()
    buf = bytearray(64)
    rand, _ = _masks(b"\x01\x02\x03\x04")
    v = next(wc.frames(wc.OP_TEXT, "abc", buf, rand))
    buf[0] = 0x55
    assert v[0] == 0x55  # a view into buf: nothing allocated for the frame


def _made(items):
    for s in items:
        yield s


def test_parts_made_as_written_are_one_frame_when_they_fit_the_buffer():
    mask = b"\x05\x06\x07\x08"
    short = ['[2,"1","A",', _made(['{"a":', '"\u00e9"', "}"]), "]"]  # 6-byte header: at 2
    pieces, _ = _write(wc.OP_TEXT, short, 300, mask)
    text = '[2,"1","A",{"a":"\u00e9"}]'.encode()
    assert len(pieces) == 1 and len(pieces[0]) == 6 + len(text) and pieces[0][1] == 0x80 | len(text)
    assert _decode(pieces[0]) == [(1, wc.OP_TEXT, mask, text)]
    long_ = ['[2,"1","A",', _made(['"' + "y" * 200 + '"']), "]"]  # 8-byte header: at 0
    pieces, _ = _write(wc.OP_TEXT, long_, 300, mask)
    text = ('[2,"1","A","' + "y" * 200 + '"]').encode()
    assert len(pieces) == 1 and pieces[0][:4] == b"\x81\xfe" + len(text).to_bytes(2, "big")
    assert _decode(pieces[0]) == [(1, wc.OP_TEXT, mask, text)]


def test_parts_made_as_written_beyond_the_buffer_are_fragments_each_with_its_own_mask():
    items = ["z" * 150, "\u00e9" * 100, "w" * 37]  # a character split between fragments is allowed
    text = ("[" + "".join(items) + "]").encode()
    for size in (64, 100, 300):
        masks = (b"\x01\x02\x03\x04", b"\x05\x06\x07\x08", b"\x0a\x0b\x0c\x0d")
        pieces, given = _write(wc.OP_TEXT, ["[", _made(items), "]"], size, *masks)
        frames = _decode(b"".join(pieces))
        assert len(frames) == len(pieces) == len(given) > 1  # a piece is a frame, a mask each
        assert [f[2] for f in frames] == given
        assert [f[:2] for f in frames] == [(0, wc.OP_TEXT)] + [(0, wc.OP_CONT)] * (len(frames) - 2) + [(1, wc.OP_CONT)]
        assert all(len(f[3]) == size - 8 for f in frames[:-1]) and frames[-1][3]
        assert b"".join(f[3] for f in frames) == text


def _perr(b0, b1):
    try:
        wc.head(b0, b1)
    except ValueError as e:
        return e.args[0]


def test_head_rules():
    assert wc.head(0x81, 0x05) == (0x80, 1, 5, 0)
    assert wc.head(0x01, 126) == (0, 1, 126, 2)
    assert wc.head(0x82, 127)[3] == 8
    assert _perr(0xC1, 0x01) == 1002  # RSV1
    assert _perr(0x81, 0x81) == 1002  # masked server frame
    assert _perr(0x09, 0x00) == 1002  # fragmented ping
    assert _perr(0x89, 126) == 1002  # long ping
    assert _perr(0x83, 0x00) == 1002  # reserved data opcode
    assert _perr(0x8B, 0x00) == 1002  # reserved control opcode


def test_data_rules():
    wc.data_rule(wc.OP_TEXT, False)
    wc.data_rule(wc.OP_CONT, True)
    for args, code in (((wc.OP_CONT, False), 1002), ((wc.OP_TEXT, True), 1002), ((wc.OP_BINARY, False), 1003)):
        try:
            wc.data_rule(*args)
        except ValueError as e:
            assert e.args[0] == code, (args, e.args)
            continue
        raise AssertionError(args)


def test_close_payload():
    assert wc.close_payload(1009, "big") == b"\x03\xf1big"
    assert wc.close_code(b"\x03\xe8") == 1000 and wc.close_code(b"") == 1005
