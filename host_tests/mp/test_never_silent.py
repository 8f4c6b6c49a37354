# Regression tests of issue 12 "The station never goes silent", one per finding (findings 6
# and 7 are in test_charging_state.py and test_tick_overflow.py). Each reproduces the failure
# the issue reports with the core on the unix port and the time given, and fails on the code
# before the fix.
import json
from fakes import NET, T0, answer, boot_accepted, drain, later, sent, station
from runtime.queue import LIMIT, FlashQueue

ALIGNED = {"AlignedDataCtrlr.Interval": 60}
NET2 = json.loads(json.dumps(NET))
NET2["profiles"]["2"] = dict(NET["profiles"]["1"], ocppCsmsUrl="ws://csms2/ocpp")
BOOT_OK = {"currentTime": "2025-05-05T10:00:00Z", "interval": 60, "status": "Accepted"}


def _calls(st):
    return [f for f in sent(st) if f[0] == 2]


def _offline(st, now, minutes):
    """The link is down for minutes: the station's timers run (a tick a minute)."""
    st.disconnected(now)
    for _ in range(minutes):
        now = later(now, 60)
        st.tick(now)
    return now


def _answer_all(st, now, csms=None, limit=200):
    """Answer every CALL (csms(frame) -> payload, or an error code: a CALLERROR; {} without
    csms) until the station is quiet; returns the actions sent in order."""
    seen = []
    for _ in range(limit):
        f = _calls(st)
        if not f:
            return seen
        seen.append(f[0][2])
        res = (csms or (lambda f: {}))(f[0])
        if type(res) is str:
            st.rpc.receive(json.dumps([4, f[0][1], res, "", {}]).encode(), now)
        else:
            answer(st, f[0], res, now)
    raise AssertionError("station never quiet: %s" % seen[-10:])


def _csms(f):
    if f[2] == "BootNotification":
        return BOOT_OK
    if f[2] == "Heartbeat":
        return {"currentTime": "2025-05-05T10:00:00Z"}
    if f[2] == "Authorize":
        return {"idTokenInfo": {"status": "Accepted"}}
    return {}


def test_finding1_boot_sent_after_offline_power_up_with_aligned_values():
    """(a) AlignedDataCtrlr.Interval 60, 20 minutes without network at power-up: 20
    MeterValues queue up, and the BootNotification must still go when the link comes."""
    st = station(vars=ALIGNED)
    now = 0
    for _ in range(20):
        now = later(now, 60)
        st.tick(now)
    st.connected("1", now)
    f = _calls(st)
    assert f and f[0][2] == "BootNotification", f
    answer(st, f[0], BOOT_OK, now)
    assert st.boot.state == 3  # Accepted
    # the TriggerMessage of a later re-registration is not an empty promise either
    st.rpc.receive(b'[2,"t","TriggerMessage",{"requestedMessage":"BootNotification"}]', now)
    assert [3, "t", {"status": "Rejected"}] in sent(st)  # F06.FR.17: already Accepted


def test_finding1_boot_sent_after_outage_plugs_and_fallback_to_slot_2():
    """(b) nine plug/unplug cycles during an outage, then the link comes back on slot 2
    (B10.FR.10: register again): a BootNotification goes at once."""
    st = station(net=NET2)
    boot_accepted(st, 0)
    _answer_all(st, 0)
    st.disconnected(1000)
    now = 1000
    for _ in range(9):
        now = later(now, 30)
        st.transactions.plug(1, now)
        now = later(now, 30)
        st.transactions.unplug(1, now)
        st.tick(now)
    st.connected("2", now)
    f = _calls(st)
    assert f and f[0][2] == "BootNotification", f
    assert len(st.rpc._q) <= 16
    answer(st, f[0], BOOT_OK, now)
    acts = _answer_all(st, now, _csms)
    assert acts.count("StatusNotification") == 1, acts  # the latest status, not nine of them


