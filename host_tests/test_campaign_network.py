"""Network chaos (issue 9): a proxy on 127.0.0.1 between the station and the CSMS
(host_tests/chaosproxy.py) resets and closes connections, stalls and delays either direction,
half-closes, cuts frames in the middle and refuses new connections, on a seeded random
schedule; the CSMS (tools/csms.py, its `misbehave` hook) stops answering, answers late
(after MessageTimeout), twice, or with a wrong message id. Meanwhile charging sessions run.

Checked against the CSMS's record of frames (and the proxy's, which sees what the station
sees): reconnects follow RetryBackOffWaitMinimum / RandomRange / RepeatTimes; the station
never has two CALLs outstanding; every TransactionEvent and critical security event (the
messages kept in the flash queue) reaches the CSMS exactly once and in order: seqNo from 0
without gaps, Started .. Ended, a message seen again only as a retransmission with the same
message id and payload; the contactor closes only inside a transaction and no network fault
opens it; the station never crashes (the sims fixture) and its heap does not grow.

`make test` runs a sample, `make reliability` the full campaign (tools/campaigns/records.py);
OCPP_LITE_CHAOS_SEED picks another seed."""

import collections
import json
import os
import random
import threading
import time

import pytest

from tools.campaigns import records as campaign
from chaosproxy import ChaosProxy
from helpers import wait_until

SEED = int(os.environ.get("OCPP_LITE_CHAOS_SEED", 9))
T = 2  # MessageTimeout, s
SETS = {
    "MessageTimeout": T,
    "OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
    "OCPPCommCtrlr.RetryBackOffRandomRange": 1,
    "OCPPCommCtrlr.RetryBackOffRepeatTimes": 2,
    "OCPPCommCtrlr.WebSocketPingInterval": 2,
    "OCPPCommCtrlr.MessageAttempts[TransactionEvent]": 3,
    "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": 1,
    "SampledDataCtrlr.TxUpdatedInterval": 1,
}
KEPT = ("TransactionEvent", "SecurityEventNotification")


@pytest.fixture
def proxy(csms, closing):
    return closing(ChaosProxy(csms.csms.port))


# --- checks --------------------------------------------------------------------------------
def check_one_call_outstanding(csms, proxy=None, slack=0.0):
    """Per connection, a station CALL follows the one before only after that one's CALLRESULT /
    CALLERROR or after MessageTimeout. At the CSMS (slack: how much the proxy's delays may
    have moved a CALL's arrival; None: not checked there, the proxy's stalls may hold a CALL
    for seconds), and in the proxy's record, which sees what the station sees: a reply counts
    when it was delivered to the station. Returns the CALLs checked."""
    problems = []
    frames = list(csms.frames)
    by_conn = collections.defaultdict(list)
    for f in frames:
        by_conn[f.conn].append(f)
    n = 0
    for fs in by_conn.values():
        calls = [f for f in fs if f.direction == "in" and f.kind == 2]
        n += len(calls)
        for x, y in zip(calls, calls[1:]) if slack is not None else ():
            answered = any(f.direction == "out" and f.kind in (3, 4) and f.id == x.id and x.t <= f.t <= y.t
                           for f in fs)
            if not answered and y.t - x.t < T - 0.1 - slack:
                problems.append(("csms", x, y, round(y.t - x.t, 3)))
    if proxy is not None:
        by_conn = collections.defaultdict(list)
        for m in proxy.messages():
            by_conn[m["conn"]].append(m)
        for ms in by_conn.values():
            calls = [m for m in ms if m["dir"] == "up" and isinstance(m["msg"], list) and m["msg"][:1] == [2]]
            first = {}  # message id -> when it first reached the proxy on this connection
            for m in calls:
                first.setdefault(m["msg"][1], m["t_in"])
            for x, y in zip(calls, calls[1:]):
                # (a retransmission, same id, is answered by a late answer to the message sent
                # before too, one that crossed it on the wire: delivered before it arrived)
                answered = any(m["dir"] == "down" and isinstance(m["msg"], list) and m["msg"][0] in (3, 4)
                               and m["msg"][1] == x["msg"][1] and first[x["msg"][1]] <= m["t_out"] <= y["t_in"]
                               for m in ms)
                if not answered and y["t_in"] - x["t_in"] < T - 0.1:
                    problems.append(("proxy", x["text"][:60], y["text"][:60], round(y["t_in"] - x["t_in"], 3)))
    assert not problems, problems
    return n


