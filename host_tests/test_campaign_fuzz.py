"""Hostile CSMS frames (issue 9 part 3): a seeded stream of malformed and adversarial frames
(host_tests/fuzzframes.py: invalid UTF-8 and JSON, deep nesting, huge numbers and strings,
wrong types, missing and extra fields, unknown actions and message types, oversized and
fragmented frames, pings, floods, WebSocket faults that close the connection) sent by a
hand-driven CSMS (host_tests/rawcsms.py) to the station on the 32-bit port with the core-sc
profile frozen in, at -X heapsize = the 50 kB RAM budget (host_tests/frozen.py).

Every answer is checked against the CPython oracle: the CALLERROR code (or a CALLRESULT valid
against the official response schema), nothing for a dropped frame, the ping payloads echoed,
the close code for a WebSocket fault; every frame the station sends is checked against RFC
6455, OCPP-J and the official schemas. Frames go out in windows closed by a sentinel CALL, so
an extra or a missing answer is seen at the window it belongs to. At the end the station is
alive, has not crashed nor run out of memory, and still does a normal GetVariables and
Heartbeat exchange. `make test` runs a sample, `make reliability` the full campaign."""

import os
import time

import pytest

import fuzzframes
import rawcsms
from frozen import FrozenSim, build_or_skip
from tools import budgets
from tools import csms as csms_mod
from tools.campaigns import records as campaign

PROFILE = "core-sc"  # every handler the oracle knows
HEAP = budgets.HARD["ram32.least_heap"]  # the station runs in the budget, not above it
FAST = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0}
WINDOW = 24  # cases per window (a flood is one case)
PROBE = 25  # windows between two heap probes
# Every message under MaxMessageBytes must be handled in the budget (issue 15): no
# out-of-memory outcome is accepted. A message this large still goes in a window of its own.
BIG = 2048


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    return build_or_skip(PROFILE, tmp_path_factory)


class Run:
    """The campaign's state: the CSMS, the station, what went wrong."""

    def __init__(self, exe, state):
        self.c = rawcsms.RawCsms()
        self.s = FrozenSim(exe, state, self.c.url, HEAP, sets=FAST)
        self.failures = []
        self.frames = 0
        self.answers = 0
        self.closes = 0
        self.sentinel = 0
        self.used = []  # heap in use (before a collection) at every probe
        self.s.wait_event(ev="boot", status="Accepted", timeout=20)
        self.c.wait(lambda: self.c.conn is not None, 5, "the connection")

    def fail(self, what, case=None):
        self.failures.append("%s%s" % (what, "" if case is None else " in %r" % case))

    def _conn_answers(self, conn, start):
        return [m for no, m in self.c.answers[start:] if no == conn.no]

    def window(self, cases):
        """Send cases and a sentinel CALL on the current connection; check every answer and pong."""
        c = self.c
        conn = c.conn
        with c.cond:
            a0 = len(c.answers)
            p0 = len(conn.pongs())
        l0 = len(self.s.log)
        self.sentinel += 1
        sid = "sentinel-%d" % self.sentinel
        want = [(case, a) for case in cases for a in case.answers]
        pings = [p for case in cases for p in case.pongs]
        for case in cases:
            conn.send(case.wire)
        conn.send(rawcsms.text('[2,"%s","ClearCache",{}]' % sid))
        self.frames += sum(_count(case) for case in cases) + 1
        try:
            c.wait(lambda: any(m[1] == sid for m in self._conn_answers(conn, a0)) or conn.closed, 30,
                   "the sentinel %s" % sid)
        except AssertionError as e:
            return self.fail(str(e), cases)
        got = self._conn_answers(conn, a0)
        if not got or got[-1][1] != sid:
            self.fail("no answer to the sentinel (connection closed %s, code %s; %s)"
                      % (conn.closed, conn.close_code, self.s.log[l0:][-3:]), cases)
            conn.shut()
            return c.wait(lambda: c.conn is not conn, 20, "the station to reconnect")
        got = got[:-1]
        self.answers += len(got) + 1
        j = 0
        for case, (kind, mid, what, size) in want:
            m = got[j] if j < len(got) else None
            err = "no answer" if m is None else check_answer(m, kind, mid, what)
            j += 1
            if err:
                self.fail("%s; answers %r for %r" % (err, [x[1:3] for x in got], [a[1:3] for _, a in want]), case)
                break
        else:
            if j != len(got):
                self.fail("answers left over: %r for %r" % ([x[1:3] for x in got[j:]], [a[1:3] for _, a in want]),
                          cases)
        try:
            c.wait(lambda: len(conn.pongs()) >= p0 + len(pings), 5, "pongs")
        except AssertionError:
            pass
        pongs = conn.pongs()[p0:]
        if pongs != pings:
            self.fail("pongs %r for pings %r" % ([p[:8] for p in pongs], [p[:8] for p in pings]), cases)

    def closing(self, case):
        """A WebSocket fault: the station must close with one of case.close, then reconnect."""
        c = self.c
        conn = c.conn
        n = len(c.conns)
        conn.send(case.wire)
        self.frames += 1
        self.closes += 1
        try:
            c.wait(lambda: conn.close_code is not None or conn.closed, 15, "the station to close")
        except AssertionError as e:
            return self.fail(str(e), case)
        if conn.close_code not in case.close:
            self.fail("close code %s, expected %s" % (conn.close_code, sorted(case.close)), case)
        conn.shut()
        try:
            c.wait(lambda: len(c.conns) > n, 20, "the station to reconnect")
        except AssertionError as e:
            self.fail(str(e), case)

    def probe(self):
        m = self.s.mem()
        self.used.append(m["used"])

    def close(self):
        try:
            self.s.close()
        finally:
            self.c.close()


