# ocpp_lite/provisioning.py - B06 GetVariables, B05 SetVariables and B07 GetBaseReport. The
# base report goes out as NotifyReport pages of at most ItemsPerMessage[GetReport] items and
# BytesPerMessage[GetReport] bytes, each page made when the previous one was answered.
from micropython import const
from . import devmodel, netprofile, rpc, schema, secevents, tx
from .devmodel import PASSWORD, PRIORITY
from .rpc import CallError
from .session import PRE_BOOT

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
INT = const(-1)
LIST = const(2)
REQ = const(1)

_ATTR = const(("Actual", "Target", "MinSet", "MaxSet"))
_EVSE = const((("id", INT, REQ), ("connectorId", INT, 0)))
_COMP = const((("name", 50, REQ), ("instance", 50, 0), ("evse", _EVSE, 0)))
_VAR = const((("name", 50, REQ), ("instance", 50, 0)))
_GET_ITEM = const((("component", _COMP, REQ), ("variable", _VAR, REQ), ("attributeType", _ATTR, 0)))
_GET = const((("getVariableData", _GET_ITEM, REQ | LIST, 1, 0),))
_SET_ITEM = const((
    ("attributeValue", 1000, REQ),
    ("component", _COMP, REQ),
    ("variable", _VAR, REQ),
    ("attributeType", _ATTR, 0),
))
_SET = const((("setVariableData", _SET_ITEM, REQ | LIST, 1, 0),))
_BASE = const((
    ("requestId", INT, REQ),
    ("reportBase", ("ConfigurationInventory", "FullInventory", "SummaryInventory"), REQ),
))
_ENVELOPE = const(72)  # '[2,"<id>","NotifyReport",' ... ',"tbc":true,"reportData":[]}]'


def _check(st, p, spec, what, key):
    """Payload check plus DeviceDataCtrlr limits (B06.FR.16/17, B05 likewise): the items, or
    None when there are more than ItemsPerMessage (the message itself is within
    BytesPerMessage, so is the answer that rejects each of them: TC_B_08_CS)."""
    if st.rx_len > devmodel.get(st, "DeviceDataCtrlr.BytesPerMessage[%s]" % what):
        raise CallError(rpc.FORMAT, "message over BytesPerMessage[%s]" % what)
    schema.check(p, spec)
    if len(p[key]) > devmodel.get(st, "DeviceDataCtrlr.ItemsPerMessage[%s]" % what):
        return None
    return p[key]


def _too_many(p, key):
    return [_status(_result(d), "Rejected", "TooManyElements") for d in p[key]]


def _result(d):
    res = {"component": d["component"], "variable": d["variable"]}
    if "attributeType" in d:
        res["attributeType"] = d["attributeType"]
    return res


def _status(res, status, why=None):
    res["attributeStatus"] = status
    if why:
        res["attributeStatusInfo"] = {"reasonCode": why}
    return res


def _resolve(st, items, out):
    """Each request item with its result object (appended to out), the device-model row and
    EVSE it addresses; items that are unknown or ask for another attribute than Actual get
    their status here and are not yielded."""
    for d in items:
        res = _result(d)
        out.append(res)
        try:
            r, evse = devmodel.find(st, d["component"], d["variable"])
        except KeyError as e:
            _status(res, e.args[0])
            continue
        if d.get("attributeType", "Actual") != "Actual":
            _status(res, "NotSupportedAttributeType")
            continue
        yield d, res, r, evse


def GetVariables(st, p, now):
    items = _check(st, p, _GET, "GetVariables", "getVariableData")
    if items is None:
        return {"getVariableResult": _too_many(p, "getVariableData")}
    out = []
    for d, res, r, evse in _resolve(st, items, out):
        if r[2] == "O":
            _status(res, "Rejected", "WriteOnly")  # B06.FR.09
        else:
            res["attributeValue"] = devmodel.text(devmodel.value(st, r, evse, now))
            _status(res, "Accepted")
    return {"getVariableResult": out}


