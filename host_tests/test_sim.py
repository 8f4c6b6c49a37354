"""The simulator contract (tools/sim) and `make sim` (python -m tools.demo)."""

import os
import re
import subprocess
import sys

import pytest
from ocpp.v201 import call

from helpers import MICROPYTHON, ROOT, CsmsThread, Sim, server_ssl, wait_until


def test_sim_contract_ready_ws_status_and_quit(csms, sims):
    s = sims(csms.url, evses=2)
    s.wait_event(ev="ready")
    # the contactors are opened at start, before anything else happens
    assert [e for _, e in s.events[:2]] == [{"ev": "relay", "evse": 1, "closed": False},
                                            {"ev": "relay", "evse": 2, "closed": False}]
    s.wait_event(ev="ws", state="connected")
    s.send(op="plug", evse=2)
    s.wait_event(ev="status", evse=2, connector=1, status="Occupied")
    # ops of later issues are accepted; bad input is logged, never fatal
    s.send(op="tap", idToken="AA11BB22")
    s.send(op="ev_power", evse=1, w=7400)
    s.p.stdin.write("this is not json\n{\"op\":\"warp\"}\n{\"op\":\"plug\",\"evse\":9}\n")
    s.p.stdin.flush()
    wait_until(lambda: sum("bad input" in line for line in s.log) >= 3, 5, "bad input logged")
    r = csms.raw_call("CS001", "alive", "DataTransfer", {"vendorId": "v"})
    assert r.kind == 3
    assert s.quit() == 0
    s.wait_event(ev="ws", state="closed")


