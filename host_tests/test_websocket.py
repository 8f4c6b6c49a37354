"""The WebSocket client (RFC 6455) on the unix port: upgrade checks, the incoming-message
bound, fragments, ping/pong, the close handshake and read timeouts. The `websockets` server
is the reference peer; RawWs produces the faults it will not."""

import base64
import json
import time

import pytest
from ocpp.v201 import call

from helpers import RawWs, wait_until
from tools.csms import schema_errors

FAST = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
        "OCPPCommCtrlr.MessageTimeout": 2}


@pytest.fixture
def raw(closing):
    return lambda **kw: closing(RawWs(**kw))


def test_upgrade_request_carries_subprotocol_key_and_path(raw, sims):
    r = raw()
    sims(r.url, ident="CS/01 x", sets=FAST)
    wait_until(lambda: r.requests, 5, "upgrade request")
    req = r.requests[0]
    lines = req.split("\r\n")
    assert lines[0] == "GET /ocpp/CS%2F01%20x HTTP/1.1"  # identity percent-encoded
    hdr = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    assert hdr["sec-websocket-protocol"] == "ocpp2.0.1"
    assert hdr["upgrade"].lower() == "websocket" and "upgrade" in hdr["connection"].lower()
    assert len(base64.b64decode(hdr["sec-websocket-key"])) == 16
    assert hdr["sec-websocket-version"] == "13"
    assert "authorization" not in hdr  # no password provisioned: no Basic auth


@pytest.mark.parametrize("kw", [{"accept": "bad"}, {"accept": None}, {"protocol": None},
                                {"protocol": "ocpp1.6"}, {"status": 404}])
def test_broken_upgrade_is_refused_and_retried(raw, sims, kw):
    r = raw(**kw)
    s = sims(r.url, sets=FAST)
    wait_until(lambda: len(r.accepted) >= 2, 6, "a second connection attempt")
    assert not s.find(ev="ws", state="connected")
    assert not r.texts()  # no OCPP message went over a connection that was not upgraded


def test_station_frames_are_masked_text_and_valid(raw, sims):
    r = raw()
    sims(r.url, sets=FAST)
    wait_until(lambda: r.texts(), 5, "BootNotification")
    op, payload, masked, fin = r.frames[0]
    assert (op, masked, fin) == (1, True, True)
    assert json.loads(payload)[2] == "BootNotification"


def test_long_messages_go_out_through_the_small_send_buffer(raw, sims):
    """Frames are made in ws.py's 512-byte send buffer, a piece at a time: a message whose
    length is known (a GetVariables response) is one frame whatever its size; a NotifyReport
    page, made as it is written, is fragments of at most 504 bytes (RFC 6455 section 5.4), a
    mask each; each reassembled message is valid against its schema."""
    r = raw()
    sims(r.url, sets=FAST)
    wait_until(lambda: r.texts(), 5, "BootNotification")
    boot = r.texts()[0]
    r.send(r.frame(1, json.dumps([3, boot[1], {"currentTime": "2026-01-01T00:00:00Z", "interval": 300,
                                                "status": "Accepted"}]).encode()))
    names = ("HeartbeatInterval", "OfflineThreshold", "NetworkProfileConnectionAttempts",
             "MessageTimeout", "WebSocketPingInterval", "RetryBackOffWaitMinimum")
    get = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": n}} for n in names]
    n0 = len(r.frames)
    r.send(r.frame(1, json.dumps([2, "gv", "GetVariables", {"getVariableData": get}]).encode()))
    r.send(r.frame(1, json.dumps([2, "gbr", "GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"}]).encode()))

    def messages():  # [(message, its frames)] from n0 on, the fragments of one message together
        out, cur = [], []
        for f in list(r.frames)[n0:]:
            if f[0] in (0, 1):
                cur.append(f)
                if f[3]:
                    out.append((json.loads(b"".join(p for _, p, _, _ in cur)), cur))
                    cur = []
        return out

    answered = set()

    def last_page():  # each CALL answered as it comes (all take {}): the next follows the answer
        for m, _ in messages():
            if m[0] == 2 and m[1] not in answered:
                answered.add(m[1])
                r.send(r.frame(1, json.dumps([3, m[1], {}]).encode()))
        return pages() and "tbc" not in pages()[-1][3]

    def pages():
        return [m for m, _ in messages() if m[0] == 2 and m[2] == "NotifyReport"]

    wait_until(last_page, 10, "the last NotifyReport page")
    for m, fr in messages():
        assert all(masked for _, _, masked, _ in fr)
        if m[0] == 3 and m[1] == "gv":  # known length: one frame, however long
            assert len(fr) == 1 and fr[0][0] == 1 and len(fr[0][1]) > 512
            assert not schema_errors("GetVariablesResponse", m[2])
        elif m[0] == 2 and m[2] == "NotifyReport":
            assert [f[0] for f in fr] == [1] + [0] * (len(fr) - 1) and [f[3] for f in fr][-1]
            assert all(len(p) <= 504 for _, p, _, _ in fr)
            assert not schema_errors("NotifyReportRequest", m[3])
    assert any(len(fr) > 1 for m, fr in messages() if m[0] == 2 and m[2] == "NotifyReport")
    assert len(pages()) > 1 and [p[3]["seqNo"] for p in pages()] == list(range(len(pages())))
    assert len(r.accepted) == 1  # all on one connection (RawWs does not answer the link check's ping)


