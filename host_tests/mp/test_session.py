# Unit tests of ocpp_lite.engine.session on the unix port (one outstanding CALL, timeouts, gate).
import json
from fakes import Queue, text
from ocpp_lite.engine.session import PRE_BOOT, Session


class Transactions:
    def __init__(self, answered):
        self._answered = answered

    def answered(self, m, res, now):
        self._answered.append((m["a"], res))


class Boot:
    state = 0


class Reset:
    def Reset(self, p, now):
        return {"status": "Accepted"}


class St:
    def __init__(self):
        self.q = Queue()
        self.answered = []
        self.transactions = Transactions(self.answered)
        self.boot = Boot()
        self.reset = Reset()  # the one service: any other CSMS action is answered without parsing

    def attempts(self):
        return 3, 10

    def offers(self, name):  # (Station.offers: whether the build has the service)
        return getattr(self, name, None) is not None


def _receive(s, st, buf, now):
    """The session's part of taking a frame (Session.receive without the dispatch and the
    station's tick): (id, action, payload) of a CALL, else None."""
    s._now = now
    return s._take(st, buf, now)


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
    f = json.loads(text(s.out.popleft()))
    assert f[:3] == [2, "p-1", "A"]
    assert _receive(s, St(), ('[3,"%s",{"ok":1}]' % f[1]).encode(), 5) is None
    assert got == [{"ok": 1}]
    s.pump(St(), 5)
    assert json.loads(text(s.out.popleft()))[1:3] == ["p-2", "B"]


def test_timeout_frees_slot():
    s, logs = _s(timeout=2)
    s.accepted = True
    got = []
    s.call("A", {}, lambda st, res, now: got.append(res))
    s.call("B", {})
    s.pump(St(), 1000)
    s.out.popleft()
    assert s.deadline(St(), 1000) == 2000
    s.tick(St(), 2999)
    assert got == []
    s.tick(St(), 3000)
    assert got == [None] and "timed out" in logs[-1]
    s.pump(St(), 3000)
    assert json.loads(text(s.out.popleft()))[2] == "B"


def test_pre_boot_gate():
    s, _ = _s()
    s.call("StatusNotification", {})
    s.call("BootNotification", {}, None, PRE_BOOT)
    s.pump(St(), 0)
    assert json.loads(text(s.out.popleft()))[2] == "BootNotification"
    _receive(s, St(), b'[3,"p-1",{}]', 1)
    s.pump(St(), 1)
    assert not s.out  # StatusNotification waits for acceptance
    s.accepted = True
    s.pump(St(), 2)
    assert json.loads(text(s.out.popleft()))[2] == "StatusNotification"


def test_callerror_and_disconnect_fail_the_call():
    s, _ = _s()
    s.accepted = True
    got = []
    done = lambda st, res, now: got.append(res)
    s.call("A", {}, done)
    s.pump(St(), 0)
    f = json.loads(text(s.out.popleft()))
    _receive(s, St(), ('[4,"%s","InternalError","x",{}]' % f[1]).encode(), 1)
    s.call("B", {}, done)
    s.pump(St(), 2)
    s.disconnected(St(), 3)
    assert got == [None, None] and not s.out
    s.pump(St(), 4)
    assert not s.out  # offline: nothing is written


def test_queue_is_bounded_and_a_dropped_call_learns_its_fate():
    s, logs = _s()
    got = []
    for i in range(16):
        assert s.call("X", {"i": i}, lambda st, res, now, i=i: got.append((i, res)))
    assert s.call("Y", {}) and "queue full, X dropped" in logs[-1]
    assert got == [(0, None)] and len(s._q) == 16  # the oldest best-effort one made room


def test_incoming_call_returned_and_errors_answered():
    s, _ = _s()
    assert _receive(s, St(), b'[2,"c1","Reset",{"type":"Immediate"}]', 0) == ("c1", "Reset", {"type": "Immediate"})
    assert _receive(s, St(), b'[2,"c2"', 0) is None
    assert json.loads(text(s.out.popleft()))[:3] == [4, "-1", "RpcFrameworkError"]


