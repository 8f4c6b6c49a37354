# Unit tests of ocpp_lite.engine.rpc on the unix port.
import json
from ocpp_lite.engine import rpc

FORMAT = "FormatViolation"
NOT_SUPPORTED = "NotSupported"
RPC_FRAMEWORK = "RpcFrameworkError"
TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"


def _err(text):
    try:
        rpc.parse(text)
    except rpc.CallError as e:
        return e.args[2], e.args[0]
    raise AssertionError("no CallError for %r" % text)


def test_parse_call_result_error():
    assert rpc.parse(b'[2,"a","Heartbeat",{}]') == (2, "a", "Heartbeat", {})
    assert rpc.parse(b'[3,"a",{"x":1}]') == (3, "a", None, {"x": 1})
    assert rpc.parse(b'[4,"a","GenericError","oops",{}]') == (4, "a", "GenericError", "oops")
    assert rpc.parse(bytearray(b' [2, "a" , "X" , {} ] ')) == (2, "a", "X", {})


def test_broken_responses_are_dropped_not_answered():
    for t in (b'[3,"a"]', b'[3,"a",[]]', b'[3,"",{}]', b'[4,"a","E"]', b'[4,"a",1,"",{}]', b'[3,5,{}]'):
        assert rpc.parse(t) is None, t


def test_error_codes_and_ids():
    assert _err(b"nope") == ("-1", RPC_FRAMEWORK)
    assert _err(b'[2,"a","X",{},]') == ("-1", RPC_FRAMEWORK)
    assert _err(b'{"x":1}') == ("-1", RPC_FRAMEWORK)
    assert _err(b'[2,"a","X"]') == ("a", RPC_FRAMEWORK)
    assert _err(b'[2,"a",{},{}]') == ("a", RPC_FRAMEWORK)
    assert _err(b'[2.0,"a","X",{}]') == ("a", RPC_FRAMEWORK)
    assert _err(b'[true,"a","X",{}]') == ("a", RPC_FRAMEWORK)
    assert _err(b'[9,"a","X",{}]') == ("a", TYPE_NOT_SUPPORTED)
    assert _err(b'[9]') == ("-1", TYPE_NOT_SUPPORTED)
    assert _err(b'[2,"a","X",[]]') == ("a", FORMAT)
    long_id = "i" * 37
    assert _err(('[2,"%s","X",{}]' % long_id).encode()) == ("-1", RPC_FRAMEWORK)
    assert _err(b'[2,"a","X",{"k":"\xff"}]') == ("-1", RPC_FRAMEWORK)


def test_builders_make_compact_valid_json():
    c = rpc.call("id1", "Heartbeat", {})
    assert type(c) is list and "".join(c) == '[2,"id1","Heartbeat",{}]'  # parts, never joined
    assert "".join(rpc.call("id2", "A", '{"k":1}')) == '[2,"id2","A",{"k":1}]'
    r = rpc.result('we"ird', {"a": [1, "é"]})
    assert type(r) is list and json.loads("".join(r)) == [3, 'we"ird', {"a": [1, "é"]}]
    e = rpc.error("-1", FORMAT, "x" * 300)
    m = json.loads(e)
    assert m[:3] == [4, "-1", "FormatViolation"] and len(m[3]) == 255 and m[4] == {}
    assert " " not in rpc.dumps({"a": 1, "b": [1, 2]})


def test_invalid_utf8_and_surrogate_escapes_are_rpc_framework_errors():
    assert _err(b'[2,"a\xed\xa0\x80","X",{}]') == ("-1", RPC_FRAMEWORK)
    assert _err(b'[2,"a","DataTransfer",{"vendorId":"\\ud800"}]') == ("-1", RPC_FRAMEWORK)
    assert rpc.parse(b'[2,"a","DataTransfer",{"vendorId":"\xf0\x9f\x98\x80"}]')[3] == {"vendorId": "\U0001f600"}


