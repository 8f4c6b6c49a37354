# host_tests/mp/test_state_tables.py - every row of the core's state tables, played on a
# station: BOOT_TABLE (provisioning/boot.py), STATUS_TABLE (availability.py), FIRMWARE_TABLE
# (firmware.py) and UPLOAD_TABLE (diagnostics.py). Each test walks its table, so a row added
# to a table is exercised too.
import json
from time import ticks_diff
from fakes import accepted, answer, calls, sent, station
from ocpp_lite import availability, diagnostics, firmware, transactions
from ocpp_lite.provisioning import boot
from ocpp_lite.crypto import run

_NAMES = ("None", "Pending", "Rejected", "Accepted")


def test_boot_table_each_answer_sets_the_state_and_the_next_attempt():
    for answer_status, state, when in boot.BOOT_TABLE:
        st = station()
        st.connected("1", 0)
        f = sent(st)[0]
        assert f[2] == "BootNotification"
        if answer_status is None:  # no answer within MessageTimeout
            st.tick(st.rpc.timeout_ms)
            assert st.boot.state == boot.NONE, answer_status
            assert st.boot.due is not None and ticks_diff(st.boot.due, st.rpc.timeout_ms) == 30000
            continue
        answer(st, f, {"currentTime": "2025-05-05T10:00:00Z", "interval": 7, "status": answer_status}, 0)
        assert st.boot.name() == answer_status and st.boot.state == state, answer_status
        assert _NAMES[state] == answer_status
        assert st.rpc.accepted == (state == boot.ACCEPTED)
        if when == "none":
            assert st.boot.due is None, answer_status
            assert [m[2] for m in sent(st)][:1] == ["StatusNotification"]  # B01.FR.05
        else:
            assert when == "interval" and st.boot.due == 7000, (answer_status, st.boot.due)
            st.tick(7000)
            assert [m[2] for m in sent(st)] == ["BootNotification"]  # registers again


def test_boot_table_interval_zero_waits_the_own_interval():
    for answer_status, _, when in boot.BOOT_TABLE:
        if when != "interval":
            continue
        st = station()
        st.connected("1", 0)
        answer(st, sent(st)[0], {"currentTime": "2025-05-05T10:00:00Z", "interval": 0, "status": answer_status}, 0)
        assert st.boot.due == 30000, answer_status


def test_status_table_each_row_is_the_connector_status():
    """The first row whose condition holds gives the status: each row is played with its own
    condition and every condition of the rows below it holding too."""
    conds = [c for c, _ in availability.STATUS_TABLE if c is not None]
    for i, (cond, want) in enumerate(availability.STATUS_TABLE):
        below = conds[i:] if cond is not None else []
        st = accepted()
        ev = st.ev[0]
        if "plugged" in below:
            ev.plugged = True
        if "tx" in below:
            ev.tx = {"id": "t"}
        if "fault" in below:
            ev.fault = "ContactorWelded"
        if "off" in below:
            st.reset.pending = "OnIdle"  # an OnIdle reset waiting: no new transaction
        st.availability.update(ev, 0)
        assert st.availability.status(1) == want, (cond, below, st.availability.status(1))
        assert availability.status_of(tuple(below)) == want


def test_status_table_change_is_reported_once():
    st = accepted()
    ev = st.ev[0]
    ev.plugged = True
    st.availability.update(ev, 0)
    st.availability.update(ev, 0)
    notes = [m for m in calls(st) if m[2] == "StatusNotification"]
    assert [m[3]["connectorStatus"] for m in notes] == ["Occupied"], notes


def _job(st):
    st.firmware.job = {"id": 5, "url": "http://x/f", "get": 0, "put": None, "tries": 1, "wait": 0,
                       "cert": "", "sig": "", "status": None}


def test_firmware_table_each_status_ends_holds_and_cancels_as_its_row_says():
    for status, ends, late, hold in firmware.FIRMWARE_TABLE:
        st = accepted()
        _job(st)
        before = st.firmware.holding
        st.firmware.report(status, 0)
        job = st.flash.docs["fw"]
        assert job["status"] == status and job["done"] == ends, (status, job)
        assert st.firmware.holding == (before if hold is None else hold), status
        assert firmware.ended(status) == ends and firmware.late(status) == late
        notes = [m[3] for m in calls(st) if m[2] == "FirmwareStatusNotification"]
        assert notes == [{"status": status, "requestId": 5}], (status, notes)
        if hold:  # held: no new transaction, the idle connector is Unavailable (L01.FR.07)
            assert st.availability.status(1) == availability.UNAVAILABLE, status
        # a new UpdateFirmware while the job is in this status: Rejected only when too late
        r = run(st.firmware.UpdateFirmware({"requestId": 6, "firmware": {  # a handler in steps
            "location": "http://x/g", "retrieveDateTime": "2025-05-05T10:00:00Z"}}, 0))
        if late and not ends:
            assert r["statusInfo"]["reasonCode"] == "InstallInProgress", (status, r)
        else:
            assert r["statusInfo"]["reasonCode"] == "MissingSignature", (status, r)


