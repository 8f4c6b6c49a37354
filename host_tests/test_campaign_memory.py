"""Memory pressure (issue 9 part 4): the station on the 32-bit port with the lite profile frozen
in (host_tests/frozen.py), at the least heap the footprint tool reports for it
(build/footprint.json, ram32.least_heap; without a report, measured by the same bisection,
tools/footprint/cli.py least_heaps) plus a small margin, runs the scenarios: boot, GetBaseReport
FullInventory, a charging session with meter values, an offline period with the flash queue and
the reconnection. Nothing queued may be lost; a MemoryError, if one happens, must end at a task
boundary (runtime/app.py) as a MemoryExhaustion security event the CSMS receives, and the
station must carry on. Every legal message fits: a DataTransfer of MaxMessageBytes while a
transaction runs is answered (the footprint's least heap includes the largest message). One test
forces the MemoryError: MaxMessageBytes raised by the integrator beyond what the heap holds, and
a message that size, while transaction events wait in the flash queue.

`make test` runs every scenario once, `make reliability` (OCPP_LITE_CAMPAIGN=full) repeats each
of them (campaign.scale)."""

import json
import pathlib
import shutil
import tempfile
import time

import pytest

from tools.campaigns import records as campaign
from tools.footprint.session import COSTLIEST, largest_text
from tools.largest import MAX_MSG
import rawcsms
from frozen import FrozenSim, build_or_skip
from helpers import ROOT, wait_until

PROFILE = "lite"
# bytes above the least heap: the largest message's peak depends on when it meets the meter
# values' work, and the least heap is one run's (measured at a29e999: 1 of 6 runs of that
# scenario passed at + 2 kB, 6 of 6 at + 3 kB)
MARGIN = 3072
FAST = {"SampledDataCtrlr.TxUpdatedInterval": 1, "OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
        "OCPPCommCtrlr.RetryBackOffRandomRange": 0}


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    return build_or_skip(PROFILE, tmp_path_factory)


_least = {}


def least_heap(exe):
    """(bytes, where the figure comes from): the footprint report's ram32.least_heap of the
    profile, or the same bisection the footprint tool runs."""
    if PROFILE not in _least:
        path = ROOT / "build" / "footprint.json"
        fig = None
        if path.exists():
            fig = json.loads(path.read_text()).get("profiles", {}).get(PROFILE, {}).get("ram32", {}).get("least_heap")
        if fig:
            _least[PROFILE] = (fig, "build/footprint.json")
        else:
            from tools.footprint import cli as footprint  # the reference session and bisection
            res, _ = footprint.session(None, exe=str(exe))
            least, _ = footprint.least_heaps(None, res["steps"], None, res["mem"]["boot"]["live"], str(exe),
                                             whole=True)
            if not least:
                pytest.fail("the reference session does not complete on the 32-bit port")
            _least[PROFILE] = (list(least.values())[-1], "bisection")
    return _least[PROFILE]