def test_call_id_reads_the_id_without_parsing():
    assert rpc.call_id(b'[2,"abc","DataTransfer",{"vendorId":"' + b"x" * 9000) == "abc"
    assert rpc.call_id(bytearray(b' [ 2 ,\n "a-1" , "X"')) == "a-1"
    assert rpc.call_id(b'[2,"%s","X",{}]' % (b"i" * 36)) == "i" * 36
    for b in (b'[2,"%s","X",{}]' % (b"i" * 37), b'[3,"abc",{}]', b'[2,"","X",{}]', b'[2,abc', b'[2,"a\\"b","X",{}]',
              b'[2,"\xc3\xa9","X",{}]', b'[2,"a\x01","X"]', b'[20,"a","X",{}]', b'["2","a"]', b'', b'[2,"abc'):
        assert rpc.call_id(b) is None, b


def _big(payload, action="DataTransfer"):
    """A CALL over 512 bytes as the WebSocket hands it over (a bytearray), and the value
    json.loads makes of it."""
    text = json.dumps([2, "big", action, payload])
    return bytearray(text.encode()), json.loads(text)


def test_long_strings_are_lifted_and_parse_the_same():
    """engine/lift.py: strings over 64 bytes in the payload are made without json.loads; the
    result is what json.loads makes, escapes, \\u escapes and UTF-8 included."""
    pem = "-----BEGIN CERTIFICATE-----\n" + ("MIIB" * 16 + "\n") * 20 + "-----END CERTIFICATE-----\n"
    odd = 'q"uo\\te/\b\f\r\t \u00e9\u20ac\U0001f600 ' * 16 + "\x01\x1f\u007f"
    for payload in ({"setVariableData": [pem, odd, "short", {"k": "x" * 65, "n": [1, 2.5, None, True]}]},
                    {"vendorId": "v" * 100, "datum": {"a": "y" * 600}, "messageId": "z" * 64}):
        buf, want = _big(payload, "SetVariables")
        assert len(buf) > 512
        m = rpc.parse(buf)
        assert m == (2, "big", "SetVariables", want[3]), m
        assert b"\\u0000" in buf  # the markers: the strings were lifted


def _is_text(v, want):
    """v is the bytearray or memoryview of want's UTF-8 (a str compares equal to bytes on
    MicroPython)."""
    return type(v) in (bytearray, memoryview) and bytes(v) == want.encode()


def _views(buf, *vs):
    """Each of vs is a memoryview of buf's memory (no copy): writing buf shows in it."""
    for v in vs:
        if type(v) is not memoryview:
            return False
        old = bytes(v)
        i = bytes(buf).find(old)
        buf[i] ^= 1
        seen = bytes(v) != old
        buf[i] ^= 1
        if not seen:
            return False
    return True


def _is_json(v, want):
    """v is the bytearray or memoryview of a JSON text whose value is want."""
    return type(v) in (bytearray, memoryview) and json.loads(bytes(v)) == want