def check_kept_messages(csms, sim):
    """Every TransactionEvent and critical security event the station made reached the CSMS
    exactly once, in order. Returns (transactions, messages checked, retransmissions)."""
    frames = [f for f in csms.inbound() if f.action in KEPT]
    first = {}  # message id -> first frame
    retrans = 0
    for f in frames:
        if f.id in first:  # a retransmission: the same message, the same id
            assert first[f.id].text == f.text, (first[f.id], f)
            retrans += 1
        else:
            first[f.id] = f
    # TransactionEvents: per transaction seqNo 0.. without gaps, each once, in order
    made = collections.Counter(e["id"] for e in sim.find(ev="tx"))
    by_tx = collections.defaultdict(list)
    for f in first.values():
        if f.action == "TransactionEvent":
            by_tx[f.payload["transactionInfo"]["transactionId"]].append(f.payload)
    assert set(by_tx) == set(made), (sorted(by_tx), sorted(made))
    for tid, events in by_tx.items():
        seqs = [e["seqNo"] for e in events]
        assert seqs == list(range(made[tid])), (tid, seqs, made[tid])  # once each, in order, no gap
        assert events[0]["eventType"] == "Started" and events[-1]["eventType"] == "Ended", (tid, events)
        assert all(e["eventType"] == "Updated" for e in events[1:-1]), tid
        wh = [sv["value"] for e in events for mv in e.get("meterValue", []) for sv in mv["sampledValue"]
              if sv.get("measurand") == "Energy.Active.Import.Register"]
        assert wh == sorted(wh), (tid, wh)
    order = [int(t.rsplit("-", 1)[1]) for t in by_tx]  # transactions reach the CSMS in order too
    assert order == sorted(order), list(by_tx)
    # critical security events: each once
    shown = collections.Counter(e["type"] for e in sim.find(ev="security"))
    sent = collections.Counter(f.payload["type"] for f in first.values() if f.action == "SecurityEventNotification")
    assert sent == collections.Counter({k: v for k, v in shown.items() if k in sent or _critical(k)}), (sent, shown)
    return len(by_tx), len(first), retrans


def _critical(kind):
    return kind in ("StartupOfTheDevice", "ResetOrReboot", "SettingSystemTime", "MemoryExhaustion",
                    "InvalidCsmsCertificate", "InvalidTLSVersion", "FirmwareUpdated")


def check_relay(sim, evse=1):
    """The contactor closes right after a transaction starts and opens right before it ends,
    never in between (a network fault does not stop charging), and is open at the end. An
    unplugged EV opens it twice: the interlock at once, then the station as it ends the
    transaction; between the two the station, which has not yet heard of the unplug, may still
    report the transaction (an Updated: the meter's sample, the charging state the power
    falling to 0 gives). Returns the number of transactions seen."""
    closed, in_tx, ending, n = False, False, None, 0
    seen = [e for _, e in list(sim.events) if e.get("evse") == evse and e.get("ev") in ("relay", "tx")]
    for i, e in enumerate(seen):
        if ending and e["ev"] == "relay" and not e["closed"]:
            continue
        if ending == "interlock" and e["ev"] == "tx" and e["event"] == "Updated":
            continue
        assert not ending or e["ev"] == "tx" and e["event"] == "Ended", \
            "the contactor opened inside a transaction: %s" % json.dumps(seen[max(0, i - 4):i + 2])
        if e["ev"] == "relay":
            assert e["closed"] != closed or not in_tx, e
            assert not e["closed"] or in_tx, ("the contactor closed outside a transaction", e)
            ending = (e.get("by") or "station") if in_tx and not e["closed"] else None
            closed = e["closed"]
        elif e["event"] == "Started":
            assert not in_tx and not closed, e
            in_tx, n = True, n + 1
        elif e["event"] == "Ended":
            assert in_tx and not closed, ("Ended with the contactor closed", e)
            in_tx, ending = False, None
        else:
            assert in_tx, e
    assert not closed
    return n


def refused_windows(proxy):
    """[(from, to)]: when the proxy did not listen (attempts it cannot see)."""
    out, start = [], None
    for t, what in list(proxy.faults) + [(time.monotonic(), "connections end")]:
        if what.startswith("connections "):
            if start is not None:
                out.append((start, t))
            start = t if what == "connections refused" else None
    return out


