# Unit tests of ocpp_lite.session on the unix port (one outstanding CALL, timeouts, gate).
import json
from ocpp_lite.session import PRE_BOOT, Session


class St:
    pass


def _s(timeout=10):
    logs = []
    s = Session("p-", timeout, logs.append)
    s.connected()
    return s, logs


def test_one_outstanding_call_and_unique_ids():
    s, _ = _s()
    s.accepted = True
    got = []
    done = lambda st, res, now: got.append(res)
    for a in ("A", "B", "C"):
        s.call(a, {}, done)
    s.pump(St(), 0)
    s.pump(St(), 0)
    assert len(s.out) == 1
    f = json.loads(s.out.popleft())
    assert f[:3] == [2, "p-1", "A"]
    assert s.receive(St(), ('[3,"%s",{"ok":1}]' % f[1]).encode(), 5) is None
    assert got == [{"ok": 1}]
    s.pump(St(), 5)
    assert json.loads(s.out.popleft())[1:3] == ["p-2", "B"]


def test_timeout_frees_slot():
    s, logs = _s(timeout=2)
    s.accepted = True
    got = []
    s.call("A", {}, lambda st, res, now: got.append(res))
    s.call("B", {})
    s.pump(St(), 1000)
    s.out.popleft()
    assert s.deadline(1000) == 2000
    s.tick(St(), 2999)
    assert got == []
    s.tick(St(), 3000)
    assert got == [None] and "timed out" in logs[-1]
    s.pump(St(), 3000)
    assert json.loads(s.out.popleft())[2] == "B"


def test_pre_boot_gate():
    s, _ = _s()
    s.call("StatusNotification", {})
    s.call("BootNotification", {}, None, PRE_BOOT)
    s.pump(St(), 0)
    assert json.loads(s.out.popleft())[2] == "BootNotification"
    s.receive(St(), b'[3,"p-1",{}]', 1)
    s.pump(St(), 1)
    assert not s.out  # StatusNotification waits for acceptance
    s.accepted = True
    s.pump(St(), 2)
    assert json.loads(s.out.popleft())[2] == "StatusNotification"


def test_callerror_and_disconnect_fail_the_call():
    s, _ = _s()
    s.accepted = True
    got = []
    done = lambda st, res, now: got.append(res)
    s.call("A", {}, done)
    s.pump(St(), 0)
    f = json.loads(s.out.popleft())
    s.receive(St(), ('[4,"%s","InternalError","x",{}]' % f[1]).encode(), 1)
    s.call("B", {}, done)
    s.pump(St(), 2)
    s.disconnected(St(), 3)
    assert got == [None, None] and not s.out
    s.pump(St(), 4)
    assert not s.out  # offline: nothing is written


def test_queue_is_bounded():
    s, logs = _s()
    n = 0
    while s.call("X", {}):
        n += 1
    assert n == 16 and "queue full" in logs[-1]


def test_incoming_call_returned_and_errors_answered():
    s, _ = _s()
    assert s.receive(St(), b'[2,"c1","Reset",{"type":"Immediate"}]', 0) == ("c1", "Reset", {"type": "Immediate"})
    assert s.receive(St(), b'[2,"c2"', 0) is None
    assert json.loads(s.out.popleft())[:3] == [4, "-1", "RpcFrameworkError"]
