# ocpp_lite/availability.py - G03/G04 ChangeAvailability for the station, an EVSE or its
# connector (one per EVSE here): Inoperative makes connectors Unavailable (Faulted ones stay
# Faulted), Operative brings back their own status; with a transaction running the change is
# Scheduled for when it ends. The state is stored ("avail" document: inoperative station and
# EVSE ids) and survives reboots (G03.FR.08, B01.FR.07).
from micropython import const
from . import schema, tx

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
INT = const(-1)
REQ = const(1)

_EVSE = const((("id", INT, REQ), ("connectorId", INT, 0)))
_REQ = const((("operationalStatus", ("Inoperative", "Operative"), REQ), ("evse", _EVSE, 0)))


def init(st, doc):
    st.avail = doc or {"cs": False, "e": []}  # inoperative: station, and these EVSE ids
    st.avail_due = []  # (evse or 0 for the station, inoperative) waiting for a transaction to end


def inoperative(st, evse):
    return st.avail["cs"] or evse in st.avail["e"]


def ChangeAvailability(st, p, now):
    schema.check(p, _REQ)
    off = p["operationalStatus"] == "Inoperative"
    e = p.get("evse")
    target = 0
    if e is not None and e["id"] != 0:
        target = e["id"]
        if not 1 <= target <= len(st.ev) or e.get("connectorId", 1) != 1:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
    if (st.avail["cs"] if target == 0 else target in st.avail["e"]) == off:
        return {"status": "Accepted"}  # G03.FR.03: already so
    busy = [ev for ev in st.ev if ev.tx and (target == 0 or ev.id == target)]
    if busy and off:
        st.avail_due = [d for d in st.avail_due if d[0] != target] + [(target, off)]
        return {"status": "Scheduled"}  # G03.FR.05, G04
    if not _apply(st, target, off, now):
        return {"status": "Rejected", "statusInfo": {"reasonCode": "StorageFailed"}}
    return {"status": "Accepted"}


def _apply(st, target, off, now):
    a = {"cs": st.avail["cs"], "e": list(st.avail["e"])}
    if target == 0:
        a["cs"] = off
    elif off:
        a["e"].append(target)
    else:
        a["e"].remove(target)
    try:
        st.save("avail", a)
    except OSError:
        return False
    st.avail = a
    for ev in st.ev:
        tx.refresh(st, ev, now)
    return True


def ended(st, ev, now):
    """A transaction ended: carry out availability changes waiting for it."""
    for d in list(st.avail_due):
        target, off = d
        if not any(x.tx and (target == 0 or x.id == target) for x in st.ev):
            st.avail_due.remove(d)
            _apply(st, target, off, now)