def check_backoff(proxy, wait_min, rand, repeat, slack=0.5):
    """Reconnection back-off, measured at the proxy (Part 4 §5.3, digest 5.4): after a
    connection that worked, failures count from 0; before the attempt that follows failure n
    (n = 0: the connection that ended) the station waits wait_min << min(n, repeat) plus
    0..rand s. Checked: no attempt sooner than wait_min after the one before; and along a run of
    attempts that failed at once where the proxy saw them all (rst, fin, a cut upgrade; mute:
    MessageTimeout later), each gap within [base, base + rand + slack]. Returns the gaps checked
    exactly (attempt number after the failure, gap s)."""
    atts = list(proxy.attempts)
    blind = refused_windows(proxy)
    problems, exact = [], []
    for a, b in zip(atts, atts[1:]):
        if b["t"] - a["t"] < wait_min - 0.05:
            problems.append(("sooner than RetryBackOffWaitMinimum", a["mode"], round(b["t"] - a["t"], 3)))
    n = None  # failures since the last connection that worked (None: not known)
    for a, b in zip(atts, atts[1:]):
        c = a["conn"]
        if c is not None and c.upgraded:
            n = 0  # this one worked: the gap after it depends on when it ended, not checked
            continue
        fail_at = {"rst": 0.0, "fin": 0.0, "cut_upgrade": 0.05, "mute": T}.get(a["mode"])
        if n is None or fail_at is None or any(x < b["t"] and a["t"] < y for x, y in blind):
            n = None  # an attempt the proxy could not see or time: the count is lost
            continue
        n += 1
        base = wait_min << min(n, repeat)
        gap = b["t"] - (a["t"] + fail_at)
        exact.append((n, round(gap, 3)))
        if not base - 0.05 <= gap <= base + rand + slack + (0.3 if a["mode"] == "mute" else 0):
            problems.append(("back-off after failure %d: %.3f s, not %d..%d s" % (n, gap, base, base + rand),
                             a["mode"]))
    assert not problems, (problems, exact)
    return exact


def live_heap(sim, n):
    sim.send(op="mem")
    return sim.wait_event(ev="mem", n=n)["live"]


# --- the chaos -----------------------------------------------------------------------------
NET_FAULTS = ("drop_rst", "drop_fin", "stall_up", "stall_down", "stall_both", "delay", "half_close_up",
              "half_close_down", "cut_up", "cut_down", "cut_up_stall", "cut_down_stall", "refuse", "mute",
              "cut_upgrade", "rst_accept")


def net_fault(p, rng, kind):
    """Apply one network fault; returns how long it lasts before heal() (s)."""
    if kind.startswith("drop_"):
        p.drop(kind[5:])
        return 0
    if kind.startswith("stall_"):
        p.stall(kind[6:])
        return rng.uniform(0.3, 6)  # short ones pass unnoticed, long ones make the station give up the link
    if kind == "delay":
        p.delay(rng.uniform(0.05, 1.2), rng.choice(("up", "down", "both")))
        return rng.uniform(1, 5)
    if kind.startswith("half_close_"):
        p.half_close(kind[11:])
        return 0
    if kind.startswith("cut_") and kind != "cut_upgrade":
        parts = kind.split("_")
        p.cut(parts[1], parts[2] if len(parts) > 2 else rng.choice(("rst", "fin")))
        return rng.uniform(0.5, 3)
    p.refuse({"refuse": "refused", "mute": "mute", "cut_upgrade": "cut_upgrade", "rst_accept": "rst"}[kind])
    return rng.uniform(0.5, 5)


CSMS_FAULTS = ("hold", "late", "twice", "wrong_id")


class Misbehave:
    """Csms.misbehave for the campaign: a station CALL is answered not at all, late (after
    MessageTimeout), twice or with another message id, with probability p; a message id at most
    once (a retransmission is answered), so MessageAttempts is never used up by the CSMS alone.
    Runs on the CSMS's thread."""

    def __init__(self, seed, p=0.15, kinds=CSMS_FAULTS):
        self.rng, self.p, self.kinds = random.Random(seed), p, kinds
        self.on = True
        self.seen = set()
        self.applied = collections.Counter()
        self.ids = collections.defaultdict(list)  # kind -> message ids it hit

    def __call__(self, station, f):
        if not self.on or f.id in self.seen or f.action == "BootNotification":
            return None
        self.seen.add(f.id)
        if self.rng.random() >= self.p:
            return None
        kind = self.rng.choice(self.kinds)
        self.applied[kind] += 1
        self.ids[kind].append(f.id)
        return self.rng.uniform(T + 0.2, T + 1.5) if kind == "late" else kind