def SetVariables(st, p, now):
    items = _check(st, p, _SET, "SetVariables", "setVariableData")
    if items is None:  # nothing is written
        return {"setVariableResult": _too_many(p, "setVariableData")}
    out = []
    changes = {}
    for d, res, r, evse in _resolve(st, items, out):
        if r[2] != "W" and r[2] != "O":
            _status(res, "Rejected", "ReadOnly")
            continue
        try:
            v = devmodel.parse(r, d["attributeValue"])
        except ValueError as e:
            _status(res, "Rejected", e.args[0])
            continue
        why = netprofile.check_priority(st, v) if r[0] == PRIORITY else None
        if why:
            _status(res, "Rejected", why)
            continue
        changes[r[0]] = v
        _status(res, "Accepted")
    if changes:
        new_password = PASSWORD in changes and changes[PASSWORD] != devmodel.get(st, PASSWORD)
        try:
            devmodel.store(st, changes)
        except OSError:
            for res in out:
                if res["attributeStatus"] == "Accepted":
                    _status(res, "Rejected", "StorageFailed")
            return {"setVariableResult": out}
        for k in changes:
            if k.startswith("SampledDataCtrlr.Tx") and k.endswith("Interval"):
                tx.retime(st, now)  # take effect at once
        if new_password:  # A01: log it (never the value) and reconnect with it
            secevents.record(st, "ReconfigurationOfSecurityParameters", "BasicAuthPassword changed", now)
            st.effects.append(("reconnect",))
    return {"setVariableResult": out}


# --- B07 base report ---------------------------------------------------------------------
def GetBaseReport(st, p, now):
    schema.check(p, _BASE)
    base = p["reportBase"]
    if base == "SummaryInventory":
        return {"status": "NotSupported"}
    if getattr(st, "report", None):
        return {"status": "Rejected", "statusInfo": {"reasonCode": "ReportRunning"}}
    items = _items(st, base == "FullInventory", now)
    st.report = [p["requestId"], items, 0, next(items, None)]
    _page(st, now)
    return {"status": "Accepted"}


def _items(st, full, now):
    """reportData items as JSON text, one at a time."""
    n = len(st.conn)
    for r in devmodel.rows(st):
        if not full and r[2] != "W" and r[2] != "O":
            continue
        for evse in range(1, n + 1) if r[1] in (1, 2) else (0,):
            yield rpc.dumps(_item(st, r, evse, now))


def _item(st, r, evse, now):
    c, v, i = devmodel.split(r[0])
    comp = {"name": c}
    if r[1] == 1:
        comp["evse"] = {"id": evse}
    elif r[1] == 2:
        comp["evse"] = {"id": evse, "connectorId": 1}
    var = {"name": v}
    if i:
        var["instance"] = i
    attr = {"type": "Actual", "mutability": devmodel.mutability(r)}
    if r[2] != "O":  # B07.FR.03: write-only values are not reported
        attr["value"] = devmodel.text(devmodel.value(st, r, evse, now))
    if r[2] != "R":
        attr["persistent"] = True
    elif not (type(r[8]) is str and r[8][:1] == "@"):
        attr["constant"] = True
    ch = {"dataType": r[3], "supportsMonitoring": False}
    if r[4]:
        ch["unit"] = r[4]
    if r[5] is not None:
        ch["minLimit"] = r[5]
    hi = r[6]
    if type(hi) is str:
        hi = devmodel.live(st, hi, evse, now)
    if hi is not None:
        ch["maxLimit"] = hi
    if r[7]:
        ch["valuesList"] = r[7]
    return {"component": comp, "variable": var, "variableAttribute": [attr], "variableCharacteristics": ch}


def _page(st, now):
    """Queue the next NotifyReport page of st.report = [requestId, items, seqNo, next item]."""
    rep = st.report
    head = '{"requestId":%d,"generatedAt":"%s","seqNo":%d' % (rep[0], st.stamp(now), rep[2])
    room = devmodel.get(st, "DeviceDataCtrlr.BytesPerMessage[GetReport]") - _ENVELOPE - len(head)
    most = devmodel.get(st, "DeviceDataCtrlr.ItemsPerMessage[GetReport]")
    page = [head, "", ',"reportData":[']  # the payload in parts, never joined (rpc.call)
    item = rep[3]
    while item is not None and len(item) >= room:  # would not fit even alone
        st.log("report item over BytesPerMessage[GetReport] left out")
        item = next(rep[1], None)
    while item is not None and len(page) < 2 * most + 3 and len(item) < room:
        page.append(item)
        page.append(",")
        room -= len(item) + 1
        item = next(rep[1], None)
    rep[3] = item
    rep[2] += 1
    if item is not None:
        page[1] = ',"tbc":true'
    if len(page) > 3:
        page[-1] = "]}"
    else:
        page[2] = "}"
    st.rpc.call("NotifyReport", page, _answered, PRE_BOOT)
    if item is None:
        st.report = None


def _answered(st, res, now):
    if not getattr(st, "report", None):
        return
    if res is None:  # the CSMS did not take a page: give the report up
        st.log("base report abandoned")
        st.report = None
    else:
        _page(st, now)
