# Unit tests of ocpp_lite.engine.rpc on the unix port.
import json
from ocpp_lite.engine import rpc


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
    assert _err(b"nope") == ("-1", rpc.RPC_FRAMEWORK)
    assert _err(b'[2,"a","X",{},]') == ("-1", rpc.RPC_FRAMEWORK)
    assert _err(b'{"x":1}') == ("-1", rpc.RPC_FRAMEWORK)
    assert _err(b'[2,"a","X"]') == ("a", rpc.RPC_FRAMEWORK)
    assert _err(b'[2,"a",{},{}]') == ("a", rpc.RPC_FRAMEWORK)
    assert _err(b'[2.0,"a","X",{}]') == ("a", rpc.RPC_FRAMEWORK)
    assert _err(b'[true,"a","X",{}]') == ("a", rpc.RPC_FRAMEWORK)
    assert _err(b'[9,"a","X",{}]') == ("a", rpc.TYPE_NOT_SUPPORTED)
    assert _err(b'[9]') == ("-1", rpc.TYPE_NOT_SUPPORTED)
    assert _err(b'[2,"a","X",[]]') == ("a", rpc.FORMAT)
    long_id = "i" * 37
    assert _err(('[2,"%s","X",{}]' % long_id).encode()) == ("-1", rpc.RPC_FRAMEWORK)
    assert _err(b'[2,"a","X",{"k":"\xff"}]') == ("-1", rpc.RPC_FRAMEWORK)


def test_builders_make_compact_valid_json():
    c = rpc.call("id1", "Heartbeat", {})
    assert type(c) is list and "".join(c) == '[2,"id1","Heartbeat",{}]'  # parts, never joined
    assert "".join(rpc.call("id2", "A", '{"k":1}')) == '[2,"id2","A",{"k":1}]'
    r = rpc.result('we"ird', {"a": [1, "é"]})
    assert type(r) is list and json.loads("".join(r)) == [3, 'we"ird', {"a": [1, "é"]}]
    e = rpc.error("-1", rpc.FORMAT, "x" * 300)
    m = json.loads(e)
    assert m[:3] == [4, "-1", "FormatViolation"] and len(m[3]) == 255 and m[4] == {}
    assert " " not in rpc.dumps({"a": 1, "b": [1, 2]})


def test_invalid_utf8_and_surrogate_escapes_are_rpc_framework_errors():
    assert _err(b'[2,"a\xed\xa0\x80","X",{}]') == ("-1", rpc.RPC_FRAMEWORK)
    assert _err(b'[2,"a","DataTransfer",{"vendorId":"\\ud800"}]') == ("-1", rpc.RPC_FRAMEWORK)
    assert rpc.parse(b'[2,"a","DataTransfer",{"vendorId":"\xf0\x9f\x98\x80"}]')[3] == {"vendorId": "\U0001f600"}


def test_call_id_reads_the_id_without_parsing():
    assert rpc.call_id(b'[2,"abc","DataTransfer",{"vendorId":"' + b"x" * 9000) == "abc"
    assert rpc.call_id(bytearray(b' [ 2 ,\n "a-1" , "X"')) == "a-1"
    assert rpc.call_id(b'[2,"%s","X",{}]' % (b"i" * 36)) == "i" * 36
    for b in (b'[2,"%s","X",{}]' % (b"i" * 37), b'[3,"abc",{}]', b'[2,"","X",{}]', b'[2,abc', b'[2,"a\\"b","X",{}]',
              b'[2,"\xc3\xa9","X",{}]', b'[2,"a\x01","X"]', b'[20,"a","X",{}]', b'["2","a"]', b'', b'[2,"abc'):
        assert rpc.call_id(b) is None, b