class Chaos(threading.Thread):
    """Network faults on a seeded random schedule until stop()."""

    def __init__(self, proxy, seed, kinds=NET_FAULTS, gap=(0.2, 2.0)):
        super().__init__(daemon=True)
        self.p, self.rng, self.kinds, self.gap = proxy, random.Random(seed), kinds, gap
        self.applied = collections.Counter()
        self._halt = threading.Event()

    def run(self):
        while not self._halt.wait(self.rng.uniform(*self.gap)):
            kind = self.rng.choice(self.kinds)
            self.applied[kind] += 1
            if self._halt.wait(net_fault(self.p, self.rng, kind)):
                break
            self.p.heal()
        self.p.heal()

    def stop(self):
        self._halt.set()
        self.join(15)


def run_sessions(s, rng, until, token="NET-1"):
    """Charging sessions one after the other until `until` (monotonic): plug, tap (again while
    the station cannot ask the CSMS), EV power, a while charging, stop by card or unplug."""
    n = 0
    while time.monotonic() < until:
        started = len(s.find(ev="tx", event="Started"))
        s.send(op="plug", evse=1)
        for _ in range(20):  # offline, an unknown card is refused: tap again later
            time.sleep(rng.uniform(0.1, 0.5))
            s.send(op="tap", idToken=token)
            try:
                s.wait_event(ev="tx", event="Started", n=started + 1, timeout=2 * T + 1)
                break
            except AssertionError:
                if time.monotonic() > until:
                    break
        s.send(op="ev_power", evse=1, w=rng.choice((3700, 7400, 11000)))
        time.sleep(rng.uniform(1, 4))
        if rng.random() < 0.5 and len(s.find(ev="tx", event="Started")) > started:
            s.send(op="tap", idToken=token)  # the same card stops it, no Authorize needed
            s.wait_event(ev="tx", event="Ended", n=started + 1, timeout=5)
            time.sleep(rng.uniform(0, 1))
        s.send(op="unplug", evse=1)
        time.sleep(rng.uniform(0.2, 1))
        n += 1
    return n


def settle(csms, s, proxy=None):
    """Plain network again: the flash queue drains (every kept message answered)."""
    if proxy:
        proxy.heal()
    wait_until(lambda: not list(s.state.glob("q_*")), 40,
               lambda: "the flash queue to drain: %s" % sorted(p.name for p in s.state.glob("q_*")))
    time.sleep(0.5)


def test_E11_E12_network_chaos_during_charging_delivers_exactly_once(csms, sims, proxy):
    """Charging sessions through a seeded random schedule of every network fault, while the
    CSMS now and then answers a CALL not at all, late, twice or with a wrong message id.
    (MessageAttempts 4: the CSMS fails a message at most once, and a timeout on a link that
    turns out dead is no attempt, so nothing may be given up; see the E13 tests below.)"""
    t0 = time.monotonic()
    rng = random.Random(SEED)
    s = sims(proxy.url(csms.url), sets=dict(SETS, **{"OCPPCommCtrlr.MessageAttempts[TransactionEvent]": 4}))
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("SecurityEventNotification")
    heap0 = live_heap(s, 1)
    bad = csms.csms.misbehave = Misbehave(SEED + 2)  # (the Csms itself: CsmsThread keeps unknown attributes)
    chaos = Chaos(proxy, SEED + 1)
    chaos.start()
    sessions = run_sessions(s, rng, time.monotonic() + campaign.scale(15, 180))
    chaos.stop()
    bad.on = False
    settle(csms, s, proxy)
    r = {}
    try:
        assert not [line for line in s.log if "given up" in line], "\n".join(s.log)
        r["txs"], r["messages"], r["retrans"] = check_kept_messages(csms, s)
        r["calls"] = check_one_call_outstanding(csms, proxy, slack=None)  # (stalls of up to 6 s)
        r["backoff"] = len(check_backoff(proxy, 1, 1, 2))
        r["relay"] = check_relay(s)
        r["heap"] = (heap0, live_heap(s, 2))
    finally:
        campaign.record("test_campaign_network::chaos_sessions", time.monotonic() - t0, sessions=sessions,
                        messages=r.get("messages", 0) + r.get("calls", 0), failures=0 if "heap" in r else 1,
                        notes="network faults %s; CSMS faults %s; %d connections; %s"
                        % (dict(chaos.applied), dict(bad.applied), len(proxy.accepted), r))
        print("faults", dict(chaos.applied), dict(bad.applied), "connections", len(proxy.accepted), r)
    txs, heap = r["txs"], r["heap"]
    assert txs >= 1
    assert heap[1] - heap[0] < 8192, heap


