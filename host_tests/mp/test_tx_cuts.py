# A whole charging session (Started, Updated, Ended) with the power cut at every single block
# write of littlefs (vfs.VfsLfs2, as on the boards): the transaction state and the flash queue
# of must-deliver messages are two sets of files, and after every cut the station must boot
# from what reached the flash and the CSMS must end up with each transaction complete - Started
# first, Ended last, seqNo without gaps, no seqNo twice unless as a retransmission of the very
# same message (same id). Runs on the unix port.
import json
from flashsim import MOUNT, fresh, power_cuts
from fakes import NET, answer, boot_accepted, later, sent, station
from runtime.queue import FlashQueue
from runtime.store import Store

ROOT = MOUNT + "/state"
FAST = {"SampledDataCtrlr.TxUpdatedInterval": 1}

received = []  # every TransactionEvent frame the CSMS got, before and after the cuts


def _boot(now):
    """A station booting from the flash, as runtime/app.py builds it."""
    s = Store(ROOT)
    q = FlashQueue(s, lambda m: None)
    st = station(vars=s.load("vars"), net=s.load("net"), tx=s.load("tx"), q=q, now=now)
    st.save = s.save
    return st


def _csms(st, now, answered=True):
    """The CSMS: takes what the station sends, answers CALLs (Authorize Accepted) until the
    station is quiet. Raises OSError once the station's flash failed: the power is out, so
    nothing after that reaches the CSMS."""
    for _ in range(100):
        if _failed(st):
            raise OSError(5)
        frames = [f for f in sent(st) if f[0] == 2]
        if not frames:
            return
        f = frames[0]
        if f[2] == "TransactionEvent":
            received.append(f)
        if not answered:
            return
        payload = {}
        if f[2] == "Authorize":
            payload = {"idTokenInfo": {"status": "Accepted"}}
        elif f[2] == "Heartbeat":
            payload = {"currentTime": "2025-05-05T10:00:00Z"}
        answer(st, f, payload, now)
    raise ValueError("the station does not get quiet")


def _failed(st):
    """The flash failed under the station (it logs and goes on, as on a board)."""
    return any("not stored" in line or "not saved" in line or "OSError" in line for line in st.logs)


def _session():
    now = 0
    st = _boot(now)
    boot_accepted(st, now)
    _csms(st, now)
    for step in ("plug", "tap", "meter", "tick", "meter", "tap", "unplug"):
        now = later(now, 1.5)
        if step == "plug":
            st.transactions.plug(1, now)
        elif step == "tap":
            st.authorization.tap("CARD-1", "ISO14443", now)
        elif step == "meter":
            st.transactions.meter(1, 1000 + now // 100, 7200, now)
        elif step == "unplug":
            st.transactions.unplug(1, now)
        st.tick(now)
        _csms(st, now)


def _deliver_after_reboot():
    now = later(0, 3600)
    st = _boot(now)
    boot_accepted(st, now)
    for _ in range(20):
        _csms(st, now)
        now = later(now, 31)
        st.tick(now)  # retries of messages the CSMS did not answer in time
    return st


def _check_transactions():
    by_tx = {}
    for f in received:
        p = f[3]
        seen = by_tx.setdefault(p["transactionInfo"]["transactionId"], {})
        k = p["seqNo"]
        if k in seen and seen[k] != (f[1], p):
            raise AssertionError("seqNo %d twice, not a retransmission: %r %r" % (k, seen[k], (f[1], p)))
        seen[k] = (f[1], p)
    for tid, seen in by_tx.items():
        keys = sorted(seen)
        assert keys == list(range(len(keys))), (tid, keys)
        kinds = [seen[k][1]["eventType"] for k in keys]
        assert kinds[0] == "Started" and kinds[-1] == "Ended", (tid, kinds)
        assert kinds[1:-1] == ["Updated"] * (len(kinds) - 2), (tid, kinds)
    return by_tx


def test_power_cut_at_every_block_write_of_a_charging_session():
    f = fresh()
    s = Store(ROOT)
    s.save("vars", FAST)
    s.save("net", json.loads(json.dumps(NET)))
    img = bytes(f.data)
    cut_in_tx = [0]

    def action():
        del received[:]
        _session()

    def check(finished):
        st = _deliver_after_reboot()
        assert not len(st.q), "messages left in the flash queue"
        by_tx = _check_transactions()
        if not finished and by_tx:
            cut_in_tx[0] += 1
        if finished:
            assert len(by_tx) == 1, by_tx

    n = power_cuts(img, action, check)
    print("cuts charging_session", n)  # counted by host_tests/test_campaign_power.py
    assert n > 20 and cut_in_tx[0] > 5, (n, cut_in_tx)