def test_certificate_and_data_values_stay_in_the_received_buffer():
    """jsonsyntax._PLACES: a PEM is no str of its own, DataTransfer's data no value at all but
    its JSON text: one alone becomes the received bytearray itself (a PEM decoded: escapes,
    UTF-8), several are memoryviews of it."""
    pem = "-----BEGIN CERTIFICATE-----\n" + ("MIIB" * 16 + "\n") * 20 + "-----END CERTIFICATE-----\n"
    buf, want = _big({"vendorId": "v", "data": pem + '"\u00e9\u20ac'})
    m = rpc.parse(buf)
    assert m[3]["data"] is buf and _is_json(buf, want[3]["data"]) and m[3]["vendorId"] == "v"
    for action, key in (("InstallCertificate", "certificate"), ("CertificateSigned", "certificateChain")):
        text = json.dumps([2, "c", action, {"certificateType": "CSMSRootCertificate", key: pem}])
        buf = bytearray(text.encode())
        m = rpc.parse(buf)
        assert m[3][key] is buf and _is_text(buf, pem) and m[3]["certificateType"] == "CSMSRootCertificate"
    fw = {"location": "https://x/" + "f" * 90, "retrieveDateTime": "2026-01-01T00:00:00Z",
          "signingCertificate": pem + pem, "signature": "s" * 100}
    text = json.dumps([2, "u", "UpdateFirmware", {"requestId": 1, "firmware": fw, "location": "l" * 100}])
    buf = bytearray(text.encode())
    m = rpc.parse(buf)
    got = m[3]["firmware"]
    assert got["signingCertificate"] is buf and _is_text(buf, pem + pem)
    assert got["signature"] == fw["signature"] and type(got["signature"]) is str and got["location"] == fw["location"]
    assert m[3]["location"] == "l" * 100 and type(m[3]["location"]) is str  # not at signingCertificate's depth
    two = {"vendorId": "v", "data": ["x" * 300, 1], "certificate": pem}  # (not a valid DataTransfer: parsed all the same)
    buf, want = _big(two)
    m = rpc.parse(buf)
    assert _is_text(m[3]["certificate"], pem) and _is_json(m[3]["data"], ["x" * 300, 1])
    assert _views(buf, m[3]["certificate"], m[3]["data"])


def test_data_of_any_shape_is_its_text_and_legal_custom_data_is_dropped_unbuilt():
    """DataTransfer's data, whatever its shape and size, is never built (its JSON text, as
    received); a legal customData at any depth is blanked as the syntax is checked and dropped
    by engine/schema.py as {"vendorId": ""}; one that is not legal is parsed (its long strings
    kept as bytes) for the schema check to answer; a "data" key below the payload is an
    ordinary value. Short messages the same: the WebSocket hands every one over as a bytearray."""
    long = "é" * 100
    data = {"blob": long, "list": [long, {"deep": long}], "k" * 70: 1, "n": [1, None]}
    payload = {"vendorId": "v", "data": data, "after": long,
               "customData": {"vendorId": "w" * 80, "x": [long]},
               "evse": {"data": long, "customData": {"vendorId": "w", "y": long}, "z": long}}
    buf, want = _big(payload)
    m = rpc.parse(buf)[3]
    assert _is_json(m["data"], data)
    assert m["customData"] == {"vendorId": ""} and m["evse"]["customData"] == {"vendorId": ""}
    for v in (m["after"], m["evse"]["data"], m["evse"]["z"]):
        assert type(v) is str and v == long
    for short in ([1, "a"], 5, None, "s"):
        m = rpc.parse(bytearray(json.dumps([2, "s", "DataTransfer", {"vendorId": "v", "data": short}]).encode()))
        assert _is_json(m[3]["data"], short), short
    bad = {"customData": {"x": "é" * 300}, "after": ["x" * 70]}  # no vendorId
    buf, want = _big(bad, "SetVariables")
    m = rpc.parse(buf)[3]
    assert m["customData"]["x"] is buf and _is_text(buf, "é" * 300)
    assert m["after"] == ["x" * 70] and type(m["after"][0]) is str


def test_a_long_custom_data_alone_costs_no_lifting():
    """A legal customData the check blanked is all the long strings there are: engine/lift.py
    is not imported nor the parsed value walked for markers (the reference session's largest
    message is padded so)."""
    import sys
    from ocpp_lite.station import forget

    forget("ocpp_lite.engine.lift")  # (the package's attribute too: a later import makes it afresh)
    payload = {"evseId": 1, "idToken": {"idToken": "T", "type": "Central"}, "remoteStartId": 1,
               "customData": {"vendorId": "v" * 200}}
    buf = bytearray(json.dumps([2, "c", "RequestStartTransaction", payload]).encode())
    m = rpc.parse(buf)[3]
    assert m["customData"] == {"vendorId": ""} and m["idToken"]["idToken"] == "T", m
    assert "ocpp_lite.engine.lift" not in sys.modules
    payload["idToken"]["idToken"] = "t" * 70  # a string to lift besides
    m = rpc.parse(bytearray(json.dumps([2, "c", "RequestStartTransaction", payload]).encode()))[3]
    assert m["idToken"]["idToken"] == "t" * 70 and m["customData"] == {"vendorId": ""}, m
    assert "ocpp_lite.engine.lift" in sys.modules


