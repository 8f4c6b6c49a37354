# ocpp_lite/availability.py - G Availability: the status of every connector (one per EVSE),
# reported with StatusNotification (G01: all after boot, B01.FR.05, then every change; a
# notification that was lost is sent again after the reconnect; state, not history: a queued
# notification of a connector is replaced by a newer one, session.KEEP), and G03/G04
# ChangeAvailability for the station, an EVSE or its connector.
#
# Inoperative makes connectors Unavailable (Faulted ones stay Faulted), Operative brings back
# their own status; with a transaction running the change is Scheduled for when it ends; until
# then the idle EVSEs of the target take no new transaction and show Unavailable (G04: a
# scheduled station change makes the unoccupied connectors Unavailable at once). A request
# that matches the present state is Accepted and the target's connectors report their status
# again (TC_G_13_CS step 3). The state is stored ("avail" document: inoperative station and
# EVSE ids, and the changes scheduled) and survives reboots and power cuts (G03.FR.08,
# B01.FR.07): a change scheduled before a power cut is made once the transactions it waited
# for are gone. The CSMS's last word on a target counts: a request that matches the present
# state cancels a change scheduled for that target.
from micropython import const
from .engine import schema

_AVAILABLE = const("Available")
UNAVAILABLE = "Unavailable"
_FAULTED = const("Faulted")

# The connector status state table (G01, Part 2 "ConnectorStatusEnumType"): the status of a
# connector is the first row whose condition holds. Conditions: "fault" the board reports a
# fault; "tx" a transaction runs; "off" no new transaction may start (Station.inoperative:
# Inoperative, or a reset or firmware installation waiting, or the flash queue full);
# "plugged" a cable is in; None: always.
STATUS_TABLE = const((
    ("fault", "Faulted"),
    ("tx", "Occupied"),
    ("off", "Unavailable"),
    ("plugged", "Occupied"),
    (None, "Available"),
))

# The ChangeAvailability table (G03/G04, Part 2 figures "Change Availability"): the first row
# that matches the request (None: either) -> the answer and what is done. "again": nothing
# changes, the target's connectors report their status again and a change scheduled for the
# target is dropped (G03.FR.03, G04.FR.04); "schedule": the change waits for the target's
# transactions to end, its idle EVSEs take none meanwhile (G03.FR.05, G04); "apply": at once.
CHANGE_TABLE = const((
    # already so  transaction  Inoperative asked   answer       what is done
    (True, None, None, "Accepted", "again"),
    (False, True, True, "Scheduled", "schedule"),
    (False, None, None, "Accepted", "apply"),
))

# engine/session.py's CALL flags, as constants here (const() does not cross modules)
_KEEP = const(2)

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_INT = const(-1)
_REQ = const(1)

_EVSE = const((("id", _INT, _REQ), ("connectorId", _INT, 0)))
_CHANGE = const((("operationalStatus", ("Inoperative", "Operative"), _REQ), ("evse", _EVSE, 0)))


def change(same, busy, off):
    """(answer, what is done) of CHANGE_TABLE for a request: same, the target is already so;
    busy, a transaction runs on it; off, Inoperative asked."""
    for s, b, o, answer, what in CHANGE_TABLE:
        if s == same and (b is None or b == busy) and (o is None or o == off):
            return answer, what
    return "Rejected", None


def status_of(facts):
    """The connector status for facts, the conditions that hold (a tuple of their names)."""
    for cond, s in STATUS_TABLE:
        if cond is None or cond in facts:
            return s
    return _AVAILABLE


