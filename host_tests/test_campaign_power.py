"""Power cuts: the simulator is killed (SIGKILL) at random moments of charging sessions and
restarted on the same flash. The CSMS must end up with every transaction complete: Started
and Ended, seqNo without gaps, energy never going back, and nothing twice (a message that is
sent again after a reboot is a retransmission with the same message id). `make test` runs a
sample, `make reliability` the full campaign (tools/campaigns/records.py). The exhaustive cut at
every littlefs block write is in host_tests/mp/test_tx_cuts.py (a charging session) and
host_tests/mp/test_store.py (store updates, SetVariables, SetNetworkProfile)."""

import collections
import os
import random
import subprocess
import time

from ocpp.v201 import call

from tools.campaigns import records as campaign
from helpers import MICROPYTHON, ROOT, wait_until

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


def _set(csms, value):
    r = csms.call("CS001", call.SetVariables(set_variable_data=[
        {"component": {"name": "TxCtrlr"}, "variable": {"name": "EVConnectionTimeOut"}, "attributeValue": str(value)}]),
        timeout=5)
    return r.set_variable_result[0]["attribute_status"]


def _get(csms):
    r = csms.call("CS001", call.GetVariables(get_variable_data=[
        {"component": {"name": "TxCtrlr"}, "variable": {"name": "EVConnectionTimeOut"}}]))
    return int(r.get_variable_result[0]["attribute_value"])


def test_random_power_cuts_lose_and_duplicate_nothing(csms, sims, tmp_path):
    """Kills at random instants of charging sessions (campaign.scale: 8 in `make test`, 200 in
    `make reliability`), now and then while the CSMS changes a variable: after every restart
    the transactions end up complete and the device model holds the last value it accepted."""
    t0 = time.monotonic()
    rng = random.Random(int(os.environ.get("POWERCUT_SEED", 1234)))
    kills = campaign.scale(8, 200)
    state = tmp_path / "flash"
    accepted = None  # the last EVConnectionTimeOut value the station accepted
    s = sims(csms.url, state=state, sets=FAST)
    for round_ in range(kills):
        s.wait_event(ev="boot", status="Accepted", timeout=15)
        for op in SESSION:
            s.send(**op)
            time.sleep(rng.uniform(0.02, 0.5))
            if rng.random() < 0.3:
                break  # the cut comes in the middle of the session
        if rng.random() < 0.25:
            value = 100 + round_
            try:
                if _set(csms, value) == "Accepted":
                    accepted = value
            except Exception:
                pass  # no answer: the station may or may not have taken it
        time.sleep(rng.uniform(0, 0.8))
        s.kill()
        s = sims(None, state=state, ident=None)
    s.wait_event(ev="boot", status="Accepted", timeout=15)
    s.send(op="unplug", evse=1)
    # everything queued before the cuts reaches the CSMS
    wait_until(lambda: not list(state.glob("q_*")), 30, "the flash queue to drain")
    by_tx = check_transactions(csms)
    messages = sum(len(seen) for seen in by_tx.values())
    value = _get(csms)
    campaign.record("test_campaign_power::random_kills", time.monotonic() - t0, kills=kills,
                    sessions=len(by_tx), messages=messages)
    assert len(by_tx) >= kills // 3
    ended = [seen[max(seen)][1] for seen in by_tx.values()]
    assert any(e["transactionInfo"].get("stoppedReason") == "PowerLoss" for e in ended)
    assert accepted is None or value >= accepted, (value, accepted)  # a later, unanswered set may have landed


def test_exhaustive_cuts_at_every_block_write():
    """The littlefs campaigns of host_tests/mp (test_store: store updates, SetVariables,
    SetNetworkProfile; test_tx_cuts: a charging session's transaction state and flash queue):
    the power cut at every single block write, each cut point a kill."""
    t0 = time.monotonic()
    p = subprocess.run([MICROPYTHON, str(ROOT / "host_tests" / "mp" / "run.py"), "test_store", "test_tx_cuts"],
                       capture_output=True, text=True, timeout=600)
    lines = p.stdout.splitlines()
    cuts = [int(line.split()[2]) for line in lines if line.startswith("cuts ")]
    failed = [line for line in lines if line.startswith("FAIL")]
    campaign.record("test_campaign_power::every_block_write", time.monotonic() - t0, kills=sum(cuts),
                    sessions=len([line for line in lines if line.startswith("cuts charging_session")]),
                    failures=len(failed))
    assert not failed and p.returncode == 0, p.stdout + p.stderr
    assert len(cuts) == 9 and sum(cuts) > 100, cuts  # store saves 3, and 3 written as made; station updates 2; a charging session
