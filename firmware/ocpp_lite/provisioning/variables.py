# ocpp_lite/provisioning/variables.py - B06 GetVariables, B05 SetVariables and B07
# GetBaseReport over the device model (devmodel.py). The base report goes out as NotifyReport
# pages of at most ItemsPerMessage[GetReport] items and BytesPerMessage[GetReport] bytes, each
# page made when the previous one was answered; the Variables service owns the report running.
from micropython import const
from ..engine import rpc, schema
from . import devmodel
from .devmodel import PASSWORD, PRIORITY

# engine/session.py's CALL flags, as constants here (const() does not cross modules)
_PRE_BOOT = const(1)

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_INT = const(-1)
_LIST = const(2)
_REQ = const(1)

# the fields of a dmtable row
_KEY = const(0)
_SCOPE = const(1)
_MUT = const(2)
_TYPE = const(3)
_UNIT = const(4)
_MIN = const(5)
_MAX = const(6)
_VALUE = const(8)

_ATTR = const(("Actual", "Target", "MinSet", "MaxSet"))
_EVSE = const((("id", _INT, _REQ), ("connectorId", _INT, 0)))
_COMP = const((("name", 50, _REQ), ("instance", 50, 0), ("evse", _EVSE, 0)))
_VAR = const((("name", 50, _REQ), ("instance", 50, 0)))
_GET_ITEM = const((("component", _COMP, _REQ), ("variable", _VAR, _REQ), ("attributeType", _ATTR, 0)))
_GET = const((("getVariableData", _GET_ITEM, _REQ | _LIST, 1, 0),))
_SET_ITEM = const((
    ("attributeValue", 1000, _REQ),
    ("component", _COMP, _REQ),
    ("variable", _VAR, _REQ),
    ("attributeType", _ATTR, 0),
))
_SET = const((("setVariableData", _SET_ITEM, _REQ | _LIST, 1, 0),))
_BASE = const((
    ("requestId", _INT, _REQ),
    ("reportBase", ("ConfigurationInventory", "FullInventory", "SummaryInventory"), _REQ),
))
_ENVELOPE = const(72)  # '[2,"<id>","NotifyReport",' ... ',"reportData":[]],"tbc":true}]'


def _size(parts):
    """Bytes (not characters) of text in parts."""
    n = 0
    for s in parts:
        n += len(memoryview(s))
    return n


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


