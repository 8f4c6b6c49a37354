# ocpp_lite/netprofile.py - network connection profiles: SetNetworkProfile (B09), the order of
# NetworkConfigurationPriority with NetworkProfileConnectionAttempts per slot, the fallback to
# the last working profile once every slot failed and then the list again (B10.FR.07/08), and
# the security-profile upgrade after a successful connection (A05).
# State: st.net = {"profiles": {slot: connectionData}, "sp": active security profile,
# "last": slot of the last successful connection}, persisted with st.save("net", st.net).
from micropython import const
from . import clock, devmodel, schema, secevents, wscodec
from .devmodel import PRIORITY

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
BOOL = const(-3)
INT = const(-1)
REQ = const(1)

_APN = const((
    ("apn", 512, REQ),
    ("apnUserName", 20, 0),
    ("apnPassword", 20, 0),
    ("simPin", INT, 0),
    ("preferredNetwork", 6, 0),
    ("useOnlyPreferredNetwork", BOOL, 0),
    ("apnAuthentication", ("CHAP", "NONE", "PAP", "AUTO"), REQ),
))
_VPN = const((
    ("server", 512, REQ),
    ("user", 20, REQ),
    ("group", 20, 0),
    ("password", 20, REQ),
    ("key", 255, REQ),
    ("type", ("IKEv2", "IPSec", "L2TP", "PPTP"), REQ),
))
_PROFILE = const((
    ("ocppVersion", ("OCPP12", "OCPP15", "OCPP16", "OCPP20"), REQ),
    ("ocppTransport", ("JSON", "SOAP"), REQ),
    ("ocppCsmsUrl", 512, REQ),
    ("messageTimeout", INT, REQ),
    ("securityProfile", INT, REQ),
    ("ocppInterface", ("Wired0", "Wired1", "Wired2", "Wired3", "Wireless0", "Wireless1", "Wireless2", "Wireless3"), REQ),
    ("apn", _APN, 0),
    ("vpn", _VPN, 0),
))
_REQ = const((("configurationSlot", INT, REQ), ("connectionData", _PROFILE, REQ)))


def init(st, doc):
    st.net = doc if doc and "profiles" in doc else {"profiles": {}, "sp": 1}
    st.active_slot = None  # slot of the current or last connection since power-up
    st.slot_i = 0  # position in NetworkConfigurationPriority being tried
    st.tries = 0  # failed attempts on that slot
    st.passed = 0  # slots of the list that failed in a row since the last connection or fallback
    st.fallback = False  # trying the profile of the last successful connection (B10.FR.07)


def slots():
    return devmodel.row(PRIORITY)[7].split(",")


def problem(st, prof):
    """Why a connectionData cannot be used here, or None."""
    sp = prof["securityProfile"]
    if prof["ocppVersion"] != "OCPP20" or prof["ocppTransport"] != "JSON":
        return "UnsupportedVersion"
    if sp not in (1, 2):
        return "UnsupportedProfile"
    if sp < st.net["sp"]:
        return "NoSecurityDowngrade"
    if prof["messageTimeout"] < 1:
        return "InvalidTimeout"
    if prof.get("apn") or prof.get("vpn"):
        return "NoApnOrVpn"
    try:
        tls = wscodec.parse_url(prof["ocppCsmsUrl"])[0]
    except ValueError:
        return "InvalidUrl"
    if tls != (sp == 2):
        return "UrlNotForProfile"
    return None


def timeout_ms(prof):
    """MessageTimeout of connectionData prof in ms, at most a day (clock.MAX_WAIT_S): the
    profile keeps what the CSMS sent, the timers (the session's CALLs, the connection and
    its pings) take this."""
    return min(prof["messageTimeout"], clock.MAX_WAIT_S) * 1000


def SetNetworkProfile(st, p, now):
    schema.check(p, _REQ)
    slot = str(p["configurationSlot"])
    prof = p["connectionData"]
    why = "InvalidSlot" if slot not in slots() else problem(st, prof)
    if why:
        return {"status": "Rejected", "statusInfo": {"reasonCode": why}}
    old = st.net["profiles"].get(slot)
    st.net["profiles"][slot] = prof
    try:
        st.save("net", st.net)
    except OSError:
        if old is None:
            del st.net["profiles"][slot]
        else:
            st.net["profiles"][slot] = old
        return {"status": "Failed"}
    secevents.record(st, "ReconfigurationOfSecurityParameters", "network profile %s set" % slot, now)
    return {"status": "Accepted"}


def check_priority(st, value):
    """Reason a NetworkConfigurationPriority value cannot be used (B10.FR.02, A05.FR.02/10)."""
    for s in value.split(","):
        prof = st.net["profiles"].get(s)
        if prof is None or problem(st, prof):
            return "InvalidProfile"
        roots = st.certstore.names("CSMSRootCertificate") if st.certstore else ()
        if prof["securityProfile"] > 1 and not roots:
            return "NoCsmsRootCert"
    return None


def current(st):
    """(slot, connectionData) to connect with next, or (None, None) if no slot has a profile."""
    if st.fallback:
        s = st.net.get("last")
        prof = st.net["profiles"].get(s)
        if prof and not problem(st, prof):
            return s, prof
        st.fallback = False
    order = devmodel.get(st, PRIORITY).split(",")
    for _ in range(len(order)):
        s = order[st.slot_i % len(order)]
        prof = st.net["profiles"].get(s)
        if prof:
            return s, prof
        st.slot_i += 1
        st.tries = 0
    return None, None


def failed(st):
    """A connection attempt failed: after NetworkProfileConnectionAttempts move to the next
    slot of the priority list (B10.FR.03); once every slot of it failed, fall back to the
    profile of the last successful connection (B10.FR.07), and when that fails too start the
    list again (B10.FR.08)."""
    st.tries += 1
    if st.tries >= devmodel.get(st, "OCPPCommCtrlr.NetworkProfileConnectionAttempts"):
        st.tries = 0
        if st.fallback:
            st.fallback = False
            return
        st.slot_i += 1
        st.passed += 1
        profiles = st.net["profiles"]
        if st.passed >= len([s for s in devmodel.get(st, PRIORITY).split(",") if s in profiles]):
            st.passed = 0
            st.fallback = st.net.get("last") in profiles


def connected(st, slot, now):
    """A connection on slot succeeded. Returns True when this is another slot than the last
    connection since power-up (B10.FR.10: register again with a BootNotification)."""
    switched = st.active_slot is not None and st.active_slot != slot
    st.active_slot = slot
    st.tries = 0
    st.passed = 0
    st.fallback = False
    prof = st.net["profiles"][slot]
    st.rpc.timeout_ms = timeout_ms(prof)
    changed = st.net.get("last") != slot
    st.net["last"] = slot
    sp = prof["securityProfile"]
    if sp > st.net["sp"]:  # A05.FR.06: upgrade, and forget the weaker profiles
        st.net["sp"] = sp
        profiles = st.net["profiles"]
        for s in list(profiles):
            if profiles[s]["securityProfile"] < sp:
                del profiles[s]
        order = [s for s in devmodel.get(st, PRIORITY).split(",") if s in profiles]
        devmodel.store(st, {PRIORITY: ",".join(order)})
        st.slot_i = order.index(slot)
        secevents.record(st, "ReconfigurationOfSecurityParameters", "security profile %d" % sp, now)
        changed = True
    if changed:
        try:
            st.save("net", st.net)
        except OSError as e:
            st.log("network profiles not saved: %r" % e)
    return switched
