"""OCPP-J RPC behaviour over a real WebSocket: CALLERROR for every kind of malformed input
(Part 4 section 4), one outstanding CALL, MessageTimeout, dispatch of unknown and
unsupported actions, and a connection that stays usable throughout."""

import json
import time

import pytest

BAD_FRAMES = [
    # (raw text, expected CALLERROR id, code)
    ('not json', "-1", "RpcFrameworkError"),
    ('[2,"a1" "TriggerMessage",{}]', "-1", "RpcFrameworkError"),  # lenient-JSON shape
    ('[2,"a1","TriggerMessage",{},]', "-1", "RpcFrameworkError"),
    ('[2,"a1","TriggerMessage",{"requestedMessage":"Heartbeat",}]', "-1", "RpcFrameworkError"),
    ('{"a":1}', "-1", "RpcFrameworkError"),
    ('[]', "-1", "RpcFrameworkError"),
    ('[2]', "-1", "RpcFrameworkError"),
    ('[2,17,"Heartbeat",{}]', "-1", "RpcFrameworkError"),
    ('[2,"%s","Heartbeat",{}]' % ("x" * 37), "-1", "RpcFrameworkError"),
    ('[2,"a2","TriggerMessage"]', "a2", "RpcFrameworkError"),
    ('[2,"a3",5,{}]', "a3", "RpcFrameworkError"),
    ('["2","a4","Heartbeat",{}]', "a4", "RpcFrameworkError"),
    ('[7,"a5","Heartbeat",{}]', "a5", "MessageTypeNotSupported"),
    ('[2,"a6","TriggerMessage",[]]', "a6", "FormatViolation"),
    ('[2,"a7","TriggerMessage",null]', "a7", "FormatViolation"),
    ('[2,"a8","FlyToTheMoon",{}]', "a8", "NotImplemented"),
    ('[2,"a9","ReserveNow",{}]', "a9", "NotSupported"),  # known 2.0.1 action, not in Lite
    ('[2,"b1","GetReport",{"requestId":1}]', "b1", "NotSupported"),
    ('[2,"b2","TriggerMessage",{}]', "b2", "OccurrenceConstraintViolation"),
    ('[2,"b3","TriggerMessage",{"requestedMessage":5}]', "b3", "TypeConstraintViolation"),
    ('[2,"b4","TriggerMessage",{"requestedMessage":"Coffee"}]', "b4", "PropertyConstraintViolation"),
    ('[2,"b5","TriggerMessage",{"requestedMessage":"Heartbeat","evse":{"connectorId":1}}]', "b5",
     "OccurrenceConstraintViolation"),
    ('[2,"b6","TriggerMessage",{"requestedMessage":"Heartbeat","evse":{"id":true}}]', "b6",
     "TypeConstraintViolation"),
    ('[2,"b7","TriggerMessage",{"requestedMessage":"Heartbeat","extra":1}]', "b7", "FormatViolation"),
    ('[2,"b8","DataTransfer",{"vendorId":"%s"}]' % ("v" * 256), "b8", "PropertyConstraintViolation"),
    ('[2,"b9","DataTransfer",{"vendorId":"v","customData":{"x":1}}]', "b9",
     "OccurrenceConstraintViolation"),
    ('[2,"c1","ClearCache",{"evil":[[[[1]]]]}]', "c1", "FormatViolation"),
    ('[2,"c2","DataTransfer",{"vendorId":"v","data":' + "[" * 40 + "]" * 40 + '}]', "-1",
     "RpcFrameworkError"),  # nesting over the bound
    ('[2,"c3","DataTransfer",{"vendorId":"v","data":1%s}]' % ("0" * 400), "-1", "RpcFrameworkError"),
]