# --- the faults one by one -----------------------------------------------------------------
def closed_at(s, n):
    """Monotonic time of the station's n-th "ws closed" event."""
    ts = wait_until(lambda: [t for t, e in list(s.events) if e["ev"] == "ws" and e["state"] == "closed"][n - 1:],
                    20, "connection %d to end" % n)
    return ts[0]


def charging(csms, s, token="NET-2", n=2):
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken=token)
    s.send(op="ev_power", evse=1, w=7400)
    s.wait_event(ev="tx", event="Started")
    csms.wait_call("TransactionEvent", n=n)


def test_dead_link_is_dropped_message_timeout_after_the_unanswered_ping(csms, sims, proxy):
    """WebSocketPingInterval of silence, a ping, no answer within MessageTimeout: the station
    drops the link then (docs/behaviour.md), not a whole ping interval later (it waited a second ping
    interval before: runtime/link.py)."""
    t0 = time.monotonic()
    s = sims(proxy.url(csms.url), sets=dict(SETS, MessageTimeout=1, **{"OCPPCommCtrlr.WebSocketPingInterval": 3}))
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("SecurityEventNotification")
    time.sleep(0.5)  # idle now: nothing comes or goes (heartbeat interval 300 s)
    heard = proxy.messages("down")[-1]["t_out"]  # what the station heard last, and when
    proxy.stall("both")
    gone = closed_at(s, 1) - heard
    campaign.record("test_campaign_network::dead_link_ping", time.monotonic() - t0, sessions=0, messages=0,
                    failures=int(not 3.8 <= gone <= 4.8), notes="dropped %.2f s after the last frame" % gone)
    assert 3 + 1 - 0.2 <= gone <= 3 + 1 + 0.8, gone  # ping interval + MessageTimeout


def test_transaction_event_lost_in_dead_links_is_kept_not_given_up(csms, sims, proxy):
    """A TransactionEvent that never reaches the CSMS (its frame cut, then the link dead) on
    connection after connection is not given up: MessageAttempts counts answers that did not
    come from a CSMS that is there, not a link that is gone (E13 vs E11). The station used to
    count every MessageTimeout as an attempt and dropped the event after the second dead link;
    now a timeout sends a ping at once, and only its pong makes it an attempt (session.py)."""
    t0 = time.monotonic()
    s = sims(proxy.url(csms.url), sets=dict(SETS, **{"OCPPCommCtrlr.MessageAttempts[TransactionEvent]": 2}))
    s.wait_event(ev="boot", status="Accepted")
    charging(csms, s)
    for i in (1, 2):  # the next TransactionEvent dies with the link, on two connections in a row
        proxy.cut("up", "stall", match="TransactionEvent")
        wait_until(lambda: len(proxy.cut_frames()) >= i, 10, "cut %d" % i)
        closed_at(s, i)
    lost = proxy.cut_frames()[0]["msg"]
    s.send(op="unplug", evse=1)
    s.wait_event(ev="tx", event="Ended")
    settle(csms, s, proxy)
    r = {}
    try:
        assert lost[1] in {f.id for f in csms.inbound("TransactionEvent")}, "%s\n%s" % (lost, "\n".join(s.log))
        r["txs"], r["messages"], _ = check_kept_messages(csms, s)
    finally:
        campaign.record("test_campaign_network::te_in_dead_links", time.monotonic() - t0, sessions=1,
                        messages=r.get("messages", 0), failures=int("messages" not in r))
    assert not [line for line in s.log if "given up" in line]