def test_finding1_boot_fate_learned_when_dropped_by_the_link():
    """A BootNotification queued but not yet written when the link drops is sent again on the
    next connection, and a TriggerMessage while one waits sends one, not two."""
    st = station()
    st.connected("1", 0)
    f = _calls(st)
    st.disconnected(10)  # the one in flight is lost with the link
    st.connected("1", 20)
    f2 = _calls(st)
    assert f2 and f2[0][2] == "BootNotification" and f2[0][1] != f[0][1]
    st.rpc.receive(b'[2,"t","TriggerMessage",{"requestedMessage":"BootNotification"}]', 30)
    assert sent(st) == [[3, "t", {"status": "Accepted"}]]  # the one in flight answers it
    answer(st, f2[0], BOOT_OK, 40)
    assert st.boot.state == 3


def test_finding2_card_reader_alive_after_offline_backlog():
    """20 minutes offline with aligned meter values, a tap at the reconnection, a tap again
    after the backlog drained: each tap gets its Authorize."""
    st = station(vars=ALIGNED)
    boot_accepted(st, 0)
    _answer_all(st, 0)
    now = _offline(st, 0, 20)
    st.connected("1", now)  # the first MeterValues of the backlog goes at once
    st.authorization.tap("AA11", "ISO14443", now)
    st.tick(now)
    acts = _answer_all(st, now, lambda f: {"idTokenInfo": {"status": "Invalid"}} if f[2] == "Authorize" else _csms(f))
    assert acts[1] == "Authorize", acts  # before the rest of the backlog: a person is waiting
    assert not st.authorization.pending
    now = later(now, 5)
    st.authorization.tap("BB22", "ISO14443", now)
    st.tick(now)
    f = _calls(st)
    assert f and f[0][2] == "Authorize" and f[0][3]["idToken"]["idToken"] == "BB22"


def test_finding2_authorize_lost_with_the_link_frees_the_reader():
    st = station()
    boot_accepted(st, 0)
    _answer_all(st, 0)
    st.authorization.tap("AA11", "ISO14443", 100)
    st.tick(100)
    assert _calls(st)[0][2] == "Authorize"
    st.disconnected(200)
    assert not st.authorization.pending
    st.connected("1", 300)
    _answer_all(st, 300, _csms)
    st.authorization.tap("BB22", "ISO14443", 400)
    st.tick(400)
    assert _calls(st)[0][2] == "Authorize"


def test_finding3_base_report_runs_again_after_a_dropped_page():
    """GetBaseReport while the RAM queue is full of a backlog (20 minutes offline with aligned
    meter values, and a triggered Heartbeat): the pages go (the backlog's oldest best-effort messages make room), the
    report ends, and the next GetBaseReport is Accepted; a page the CSMS never answers ends
    the report at the timeout."""
    st = station(vars=ALIGNED)
    boot_accepted(st, 0)
    _answer_all(st, 0)
    now = _offline(st, 0, 20)
    st.connected("1", now)
    assert len(st.rpc._q) >= 15  # full, less the one sent
    st.rpc.receive(b'[2,"t","TriggerMessage",{"requestedMessage":"Heartbeat"}]', now)
    assert len(st.rpc._q) == 16
    st.rpc.receive(b'[2,"r1","GetBaseReport",{"requestId":1,"reportBase":"FullInventory"}]', now)
    f = sent(st)
    assert f[2] == [3, "r1", {"status": "Accepted"}]
    answer(st, f[0], {}, now)  # the backlog's first, sent at the reconnection
    pages = []
    _answer_all(st, now, lambda f: (f[2] == "NotifyReport" and pages.append(f[3])) or _csms(f), limit=400)
    assert len(pages) > 2 and "tbc" not in pages[-1] and [p["seqNo"] for p in pages] == list(range(len(pages)))
    st.rpc.receive(b'[2,"r2","GetBaseReport",{"requestId":2,"reportBase":"FullInventory"}]', now)
    assert sent(st)[0] == [3, "r2", {"status": "Accepted"}]
    # a page the CSMS never answers: the report ends at the timeout
    now = later(now, 31)
    st.tick(now)
    _answer_all(st, now, _csms)
    st.rpc.receive(b'[2,"r3","GetBaseReport",{"requestId":3,"reportBase":"FullInventory"}]', now)
    assert sent(st)[0] == [3, "r3", {"status": "Accepted"}]