def test_message_over_bound_is_answered_and_the_connection_stays(csms, sims):
    """A CALL over MaxMessageBytes: its head is kept, the rest dropped as it arrives, and the
    CALL answered FormatViolation on the same connection (no close: a CSMS that sends it again
    after a reconnection would meet a close every time); the messages after it are read as
    usual."""
    s = sims(csms.url, sets=dict(FAST, MaxMessageBytes=2048))
    s.wait_event(ev="boot", status="Accepted")
    r = csms.raw_call("CS001", "big", "DataTransfer", {"vendorId": "v", "data": "x" * 50000})
    assert r.msg[:3] == [4, "big", "FormatViolation"], r.msg
    assert "over MaxMessageBytes" in r.msg[3]
    r = csms.raw_call("CS001", "after", "DataTransfer", {"vendorId": "v", "data": "x" * 1500})
    assert r.msg[2] == {"status": "UnknownVendorId"}
    assert not csms.closes
    assert len(csms.csms.connects) == 1

def test_fragmented_message_is_reassembled(csms, sim):
    tap = csms.csms._taps["CS001"]
    text = json.dumps([2, "frag", "DataTransfer", {"vendorId": "v", "data": "é" * 300}])
    parts = [text[:10], text[10:400], text[400:]]
    tap.raw_ids.add("frag")
    tap.sent_calls["frag"] = "DataTransfer"
    csms.run(tap.conn.send(iter(parts)))
    r = csms.wait_reply("frag")
    assert r.msg == [3, "frag", {"status": "UnknownVendorId"}]


def test_fragments_over_bound_are_dropped_and_answered(csms, sims):
    """A fragmented message that goes over the bound in its second fragment: the part kept so
    far is cut to the head, the rest dropped, and the CALL answered FormatViolation."""
    s = sims(csms.url, sets=dict(FAST, MaxMessageBytes=1024))
    s.wait_event(ev="boot", status="Accepted")
    tap = csms.csms._taps["CS001"]
    text = json.dumps([2, "fragbig", "DataTransfer", {"vendorId": "v", "data": [1] * 600}])
    tap.raw_ids.add("fragbig")
    tap.sent_calls["fragbig"] = "DataTransfer"
    csms.run(tap.conn.send(iter([text[:900], text[900:1500], text[1500:]])))
    r = csms.wait_reply("fragbig")
    assert r.msg[:3] == [4, "fragbig", "FormatViolation"], r.msg
    r = csms.raw_call("CS001", "after", "DataTransfer", {"vendorId": "v", "data": "y" * 700})
    assert r.msg[2] == {"status": "UnknownVendorId"}
    assert not csms.closes

def test_server_ping_gets_pong(csms, sim):
    tap = csms.csms._taps["CS001"]

    async def ping():
        waiter = await tap.conn.ping(b"hello")
        return await waiter

    latency = csms.run(ping(), timeout=5)
    assert latency < 2


def test_server_close_is_answered_and_station_reconnects(csms, sims):
    s = sims(csms.url, sets=FAST)
    s.wait_event(ev="boot", status="Accepted")
    tap = csms.csms._taps["CS001"]
    csms.run(tap.conn.close(1000, "maintenance"))
    wait_until(lambda: csms.closes, 5, "close handshake")
    assert csms.closes[0][2] == 1000  # the station echoed the close frame
    s.wait_event(ev="ws", state="closed")
    csms.wait_connected("CS001", n=2, timeout=5)
    s.wait_event(ev="ws", state="connected", n=2)


