# ocpp_lite/provisioning/devmodel.py - the device model (dmtable.ROWS): find a variable from a
# request, read its value (stored, default, constant or live), check and store a new one, and
# render values and characteristics as OCPP text. The DeviceModel service owns the writable
# values that differ from their default (vars), persisted with st.save("vars", vars).
from micropython import const
from ..engine import clock
from .dmtable import ROWS

# the fields of a dmtable row
_KEY = const(0)
_SCOPE = const(1)
_MUT = const(2)
_TYPE = const(3)
_MIN = const(5)
_MAX = const(6)
_VALUES = const(7)
_VALUE = const(8)

_UNKNOWN_COMPONENT = const("UnknownComponent")
_UNKNOWN_VARIABLE = const("UnknownVariable")

# the valuesLists several dmtable rows share: the measurands metering/ samples, the connector
# statuses (ConnectorStatusEnumType)
_LISTS = const((("@measurands", "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage"),
                ("@status", "Available,Occupied,Reserved,Unavailable,Faulted")))

# keys used by the firmware
HEARTBEAT = "OCPPCommCtrlr.HeartbeatInterval"
PRIORITY = "OCPPCommCtrlr.NetworkConfigurationPriority"
PASSWORD = "SecurityCtrlr.BasicAuthPassword"
IDENTITY = "SecurityCtrlr.Identity"


class DeviceModel:
    def __init__(self, st, doc, sc, al):
        """Take the stored values doc; ones that no longer fit the table (after a firmware
        update) are dropped, so the defaults apply. sc, al: the build has smart charging,
        clock-aligned meter values (the rows of scope 3, 4 and 5)."""
        self.st = st
        self.vars = {}
        self.sc = sc
        self.al = al
        for k, v in (doc or {}).items():
            r = row(k)
            if r and r[_MUT] in "WOC":
                try:
                    self.vars[k] = parse(r, text(v))
                except ValueError:
                    st.log("stored %s dropped: not valid" % k)

    def get(self, key):
        """Typed value of a station-wide stored or constant variable."""
        v = self.vars.get(key)
        return v if v is not None else row(key)[_VALUE]

    def rows(self):
        """The rows of this build."""
        for r in ROWS:
            k = r[_SCOPE]
            if k < 3 or k == 3 and self.sc or k == 4 and self.al or k == 5 and not self.al:
                yield r

    def find(self, comp, var):
        """(row, evse) addressed by a request's component and variable objects. Names compare
        without case. Raises KeyError(UnknownComponent | UnknownVariable)."""
        ev = comp.get("evse")
        evse = 0
        scope = 0
        if ev is not None:
            evse = ev["id"]
            c = ev.get("connectorId")
            if not 1 <= evse <= len(self.st.ev) or (c is not None and c != 1):
                raise KeyError(_UNKNOWN_COMPONENT)
            scope = 1 if c is None else 2
        if "instance" in comp:
            raise KeyError(_UNKNOWN_COMPONENT)  # no component of this station has instances
        cn = comp["name"].lower()
        vn = var["name"].lower()
        vi = var.get("instance")
        vi = vi.lower() if vi is not None else None
        known = False
        for r in self.rows():
            if (r[_SCOPE] if r[_SCOPE] < 3 else 0) != scope:
                continue
            c, v, i = split(r[_KEY])
            if c.lower() != cn:
                continue
            known = True
            if v.lower() == vn and (i.lower() if i is not None else None) == vi:
                return r, evse
        raise KeyError(_UNKNOWN_VARIABLE if known else _UNKNOWN_COMPONENT)

    def value(self, r, evse, now):
        """Typed value of row r (for EVSE evse of a per-EVSE row)."""
        v = r[_VALUE]
        if type(v) is str and v[:1] == "@":
            return self.live(v, evse, now)
        if r[_MUT] != "R":
            s = self.vars.get(r[_KEY])
            if s is not None:
                return s
        return v

    def live(self, name, evse, now):
        """Values the firmware knows at run time."""
        st = self.st
        if name == "@avail":
            return st.availability.status(evse)
        if name == "@available":
            return st.availability.usable(evse)
        if name == "@now":
            return clock.iso(st.time(now))
        if name == "@power":
            return st.ev[evse - 1].w
        if name == "@active_slot":
            return st.network.active_slot or 0
        if name == "@message_timeout":
            return st.rpc.timeout_ms // 1000
        if name == "@security_profile":
            return st.network.doc["sp"]
        if name == "@certs":
            return len(st.certstore.names()) if st.certstore else 0
        if name == "@profiles":
            return len(st.smartcharging.profiles)
        return st.hw[name[1:]]  # @phases, @power_max, @connector: board configuration

    def store(self, changes):
        """Apply {key: typed value} to the stored values and persist them once. On a flash
        error the old values come back and the OSError is raised."""
        old = dict(self.vars)
        for k, v in changes.items():
            if v == row(k)[_VALUE]:
                self.vars.pop(k, None)
            else:
                self.vars[k] = v
        if self.vars != old:
            try:
                self.st.save("vars", self.vars)
            except OSError:
                self.vars = old
                raise


def row(key):
    """The first row of key: the build-independent one, or the one of a full build."""
    for r in ROWS:
        if r[_KEY] == key:
            return r
    return None




def values(r):
    """The valuesList of row r."""
    v = r[_VALUES]
    for name, shared in _LISTS:
        if name == v:
            return shared
    return v


def split(key):
    """'Comp.Var[Inst]' -> (component, variable, instance or None)."""
    dot = key.find(".")
    v = key[dot + 1 :]
    b = v.find("[")
    if b < 0:
        return key[:dot], v, None
    return key[:dot], v[:b], v[b + 1 : -1]





def text(v):
    """OCPP text of a typed value."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is float and v == int(v):
        return str(int(v))
    return str(v)


def _number(s, integer):
    t = s[1:] if s[:1] == "-" else s
    if integer:
        ok = t.isdigit()
    else:
        a, _, b = t.partition(".")
        ok = (a.isdigit() or (not a and b)) and (not b or b.isdigit())
    if not ok or len(s) > 16:
        raise ValueError("InvalidValue")
    return int(s) if integer else float(s)


def parse(r, s):
    """Typed value of text s for row r. Raises ValueError(reasonCode)."""
    t = r[_TYPE]
    lo, hi = r[_MIN], r[_MAX]
    if t == "integer" or t == "decimal":
        v = _number(s, t == "integer")
        if (lo is not None and v < lo) or (type(hi) is int and v > hi):
            raise ValueError("ValueOutOfRange")
        return v
    if t == "boolean":
        s = s.lower()
        if s != "true" and s != "false":
            raise ValueError("InvalidValue")
        return s == "true"
    if t == "string":
        if (hi is not None and len(s) > hi) or (lo is not None and len(s) < lo):
            raise ValueError("ValueOutOfRange")
        return s
    if t == "dateTime":
        if clock.parse(s) is None:
            raise ValueError("InvalidValue")
        return s
    allowed = values(r).split(",")
    if t == "OptionList":
        if s not in allowed:
            raise ValueError("InvalidValue")
        return s
    members = [m.strip() for m in s.split(",")] if s.strip() else []
    for i in range(len(members)):
        if members[i] not in allowed or members[i] in members[:i]:
            raise ValueError("InvalidValue")
    if t == "SequenceList" and not members:
        raise ValueError("InvalidValue")
    return ",".join(members)



def mutability(r):
    """The OCPP mutability of row r: R and C (set by local provisioning only) are ReadOnly."""
    m = r[_MUT]
    return "ReadWrite" if m == "W" else "WriteOnly" if m == "O" else "ReadOnly"