class Availability:
    def __init__(self, st, evses, doc):
        self.st = st
        self.conn = [_AVAILABLE] * evses  # status of EVSE i+1, connector 1
        self.told = [None] * evses  # status the CSMS has or will have (None: unknown)
        self.doc = doc or {"cs": False, "e": [], "due": []}  # inoperative: station, and these EVSE ids
        # [evse or 0 for the station, inoperative] waiting for a transaction to end
        self.due = [tuple(d) for d in self.doc.get("due", ())]

    # --- connector status (G01) ----------------------------------------------------------
    def status(self, evse):
        """The status of evse's connector; evse 0: the station's AvailabilityState, the status
        all connectors share, else Available."""
        if evse:
            return self.conn[evse - 1]
        s = self.conn[0]
        for x in self.conn:
            if x != s:
                return _AVAILABLE
        return s

    def usable(self, evse):
        """The connector (evse 0: the station) may take a new authorization: neither
        Unavailable nor Faulted."""
        s = self.status(evse)
        return s != UNAVAILABLE and s != _FAULTED

    def update(self, ev, now):
        """Set the status of ev's connector from what holds now (STATUS_TABLE)."""
        value = status_of(("fault" if ev.fault else None, "tx" if ev.tx else None,
                           "off" if self.st.inoperative(ev.id) else None, "plugged" if ev.plugged else None))
        if self.conn[ev.id - 1] != value:
            self.conn[ev.id - 1] = value
            self.st.show({"ev": "status", "evse": ev.id, "connector": 1, "status": value})
            self.report(ev.id, now)

    def report(self, evse, now, force=False, flags=0):
        """Queue a StatusNotification for evse if the CSMS has not seen its status (or force).
        Before the boot is Accepted only a triggered one (flags PRE_BOOT) goes."""
        st = self.st
        i = evse - 1
        value = self.conn[i]
        if not (st.rpc.accepted or flags) or (value == self.told[i] and not force):
            return
        told = self.told

        def done(st, res, now):
            if res is None and told[i] == value:
                told[i] = None  # lost: report again after reconnecting

        told[i] = value
        if not st.rpc.call(
            "StatusNotification",
            {"timestamp": st.stamp(now), "connectorStatus": value, "evseId": evse, "connectorId": 1},
            done,
            flags | _KEEP,
            evse,
        ):
            told[i] = None

    def report_all(self, now, force):
        for evse in range(1, len(self.conn) + 1):
            self.report(evse, now, force)

    # --- operative / inoperative (G03, G04) ----------------------------------------------
    def inoperative(self, evse):
        """No new transaction on evse: it, or the station, is Inoperative or due to become so."""
        if self.doc["cs"] or evse in self.doc["e"]:
            return True
        for target, off in self.due:
            if off and target in (0, evse):
                return True
        return False

    def ChangeAvailability(self, p, now):
        schema.check(p, _CHANGE)
        st = self.st
        off = p["operationalStatus"] == "Inoperative"
        e = p.get("evse")
        target = 0
        if e is not None and e["id"] != 0:
            target = e["id"]
            if not 1 <= target <= len(st.ev) or e.get("connectorId", 1) != 1:
                return st.rejected("UnknownEvse")
        due = [d for d in self.due if d[0] != target]  # the last word replaces a scheduled one
        same = (self.doc["cs"] if target == 0 else target in self.doc["e"]) == off
        busy = st.transactions.running(target)
        answer, what = change(same, busy, off)
        if what == "again":
            if not self._apply(None, off, now, due):
                return {"status": "Rejected"}
            for ev in st.ev:
                if target in (0, ev.id):
                    self.report(ev.id, now, True)
        elif not self._apply(None if what == "schedule" else target, off, now,
                             due + [(target, off)] if what == "schedule" else due):
            return st.rejected("StorageFailed")
        return {"status": answer}

    def _apply(self, target, off, now, due):
        """Store and show: target (0 the station, else an EVSE id; None: none) becomes
        inoperative (off) or operative, and due is what stays scheduled."""
        if due == self.due and target is None:
            return True
        a = {"cs": self.doc["cs"], "e": list(self.doc["e"]), "due": [list(d) for d in due]}
        if target == 0:
            a["cs"] = off
        elif target is not None and off:
            if target not in a["e"]:
                a["e"].append(target)
        elif target is not None and target in a["e"]:
            a["e"].remove(target)
        try:
            self.st.save("avail", a)
        except OSError:
            return False
        self.doc = a
        self.due = due
        self.st.transactions.refresh(now)
        return True

    def ended(self, now):
        """A transaction ended (or, at start, the ones a power cut left were): carry out the
        availability changes waiting for it."""
        for d in list(self.due):
            target, off = d
            if not self.st.transactions.running(target):
                self._apply(target, off, now, [x for x in self.due if x != d])