def test_every_malformed_frame_gets_the_right_callerror(csms, sim):
    for text, mid, code in BAD_FRAMES:
        before = len(csms.inbound(kind=4))
        csms.send_raw("CS001", text, mid)
        f = csms.wait_reply(mid) if mid != "-1" else None
        if f is None:
            f = _wait_new_error(csms, before)
        assert f.kind == 4, (text, f)
        assert f.msg[1] == mid and f.msg[2] == code, (text, f.msg)
        assert isinstance(f.msg[3], str) and f.msg[4] == {}
    # the connection stayed up and usable
    r = csms.raw_call("CS001", "ok1", "TriggerMessage", {"requestedMessage": "Heartbeat"})
    assert r.msg == [3, "ok1", {"status": "Accepted"}]
    assert len(csms.connects) == 1


def _wait_new_error(csms, before):
    from helpers import wait_until

    return wait_until(lambda: len(csms.inbound(kind=4)) > before and csms.inbound(kind=4)[-1],
                      10, "CALLERROR")


def test_invalid_utf8_gets_rpc_framework_error(csms, sim):
    # websockets refuses to send invalid UTF-8 as text, so go below it: a raw text frame
    tap = csms.csms._taps["CS001"]
    before = len(csms.inbound(kind=4))

    async def send():
        proto = tap.conn.protocol
        from websockets.frames import Frame, Opcode
        proto.send_frame(Frame(Opcode.TEXT, b'[2,"u1","DataTransfer",{"vendorId":"\xff\xfe"}]'))
        tap.conn.send_data()

    csms.run(send())
    f = _wait_new_error(csms, before)
    assert f.msg[1:3] == ["-1", "RpcFrameworkError"]
    r = csms.raw_call("CS001", "ok2", "DataTransfer", {"vendorId": "acme"})
    assert r.msg == [3, "ok2", {"status": "UnknownVendorId"}]


@pytest.mark.octt("TC_P_01_CS")
def test_TC_P_01_CS_data_transfer_unknown_vendor(csms, sim):
    r = csms.raw_call("CS001", "d1", "DataTransfer", {"vendorId": "org.openchargealliance.octt",
                                                      "messageId": "octt-unused", "data": {"any": [1, "x"]}})
    assert r.kind == 3, r.msg
    assert r.payload["status"] in ("UnknownVendorId", "UnknownMessageId", "Rejected"), r.msg


CUSTOM = {"vendorId": "org.openchargealliance.octt", "anything": {"deep": [1, 2]}, "flag": True}


@pytest.mark.octt("TC_P_03_CS")
def test_TC_P_03_CS_custom_data_is_received(csms, sim):
    item = {"component": {"name": "OCPPCommCtrlr", "customData": CUSTOM},
            "variable": {"name": "OfflineThreshold", "customData": CUSTOM}, "attributeType": "Actual",
            "customData": CUSTOM}
    r = csms.raw_call("CS001", "p1", "SetVariables",
                      {"setVariableData": [dict(item, attributeValue="200")], "customData": CUSTOM})
    assert r.kind == 3, r.msg
    [res] = r.payload["setVariableResult"]
    assert res["attributeStatus"] == "Accepted", res
    r = csms.raw_call("CS001", "p2", "GetVariables", {"getVariableData": [item], "customData": CUSTOM})
    assert r.kind == 3, r.msg
    [res] = r.payload["getVariableResult"]
    assert res["attributeStatus"] == "Accepted" and res.get("attributeType", "Actual") == "Actual", res
    assert res["attributeValue"] == "200", res


