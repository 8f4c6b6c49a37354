# runtime/config.py - local provisioning of the station's flash (what tools/sim options or a
# board's setup write): device-model variables, the first network profile, the station
# identity and password, CSMS root certificates, and the non-OCPP station settings.
import json
import sys
from micropython import const
from ocpp_lite.provisioning import devmodel

_ENTRIES = "SecurityCtrlr.CertificateEntries"
_KEY = const(0)  # fields of a dmtable row
_MUT = const(2)
# the station's settings that are not OCPP's: the bound on an incoming WebSocket message
# (runtime/ws.py), and the window (bits) of the permessage-deflate it offers, 0: none offered
# (runtime/wsdeflate.py)
STATION = {"MaxMessageBytes": 4096, "DeflateWindowBits": 0}


def station(store):
    s = dict(STATION)
    s.update(store.load("station") or {})
    return s


def provisioned(store):
    """True when a network profile (CSMS URL) and the station identity are stored."""
    net = store.load("net")
    return bool(net and net["profiles"] and (store.load("vars") or {}).get(devmodel.IDENTITY))


def _row(name):
    """The device-model row for 'Component.Variable[Instance]' or a unique 'Variable'."""
    r = devmodel.row(name)
    if r is None and "." not in name:
        found = [x for x in _rows() if devmodel.split(x[_KEY])[1] == name]
        r = found[0] if len(found) == 1 else None
    if r is None:
        raise ValueError("unknown setting " + name)
    return r


def _rows():
    from ocpp_lite.provisioning.dmtable import ROWS

    return ROWS


def provision(store, sets, csms=None, identity=None, password=None):
    """Write settings given locally. sets: {name: text} of device-model variables the station
    may be configured with (writable ones, Identity, OrganizationName), plus MessageTimeout
    (of network profile 1), MaxMessageBytes and DeflateWindowBits. csms: URL of network profile 1 (security
    profile 1 for ws://, 2 for wss://). Raises ValueError for a bad name or value."""
    vars_doc = store.load("vars") or {}
    net = store.load("net") or {"profiles": {}, "sp": 1}
    st_doc = store.load("station") or {}
    new_vars, new_net, new_st = dict(vars_doc), _copy(net), dict(st_doc)
    if identity is not None:
        sets[devmodel.IDENTITY] = identity
    if password is not None:
        sets[devmodel.PASSWORD] = password
    prof = new_net["profiles"].get("1")
    if csms is not None:
        had = set(sys.modules)
        try:
            from ocpp_lite.provisioning.netprofile import parse_url

            tls = parse_url(csms)[0]
        finally:
            _let_go(had)
        prof = {"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": csms,
                "messageTimeout": prof["messageTimeout"] if prof else 30,
                "securityProfile": 2 if tls else 1, "ocppInterface": "Wired0"}
        new_net["profiles"]["1"] = prof
        new_net["sp"] = prof["securityProfile"]  # local provisioning is trusted
    for name, text in sets.items():
        short = name[name.find(".") + 1 :]
        if short in STATION:
            new_st[short] = int(text)
            if short == "DeflateWindowBits" and new_st[short] and not 8 <= new_st[short] <= 15:
                raise ValueError("DeflateWindowBits: 0 (off) or 8 to 15")
        elif short == "MessageTimeout" or short == "MessageTimeout[Default]":
            if not prof or int(text) < 1:
                raise ValueError("MessageTimeout needs --csms and a value > 0")
            prof["messageTimeout"] = int(text)
        else:
            r = _row(name)
            if r[_MUT] == "R":
                raise ValueError(name + " is read-only")
            try:
                new_vars[r[_KEY]] = devmodel.parse(r, text)
            except ValueError as e:
                raise ValueError("%s: %s" % (name, e.args[0]))
    for name, old, new in (("vars", vars_doc, new_vars), ("net", net, new_net), ("station", st_doc, new_st)):
        if new != old:
            store.save(name, new)


def _copy(doc):
    return json.loads(json.dumps(doc))


def _let_go(had):
    """Forget the modules imported since had (names in sys.modules): provisioning runs once,
    before the station, which loads what it needs when it needs it."""
    from ocpp_lite.station import forget

    for m in [m for m in sys.modules if m not in had]:
        forget(m)


def install_ca(store, text):
    """Replace the installed CSMS root certificates with those of a PEM text (at most
    SecurityCtrlr.CertificateEntries certificates in all)."""
    had = set(sys.modules)
    try:
        from ocpp_lite.crypto import pem
        from .certstore import CSMS, CertStore

        ders = pem.to_der(text)
        cs = CertStore(store)
        if len(ders) + len(cs.names()) - len(cs.names(CSMS)) > devmodel.row(_ENTRIES)[6]:
            raise ValueError("more certificates than SecurityCtrlr.CertificateEntries allows")
        cs.replace(CSMS, ders)
    finally:
        _let_go(had)

