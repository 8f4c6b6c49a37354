# Unit tests of runtime.wscodec (and ocpp_lite.provisioning.netprofile.parse_url) on the unix port.
from ocpp_lite.provisioning.netprofile import parse_url
from runtime import wscodec as wc


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
    assert wc.station_path("/ocpp/", "CS 1/é") == "/ocpp/CS%201%2F%C3%A9"
    assert wc.station_path("/", "CS-1_a.b~") == "/CS-1_a.b~"


def test_accept_key_rfc6455_example():
    assert wc.accept_for("dGhlIHNhbXBsZSBub25jZQ==") == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_request_has_protocol_and_auth():
    r = wc.request("h", 9000, "/o/CS1", "KEY", "ocpp2.0.1", wc.basic_auth("CS1", "pw:x"))
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
        wc.check_response(lines, "dGhlIHNhbXBsZSBub25jZQ==", "ocpp2.0.1")
    except wc.HandshakeError as e:
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
    assert wc.wanted(b"Sec-WebSocket-Accept: x") and not wc.wanted(b"Server: x")


def test_frame_is_masked_and_sized():
    mask = b"\x01\x02\x03\x04"
    f = wc.frame(wc.OP_TEXT, b"abcd", mask)
    assert f[:2] == b"\x81\x84" and f[2:6] == mask
    assert bytes(f[6:]) == bytes([0x61 ^ 1, 0x62 ^ 2, 0x63 ^ 3, 0x64 ^ 4])
    assert wc.frame(wc.OP_TEXT, b"x" * 126, mask)[1:4] == b"\xfe\x00\x7e"
    big = wc.frame(wc.OP_TEXT, b"x" * 70000, mask)
    assert big[1] == 0xFF and big[2:10] == (70000).to_bytes(8, "big") and len(big) == 14 + 70000


def _unmask(f):
    f = bytes(f)
    h = 6 if f[1] & 0x7F < 126 else 8
    return bytes(b ^ f[h - 4 + (i & 3)] for i, b in enumerate(f[h:]))


def test_text_in_parts_is_framed_into_the_given_buffer_without_joining():
    parts = ['[2,"1","A",', '{"t":"\u00e9t\u00e9"', "}", "]"]  # characters != bytes
    text = "".join(parts).encode()
    buf = bytearray(300)
    f = wc.frame(wc.OP_TEXT, parts, b"\x09\x08\x07\x06", buf)
    assert type(f) is memoryview and len(f) == 6 + len(text)
    assert f[1] == 0x80 | len(text) and _unmask(f) == text
    buf[:] = bytes(300)
    assert len(f) == 6 + len(text) and f[0] == 0  # a view into buf: nothing allocated for the frame
    big = ["x" * 100] * 3
    f = wc.frame(wc.OP_TEXT, big, b"\x01\x02\x03\x04", bytearray(100))  # too small: a new one
    assert type(f) is bytearray and _unmask(f) == b"x" * 300
    assert _unmask(wc.frame(wc.OP_TEXT, "abc\u00e9", b"\x01\x02\x03\x04")) == "abc\u00e9".encode()


def _made(items):
    for s in items:
        yield s


def test_parts_made_as_written_go_straight_into_the_buffer_with_the_header_fitted_after():
    buf = bytearray(300)
    mask = b"\x05\x06\x07\x08"
    short = ['[2,"1","A",', _made(['{"a":', '"\u00e9"', "}"]), "]"]  # 6-byte header: at 2
    f = wc.frame(wc.OP_TEXT, short, mask, buf)
    text = '[2,"1","A",{"a":"\u00e9"}]'.encode()
    assert type(f) is memoryview and len(f) == 6 + len(text) and f[1] == 0x80 | len(text)
    assert bytes(f[2:6]) == mask and _unmask(f) == text
    buf[2] = 0x55
    assert f[0] == 0x55  # a view into buf at 2: nothing allocated for the frame
    long_ = ['[2,"1","A",', _made(['"' + "y" * 200 + '"']), "]"]  # 8-byte header: at 0
    f = wc.frame(wc.OP_TEXT, long_, mask, buf)
    text = ('[2,"1","A","' + "y" * 200 + '"]').encode()
    assert f[:4] == b"\x81\xfe" + len(text).to_bytes(2, "big") and _unmask(f) == text
    try:  # made text never gets a buffer of its own: too long for buf is an error
        wc.frame(wc.OP_TEXT, [_made(["z" * 200, "z" * 200])], mask, buf)
    except ValueError:
        pass
    else:
        raise AssertionError("a made frame over its buffer was accepted")


def _perr(b0, b1):
    try:
        wc.head(b0, b1)
    except wc.ProtocolError as e:
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
        except wc.ProtocolError as e:
            assert e.args[0] == code, (args, e.args)
            continue
        raise AssertionError(args)


def test_close_payload():
    assert wc.close_payload(1009, "big") == b"\x03\xf1big"
    assert wc.close_code(b"\x03\xe8") == 1000 and wc.close_code(b"") == 1005