def test_a_kept_value_with_bad_utf8_is_an_rpc_framework_error():
    buf, _ = _big({"vendorId": "v", "data": "x" * 600})
    buf[-100] = 0xFF
    assert _err(buf) == ("-1", RPC_FRAMEWORK)
    buf, _ = _big({"certificate": "é" * 600})
    i = buf.find(b"\xc3\xa9" * 200) + 255  # a character split across the 256-byte pieces is no error
    assert rpc.parse(buf)[3]["certificate"] is buf and len(buf) == 1200
    buf, _ = _big({"certificate": "é" * 600})
    buf[i] = 0xC3  # a lead byte where a continuation byte must be
    assert _err(buf) == ("-1", RPC_FRAMEWORK)


def test_data_too_heavy_to_build_is_refused_when_it_cannot_be_kept():
    """A message with its own \\u0000 escape keeps nothing (engine/lift.py's markers): data that
    would weigh it over the bound is then answered like any message over it."""
    data = ["s%03d" % i for i in range(400)]
    buf, want = _big({"vendorId": "v", "data": data})
    assert _is_json(rpc.parse(buf)[3]["data"], data)
    buf, want = _big({"vendorId": "v", "data": data + ["\x00"]})
    assert _refused(buf, None) == (FORMAT, "over the parse bound", "big")
    buf, want = _big({"vendorId": "v", "data": ["\x00", 1]})
    assert rpc.parse(buf)[3]["data"] == ["\x00", 1]


def test_long_keys_actions_and_top_level_strings_are_lifted_too():
    buf, want = _big({"vendorId": "v", "datum": {"k" * 300: ["x" * 70, {"é" * 80: 1}], "short": "s"}})
    assert rpc.parse(buf)[3] == want[3] and buf.count(b"\\u0000") == 3
    long_action = bytearray(('[2,"a","%s",{}]' % ("A" * 600)).encode())
    assert rpc.parse(long_action) == (2, "a", "A" * 600, {})
    assert _err(bytearray(('"%s"' % ("s" * 600)).encode())) == ("-1", RPC_FRAMEWORK)  # not an array


def test_a_text_with_its_own_nul_escape_is_not_lifted():
    buf, want = _big({"vendorId": "v", "datum": ["\x00", "x" * 600]})
    assert rpc.parse(buf)[3] == want[3]
    assert buf.count(b"\\u0000") == 1  # its own, no marker


def test_a_bad_long_string_is_still_an_rpc_framework_error():
    buf, _ = _big({"vendorId": "v", "data": "x" * 600})
    buf[-10] = 1  # a control character in the long string
    assert _err(buf) == ("-1", RPC_FRAMEWORK)



def _admit(action, size):
    """An admit() for parse: SendLocalList and unknown actions not handled, SetVariables up to
    2500 bytes."""
    if action != "SetVariables":
        raise rpc.CallError(NOT_SUPPORTED, action)
    if size > 2500:
        raise rpc.CallError(FORMAT, "over BytesPerMessage")


def _refused(buf, admit=_admit):
    try:
        rpc.parse(buf, admit)
    except rpc.CallError as e:
        return e.args
    raise AssertionError("parsed")


def _code_id(buf):
    e = _refused(buf)
    return e[0], e[2]


