# ocpp_lite/provisioning/netprofile.py - network connection profiles: SetNetworkProfile (B09),
# the order of NetworkConfigurationPriority with NetworkProfileConnectionAttempts per slot, the
# fallback to the last working profile once every slot failed and then the list again
# (B10.FR.07/08), the security-profile upgrade after a successful connection (A05), and the
# CSMS URL (parse_url). The Network service owns doc = {"profiles": {slot: connectionData},
# "sp": active security profile, "last": slot of the last successful connection}, persisted
# with st.save("net", doc) and loaded with st.load("net") when the service is made (the station
# lets go of it while online: the RAM keeps no copy of what the flash has), and where in the
# priority list the station is.
from micropython import const
from ..engine import clock, schema
from . import devmodel
from .devmodel import PRIORITY

_VALUES = const(7)  # the valuesList field of a dmtable row

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_BOOL = const(-3)
_INT = const(-1)
_REQ = const(1)

_APN = const((
    ("apn", 512, _REQ),
    ("apnUserName", 20, 0),
    ("apnPassword", 20, 0),
    ("simPin", _INT, 0),
    ("preferredNetwork", 6, 0),
    ("useOnlyPreferredNetwork", _BOOL, 0),
    ("apnAuthentication", ("CHAP", "NONE", "PAP", "AUTO"), _REQ),
))
_VPN = const((
    ("server", 512, _REQ),
    ("user", 20, _REQ),
    ("group", 20, 0),
    ("password", 20, _REQ),
    ("key", 255, _REQ),
    ("type", ("IKEv2", "IPSec", "L2TP", "PPTP"), _REQ),
))
_PROFILE = const((
    ("ocppVersion", ("OCPP12", "OCPP15", "OCPP16", "OCPP20"), _REQ),
    ("ocppTransport", ("JSON", "SOAP"), _REQ),
    ("ocppCsmsUrl", 512, _REQ),
    ("messageTimeout", _INT, _REQ),
    ("securityProfile", _INT, _REQ),
    ("ocppInterface", ("Wired0", "Wired1", "Wired2", "Wired3", "Wireless0", "Wireless1", "Wireless2", "Wireless3"), _REQ),
    ("apn", _APN, 0),
    ("vpn", _VPN, 0),
))
_REQUEST = const((("configurationSlot", _INT, _REQ), ("connectionData", _PROFILE, _REQ)))


def parse_url(url):
    """'ws[s]://host[:port][/path]' -> (tls, host, port, path). Raises ValueError."""
    if url.startswith("wss://"):
        tls, rest, port = True, url[6:], 443
    elif url.startswith("ws://"):
        tls, rest, port = False, url[5:], 80
    else:
        raise ValueError("CSMS URL must start with ws:// or wss://")
    slash = rest.find("/")
    hostport, path = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    if hostport.startswith("["):
        end = hostport.find("]")
        host, tail = hostport[1:end], hostport[end + 1 :]
    else:
        host, sep, tail = hostport.partition(":")
        tail = sep + tail
    if tail:
        if tail[0] != ":" or not tail[1:].isdigit():
            raise ValueError("bad port in CSMS URL")
        port = int(tail[1:])
    if not host or "@" in host:
        raise ValueError("bad host in CSMS URL")
    return tls, host, port, path


def timeout_ms(prof):
    """MessageTimeout of connectionData prof in ms, at most a day (clock.MAX_WAIT_S): the
    profile keeps what the CSMS sent, the timers (the session's CALLs, the connection and
    its pings) take this."""
    return min(prof["messageTimeout"], clock.MAX_WAIT_S) * 1000