def test_finding4_refused_security_event_does_not_block_transaction_events():
    """A CSMS that answers SecurityEventNotification with a CALLERROR: the event is given up
    after MessageAttempts, and TransactionEvents flow meanwhile."""
    st = station()
    boot_accepted(st, 0)
    now = 0
    tes = []

    def csms(f):
        if f[2] == "SecurityEventNotification":
            return "NotImplemented"
        if f[2] == "TransactionEvent":
            tes.append(f[3]["seqNo"])
        return _csms(f)

    for _ in range(60 * 6):  # six hours of a running transaction, a tick a minute
        _answer_all(st, now, csms)
        if now == later(0, 60):
            st.transactions.plug(1, now)
            st.authorization.tap("AA11", "ISO14443", now)
            st.tick(now)
            _answer_all(st, now, csms)
        now = later(now, 60)
        st.tick(now)
    assert tes[:3] == [0, 1, 2] and len(tes) >= 300, tes[:10]  # TxUpdatedInterval 60 s
    assert tes == list(range(len(tes)))
    assert [x for x in st.logs if "SecurityEventNotification given up after 3" in x]
    assert st.q.head(1) is None


def test_finding4_unanswered_security_event_does_not_hold_back_the_transaction_lane():
    st = station()
    boot_accepted(st, 0)
    st.rpc.probe = lambda: st.rpc.alive(st, st.rpc._now)  # the link answers its checks
    now = 0
    f = _calls(st)
    while f[0][2] != "SecurityEventNotification":
        answer(st, f[0], {}, now)
        f = _calls(st)
    st.transactions.plug(1, now)
    st.authorization.tap("AA11", "ISO14443", now)  # queued behind the unanswered event
    now = later(now, 30)
    st.tick(now)  # the event timed out: it waits MessageAttemptInterval in its own lane
    f = _calls(st)
    assert f[0][2] == "Authorize", f
    acts = []
    while f[0][2] != "TransactionEvent":
        acts.append(f[0][2])
        answer(st, f[0], _csms(f[0]), now)
        f = _calls(st)
    assert f[0][3]["eventType"] == "Started" and "SecurityEventNotification" not in acts, acts


class Files:
    """A flash directory in RAM (the part of runtime/store.py the queue uses)."""

    def __init__(self):
        self.f = {}

    def names(self, prefix=""):
        return [n for n in self.f if n.startswith(prefix)]

    def read(self, name):
        return self.f.get(name)

    def write(self, name, data):
        self.f[name] = bytes(data, "utf-8") if type(data) is str else bytes(data)  # as Store.write

    def remove(self, name):
        self.f.pop(name, None)


def test_finding5_flash_queue_bounded_and_no_new_transaction_when_full():
    """100 remote-started sessions on a link that drops before the CSMS can answer anything:
    the flash queue never holds more than LIMIT files; when only room for the Started/Ended
    of one more transaction per EVSE is left, new transactions are refused (the connector
    shows Unavailable) and every transaction begun has its Ended in the queue; after a good
    reconnection the queue drains and the connector is Available again."""
    files = Files()
    logs = []
    q = FlashQueue(files, logs.append)
    st = station(q=q)
    boot_accepted(st, 0)
    _answer_all(st, 0)
    now = 0
    started = refused = 0
    st.disconnected(now)
    for i in range(100):
        now = later(now, 60)
        st.connected("1", now)
        st.transactions.plug(1, now)
        st.tick(now)
        sent(st)  # nothing is answered: the link dies each time
        st.rpc.receive(json.dumps([2, "r%d" % i, "RequestStartTransaction",
                               {"idToken": {"idToken": "AA11", "type": "ISO14443"}, "remoteStartId": i}]).encode(), now)
        sent(st)
        st.disconnected(now)
        if st.ev[0].tx:
            started += 1
            for _ in range(3):
                now = later(now, 60)
                st.tick(now)  # Updated events
            now = later(now, 60)
        else:
            refused += 1
        st.transactions.unplug(1, now)
        st.tick(now)
        while st.effects:  # what the runtime does after every input
            st.effects.popleft()
        assert not st.ev[0].tx and len(q) <= LIMIT and len(files.names("q_")) <= LIMIT
    st.connected("1", now)
    assert refused and st.availability.conn[0] == "Unavailable"
    assert q.held() == 2 * started and 0 < started < 100, (started, q.held())
    assert [x for x in logs if "queue full: a TransactionEvent Updated dropped" in x]
    # the index is rebuilt from the files alone, within the bound, one file at a time
    q2 = FlashQueue(files, logs.append)
    assert q2.index == q.index
    _answer_all(st, now, _csms, limit=500)
    st.tick(now)
    assert len(q) == 0 and st.availability.conn[0] == "Available"
    assert _calls(st) == [] and st.availability.told[0] == "Available"