class Variables:
    def __init__(self, st):
        self.st = st
        self.report = None  # the base report being sent: [requestId, items, seqNo, next item], or None

    def busy(self):
        """A base report is being sent (the station keeps this service until it is out)."""
        return self.report is not None

    def _resolve(self, p, spec, what, key, out):
        """The payload checked (its size was before it was parsed: dispatch.py admit), then each
        item of p[key] with its result object (appended to out), the device-model row and EVSE
        it addresses. Items that are unknown or ask for another attribute than Actual
        get their status here and are not yielded; more than ItemsPerMessage: each is Rejected
        and none yielded (the message itself is within BytesPerMessage, so is the answer that
        rejects each of them: TC_B_08_CS)."""
        schema.check(p, spec)
        many = len(p[key]) > self.st.devmodel.get("DeviceDataCtrlr.ItemsPerMessage[%s]" % what)
        for d in p[key]:
            res = _result(d)
            out.append(res)
            if many:
                _status(res, "Rejected", "TooManyElements")
                continue
            try:
                r, evse = self.st.devmodel.find(d["component"], d["variable"])
            except KeyError as e:
                _status(res, e.args[0])
                continue
            if d.get("attributeType", "Actual") != "Actual":
                _status(res, "NotSupportedAttributeType")
                continue
            yield d, res, r, evse

    def GetVariables(self, p, now):
        out = []
        dm = self.st.devmodel
        for d, res, r, evse in self._resolve(p, _GET, "GetVariables", "getVariableData", out):
            if r[_MUT] == "O":
                _status(res, "Rejected", "WriteOnly")  # B06.FR.09
            else:
                res["attributeValue"] = devmodel.text(dm.value(r, evse, now))
                _status(res, "Accepted")
        return {"getVariableResult": out}

    def SetVariables(self, p, now):
        st = self.st
        out = []
        changes = {}  # none when there are too many items: nothing is written
        for d, res, r, evse in self._resolve(p, _SET, "SetVariables", "setVariableData", out):
            if r[_MUT] not in "WO":
                _status(res, "Rejected", "ReadOnly")
                continue
            v = d["attributeValue"]
            try:
                if type(v) is not str:  # a long value stays bytes until here (engine/lift.py)
                    v = str(v, "utf-8")
                v = devmodel.parse(r, v)
            except ValueError as e:
                _status(res, "Rejected", e.args[0])
                continue
            why = st.network.check_priority(v) if r[_KEY] == PRIORITY else None
            if why:
                _status(res, "Rejected", why)
                continue
            changes[r[_KEY]] = v
            _status(res, "Accepted")
        if changes:
            new_password = PASSWORD in changes and changes[PASSWORD] != st.devmodel.get(PASSWORD)
            try:
                st.devmodel.store(changes)
            except OSError:
                for res in out:
                    if res["attributeStatus"] == "Accepted":
                        _status(res, "Rejected", "StorageFailed")
                return {"setVariableResult": out}
            for k in changes:
                if k.startswith("SampledDataCtrlr.Tx") and k.endswith("Interval"):
                    st.transactions.retime(now)  # take effect at once
            if new_password:  # A01: log it (never the value) and reconnect with it
                st.security.record("ReconfigurationOfSecurityParameters", "BasicAuthPassword changed", now)
                st.effect(("reconnect",))
        return {"setVariableResult": out}

    # --- B07 base report ---------------------------------------------------------------------
    def GetBaseReport(self, p, now):
        schema.check(p, _BASE)
        base = p["reportBase"]
        if base == "SummaryInventory":
            return {"status": "NotSupported"}
        if self.report:
            return self.st.rejected("ReportRunning")
        items = self._items(base == "FullInventory", now)
        self.report = [p["requestId"], items, 0, next(items, None)]
        self._page(now)
        return {"status": "Accepted"}

    def _items(self, full, now):
        """reportData items, one at a time, each as JSON text in a few short str (a long one
        needs a piece of heap that a fragmented heap may not have)."""
        n = len(self.st.ev)
        for r in self.st.devmodel.rows():
            if not full and r[_MUT] not in "WO":
                continue
            for evse in range(1, n + 1) if r[_SCOPE] in (1, 2) else (0,):
                yield self._item(r, evse, now)

    def _item(self, r, evse, now):
        dm = self.st.devmodel
        c, v, i = devmodel.split(r[_KEY])
        comp = {"name": c}
        if r[_SCOPE] == 1:
            comp["evse"] = {"id": evse}
        elif r[_SCOPE] == 2:
            comp["evse"] = {"id": evse, "connectorId": 1}
        var = {"name": v}
        if i:
            var["instance"] = i
        attr = {"type": "Actual", "mutability": devmodel.mutability(r)}
        if r[_MUT] != "O":  # B07.FR.03: write-only values are not reported
            attr["value"] = devmodel.text(dm.value(r, evse, now))
        if r[_MUT] != "R":
            attr["persistent"] = True
        elif not (type(r[_VALUE]) is str and r[_VALUE][:1] == "@"):
            attr["constant"] = True
        ch = {"dataType": r[_TYPE], "supportsMonitoring": False}
        if r[_UNIT]:
            ch["unit"] = r[_UNIT]
        if r[_MIN] is not None:
            ch["minLimit"] = r[_MIN]
        hi = r[_MAX]
        if type(hi) is str:
            hi = dm.live(hi, evse, now)
        if hi is not None:
            ch["maxLimit"] = hi
        vals = devmodel.values(r)
        if vals:
            ch["valuesList"] = vals
        d = rpc.dumps
        return ['{"component":', d(comp), ',"variable":', d(var), ',"variableAttribute":[', d(attr),
                '],"variableCharacteristics":', d(ch), "}"]

    def _page(self, now):
        """Queue the next NotifyReport page of report = [requestId, items, seqNo, next item].
        Its text is made only as the WebSocket writes it (_text), straight into the frame."""
        self.st.rpc.call("NotifyReport", [self._text(self.report, now)], self._answered, _PRE_BOOT)

    def _text(self, rep, now):
        """The page's payload in parts: at most ItemsPerMessage[GetReport] items and
        BytesPerMessage[GetReport] bytes in all ("tbc" last: whether more follow is known once
        the page is full)."""
        st = self.st
        head = '{"requestId":%d,"generatedAt":"%s","seqNo":%d' % (rep[0], st.stamp(now), rep[2])
        yield head
        room = st.devmodel.get("DeviceDataCtrlr.BytesPerMessage[GetReport]") - _ENVELOPE - len(head)
        most = st.devmodel.get("DeviceDataCtrlr.ItemsPerMessage[GetReport]")
        item = rep[3]
        while item is not None and _size(item) >= room:  # would not fit even alone
            st.log("report item over BytesPerMessage[GetReport] left out")
            item = next(rep[1], None)
        sep = ',"reportData":['
        k = 0
        while item is not None and k < most:
            m = _size(item)
            if m >= room:
                break
            yield sep
            yield from item
            sep = ","
            k += 1
            room -= m + 1
            item = next(rep[1], None)
        rep[3] = item
        rep[2] += 1
        if item is None and self.report is rep:
            self.report = None
        yield ("]" if k else "") + (',"tbc":true}' if item is not None else "}")

    def _answered(self, st, res, now):
        if not self.report:
            return
        if res is None:  # the CSMS did not take a page: give the report up
            st.log("base report abandoned")
            self.report = None
        else:
            self._page(now)