def test_flash_messages_in_order_with_ids_kept_and_e13_retries():
    s, logs = _s(timeout=1)
    st = St()
    s.accepted = True
    s.call("StatusNotification", {})
    s.keep(st, "TransactionEvent", {"seqNo": 0}, "tx1")
    s.call("Heartbeat", {})
    sent = []
    now = 0
    for _ in range(3):
        s.pump(st, now)
        f = json.loads(text(s.out.popleft()))
        sent.append(f[2])
        _receive(s, st, ('[3,"%s",{}]' % f[1]).encode(), now)
    assert sent == ["StatusNotification", "TransactionEvent", "Heartbeat"]  # order made
    assert st.answered == [("TransactionEvent", {})] and len(st.q) == 0
    # a TransactionEvent that fails is retried after interval * attempts (E13), same id
    s.keep(st, "TransactionEvent", {"seqNo": 1}, "tx1")
    s.pump(st, 0)
    f1 = json.loads(text(s.out.popleft()))
    _receive(s, st, ('[4,"%s","InternalError","",{}]' % f1[1]).encode(), 100)
    assert s.wait[0] == 10100
    s.pump(st, 10099)
    assert not s.out
    s.pump(st, 10100)
    f2 = json.loads(text(s.out.popleft()))
    assert f2[1] == f1[1]
    s.tick(st, 11100)  # timed out: second failure, next wait 2 * 10 s
    assert s.wait[0] == 31100
    s.pump(st, 31100)
    s.out.popleft()
    s.tick(st, 32100)  # third failure of MessageAttempts = 3: given up (E13.FR.04)
    assert len(st.q) == 0 and st.answered[-1] == ("TransactionEvent", None) and "given up" in logs[-1]


def test_flash_messages_wait_for_acceptance_and_survive_disconnects():
    s, _ = _s(timeout=5)
    st = St()
    s.keep(st, "TransactionEvent", {"seqNo": 0}, "tx1")
    s.pump(st, 0)
    assert not s.out  # not before BootNotification is Accepted (B01.FR.08)
    s.accepted = True
    s.pump(st, 0)
    s.out.popleft()
    s.disconnected(st, 1)
    assert len(st.q) == 1 and s.tries[0] == 0  # offline: kept, not counted as an attempt


def test_timeout_of_a_flash_message_is_an_attempt_only_when_the_link_answers_the_probe():
    s, logs = _s(timeout=1)
    st = St()
    probes = []
    s.probe = lambda: probes.append(1)
    s.accepted = True
    s.keep(st, "TransactionEvent", {"seqNo": 0}, "tx1")
    s.pump(st, 0)
    f1 = json.loads(text(s.out.popleft()))
    s.tick(st, 1000)  # timed out: the link is checked first, nothing counted yet
    assert probes == [1] and s.tries[0] == 0 and s.wait[0] is None
    s.pump(st, 5000)
    assert not s.out and s.deadline(st, 5000) is None  # held while the link is in doubt
    s.alive(st, 1200)  # the pong came: the CSMS left it unanswered, an E13 attempt
    assert s.tries[0] == 1 and s.wait[0] == 11000  # timed from the timeout
    s.pump(st, 11000)
    f2 = json.loads(text(s.out.popleft()))
    assert f2[1] == f1[1]
    s.tick(st, 12000)  # timed out again, and this time the link is dead
    assert probes == [1, 1] and s.tries[0] == 1
    s.disconnected(st, 13000)
    assert s.tries[0] == 1 and len(st.q) == 1  # kept for the next connection (E11), not counted
    s.connected()
    s.pump(st, 14000)
    assert json.loads(text(s.out.popleft()))[1] == f1[1]  # sent again at once, same id
    _receive(s, st, ('[3,"%s",{}]' % f1[1]).encode(), 14100)
    assert len(st.q) == 0 and st.answered == [("TransactionEvent", {})] and not [x for x in logs if "given up" in x]


def test_a_message_over_the_bound_is_answered_from_its_head():
    """runtime/ws.py keeps only the head of a message over MaxMessageBytes: a CALL is answered
    FormatViolation, a response ends the CALL it answers as failed, anything else is dropped."""
    s, logs = _s()
    s.accepted = True
    assert s._over(St(), bytearray(b' [ 2 , "c9" , "InstallCertificate", {"certificateType":"CSMSRoot'), 9000, 0) \
        is None
    f = json.loads(text(s.out.popleft()))
    assert f[:3] == [4, "c9", "FormatViolation"] and "9000 bytes" in f[3] and "over MaxMessageBytes" in logs[-1]
    got = []
    s.call("Authorize", {}, lambda st, res, now: got.append(res))
    s.pump(St(), 0)
    mid = json.loads(text(s.out.popleft()))[1]
    s._over(St(), bytearray(b'[3,"other",{"idTokenInfo":{"status":"Acc'), 9000, 1)
    assert not got and not s.out  # not the CALL's answer: dropped
    s._over(St(), bytearray(('[3,"%s",{"idTokenInfo":{"status":"Acc' % mid).encode()), 9000, 2)
    assert got == [None] and not s.out
    s._over(St(), bytearray(b'{"not": "a message"'), 9000, 3)
    assert not s.out