def test_finding5_full_queue_refuses_droppable_messages_only():
    files = Files()
    logs = []
    q = FlashQueue(files, logs.append, limit=4)
    for k in range(1, 5):
        q.push(k, {"a": "TransactionEvent", "tx": "t%d" % k, "u": False})
    try:
        q.push(5, {"a": "SecurityEventNotification", "tx": None, "u": False})
        raise AssertionError("pushed into a full queue")
    except OSError:
        pass
    assert len(files.names("q_")) == 4 and "not queued" in logs[-1]
    q.remove(1)
    q.push(6, {"a": "SecurityEventNotification", "tx": None, "u": False})
    q.push(7, {"a": "TransactionEvent", "tx": "t9", "u": False})  # the security event makes room
    assert [x[0] for x in q.index] == [2, 3, 4, 7] and "security event" in logs[-1]


def test_finding8_full_effects_and_frames_are_handled_not_silent():
    st = station()
    boot_accepted(st, 0)
    for i in range(40):  # the runtime has not taken the effects for a long time
        st.show({"ev": "x", "i": i})
    st.transactions.plug(1, 0)
    st.rpc.receive(json.dumps([2, "r", "RequestStartTransaction",
                           {"idToken": {"idToken": "AA11", "type": "ISO14443"}, "remoteStartId": 1}]).encode(), 0)
    assert st.ev[0].relay and ("relay", 1, True) not in list(st.effects)
    assert [x for x in st.logs if "effects full: ('relay', 1, True) lost" in x]  # said, and the
    # runtime sets the contactor from st.ev[0].relay (runtime/app.py: the test below)
    for i in range(12):  # replies that are never written
        st.rpc.receive(json.dumps([2, "h%d" % i, "DataTransfer", {"vendorId": "x"}]).encode(), 0)
    assert len(st.rpc.out) == 8 and [x for x in st.logs if "frames full" in x]
    while st.effects:
        st.effects.popleft()
    st.tick(1)
    assert ("reconnect",) in list(st.effects)


def test_finding9_no_spinning_timer_while_offline():
    """A flash message that failed waits for its retry; the link drops before it: the timer
    must not come due in the past for the whole outage."""
    st = station()
    boot_accepted(st, 0)
    f = _calls(st)
    while f[0][2] != "SecurityEventNotification":
        answer(st, f[0], {}, 0)
        f = _calls(st)
    st.rpc.receive(json.dumps([4, f[0][1], "InternalError", "", {}]).encode(), 0)  # retry in 10 s
    st.disconnected(1000)
    now = later(0, 20)  # past the retry time, offline
    for _ in range(100):
        st.tick(now)
        d = st.next_deadline(now)
        assert d > 0, d
        now = later(now, d / 1000)
    st.connected("1", now)
    assert [c[2] for c in _calls(st)] == ["SecurityEventNotification"]  # at once after it


def _charging_on_evse1():
    """A station of two EVSEs, Accepted, with a transaction on EVSE 1 (a card)."""
    st = station(evses=2)
    boot_accepted(st, 0)
    _answer_all(st, 0, _csms)
    st.transactions.plug(1, 0)
    st.authorization.tap("AA11", "ISO14443", 0)
    st.tick(0)
    _answer_all(st, 0, _csms)
    assert st.ev[0].tx
    return st