def _size(case):
    """Bytes of the largest message a case sends."""
    return max([a[3] for a in case.answers] + [len(case.wire) if not case.answers else 0])


def _count(case):
    """Messages and control frames in a case (a flood holds many)."""
    b = case.wire
    i = n = 0
    while i + 2 <= len(b):
        k = b[i + 1] & 0x7F
        h = 2 if k < 126 else 4 if k == 126 else 10
        k = k if k < 126 else int.from_bytes(b[i + 2:i + h], "big")
        if b[i] & 0x80:  # FIN: a message or a control frame ends here
            n += 1
        i += h + k
    return max(n, 1)


def check_answer(m, kind, mid, what):
    """None when the station's answer m is the one expected, else what is wrong."""
    if m[1] != mid:
        return "answer %r to id %r" % (m[:4], mid)
    if kind == "E":
        if m[0] != 4 or m[2] not in what:
            return "answer %r, expected a CALLERROR %s" % (m[:4], sorted(what))
        return None
    if m[0] != 3:
        return "answer %r, expected a CALLRESULT of %s" % (m[:4], what)
    errs = csms_mod.schema_errors(what + "Response", m[2])
    return "%s answer %r breaks the schema: %s" % (what, m[2], errs) if errs else None


def normal_exchange(run):
    """The station still does what a CSMS asks: GetVariables, TriggerMessage Heartbeat."""
    c = run.c
    c.call("after-1", "GetVariables", {"getVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
    r = c.answer("after-1")
    assert r[0] == 3 and r[2]["getVariableResult"][0]["attributeValue"] == "300", r
    n = len(c.actions("Heartbeat"))
    c.call("after-2", "TriggerMessage", {"requestedMessage": "Heartbeat"})
    assert c.answer("after-2")[2] == {"status": "Accepted"}
    c.wait(lambda: len(c.actions("Heartbeat")) > n, 10, "the triggered Heartbeat")


def test_hostile_frames(exe, tmp_path):
    """campaign.scale: about 3000 frames in `make test`, about 40000 in `make reliability`
    (seed FUZZ_SEED): each answer as the oracle says, the station alive, within the budget."""
    t0 = time.monotonic()
    seed = int(os.environ.get("FUZZ_SEED", 2024))
    target = campaign.scale(3000, 40000)
    closings = campaign.scale(6, 60)
    gen = fuzzframes.Frames(seed)
    run = Run(exe, tmp_path / "flash")
    try:
        close_every = max(1, target // (closings * WINDOW * 8))  # windows between two WebSocket faults
        windows = 0
        while run.frames < target and len(run.failures) < 20:
            cases = [gen.case() for _ in range(WINDOW)]
            for big in [k for k in cases if _size(k) >= BIG]:
                run.window([big])
            run.window([k for k in cases if _size(k) < BIG])
            windows += 1
            if windows % close_every == 0 and run.closes < closings:
                run.closing(gen.closing())
            if windows % PROBE == 0:
                run.probe()
            if run.s.p.poll() is not None:
                run.fail("the station exited: %s" % run.s.log[-10:])
                break
        run.probe()
        try:
            normal_exchange(run)
        except AssertionError as e:
            run.fail("no normal exchange after the campaign: %s" % e)
        crashed = run.s.crashed()
        violations = list(run.c.violations)
        failures = run.failures + ["crash: %s" % x for x in crashed] + ["violation: %s %s" % v for v in violations]
        oom = [x for x in run.s.log if "out of memory" in x]
        failures += ["%s (no out of memory is accepted under MaxMessageBytes)" % x for x in oom[:3]]
        high = max(run.used)
        campaign.record("test_campaign_fuzz::hostile_frames", time.monotonic() - t0, frames=run.frames,
                        messages=run.answers, failures=len(failures),
                        notes="seed %d, %s frozen on the 32-bit port at -X heapsize=%d; %d WebSocket faults; "
                              "heap in use at the probes: max %d, last %d; %d out-of-memory log lines"
                              % (seed, PROFILE, HEAP, run.closes, high, run.used[-1], len(oom)))
        assert not failures, "\n".join(failures[:20])
        assert high < HEAP
        assert run.s.p.poll() is None
    finally:
        run.close()