def test_reconnect_back_off_doubles_and_resets_measured_at_the_proxy(csms, sims, proxy):
    """Connection attempts that fail at once (reset or closed at the accept, a cut upgrade
    response; a mute server: after MessageTimeout), timed at the proxy: the first attempt
    RetryBackOffWaitMinimum (+ 0..RandomRange) after the drop of a working connection, then the
    wait doubles per failure, RepeatTimes times, and stays; a working connection resets it."""
    t0 = time.monotonic()
    s = sims(proxy.url(csms.url), sets=SETS)
    s.wait_event(ev="boot", status="Accepted")
    modes = campaign.scale(("cut_upgrade",), ("rst", "fin", "cut_upgrade", "mute", "rst"))
    fails = campaign.scale(2, 4)  # failed attempts per round; 4 > RepeatTimes: the wait stays
    first, exact = [], []
    try:
        for i, mode in enumerate(modes):
            before = len(proxy.attempts)
            proxy.refuse(mode)
            proxy.drop("rst")
            dropped = proxy.faults[-1][0]
            wait_until(lambda: len(proxy.attempts) >= before + fails, 40, "%d attempts" % fails)
            first.append(round(proxy.attempts[before]["t"] - dropped, 3))
            proxy.heal()
            s.wait_event(ev="ws", state="connected", n=i + 2, timeout=20)
        exact = check_backoff(proxy, 1, 1, 2)
        assert all(1 - 0.05 <= g <= 2 + 0.5 for g in first), first  # reset to WaitMinimum each time
        assert sorted({n for n, _ in exact}) == list(range(1, fails + 1)), exact
    finally:
        campaign.record("test_campaign_network::backoff", time.monotonic() - t0, sessions=0,
                        messages=len(exact) + len(first), failures=int(len(exact) < len(modes) * fails),
                        notes="modes %s; first waits %s; (failure, wait) %s" % (list(modes), first, exact))


def test_csms_no_answer_late_answer_wrong_id_and_twice_on_transaction_events(csms, sims, proxy):
    """The CSMS's faults one by one on the TransactionEvents of a session: no answer, an answer
    after MessageTimeout, one with another message id (each a failed attempt: the same message,
    the same id, again MessageAttemptInterval after the timeout) and two answers (the second
    one dropped). Every event is delivered, once, and never two CALLs are outstanding."""
    t0 = time.monotonic()
    plan = {1: "hold", 2: "late", 3: "wrong_id", 4: "twice"}  # by seqNo, the first sending only
    rounds = campaign.scale(1, 3)
    hit = {}

    def misbehave(station, f):
        if f.action != "TransactionEvent":
            return None
        key = (f.payload["transactionInfo"]["transactionId"], f.payload["seqNo"])
        if key[1] in plan and key not in hit:
            hit[key] = f.id
            return T + 0.5 if plan[key[1]] == "late" else plan[key[1]]
        return None

    csms.csms.misbehave = misbehave
    s = sims(proxy.url(csms.url), sets=SETS)
    s.wait_event(ev="boot", status="Accepted")
    csms.wait_call("SecurityEventNotification")
    r = {}
    try:
        for n in range(1, rounds + 1):
            s.send(op="plug", evse=1)
            s.send(op="tap", idToken="NET-3")
            s.send(op="ev_power", evse=1, w=7400)
            wait_until(lambda: len(hit) >= 4 * n, 30, lambda: "the faults: %s\n%s" % (hit, "\n".join(s.log)))
            wait_until(lambda: any(f.payload["seqNo"] == 5 for f in csms.inbound("TransactionEvent")
                                   if f.id not in hit.values()), 20, "seqNo 5")
            s.send(op="tap", idToken="NET-3")
            s.send(op="unplug", evse=1)
            s.wait_event(ev="tx", event="Ended", n=n)
        settle(csms, s)
        r["txs"], r["messages"], r["retrans"] = check_kept_messages(csms, s)
        r["calls"] = check_one_call_outstanding(csms, proxy)
        sent = collections.Counter(f.id for f in csms.inbound("TransactionEvent"))
        by_kind = collections.defaultdict(list)
        for (tid, seq), mid in hit.items():
            by_kind[plan[seq]].append(sent[mid])
        assert by_kind == {"hold": [2] * rounds, "late": [2] * rounds, "wrong_id": [2] * rounds,
                           "twice": [1] * rounds}, dict(by_kind)
        for (tid, seq), mid in hit.items():  # the retry: MessageTimeout + MessageAttemptInterval x 1
            if plan[seq] != "twice":
                a, b = [f.t for f in csms.inbound("TransactionEvent") if f.id == mid]
                assert T + 1 - 0.2 <= b - a <= T + 1 + 0.7, (plan[seq], b - a)
        assert len(proxy.attempts) == 1  # the link check answered: the link was never given up
        r["ok"] = True
    finally:
        campaign.record("test_campaign_network::csms_faults", time.monotonic() - t0, sessions=rounds,
                        messages=r.get("messages", 0) + r.get("calls", 0), failures=int("ok" not in r),
                        notes="%s" % r)
