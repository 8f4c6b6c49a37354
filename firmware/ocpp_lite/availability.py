# ocpp_lite/availability.py - G03/G04 ChangeAvailability for the station, an EVSE or its
# connector (one per EVSE here): Inoperative makes connectors Unavailable (Faulted ones stay
# Faulted), Operative brings back their own status; with a transaction running the change is
# Scheduled for when it ends; until then the idle EVSEs of the target take no new
# transaction and show Unavailable (G04: a scheduled station change makes the unoccupied
# connectors Unavailable at once). A request that matches the present state is Accepted and
# the target's connectors report their status again (TC_G_13_CS step 3). The state is stored
# ("avail" document: inoperative station and EVSE ids, and the changes scheduled) and
# survives reboots and power cuts (G03.FR.08, B01.FR.07): a change scheduled before a power
# cut is made once the transactions it waited for are gone. The CSMS's last word on a target
# counts: a request that matches the present state cancels a change scheduled for that target.
from micropython import const
from . import schema, status, tx

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
INT = const(-1)
REQ = const(1)

_EVSE = const((("id", INT, REQ), ("connectorId", INT, 0)))
_REQ = const((("operationalStatus", ("Inoperative", "Operative"), REQ), ("evse", _EVSE, 0)))


def init(st, doc):
    st.avail = doc or {"cs": False, "e": [], "due": []}  # inoperative: station, and these EVSE ids
    # [evse or 0 for the station, inoperative] waiting for a transaction to end
    st.avail_due = [tuple(d) for d in st.avail.get("due", ())]


def resume(st, now):
    """At start, after the transactions the power cut left open were ended: make the changes
    that waited for them."""
    if st.avail_due:
        ended(st, None, now)


def inoperative(st, evse):
    """No new transaction on evse: it, or the station, is Inoperative or due to become so."""
    if st.avail["cs"] or evse in st.avail["e"]:
        return True
    for target, off in st.avail_due:
        if off and target in (0, evse):
            return True
    return False


def ChangeAvailability(st, p, now):
    schema.check(p, _REQ)
    off = p["operationalStatus"] == "Inoperative"
    e = p.get("evse")
    target = 0
    if e is not None and e["id"] != 0:
        target = e["id"]
        if not 1 <= target <= len(st.ev) or e.get("connectorId", 1) != 1:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
    due = [d for d in st.avail_due if d[0] != target]  # the last word replaces a scheduled one
    if (st.avail["cs"] if target == 0 else target in st.avail["e"]) == off:
        # G03.FR.03, G04.FR.04: already so; the target's connectors say so again
        if not _apply(st, None, off, now, due):
            return {"status": "Rejected"}
        for ev in st.ev:
            if target in (0, ev.id):
                status.report(st, ev.id, now, True)
        return {"status": "Accepted"}
    busy = [ev for ev in st.ev if ev.tx and (target == 0 or ev.id == target)]
    if busy and off:
        if not _apply(st, None, off, now, due + [(target, off)]):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "StorageFailed"}}
        return {"status": "Scheduled"}  # G03.FR.05, G04
    if not _apply(st, target, off, now, due):
        return {"status": "Rejected", "statusInfo": {"reasonCode": "StorageFailed"}}
    return {"status": "Accepted"}


def _apply(st, target, off, now, due):
    """Store and show: target (0 the station, else an EVSE id; None: none) becomes
    inoperative (off) or operative, and due is what stays scheduled."""
    if due == st.avail_due and target is None:
        return True
    a = {"cs": st.avail["cs"], "e": list(st.avail["e"]), "due": [list(d) for d in due]}
    if target == 0:
        a["cs"] = off
    elif target is not None and off:
        if target not in a["e"]:
            a["e"].append(target)
    elif target is not None and target in a["e"]:
        a["e"].remove(target)
    try:
        st.save("avail", a)
    except OSError:
        return False
    st.avail = a
    st.avail_due = due
    for ev in st.ev:
        tx.refresh(st, ev, now)
    return True


def ended(st, ev, now):
    """A transaction ended (ev; None at start): carry out availability changes waiting for it."""
    for d in list(st.avail_due):
        target, off = d
        if not any(x.tx and (target == 0 or x.id == target) for x in st.ev):
            _apply(st, target, off, now, [x for x in st.avail_due if x != d])