def test_finding10_operative_cancels_a_scheduled_inoperative():
    st = _charging_on_evse1()
    for target, evse in ((1, {"evse": {"id": 1}}), (0, {})):
        st.rpc.receive(json.dumps([2, "a", "ChangeAvailability", dict(operationalStatus="Inoperative", **evse)]).encode(), 0)
        assert sent(st)[0][2] == {"status": "Scheduled"}
        st.rpc.receive(json.dumps([2, "b", "ChangeAvailability", dict(operationalStatus="Operative", **evse)]).encode(), 0)
        assert sent(st)[0][2] == {"status": "Accepted"}
    st.transactions.unplug(1, 10)
    _answer_all(st, 10, _csms)
    assert st.availability.conn == ["Available", "Available"] and not st.availability.due


def test_finding10_scheduled_inoperative_survives_a_power_cut():
    st = _charging_on_evse1()
    st.rpc.receive(b'[2,"a","ChangeAvailability",{"operationalStatus":"Inoperative","evse":{"id":1}}]', 0)
    assert sent(st)[0][2] == {"status": "Scheduled"}
    # the power goes; the station boots from what it stored
    st2 = station(evses=2, flash=st.flash, q=st.q, tx=st.flash.docs["tx"], avail=st.flash.docs["avail"])
    assert st2.availability.conn == ["Unavailable", "Available"] and not st2.availability.due
    boot_accepted(st2, 0)
    acts = [(f[2], f[3].get("eventType"), f[3].get("connectorStatus")) for f in drain(st2)]
    assert ("TransactionEvent", "Ended", None) in acts and ("StatusNotification", None, "Unavailable") in acts


class Board:
    """What runtime.app.App needs of a board to be built and to apply effects."""

    info = {"model": "M", "vendorName": "V"}
    hw = {"phases": 3, "power_max": 11000, "connector": "cType2"}
    evses = 1

    def __init__(self):
        self.relays = []
        self.logs = []

    def wall(self):
        return T0

    def relay(self, evse, closed):
        self.relays.append((evse, closed))

    def show(self, ev):
        pass

    def log(self, text):
        self.logs.append(text)

    def set_wall(self, s):
        pass


def test_finding8_runtime_sets_the_contactor_from_state_when_its_command_was_lost():
    import os
    from runtime.app import App
    from runtime.store import Store

    root = "/tmp/ocpp-lite-finding8-%d" % int.from_bytes(os.urandom(4), "little")
    board = Board()
    app = App(board, Store(root))
    st = app.st
    app._effects()
    assert board.relays == [(1, False)]  # the safe state at start
    st.disconnected(0)
    st.transactions.plug(1, 0)
    for i in range(40):  # the runtime has not taken the effects for a long time
        st.show({"ev": "x", "i": i})
    st.ev[0].auth = ({"idToken": "AA11", "type": "ISO14443"}, None, None, 0, None)
    st.transactions.plug(1, 0)  # the EV is there and authorized: the transaction starts
    assert st.ev[0].relay and ("relay", 1, True) not in list(st.effects)
    app._effects()
    assert board.relays == [(1, False), (1, True)] and "contactor set from its state" in board.logs[-1]
    app._effects()
    assert board.relays == [(1, False), (1, True)]  # once
    st.transactions.unplug(1, 0)  # the transaction ends: the contactor opens, and a flood of effects follows
    for i in range(40):
        st.show({"ev": "x", "i": i})
    app._effects()
    assert board.relays == [(1, False), (1, True), (1, False)]  # the older command was not pushed out
    for name in os.listdir(root):
        os.remove(root + "/" + name)
    os.rmdir(root)