def test_a_call_answered_from_its_action_and_size_is_checked_but_not_parsed():
    """parse(buf, admit): a CALL that admit refuses is answered with admit's error and its id,
    its text untouched (no string lifted, nothing parsed); an admitted one, an escaped or
    unreadable action, a frame not shaped like a CALL and every response are parsed as
    before; the JSON syntax is checked first."""
    content = {"content": "c" * 512, "format": "UTF8"}
    entries = [{"idToken": {"idToken": "T%d" % i, "type": "ISO14443"},
                "idTokenInfo": {"status": "Accepted", "personalMessage": content}} for i in range(6)]
    buf, _ = _big({"versionNumber": 1, "updateType": "Full", "localAuthorizationList": entries}, "SendLocalList")
    copy = bytes(buf)
    assert _refused(buf) == (NOT_SUPPORTED, "SendLocalList", "big") and bytes(buf) == copy
    assert _refused(bytearray(b' [ 2 , "n" , "NoSuchAction" , {"a": [1, 2]} ] ')) == (NOT_SUPPORTED, "NoSuchAction", "n")
    item = {"attributeValue": "v", "component": {"name": "c" * 600}, "variable": {"name": "HeartbeatInterval"}}
    buf, want = _big({"setVariableData": [item]}, "SetVariables")
    assert rpc.parse(buf, _admit)[3] == want[3]
    buf, _ = _big({"setVariableData": [item] * 4}, "SetVariables")
    copy = bytes(buf)
    assert len(buf) > 2500 and _refused(buf) == (FORMAT, "over BytesPerMessage", "big") and bytes(buf) == copy
    assert rpc.parse(bytearray(b'[2,"e","Send\\u004cocalList",{"a":1}]'), _admit)[3] == {"a": 1}
    assert rpc.parse(bytearray(b'[2,"e","SendLocalList",{"a":1}]'))[3] == {"a": 1}  # (no admit: parsed)
    assert rpc.parse(bytearray(b'[3,"r",{"a":1}]'), _admit) == (3, "r", None, {"a": 1})
    # not shaped like a CALL: answered as parse always did
    assert _refused(bytearray(b'[2,"f","SendLocalList",{"a":1},5]')) == (RPC_FRAMEWORK, "CALL needs 4 elements", "f")
    assert _code_id(bytearray(b'[2,"f","SendLocalList",[1]]')) == (FORMAT, "f")
    assert _code_id(bytearray(b'[2,"f","SendLocalList"]')) == (RPC_FRAMEWORK, "f")
    assert _err(bytearray(b'[2,"x","SendLocalList",{"a":1}')) == ("-1", RPC_FRAMEWORK)
    assert _code_id(bytearray(b'[2,"x","SendLocalList",{"a":1]')) == (RPC_FRAMEWORK, "-1")


def test_attribute_values_stay_bytes():
    item = {"attributeValue": "1" * 900, "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    buf, want = _big({"setVariableData": [item, dict(item, attributeValue="2" * 80)]}, "SetVariables")
    m = rpc.parse(buf)[3]["setVariableData"]
    assert _is_text(m[0]["attributeValue"], "1" * 900) and _is_text(m[1]["attributeValue"], "2" * 80)
    assert _views(buf, m[0]["attributeValue"], m[1]["attributeValue"])
    assert m[0]["component"] == {"name": "OCPPCommCtrlr"}


def test_a_message_over_the_parse_bound_is_answered_from_its_head():
    """Strict JSON heavier than jsonsyntax's bound is never built: a CALL gets FormatViolation
    with its id (or admit's answer: an action not handled), anything else RpcFrameworkError."""
    heavy = b"[" + b",".join([b"[]"] * 200) + b"]"
    assert _code_id(bytearray(b'[2,"h1","SetVariables",{"a":' + heavy + b"}]")) == (FORMAT, "h1")
    assert _code_id(bytearray(b'[2,"h2","SendLocalList",{"a":' + heavy + b"}]")) == (NOT_SUPPORTED, "h2")
    assert _code_id(bytearray(b'[2,"h3","SendLocalList",{},' + heavy + b"]")) == (FORMAT, "h3")
    assert _err(bytearray(b'[3,"h4",{"a":' + heavy + b"}]")) == ("-1", RPC_FRAMEWORK)
    light = b"[" + b",".join([b"[]"] * 150) + b"]"
    assert rpc.parse(bytearray(b'[2,"h5","SetVariables",{"a":' + light + b"}]"), _admit)[1] == "h5"