def test_sim_requires_provisioning(tmp_path):
    p = subprocess.run([str(ROOT / "tools" / "sim"), "--state", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "usage" in p.stderr


def test_sim_rejects_unknown_setting_and_bad_url(tmp_path, csms):
    p = subprocess.run([str(ROOT / "tools" / "sim"), "--state", str(tmp_path / "y"), "--csms",
                        csms.url, "--id", "X", "--set", "Nope.Nothing=1"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "unknown setting" in p.stderr
    for bad in (["--csms", "http://127.0.0.1:1/ocpp"], ["--set", "OCPPCommCtrlr.OfflineThreshold=-5"],
                ["--set", "TxCtrlr.TxStartPoint=Authorized"], ["--password", "short"]):
        p = subprocess.run([str(ROOT / "tools" / "sim"), "--state", str(tmp_path / "z"), "--csms",
                            csms.url, "--id", "X"] + bad, capture_output=True, text=True, timeout=20)
        assert p.returncode == 2 and "provisioning failed" in p.stderr, (bad, p.stderr)


def test_stdout_is_json_lines_only(csms, sims):
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Accepted")
    s.quit()
    assert not [line for line in s.log if line.startswith("STDOUT NOT JSON")]


def test_heap_option_limits_the_micropython_heap(csms, sims, tmp_path):
    # a modest heap runs the station (compiled from source on the 64-bit port: far more than
    # a board with frozen code needs, see docs/footprint.md; compiling the simulator board
    # after the firmware needed 360 kB at caf7710); one too small fails loudly
    s = sims(csms.url, heap=400_000)
    s.wait_event(ev="boot", status="Accepted", timeout=15)
    s.quit()
    tiny = Sim(tmp_path / "tiny", csms.url, heap=8_000)
    try:
        assert tiny.p.wait(20) != 0
        wait_until(lambda: any("MemoryError" in line for line in tiny.log), 5, "MemoryError")
    finally:
        tiny.close()


def test_make_sim_demo_plays_a_charging_session(tmp_path):
    env = dict(os.environ, CSMS_PORT="0")
    p = subprocess.run([sys.executable, "-m", "tools.demo", "--duration", "22",
                        "--interval", "1", "--state", str(tmp_path / "demo"), "--fresh"],
                       capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL, cwd=ROOT)
    out = p.stdout
    assert p.returncode == 0, out + p.stderr
    assert '"BootNotification"' in out and '"status":"Accepted"' in out
    assert '"connectorStatus":"Available"' in out and '"Heartbeat"' in out
    assert '{"ev": "ws", "state": "connected"}' in out
    for event in ('"eventType":"Started"', '"triggerReason":"MeterValuePeriodic"', '"eventType":"Ended"',
                  '"Authorize"', '"closed": true'):
        assert event in out, event
    assert "0 schema violation(s)" in out


def test_make_sim_against_another_csms_over_wss_prints_the_stations_frames(pki, tmp_path):
    """`make sim SIM_ARGS="--csms wss://..."`: the station's own frames (tools/sim --frames 1)
    are printed as the bundled CSMS prints its own, over TLS too, and they are the frames the
    CSMS received and sent; no schema violation counted."""
    cert, key = pki["server"]
    csms = CsmsThread(ssl=server_ssl(cert, key, tmp_path / "tls"))
    try:
        p = subprocess.run([sys.executable, "-m", "tools.demo", "--csms", "wss://localhost:%d/ocpp" % csms.csms.port,
                            "--ca", str(pki["ca_pem"]), "--duration", "6", "--state", str(tmp_path / "demo")],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=ROOT,
                           env=dict(os.environ, MICROPYTHON=MICROPYTHON))
    finally:
        csms.close()
    assert p.returncode == 0, p.stdout + p.stderr
    printed = [re.match(r"\[ *[\d.]+\] (.{16}) (.*)$", line).groups() for line in p.stdout.splitlines()]
    up = [t for who, t in printed if who.rstrip() == "CS001 -> CSMS"]
    down = [t for who, t in printed if who.rstrip() == "CSMS -> CS001"]
    assert up == [f.text for f in csms.frames if f.direction == "in"] and len(up) >= 5, p.stdout
    assert down == [f.text for f in csms.frames if f.direction == "out"], p.stdout
    assert '"Authorize"' in "".join(up) and not [who for who, _ in printed if who.startswith("schema")]
    assert "0 schema violation(s)" in p.stdout and not csms.violations


def test_the_interlock_opens_the_contactor_while_the_loop_is_busy(csms, sims):
    """The simulator board's interlock does not wait for the asyncio loop, as the boards' does
    not (docs/boards.md "The interlock"): the loop is held for 3 s ({"op":"busy"}, a slow
    handler), the EV is unplugged meanwhile; the contactor opens, by the interlock, before the
    loop is free again, and the station ends the transaction afterwards."""
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Accepted")
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken="AA11BB22")
    s.wait_event(ev="relay", evse=1, closed=True)
    s.send(op="busy", ms=3000)
    s.wait_event(ev="busy", done=False)
    s.send(op="unplug", evse=1)
    s.wait_event(ev="busy", done=True, timeout=10)
    wait_until(lambda: [f for f in csms.inbound("TransactionEvent") if f.payload["eventType"] == "Ended"], 10,
               "TransactionEvent Ended")
    ev = [e for _, e in list(s.events)]
    opened = ev.index({"ev": "relay", "evse": 1, "closed": False, "by": "interlock"})
    assert opened < ev.index({"ev": "busy", "ms": 3000, "done": True}), ev
    assert s.quit() == 0


def test_inputs_sent_while_the_loop_is_busy_are_all_taken_in_order(csms, sims):
    """Stdin lines wait for a held loop in a ring of 32 (the reader thread waits when it is
    full, as a pipe would): 70 probes sent while the loop is held all come out, in order, after
    it is free."""
    s = sims(csms.url)
    s.wait_event(ev="ready")
    s.send(op="busy", ms=1000)
    s.wait_event(ev="busy", done=False)
    for i in range(70):
        s.send(op="mem")
    s.wait_event(ev="mem", n=70, timeout=30)
    ev = [e["ev"] for _, e in list(s.events)]
    assert ev.index("mem") > ev.index("busy") and ev.count("busy") == 2 and ev.count("mem") == 70
    assert ev.index("mem") > len(ev) - 1 - ev[::-1].index("busy")  # every probe after the loop was free
    assert s.quit() == 0


def test_a_rebooted_station_is_told_the_ev_draws_nothing(csms, sims):
    """The simulated hardware outlives a reboot: an EV plugged in and in state B before it is
    so for the new station instance too, whose transaction is SuspendedEV and whose contactor
    stays open."""
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Accepted")
    s.send(op="plug", evse=1)
    s.send(op="ev_ready", evse=1, ready=False)
    s.wait_event(ev="status", evse=1, connector=1, status="Occupied")
    s.send(op="reboot")
    s.wait_event(ev="boot", status="Accepted", n=2)
    s.send(op="tap", idToken="AA11BB22")
    wait_until(lambda: [f for f in csms.inbound("TransactionEvent") if f.payload["eventType"] == "Started"], 10,
               "TransactionEvent Started")
    wait_until(lambda: any(f.payload["transactionInfo"].get("chargingState") == "SuspendedEV"
                           for f in csms.inbound("TransactionEvent")), 10, "SuspendedEV")
    assert not any(f.payload["transactionInfo"].get("chargingState") == "Charging"
                   for f in csms.inbound("TransactionEvent"))
    assert not s.find(ev="relay", evse=1, closed=True)
    assert s.quit() == 0


def test_the_event_stream_tells_the_whole_state_at_start_and_on_every_connection(csms, sims):
    """Issue 18: a consumer that starts reading at any time learns the whole state from the
    next {"ev":"state"}: at start (before the link is up: boot None, offline) and after every
    connection (the boot state as it stands then, each EVSE's connector status, cable,
    contactor, energy register and open transaction); the events after it tell the changes."""
    csms.interval = 1
    s = sims(csms.url, evses=2, sets={"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
                                      "OCPPCommCtrlr.RetryBackOffRandomRange": 0})
    first = s.wait_event(ev="state")
    assert first == {"ev": "state", "boot": "None", "online": False, "evses": [
        {"evse": i, "status": "Available", "tx": None, "plugged": False, "closed": False, "wh": 0, "w": 0}
        for i in (1, 2)]}
    names = [e["ev"] for _, e in s.events]
    assert names.index("state") == names.index("ready") + 1
    on = s.wait_event(ev="state", n=2)  # the connection: the boot answer comes after it
    assert on["online"] is True and on["boot"] == "None"
    evs = [e for _, e in s.events]
    assert evs[evs.index({"ev": "ws", "state": "connected"}) + 1] is on
    s.wait_event(ev="boot", status="Accepted")
    s.send(op="plug", evse=2)
    s.send(op="tap", idToken="AA11BB22")
    tx = s.wait_event(ev="tx", evse=2, event="Started")
    s.wait_event(ev="relay", evse=2, closed=True)
    tap = csms.csms._taps["CS001"]
    csms.loop.call_soon_threadsafe(tap.conn.transport.abort)  # the link lost: a new connection
    again = s.wait_event(ev="state", n=3)
    assert again["boot"] == "Accepted" and again["online"] is True
    assert again["evses"][0] == {"evse": 1, "status": "Available", "tx": None, "plugged": False, "closed": False,
                                 "wh": 0, "w": 0}
    e2 = again["evses"][1]
    assert (e2["status"], e2["tx"], e2["plugged"], e2["closed"]) == ("Occupied", tx["id"], True, True)
    assert s.quit() == 0


@pytest.mark.parametrize("transport", ["ws", "wss+deflate"])
def test_frames_option_the_station_tells_every_message_both_ways(pki, sims, tmp_path, transport):
    """tools/sim --frames 1 (what the simulator's page uses, whatever the transport): every OCPP
    message the station wrote and read is an event {"ev":"frame","dir":"out"|"in","text":...},
    the very texts the CSMS received and sent, in order, over ws:// and over wss:// with
    permessage-deflate (frames no relay could read)."""
    sets = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0}
    kw = {}
    if transport == "ws":
        csms = CsmsThread()
    else:
        cert, key = pki["server"]
        csms = CsmsThread(ssl=server_ssl(cert, key, tmp_path / "tls"))
        sets["DeflateWindowBits"] = 10
        kw["ca"] = pki["ca_pem"]
    try:
        url = csms.url if transport == "ws" else "wss://localhost:%d/ocpp" % csms.csms.port
        s = sims(url, frames=True, sets=sets, **kw)
        s.wait_event(ev="boot", status="Accepted")
        s.send(op="plug", evse=1)
        s.send(op="tap", idToken="AA11BB22")
        s.send(op="ev_power", evse=1, w=7400)
        s.wait_event(ev="tx", event="Started")
        r = csms.call("CS001", call.GetVariables(get_variable_data=[
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]))
        assert r.get_variable_result[0]["attribute_status"] == "Accepted"
        s.send(op="unplug", evse=1)
        csms.wait_call("StatusNotification", n=3)  # Available again, after the Ended
        if transport != "ws":
            conn = csms.csms._taps["CS001"].conn
            assert [type(e).__name__ for e in conn.protocol.extensions] == ["PerMessageDeflate"]

        def same():
            frames = s.find(ev="frame")
            return ([e["text"] for e in frames if e["dir"] == "out"] == [f.text for f in csms.frames if f.direction == "in"]
                    and [e["text"] for e in frames if e["dir"] == "in"] == [f.text for f in csms.frames if f.direction == "out"])
        wait_until(same, 10, lambda: "the station's frames (%d) the CSMS's (%d)" % (len(s.find(ev="frame")), len(csms.frames)))
        assert {f.action for f in csms.frames if f.direction == "in" and f.kind == 2} >= {
            "BootNotification", "StatusNotification", "Authorize", "TransactionEvent"}
        assert any(e["dir"] == "in" and '"GetVariables"' in e["text"] for e in s.find(ev="frame"))
        assert not [e for e in s.find(ev="frame") if set(e) != {"ev", "dir", "text"}]
        assert s.quit() == 0
        assert not csms.violations
    finally:
        csms.close()


def test_the_event_stream_tells_the_cable_meter_seqno_close_code_and_back_off(csms, sims):
    """The events a consumer needs between two {"ev":"state"} (issue 18): the cable
    ({"ev":"cable"}, before the contactor moves), the EV's power and the energy register
    ({"ev":"meter"} when either moved: the power at once, the register at the meter's pace),
    each TransactionEvent's seqNo
    ({"ev":"tx","seq":...}: the one the CSMS received), how a connection ended ({"ev":"ws",
    "state":"closed","code":...,"reason":...}: the CSMS's close code, or 1006 when the station
    dropped it) and the back-off before the next attempt ({"ev":"backoff","s":...})."""
    s = sims(csms.url, sets={"OCPPCommCtrlr.RetryBackOffWaitMinimum": 2, "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
                             "SampledDataCtrlr.TxUpdatedInterval": 1})
    s.wait_event(ev="boot", status="Accepted")
    assert not s.find(ev="frame")  # (only with --frames)
    s.send(op="plug", evse=1)
    assert s.wait_event(ev="cable", evse=1) == {"ev": "cable", "evse": 1, "plugged": True}
    s.send(op="plug", evse=1)  # plugged already: the cable did not move
    s.send(op="tap", idToken="AA11BB22")
    s.send(op="ev_power", evse=1, w=7400)
    s.wait_event(ev="meter", evse=1, w=7400)
    s.wait_event(ev="tx", event="Updated", trigger="MeterValuePeriodic")
    s.wait_event(ev="meter", evse=1, n=3)  # (the register moved twice)
    s.send(op="unplug", evse=1)
    s.wait_event(ev="tx", event="Ended")
    assert s.find(ev="cable") == [{"ev": "cable", "evse": 1, "plugged": True}, {"ev": "cable", "evse": 1, "plugged": False}]
    evs = [e for _, e in s.events]
    assert evs.index({"ev": "cable", "evse": 1, "plugged": False}) < evs.index(
        {"ev": "relay", "evse": 1, "closed": False, "by": "interlock"})
    # seqNo: the tx events' are the CSMS's, one for one
    te = wait_until(lambda: [f.payload for f in csms.inbound("TransactionEvent")][len(s.find(ev="tx")) - 1:] and
                    [f.payload for f in csms.inbound("TransactionEvent")], 10, "every TransactionEvent at the CSMS")
    assert [(e["id"], e["seq"], e["event"]) for e in s.find(ev="tx")] == [
        (p["transactionInfo"]["transactionId"], p["seqNo"], p["eventType"]) for p in te]
    # the meter: only what moved, the power as the contactor moved it, the register once a
    # second at most; its last register is the Ended's
    meters = [(t, e) for t, e in s.events if e["ev"] == "meter"]
    assert meters[0][1]["w"] == 7400 and meters[-1][1]["w"] == 0, meters
    assert all(a["w"] != b["w"] or a["wh"] != b["wh"] for (_, a), (_, b) in zip(meters, meters[1:])), meters
    ticks = [t for (_, a), (t, b) in zip(meters, meters[1:]) if a["w"] == b["w"]]  # the register's alone
    assert len(ticks) >= 2 and all(b - a > 0.5 for a, b in zip(ticks, ticks[1:])), meters
    evs = [e for _, e in s.events]
    assert evs.index(meters[-1][1]) == evs.index({"ev": "relay", "evse": 1, "closed": False, "by": "interlock"}) + 1
    last = meters[-1][1]
    ended = te[-1]["meterValue"][-1]["sampledValue"]
    assert [v["value"] for v in ended if v.get("measurand", "Energy.Active.Import.Register")
            == "Energy.Active.Import.Register"] == [last["wh"]] and last["wh"] > 0
    # the CSMS closes the connection: its code; the back-off; the network cut: 1006
    tap = csms.csms._taps["CS001"]
    csms.run(tap.conn.close(4001, "go away"))
    s.wait_event(ev="ws", state="closed", code=4001, reason="closed by the server")
    assert s.wait_event(ev="backoff") == {"ev": "backoff", "s": 2}
    s.wait_event(ev="ws", state="connected", n=2)
    s.send(op="net", up=False)
    s.wait_event(ev="ws", state="closed", code=1006, reason="dropped by the station")
    assert s.wait_event(ev="backoff", n=2) == {"ev": "backoff", "s": 2}
    s.send(op="net", up=True)
    s.wait_event(ev="ws", state="connected", n=3)
    assert [e["code"] for e in s.find(ev="ws", state="closed")] == [4001, 1006]
    assert s.quit() == 0


def test_frames_option_a_message_over_the_bound_and_one_not_utf8(csms, sims):
    """--frames 1 with what the station cannot take whole: a message over MaxMessageBytes is
    told by the head the station read and its size ("over"), a text frame that is not UTF-8 by
    its bytes' repr; the station answers both on the one connection, as it does without the
    option (the second as not JSON: RpcFrameworkError, message id "-1")."""
    s = sims(csms.url, frames=True, sets={"MaxMessageBytes": 2048})
    s.wait_event(ev="boot", status="Accepted")
    r = csms.raw_call("CS001", "big", "DataTransfer", {"vendorId": "v", "data": "x" * 50000})
    assert r.msg[:3] == [4, "big", "FormatViolation"], r.msg
    sent = [f.text for f in csms.frames if f.direction == "out" and '"big"' in f.text[:10]][0]
    big = s.wait_event(ev="frame", dir="in", over=len(sent.encode()))
    assert sent.startswith(big["text"]) and 0 < len(big["text"]) < 2048, big
    tap = csms.csms._taps["CS001"]
    csms.run(tap.conn.send(b'[2,"nu","DataTransfer",{"vendorId":"v\xff"}]', text=True))
    assert csms.wait_reply("-1").msg[:3] == [4, "-1", "RpcFrameworkError"]
    nu = [e for e in s.find(ev="frame", dir="in") if '"nu"' in e["text"]]
    assert nu == [{"ev": "frame", "dir": "in", "text": "b'[2,\"nu\",\"DataTransfer\",{\"vendorId\":\"v\\xff\"}]'"}], nu
    assert len(csms.csms.connects) == 1 and not csms.closes
    assert s.quit() == 0