class Rig:
    def __init__(self, exe, sets=None):
        # The flash directory's path is short, as on a board ("/flash") and in the footprint's
        # session: every file the station opens builds its path, and pytest's tmp_path (80
        # characters) costs enough heap to tip a message at the least heap into MemoryError.
        self.state = pathlib.Path(tempfile.mkdtemp(prefix="mem-"))
        self.least, self.source = least_heap(exe)
        self.heap = self.least + MARGIN
        self.c = rawcsms.RawCsms()
        self.s = FrozenSim(exe, self.state / "flash", self.c.url, self.heap, sets=dict(FAST, **(sets or {})))
        self.s.wait_event(ev="boot", status="Accepted", timeout=20)

    def close(self):
        try:
            self.s.close()
        finally:
            self.c.close()
            shutil.rmtree(self.state, ignore_errors=True)

    def wait_calls(self, action, n, timeout=20):
        return self.c.wait(lambda: len(self.c.actions(action)) >= n, timeout, "%d x %s" % (n, action))

    def session(self, token, power_s=3):
        s = self.s
        s.send(op="plug", evse=1)
        s.send(op="tap", idToken=token)
        s.wait_event(ev="relay", closed=True, timeout=10)
        s.send(op="ev_power", evse=1, w=7200)
        time.sleep(power_s)
        s.send(op="tap", idToken=token)
        s.wait_event(ev="tx", event="Ended", n=len(s.find(ev="tx", event="Ended")) + 1, timeout=10)
        s.send(op="unplug", evse=1)

    def settle(self, timeout=30):
        """The flash queue empty and no CALL of the station waiting."""
        wait_until(lambda: not list(self.s.state.glob("q_*")), timeout, "the flash queue to drain")

    def exchange(self, mid):
        """A normal round trip: the station still works."""
        self.c.call(mid, "GetVariables", {"getVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
        r = self.c.answer(mid, timeout=15)
        assert r[0] == 3 and r[2]["getVariableResult"][0]["attributeStatus"] == "Accepted", r

    def check(self):
        """What must hold after every scenario; returns (messages checked, failures)."""
        failures = ["crash: %s" % x for x in self.s.crashed()] + ["violation: %s %s" % v for v in self.c.violations]
        oom = [x for x in self.s.log if "out of memory" in x or "MemoryError" in x]
        events = [m[3] for m in self.c.actions("SecurityEventNotification") if m[3]["type"] == "MemoryExhaustion"]
        if [x for x in oom if "out of memory" in x] and not events:
            failures.append("out of memory (%s) and no MemoryExhaustion event reached the CSMS" % oom[:3])
        if self.s.p.poll() is not None:
            failures.append("the station exited")
        failures += transactions(self.c)
        return len(self.c.calls) + len(self.c.answers), failures, len(oom)


def transactions(c):
    """Every transaction complete, seqNo without gaps, nothing twice but the same message again."""
    bad = []
    by_tx = {}
    for m in c.actions("TransactionEvent"):
        p = m[3]
        seen = by_tx.setdefault(p["transactionInfo"]["transactionId"], {})
        if p["seqNo"] in seen and seen[p["seqNo"]] != (m[1], p):
            bad.append("seqNo %d twice in %s" % (p["seqNo"], p["transactionInfo"]["transactionId"]))
        seen[p["seqNo"]] = (m[1], p)
    for tid, seen in by_tx.items():
        kinds = [seen[k][1]["eventType"] for k in sorted(seen)]
        if sorted(seen) != list(range(len(seen))) or kinds[0] != "Started" or kinds[-1] != "Ended":
            bad.append("transaction %s incomplete: %s %s" % (tid, sorted(seen), kinds))
    return bad


def scenario_boot(rig):
    rig.wait_calls("StatusNotification", 1)
    events = [m[3]["type"] for m in rig.wait_calls("SecurityEventNotification", 1) and
              rig.c.actions("SecurityEventNotification")]
    assert "StartupOfTheDevice" in events


def scenario_get_base_report(rig):
    n = len(rig.c.actions("NotifyReport"))
    rig.c.call("gbr", "GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"})
    assert rig.c.answer("gbr")[2]["status"] == "Accepted"
    rig.c.wait(lambda: any(m[3]["requestId"] == 7 and not m[3].get("tbc") for m in rig.c.actions("NotifyReport")[n:]),
               30, "the last NotifyReport")
    pages = [m[3] for m in rig.c.actions("NotifyReport")[n:] if m[3]["requestId"] == 7]
    assert [p["seqNo"] for p in pages] == list(range(len(pages)))
    assert sum(len(p.get("reportData", [])) for p in pages) >= 50


def scenario_charging(rig):
    rig.session("MEM-1", power_s=4)
    rig.settle()
    ups = [m[3] for m in rig.c.actions("TransactionEvent") if m[3]["triggerReason"] == "MeterValuePeriodic"]
    assert ups, "no periodic meter values"


def scenario_offline(rig):
    """Events made while offline wait in the flash queue and all arrive after the reconnection."""
    s = rig.s
    n = len(rig.c.conns)
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken="MEM-2")
    s.wait_event(ev="relay", closed=True, timeout=10)
    s.send(op="ev_power", evse=1, w=7200)
    time.sleep(1.5)
    s.send(op="net", up=False)
    time.sleep(2.5)  # MeterValuePeriodic events, queued
    s.send(op="tap", idToken="MEM-2")
    s.wait_event(ev="tx", event="Ended", timeout=10)
    s.send(op="unplug", evse=1)
    time.sleep(0.5)
    assert list(s.state.glob("q_*")), "nothing was queued while offline"
    s.send(op="net", up=True)
    rig.c.wait(lambda: len(rig.c.conns) > n, 30, "the reconnection")
    rig.settle()
    assert any(m[3].get("offline") for m in rig.c.actions("TransactionEvent"))