def test_upload_table_each_status_ends_the_job_or_not():
    for status, goes_on in diagnostics.UPLOAD_TABLE:
        st = accepted()
        r = st.diagnostics.GetLog({"logType": "DiagnosticsLog", "requestId": 9,
                                   "log": {"remoteLocation": "http://x/up/"}}, 0)
        assert r["status"] == "Accepted"
        job = st.diagnostics.upload
        st.diagnostics.report(job, status, 0)
        assert (st.diagnostics.upload is job) == goes_on, status
        notes = [m[3] for m in calls(st) if m[2] == "LogStatusNotification"]
        assert notes == [{"status": status, "requestId": 9}], (status, notes)
        st.rpc.receive(json.dumps([2, "t1", "TriggerMessage", {"requestedMessage": "LogStatusNotification"}]).encode(), 0)
        trig = [m[3] for m in calls(st) if m[2] == "LogStatusNotification"]
        assert trig == [{"status": "Uploading", "requestId": 9} if goes_on else {"status": "Idle"}], (status, trig)


_TOK = {"idToken": "AA11", "type": "ISO14443"}
_TOK2 = {"idToken": "BB22", "type": "ISO14443"}


def _in_state(name):
    """An accepted station whose EVSE 1 is in transaction state name."""
    st = accepted()
    ev = st.ev[0]
    if name in ("Plugged", "Transaction"):
        st.transactions.plug(1, 0)
    if name in ("Authorized", "Transaction"):
        st.transactions.authorized(ev, _TOK, None, None, 0)
    calls(st)
    assert transactions.state(ev) == name, (name, transactions.state(ev))
    return st, ev


def _fire(st, ev, event):
    t = 1000
    if event == "plug":
        st.transactions.plug(1, t)
    elif event == "unplug":
        st.transactions.unplug(1, t)
    elif event == "authorize":
        st.transactions.authorized(ev, _TOK2, None, None, t)
    elif event == "timeout":
        st.tick(st.devmodel.get("TxCtrlr.EVConnectionTimeOut") * 1000 + t)
    elif event == "cancel":
        st.transactions.cancel(ev, "Cancelled", t)
    elif event == "stop":
        st.transactions.stop(ev, "RemoteStop", "Remote", t)
    else:
        raise ValueError(event)


def _tx_events(st):
    return [m["p"]["eventType"] for _, m in sorted(st.q.m.items()) if m["a"] == "TransactionEvent"]


def test_tx_table_each_row_moves_the_evse_and_does_its_action():
    for state, event, nxt, act in transactions.TX_TABLE:
        st, ev = _in_state(state)
        before = _tx_events(st)
        _fire(st, ev, event)
        new = _tx_events(st)[len(before):]
        row = (state, event, nxt, act)
        assert transactions.state(ev) == nxt, (row, transactions.state(ev))
        if act == "start":
            assert new == ["Started"] and ev.relay, (row, new)
        elif act == "end":
            assert new == ["Ended"] and not ev.relay, (row, new)
        else:  # wait, lapse, or nothing: no transaction event, the contactor stays open
            assert new == [] and not ev.relay, (row, new)
        if act == "wait":
            assert ev.auth and ev.auth[0] == _TOK2, row
        if act == "lapse":
            assert ev.auth is None, row


def test_tx_table_an_event_without_a_row_starts_and_ends_nothing():
    states = ("Idle", "Authorized", "Plugged", "Transaction")
    events = ("plug", "unplug", "authorize", "timeout", "cancel", "stop")
    rows = [(r[0], r[1]) for r in transactions.TX_TABLE]
    for state in states:
        for event in events:
            if (state, event) in rows or (event, state) in (("plug", "Plugged"), ("plug", "Transaction"),
                                                           ("unplug", "Idle"), ("unplug", "Authorized")):
                continue  # a row, or an event the hardware cannot give in this state
            st, ev = _in_state(state)
            before = _tx_events(st)
            _fire(st, ev, event)
            new = [e for e in _tx_events(st)[len(before):] if e != "Updated"]  # (periodic meter values run on)
            assert new == [], (state, event, new)
            assert transactions.state(ev) == state, (state, event, transactions.state(ev))


def _change(st, off, now=0):
    return st.availability.ChangeAvailability(
        {"operationalStatus": "Inoperative" if off else "Operative", "evse": {"id": 1}}, now)


def test_change_table_each_request_gets_the_answer_and_action_of_its_row():
    for same in (True, False):
        for busy in (True, False):
            for off in (True, False):
                answer, what = availability.change(same, busy, off)
                row = [r for r in availability.CHANGE_TABLE
                       if r[0] == same and r[1] in (None, busy) and r[2] in (None, off)][0]
                assert (answer, what) == (row[3], row[4])
                st = accepted()
                pre = off if same else not off  # inoperative before the request
                if pre:
                    assert _change(st, True)["status"] == "Accepted"
                if busy:
                    st.transactions.plug(1, 0)
                    st.transactions.authorized(st.ev[0], _TOK, None, None, 0)
                calls(st)
                assert (1 in st.availability.doc["e"]) == pre, (same, busy, off)
                r = _change(st, off, 1000)
                assert r["status"] == answer, (same, busy, off, r)
                notes = [m[3]["connectorStatus"] for m in calls(st, 1000) if m[2] == "StatusNotification"]
                if what == "again":
                    assert notes, (same, busy, off)  # the connector says its status again
                    assert (1 in st.availability.doc["e"]) == off and not st.availability.due
                elif what == "schedule":
                    assert st.availability.due == [(1, True)] and 1 not in st.availability.doc["e"]
                    assert st.ev[0].tx  # the transaction goes on
                else:
                    assert (1 in st.availability.doc["e"]) == off and not st.availability.due
                    assert st.flash.docs["avail"]["e"] == ([1] if off else [])