def test_quit_closes_with_going_away(csms, sims):
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Accepted")
    assert s.quit() == 0
    wait_until(lambda: csms.closes, 5, "close")
    assert csms.closes[0][2] == 1001


@pytest.mark.parametrize("frame,code", [(dict(op=1, payload=b'[3,"x",{}]', mask=b"abcd"), 1002),
                                        (dict(op=2, payload=b"\x00\x01"), 1003),
                                        (dict(op=3, payload=b""), 1002)])
def test_bad_server_frame_closes_with_code(raw, sims, frame, code):
    """A masked frame (1002), a binary one (1003: OCPP-J is text) or a reserved opcode."""
    r = raw()
    sims(r.url, sets=FAST)
    wait_until(lambda: r.texts(), 5, "BootNotification")
    r.send(r.frame(**frame))
    wait_until(lambda: any(op == 8 for op, *_ in r.frames), 5, "close frame")
    close = [p for op, p, *_ in r.frames if op == 8][0]
    assert int.from_bytes(close[:2], "big") == code


def test_stalled_frame_times_out_and_station_reconnects(raw, sims):
    r = raw()
    s = sims(r.url, sets=FAST)
    wait_until(lambda: r.texts(), 5, "BootNotification")
    t0 = time.monotonic()
    r.send(r.frame(1, b'[3,"', length=100))  # announces 100 bytes, sends 4, then stalls
    wait_until(lambda: r.eof.is_set(), 6, "station drops the stalled connection")
    assert time.monotonic() - t0 >= 1.5  # MessageTimeout = 2 s
    wait_until(lambda: len(r.accepted) >= 2, 5, "reconnect")
    assert s.find(ev="ws", state="closed")


def test_station_pings_when_idle_and_drops_a_dead_link(raw, sims):
    r = raw()
    s = sims(r.url, sets=dict(FAST, **{"OCPPCommCtrlr.WebSocketPingInterval": 1}))
    wait_until(lambda: r.texts(), 5, "BootNotification")
    wait_until(lambda: any(op == 9 for op, *_ in r.frames), 4, "a ping")
    # RawWs never answers pings: the station gives up on the link and reconnects
    wait_until(lambda: len(r.accepted) >= 2, 8, "reconnect after unanswered ping")
    assert s.find(ev="ws", state="closed")


def test_with_pings_off_an_idle_link_stays_up(csms, sims):
    """WebSocketPingInterval 0 (no pings: legal, and what a CSMS that pings itself may set):
    silence for several MessageTimeouts is no dead link. The station used to wait for a
    frame's start with the frame timeout and dropped an idle link every MessageTimeout
    ("frame not complete in time"), then waited out the back-off. A CALL after 3.5 s of
    silence (MessageTimeout 1 s) is answered on the first connection."""
    csms.interval = 300
    s = sims(csms.url, sets=dict(FAST, **{"OCPPCommCtrlr.MessageTimeout": 1, "OCPPCommCtrlr.WebSocketPingInterval": 0}))
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("StatusNotification")
    time.sleep(3.5)
    r = csms.call("CS001", call.DataTransfer(vendor_id="v"))
    assert r.status == "UnknownVendorId"
    assert len(csms.connects) == 1 and not s.find(ev="ws", state="closed"), s.log


def test_station_answers_raw_ping_with_same_payload(raw, sims):
    r = raw()
    sims(r.url, sets=FAST)
    wait_until(lambda: r.texts(), 5, "BootNotification")
    r.send(r.frame(9, b"abc"))
    wait_until(lambda: any(op == 10 for op, *_ in r.frames), 5, "pong")
    assert [p for op, p, *_ in r.frames if op == 10][0] == b"abc"


def test_interleaved_control_frame_inside_fragmented_message(raw, sims):
    r = raw()
    sims(r.url, sets=FAST)
    wait_until(lambda: r.texts(), 5, "BootNotification")
    msg = json.dumps([2, "z1", "DataTransfer", {"vendorId": "v"}]).encode()
    r.send(r.frame(1, msg[:7], fin=False) + r.frame(9, b"p") + r.frame(0, msg[7:], fin=True))
    wait_until(lambda: [m for m in r.texts() if m[1] == "z1"], 5, "reply z1")
    assert [m for m in r.texts() if m[1] == "z1"][0] == [3, "z1", {"status": "UnknownVendorId"}]