def scenario_largest_message(rig):
    """The costliest message the station parses (tools/footprint/session.py largest_text: the
    largest RequestStartTransaction padded with customData to MaxMessageBytes), while a
    transaction sends meter values every second: parsed and answered (Rejected: no such EVSE),
    not InternalError."""
    s = rig.s
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken="MEM-3")
    s.wait_event(ev="relay", closed=True, timeout=10)
    n = len(rig.c.actions("TransactionEvent"))
    s.send(op="ev_power", evse=1, w=7200)
    rig.c.wait(lambda: any(m[3]["triggerReason"] == "MeterValuePeriodic" for m in rig.c.actions("TransactionEvent")[n:]),
               10, "meter values")
    mid = "largest-%d" % len(rig.c.answers)
    rig.c.sent[mid] = COSTLIEST
    rig.c.send(rawcsms.text(largest_text(mid)))
    r = rig.c.answer(mid, timeout=15)
    assert r[:2] == [3, mid] and r[2]["status"] == "Rejected", r[:4]
    ended = len(s.find(ev="tx", event="Ended"))
    s.send(op="tap", idToken="MEM-3")
    s.wait_event(ev="tx", event="Ended", n=ended + 1, timeout=10)
    s.send(op="unplug", evse=1)
    rig.settle()


SCENARIOS = {"boot": scenario_boot, "get_base_report": scenario_get_base_report, "charging": scenario_charging,
             "offline": scenario_offline, "largest_message": scenario_largest_message}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_at_the_least_heap(exe, name):
    """Each scenario (campaign.scale: once in `make test`, 5 times in `make reliability`) at
    the least heap + MARGIN: done, nothing lost, any MemoryError recorded and survived."""
    t0 = time.monotonic()
    rounds = campaign.scale(1, 5)
    failures = []
    rig = Rig(exe)
    try:
        for i in range(rounds):
            try:
                SCENARIOS[name](rig)
                rig.exchange("after-%d" % i)
            except AssertionError as e:
                failures.append("round %d: %s" % (i, e))
        used = rig.s.mem()["used"]
        messages, more, ooms = rig.check()
        failures += more
        txs = {m[3]["transactionInfo"]["transactionId"] for m in rig.c.actions("TransactionEvent")}
        campaign.record("test_campaign_memory::%s" % name, time.monotonic() - t0, messages=messages, sessions=len(txs),
                        failures=len(failures),
                        notes="%s frozen on the 32-bit port at -X heapsize=%d (least heap %d from %s + %d); %d "
                              "rounds; heap in use at the end %d; %d out-of-memory log lines"
                              % (PROFILE, rig.heap, rig.least, rig.source, MARGIN, rounds, used, ooms))
        assert not failures, "\n".join(failures) + "\nlog tail:\n" + "\n".join(rig.s.log[-20:])
    finally:
        rig.close()