class Network:
    def __init__(self, st, slot):
        """slot: the slot of the last connection since power-up or None, which the station
        keeps while it lets go of this service: the service is kept only while the station is
        offline (busy), when the attempts need it, or while its document is not saved."""
        self.st = st
        doc = st.load("net")
        self.doc = doc if doc and "profiles" in doc else {"profiles": {}, "sp": 1}
        self.active_slot = slot  # slot of the current or last connection since power-up
        order = st.devmodel.get(PRIORITY).split(",")
        self.slot_i = order.index(slot) if slot in order else 0  # position in NetworkConfigurationPriority being tried
        self.tries = 0  # failed attempts on that slot
        self.passed = 0  # slots of the list that failed in a row since the last connection or fallback
        self.fallback = False  # trying the profile of the last successful connection (B10.FR.07)
        self.unsaved = False  # doc differs from the stored one (a save failed): kept in RAM (busy)

    def busy(self):
        """Kept by the station while it is offline with profiles to try, or while doc is not
        what the flash has (Station.release). Offline with none (never provisioned, or a read of
        the flash that failed), it is let go of: the next attempt loads them again."""
        return not self.st.rpc.online and bool(self.doc["profiles"]) or self.unsaved

    def problem(self, prof):
        """Why a connectionData cannot be used here, or None."""
        sp = prof["securityProfile"]
        if prof["ocppVersion"] != "OCPP20" or prof["ocppTransport"] != "JSON":
            return "UnsupportedVersion"
        if sp not in (1, 2):
            return "UnsupportedProfile"
        if sp < self.doc["sp"]:
            return "NoSecurityDowngrade"
        if prof["messageTimeout"] < 1:
            return "InvalidTimeout"
        if prof.get("apn") or prof.get("vpn"):
            return "NoApnOrVpn"
        try:
            tls = parse_url(prof["ocppCsmsUrl"])[0]
        except ValueError:
            return "InvalidUrl"
        if tls != (sp == 2):
            return "UrlNotForProfile"
        return None

    def SetNetworkProfile(self, p, now):
        st = self.st
        schema.check(p, _REQUEST)
        slot = str(p["configurationSlot"])
        prof = p["connectionData"]
        why = "InvalidSlot" if slot not in devmodel.row(PRIORITY)[_VALUES].split(",") else self.problem(prof)
        if why:
            return st.rejected(why)
        old = self.doc["profiles"].get(slot)
        self.doc["profiles"][slot] = prof
        try:
            st.save("net", self.doc)
        except OSError:
            if old is None:
                del self.doc["profiles"][slot]
            else:
                self.doc["profiles"][slot] = old
            return {"status": "Failed"}
        st.security.record("ReconfigurationOfSecurityParameters", "network profile %s set" % slot, now)
        return {"status": "Accepted"}

    def check_priority(self, value):
        """Reason a NetworkConfigurationPriority value cannot be used (B10.FR.02, A05.FR.02/10)."""
        st = self.st
        for s in value.split(","):
            prof = self.doc["profiles"].get(s)
            if prof is None or self.problem(prof):
                return "InvalidProfile"
            roots = st.certstore.names("CSMSRootCertificate") if st.certstore else ()
            if prof["securityProfile"] > 1 and not roots:
                return "NoCsmsRootCert"
        return None

    def _order(self):
        """The slots of NetworkConfigurationPriority that have a profile."""
        profiles = self.doc["profiles"]
        return [s for s in self.st.devmodel.get(PRIORITY).split(",") if s in profiles]

    def current(self):
        """(slot, connectionData) to connect with next, or (None, None) if no slot has a profile."""
        if self.fallback:
            s = self.doc.get("last")
            prof = self.doc["profiles"].get(s)
            if prof and not self.problem(prof):
                return s, prof
            self.fallback = False
        order = self.st.devmodel.get(PRIORITY).split(",")
        for _ in range(len(order)):
            s = order[self.slot_i % len(order)]
            prof = self.doc["profiles"].get(s)
            if prof:
                return s, prof
            self.slot_i += 1
            self.tries = 0
        return None, None

    def failed(self):
        """A connection attempt failed: after NetworkProfileConnectionAttempts move to the next
        slot of the priority list (B10.FR.03); once every slot of it failed, fall back to the
        profile of the last successful connection (B10.FR.07), and when that fails too start the
        list again (B10.FR.08)."""
        self.tries += 1
        if self.tries >= self.st.devmodel.get("OCPPCommCtrlr.NetworkProfileConnectionAttempts"):
            self.tries = 0
            if self.fallback:
                self.fallback = False
                return
            self.slot_i += 1
            self.passed += 1
            if self.passed >= len(self._order()):
                self.passed = 0
                self.fallback = self.doc.get("last") in self.doc["profiles"]

    def connected(self, slot, now):
        """A connection on slot succeeded. Returns True when this is another slot than the last
        connection since power-up (B10.FR.10: register again with a BootNotification)."""
        st = self.st
        switched = self.active_slot is not None and self.active_slot != slot
        self.active_slot = slot
        self.tries = 0
        self.passed = 0
        self.fallback = False
        prof = self.doc["profiles"][slot]
        st.rpc.set_timeout(timeout_ms(prof))
        changed = self.doc.get("last") != slot
        self.doc["last"] = slot
        sp = prof["securityProfile"]
        if sp > self.doc["sp"]:  # A05.FR.06: upgrade, and forget the weaker profiles
            self.doc["sp"] = sp
            profiles = self.doc["profiles"]
            for s in list(profiles):
                if profiles[s]["securityProfile"] < sp:
                    del profiles[s]
            order = self._order()
            st.devmodel.store({PRIORITY: ",".join(order)})
            self.slot_i = order.index(slot)
            st.security.record("ReconfigurationOfSecurityParameters", "security profile %d" % sp, now)
            changed = True
        if changed or self.unsaved:
            try:
                st.save("net", self.doc)
                self.unsaved = False
            except OSError as e:
                st.log("network profiles not saved: %r" % e)
                self.unsaved = True
        return switched