def test_memory_error_while_connecting_does_not_end_the_link_task():
    """Found by the memory campaign at its least heap: a MemoryError while the station takes
    the new connection (reading the flash queue's head to send it) went out of App.on_link and
    ended the link's task, so the station never connected again. It stops there now: recorded,
    and the timer sends what is due."""
    import os
    from runtime.app import App
    from runtime.store import Store

    root = "/tmp/ocpp-lite-oom-%d" % int.from_bytes(os.urandom(4), "little")
    board = Board()
    app = App(board, Store(root))
    st = app.st
    real = st.q.get

    def get(k):
        raise MemoryError("memory allocation failed, allocating 768 bytes")

    st.network.doc = json.loads(json.dumps(NET))  # a CSMS to connect to, that Accepted the station
    st.boot.state = 3
    st.rpc.accepted = True
    st.rpc.keep(st, "TransactionEvent", {"seqNo": 0}, "tx1")
    st.q.get = get
    app.on_link("1")  # must not raise
    assert st.rpc.online and [x for x in board.logs if "out of memory: link" in x]
    st.q.get = real
    st.tick(0)
    assert st.rpc._busy is not None  # the timer's next pass sends it
    for name in os.listdir(root):
        os.remove(root + "/" + name)
    os.rmdir(root)


def test_memory_error_anywhere_in_a_connection_attempt_does_not_end_the_link_task():
    """Link.run goes on after a MemoryError in any part of an attempt (here the board's wait for
    the network): recorded as out of memory, then the back-off and the next attempt."""
    import asyncio
    import os
    from runtime import link
    from runtime.app import App
    from runtime.store import Store

    root = "/tmp/ocpp-lite-oom-%d" % int.from_bytes(os.urandom(4), "little")
    board = Board()
    app = App(board, Store(root))
    calls = []

    async def net_wait():
        calls.append(1)
        if calls.count(1) == 2:
            app.link._stopping = True
        raise MemoryError("memory allocation failed")

    async def no_sleep(s):
        calls.append(s)

    board.net_wait = net_wait
    old = link.sleep_s
    link.sleep_s = no_sleep
    try:
        asyncio.run(app.link.run())
    finally:
        link.sleep_s = old
        asyncio.new_event_loop()
    assert calls[0] == 1 and calls[1] >= 10 and calls[2] == 1, calls  # attempt, back-off, attempt
    assert len([x for x in board.logs if "out of memory: link" in x]) == 2
    assert len([e for e in app.st.effects if e[0] == "seclog" and "MemoryExhaustion" in e[1]]) == 1  # a minute
    for name in os.listdir(root):
        os.remove(root + "/" + name)
    os.rmdir(root)


def test_a_memory_error_in_the_timer_waits_its_second_before_the_next_pass():
    """Found tracing the footprint's least heap: a MemoryError in every timer pass came back 14
    times a second, each a log line in flash, because recording it woke the timer (App.oom sets
    wake) and the second's pause was skipped. The pass after an out-of-memory waits its second."""
    import asyncio
    import os
    from runtime.app import App
    from runtime.store import Store

    root = "/tmp/ocpp-lite-oomtimer-%d" % int.from_bytes(os.urandom(4), "little")
    board = Board()
    app = App(board, Store(root))
    waits = []

    def tick(now):
        raise MemoryError("memory allocation failed, allocating 432 bytes")

    def sleep_ms(ms):  # the timer's pause: how long, and whether a wake() would cut it short
        waits.append((ms, app._sleeping is not None and not app._woken))
        raise asyncio.CancelledError  # one pass is enough

    async def idle(app):  # the board's task (queued, never run: the timer's first pass ends the test)
        pass

    app.st.tick = tick
    board.run = idle
    real = asyncio.sleep_ms
    asyncio.sleep_ms = sleep_ms
    try:
        asyncio.run(app.main())  # the timer is the main task's loop
    except asyncio.CancelledError:
        pass
    finally:
        asyncio.sleep_ms = real
        asyncio.new_event_loop()
    assert waits == [(1000, True)], waits  # a second, not skipped because its own record woke it
    assert [x for x in board.logs if "out of memory: timer" in x]
    for name in os.listdir(root):
        os.remove(root + "/" + name)
    os.rmdir(root)