def test_forced_memory_error_is_recorded_and_survived(exe):
    """MaxMessageBytes raised to sixteen times the default (more than this heap holds: the
    integrator's mistake) and a DataTransfer under it as large as the whole heap, sent while
    transaction events wait in the flash queue: answered InternalError, a MemoryExhaustion
    security event reaches the CSMS, every queued event arrives, and the station goes on (a
    GetVariables round trip, another charging session)."""
    t0 = time.monotonic()
    rig = Rig(exe, {"MaxMessageBytes": 16 * MAX_MSG})
    failures = []
    try:
        s = rig.s
        n = len(rig.c.conns)
        s.send(op="plug", evse=1)
        s.send(op="tap", idToken="OOM-1")
        s.wait_event(ev="relay", closed=True, timeout=10)
        s.send(op="ev_power", evse=1, w=7200)
        s.send(op="net", up=False)
        time.sleep(2.5)
        s.send(op="tap", idToken="OOM-1")
        s.wait_event(ev="tx", event="Ended", timeout=10)
        s.send(op="unplug", evse=1)
        time.sleep(0.5)
        queued = len(list(s.state.glob("q_*")))
        assert queued >= 2, "nothing queued while offline"
        rig.c.hold.add("TransactionEvent")  # the queue stays full while the big message comes
        s.send(op="net", up=True)
        rig.c.wait(lambda: len(rig.c.conns) > n, 30, "the reconnection")
        rig.c.wait(lambda: rig.c.actions("TransactionEvent"), 10, "the first queued event")
        big = '[2,"big-1","DataTransfer",{"vendorId":"v","data":"%s"}]' % ("x" * rig.heap)  # more than is free
        rig.c.sent["big-1"] = "DataTransfer"
        conn = rig.c.conn
        a0 = len(rig.c.answers)
        rig.c.send(rawcsms.text(big))
        # no memory to parse it: answered InternalError; or none for the message itself, and
        # the connection drops (the MemoryError hits the reader, which ends the connection)
        rig.c.wait(lambda: conn.closed or any(a[1][1] == "big-1" for a in rig.c.answers[a0:]), 15,
                   "the answer to big-1 or the connection's end")
        r = [a for _, a in rig.c.answers[a0:] if a[1] == "big-1"]
        if r and r[0][:4] != [4, "big-1", "InternalError", "out of memory"]:
            failures.append("the big message was answered %r: no MemoryError forced at heap %d" % (r[0][:4], rig.heap))
        if not r:  # the station's log line may come a moment after the connection's end
            try:
                wait_until(lambda: [x for x in s.log if "out of memory: reading a message" in x], 10,
                           "the reader's MemoryError in the log")
            except AssertionError:
                failures.append("no answer to the big message and no MemoryError in the reader")
        rig.c.hold.discard("TransactionEvent")
        rig.s.send(op="net", up=False)  # the held CALL goes again on the next connection
        time.sleep(0.5)
        n = len(rig.c.conns)
        rig.s.send(op="net", up=True)
        rig.c.wait(lambda: len(rig.c.conns) > n, 30, "the reconnection")
        rig.settle()
        rig.c.wait(lambda: any(m[3]["type"] == "MemoryExhaustion" for m in rig.c.actions("SecurityEventNotification")),
                   20, "the MemoryExhaustion event")
        rig.exchange("after-oom")
        rig.session("OOM-2", power_s=2)
        rig.settle()
        messages, more, ooms = rig.check()
        failures += more
        ended = [m for m in rig.c.actions("TransactionEvent") if m[3]["eventType"] == "Ended"]
        if len({m[3]["transactionInfo"]["transactionId"] for m in ended}) != 2:
            failures.append("%d transactions ended, 2 expected" % len(ended))
        campaign.record("test_campaign_memory::forced_memory_error", time.monotonic() - t0, messages=messages,
                        sessions=2, failures=len(failures),
                        notes="%s at -X heapsize=%d; %d events queued when the heap-sized message came; %d out-of-memory "
                              "log lines" % (PROFILE, rig.heap, queued, ooms))
        assert not failures, "\n".join(failures) + "\nlog tail:\n" + "\n".join(rig.s.log[-20:])
    finally:
        rig.close()
