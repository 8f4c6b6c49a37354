"""Power cuts: the simulator is killed (SIGKILL) at random moments of charging sessions and
restarted on the same flash. The CSMS must end up with every transaction complete: Started
and Ended, seqNo without gaps, energy never going back, and nothing twice (a message that is
sent again after a reboot is a retransmission with the same message id). Issue 9 runs the
long campaign; this is the sample `make test` runs."""

import collections
import os
import random
import time

from helpers import wait_until

SESSION = [{"op": "plug", "evse": 1}, {"op": "tap", "idToken": "CUT-1"}, {"op": "ev_power", "evse": 1, "w": 7200},
           {"op": "tap", "idToken": "CUT-1"}, {"op": "unplug", "evse": 1}]
FAST = {"SampledDataCtrlr.TxUpdatedInterval": 1, "OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
        "OCPPCommCtrlr.RetryBackOffRandomRange": 0}


def check_transactions(csms):
    frames = csms.inbound("TransactionEvent")
    by_tx = collections.defaultdict(dict)
    for f in frames:
        p = f.payload
        key = p["seqNo"]
        seen = by_tx[p["transactionInfo"]["transactionId"]]
        if key in seen:  # only a retransmission of the very same message is allowed
            assert seen[key][0] == f.id and seen[key][1] == p, (seen[key], f)
        seen[key] = (f.id, p)
    for tid, seen in by_tx.items():
        events = [seen[k][1] for k in sorted(seen)]
        assert sorted(seen) == list(range(len(seen))), (tid, sorted(seen))
        assert events[0]["eventType"] == "Started" and events[-1]["eventType"] == "Ended", (tid, events)
        assert [e["eventType"] for e in events[1:-1]] == ["Updated"] * (len(events) - 2)
        readings = sorted((mv["timestamp"], sv["value"]) for e in events for mv in e.get("meterValue", [])
                          for sv in mv["sampledValue"] if sv["measurand"] == "Energy.Active.Import.Register")
        assert [v for t, v in readings] == sorted(v for t, v in readings), (tid, readings)
    return by_tx


def test_random_power_cuts_lose_and_duplicate_nothing(csms, sims, tmp_path):
    rng = random.Random(int(os.environ.get("POWERCUT_SEED", 1234)))
    state = tmp_path / "flash"
    cuts = 0
    s = sims(csms.url, state=state, sets=FAST)
    for round_ in range(6):
        s.wait_event(ev="boot", status="Accepted", timeout=15)
        for op in SESSION:
            s.send(**op)
            time.sleep(rng.uniform(0.05, 0.9))
            if rng.random() < 0.35:
                break  # the cut comes in the middle of the session
        time.sleep(rng.uniform(0, 1.5))
        s.kill()
        cuts += 1
        s = sims(None, state=state, ident=None)
    s.wait_event(ev="boot", status="Accepted", timeout=15)
    s.send(op="unplug", evse=1)
    # everything queued before the cuts reaches the CSMS
    wait_until(lambda: not list(state.glob("q_*")), 20, "the flash queue to drain")
    by_tx = check_transactions(csms)
    assert cuts == 6 and len(by_tx) >= 3
    ended = [seen[max(seen)][1] for seen in by_tx.values()]
    assert any(e["transactionInfo"].get("stoppedReason") == "PowerLoss" for e in ended)