def test_long_values_kept_as_bytes_are_checked_and_never_echoed_or_stored(csms, sims, tmp_path):
    """Long customData at every level (kept as bytes: engine/lift.py) is checked and dropped; a
    long attributeValue (kept as bytes too) is taken as text: the answer, the GetVariables
    value and what the flash holds after a power cut are the value, not bytearray(b'...')."""
    state = tmp_path / "flash"
    s = sims(csms.url, state=state)
    s.wait_event(ev="boot", status="Accepted")
    big = {"vendorId": "com.example." + "v" * 60, "blob": "\u00e9" * 30, "list": ["x" * 70, {"deep": "y" * 70}]}
    value = "Power.Active.Import,%sEnergy.Active.Import.Register" % (" " * 40)
    item = {"component": {"name": "SampledDataCtrlr", "customData": big},
            "variable": {"name": "TxUpdatedMeasurands", "customData": big}, "attributeValue": value, "customData": big}
    r = csms.raw_call("CS001", "lc1", "SetVariables", {"setVariableData": [item], "customData": big})
    assert r.kind == 3 and r.payload["setVariableResult"] == [
        {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedMeasurands"},
         "attributeStatus": "Accepted"}], r.msg
    bad = dict(big)
    del bad["vendorId"]
    r = csms.raw_call("CS001", "lc2", "SetVariables", {"setVariableData": [item], "customData": bad})
    assert r.msg[:3] == [4, "lc2", "OccurrenceConstraintViolation"], r.msg
    s.kill()  # power cut, then the same flash
    s2 = sims(None, state=state, ident=None)
    s2.wait_event(ev="boot", status="Accepted")
    r = csms.raw_call("CS001", "lc3", "GetVariables", {"getVariableData": [
        {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedMeasurands"}}]})
    assert r.payload["getVariableResult"][0]["attributeValue"] == "Power.Active.Import,Energy.Active.Import.Register"


def test_the_largest_request_of_every_action_is_parsed(csms, sim):
    """Every Core request the station handles, with every optional field, strings at their
    schema maxLength, arrays at what the station advertises (tools/largest.py largest_request: then
    cut to MaxMessageBytes and the action's BytesPerMessage), is within the parse bound of
    engine/jsonsyntax.py (its host mirror tools/jsonweight.py agrees) and gets its answer:
    a CALLRESULT, or a CALLERROR about its content, never RpcFrameworkError or InternalError.
    Reset is sent last (the station may reboot)."""
    from tools.largest import HANDLED, largest_request
    from tools import jsonweight
    handles = set(HANDLED) - {"Reset"}
    for action in sorted(handles) + ["Reset"]:
        mid = "big-" + action
        text = largest_request(action, mid)
        assert jsonweight.weight(text) <= jsonweight.WEIGHT, action
        csms.send_raw("CS001", text, mid)
        r = csms.wait_reply(mid, 15)
        assert r.kind == 3 or r.msg[2] not in ("RpcFrameworkError", "InternalError"), (action, r.msg)
        assert r.kind == 3 or "parse bound" not in r.msg[3] and "BytesPerMessage" not in r.msg[3], (action, r.msg)
        assert r.kind == 3 or r.msg[2] not in ("NotSupported", "NotImplemented") or action not in handles, r.msg


def test_a_message_over_the_parse_bound_is_answered_with_its_id(csms, sim):
    """jsonweight's bound is the station's: the heaviest RequestStartTransaction within it (an
    idToken with as many additionalInfo as the bound lets it have: the schema sets no limit) is
    answered, one more is refused before anything is built (answered FormatViolation with the
    message's id, the connection kept), and the station carries on. DataTransfer's data and a
    legal customData are not weighed: a DataTransfer of MaxMessageBytes of short strings, in
    data and in customData, is answered."""
    from tools import jsonweight

    def text(mid, n):
        info = [{"additionalIdToken": "a%03d" % i, "type": "t"} for i in range(n)]
        return json.dumps([2, mid, "RequestStartTransaction", {"remoteStartId": 1, "evseId": 99, "idToken": {
            "idToken": "T", "type": "Central", "additionalInfo": info}}])

    n = 1
    while jsonweight.weight(text("w0", n + 1)) <= jsonweight.WEIGHT:
        n += 1
    assert len(text("w1", n + 1)) < 4096  # the bound, not MaxMessageBytes
    csms.send_raw("CS001", text("w1", n), "w1")
    r = csms.wait_reply("w1")
    assert r.kind == 3 and r.payload["status"] == "Rejected", r.msg  # (no EVSE 99)
    csms.send_raw("CS001", text("w2", n + 1), "w2")
    r = csms.wait_reply("w2")
    assert r.msg[:3] == [4, "w2", "FormatViolation"] and "bound" in r.msg[3], r.msg
    strings = ["s%03d" % i for i in range(240)]
    big = json.dumps([2, "w3", "DataTransfer", {"vendorId": "v", "data": strings,
                                                 "customData": {"vendorId": "c", "x": strings}}])
    assert 3500 < len(big) <= 4096 and jsonweight.weight(big, marked=False) > 2 * jsonweight.WEIGHT
    csms.send_raw("CS001", big, "w3")
    r = csms.wait_reply("w3")
    assert r.kind == 3 and r.payload == {"status": "UnknownVendorId"}, r.msg


def test_custom_data_in_a_trigger_is_accepted(csms, sim):
    r = csms.raw_call("CS001", "d2", "TriggerMessage", {
        "requestedMessage": "Heartbeat",
        "customData": {"vendorId": "com.example", "anything": {"deep": [1, 2]}},
        "evse": {"id": 1, "customData": {"vendorId": "com.example"}},
    })
    assert r.msg == [3, "d2", {"status": "Accepted"}]


def test_clear_cache_rejected_without_cache(csms, sim):
    r = csms.raw_call("CS001", "cc", "ClearCache", {})
    assert r.msg == [3, "cc", {"status": "Rejected"}]


def test_responses_with_unknown_ids_are_dropped(csms, sim):
    before = len(csms.inbound(kind=3)) + len(csms.inbound(kind=4))
    for text in ('[3,"nobody",{}]', '[4,"nobody","GenericError","",{}]', '[3,"x"]', '[4,"y"]'):
        csms.send_raw("CS001", text)
    r = csms.raw_call("CS001", "alive", "TriggerMessage", {"requestedMessage": "Heartbeat"})
    assert r.msg[2] == {"status": "Accepted"}
    # the only answer the station gave was to "alive"
    answers = csms.inbound(kind=3) + csms.inbound(kind=4)
    assert len(answers) == before + 1


def test_one_outstanding_call_incoming_calls_answered_meanwhile_and_timeout(csms, sims):
    csms.interval = 1
    csms.hold.add("Heartbeat")  # the CSMS never answers heartbeats
    s = sims(csms.url, sets={"OCPPCommCtrlr.MessageTimeout": 3})
    s.wait_event(ev="boot", status="Accepted")
    hb = csms.wait_call("Heartbeat", timeout=5)
    # while the Heartbeat is outstanding, a status change queues but is not sent ...
    s.send(op="plug", evse=1)
    s.wait_event(ev="status", status="Occupied")
    # ... and a CSMS request is still answered right away
    r = csms.raw_call("CS001", "q1", "DataTransfer", {"vendorId": "x"}, timeout=2)
    assert r.t - hb.t < 2.5
    sn = csms.wait_call("StatusNotification", n=2, timeout=6)
    assert sn.payload["connectorStatus"] == "Occupied"
    # sent only after MessageTimeout freed the slot
    assert sn.t - hb.t >= 2.9
    calls = [f for f in csms.inbound() if hb.t <= f.t < sn.t]
    assert calls == [hb]


def test_late_answer_after_timeout_is_ignored(csms, sims):
    csms.hold.add("Heartbeat")
    s = sims(csms.url, sets={"OCPPCommCtrlr.MessageTimeout": 1})
    s.wait_event(ev="boot", status="Accepted")
    r = csms.raw_call("CS001", "t1", "TriggerMessage", {"requestedMessage": "Heartbeat"})
    assert r.msg[2] == {"status": "Accepted"}
    hb = csms.wait_call("Heartbeat")
    time.sleep(1.5)
    n = len(csms.inbound(kind=4))
    csms.send_raw("CS001", json.dumps([3, hb.id, {"currentTime": "2020-01-01T00:00:00Z"}]))
    r = csms.raw_call("CS001", "t2", "DataTransfer", {"vendorId": "x"})
    assert r.kind == 3 and len(csms.inbound(kind=4)) == n


def test_message_ids_unique_and_short(csms, sim):
    # many requests from the station: ids are unique and at most 36 characters
    for i in range(4):
        csms.raw_call("CS001", "h%d" % i, "TriggerMessage", {"requestedMessage": "Heartbeat"})
        csms.wait_call("Heartbeat", n=i + 1)
    ids = [f.id for f in csms.inbound()]
    assert len(ids) == len(set(ids)) and all(len(i) <= 36 for i in ids)
