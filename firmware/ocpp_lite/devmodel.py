# ocpp_lite/devmodel.py - the device model (dmtable.ROWS): find a variable from a request,
# read its value (stored, default, constant or live), check and store a new one, and render
# values and characteristics as OCPP text. Writable values that differ from their default
# live in st.vars and are persisted with st.save("vars", st.vars).
from . import actions, clock
from .dmtable import ROWS

UNKNOWN_COMPONENT = "UnknownComponent"
UNKNOWN_VARIABLE = "UnknownVariable"
_MUT = {"R": "ReadOnly", "C": "ReadOnly", "W": "ReadWrite", "O": "WriteOnly"}

# keys used by the firmware
HEARTBEAT = "OCPPCommCtrlr.HeartbeatInterval"
PRIORITY = "OCPPCommCtrlr.NetworkConfigurationPriority"
PASSWORD = "SecurityCtrlr.BasicAuthPassword"
IDENTITY = "SecurityCtrlr.Identity"


def init(st, doc):
    """Take the stored values; ones that no longer fit the table (after a firmware update)
    are dropped, so the defaults apply."""
    st.vars = {}
    st.sc = actions.has("SetChargingProfile")
    try:
        from . import aligned  # noqa: F401  (clock-aligned meter values: not in every build)

        st.al = True
    except ImportError:
        st.al = False
    for k, v in (doc or {}).items():
        r = row(k)
        if r and r[2] in "WOC":
            try:
                st.vars[k] = parse(r, text(v))
            except ValueError:
                st.log("stored %s dropped: not valid" % k)


def row(key):
    """The first row of key: the build-independent one, or the one of a full build."""
    for r in ROWS:
        if r[0] == key:
            return r
    return None


def get(st, key):
    """Typed value of a station-wide stored or constant variable."""
    v = st.vars.get(key)
    return v if v is not None else row(key)[8]


def rows(st):
    """The rows of this build."""
    for r in ROWS:
        k = r[1]
        if k < 3 or k == 3 and st.sc or k == 4 and st.al or k == 5 and not st.al:
            yield r


def split(key):
    """'Comp.Var[Inst]' -> (component, variable, instance or None)."""
    dot = key.find(".")
    v = key[dot + 1 :]
    b = v.find("[")
    if b < 0:
        return key[:dot], v, None
    return key[:dot], v[:b], v[b + 1 : -1]


def find(st, comp, var):
    """(row, evse) addressed by a request's component and variable objects. Names compare
    without case. Raises KeyError(UnknownComponent | UnknownVariable)."""
    ev = comp.get("evse")
    evse = 0
    scope = 0
    if ev is not None:
        evse = ev["id"]
        c = ev.get("connectorId")
        if not 1 <= evse <= len(st.conn) or (c is not None and c != 1):
            raise KeyError(UNKNOWN_COMPONENT)
        scope = 1 if c is None else 2
    if "instance" in comp:
        raise KeyError(UNKNOWN_COMPONENT)  # no component of this station has instances
    cn = comp["name"].lower()
    vn = var["name"].lower()
    vi = var.get("instance")
    vi = vi.lower() if vi is not None else None
    known = False
    for r in rows(st):
        if (r[1] if r[1] < 3 else 0) != scope:
            continue
        c, v, i = split(r[0])
        if c.lower() != cn:
            continue
        known = True
        if v.lower() == vn and (i.lower() if i is not None else None) == vi:
            return r, evse
    raise KeyError(UNKNOWN_VARIABLE if known else UNKNOWN_COMPONENT)


def value(st, r, evse, now):
    """Typed value of row r (for EVSE evse of a per-EVSE row)."""
    v = r[8]
    if type(v) is str and v[:1] == "@":
        return live(st, v, evse, now)
    if r[2] != "R":
        s = st.vars.get(r[0])
        if s is not None:
            return s
    return v


def live(st, name, evse, now):
    """Values the firmware knows at run time."""
    if name == "@avail" or name == "@available":
        if evse:
            s = st.conn[evse - 1]
        else:  # the station: a status all connectors share, else Available
            s = st.conn[0]
            for x in st.conn:
                if x != s:
                    s = "Available"
        return s if name == "@avail" else s != "Unavailable" and s != "Faulted"
    if name == "@now":
        return clock.iso(st.time(now))
    if name == "@power":
        return st.power[evse - 1]
    if name == "@active_slot":
        return st.active_slot or 0
    if name == "@message_timeout":
        return st.rpc.timeout_ms // 1000
    if name == "@security_profile":
        return st.net["sp"]
    if name == "@certs":
        return st.certs
    if name == "@profiles":
        return len(st.profiles)
    return st.hw[name[1:]]  # @phases, @power_max, @connector: board configuration


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
    t = r[3]
    lo, hi = r[5], r[6]
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
    allowed = r[7].split(",")
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


def store(st, changes):
    """Apply {key: typed value} to the stored values and persist them once. On a flash error
    the old values come back and the OSError is raised."""
    old = dict(st.vars)
    for k, v in changes.items():
        if v == row(k)[8]:
            st.vars.pop(k, None)
        else:
            st.vars[k] = v
    if st.vars != old:
        try:
            st.save("vars", st.vars)
        except OSError:
            st.vars = old
            raise


def mutability(r):
    return _MUT[r[2]]
