# host_tests/mp/fake_machine/network.py - a `network` module for the unix port: a station
# interface that joins any network named in NETWORKS (with its key), to run the boards' Wi-Fi
# bring-up without a radio. drop() loses the connection.
STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_GOT_IP = 3
STAT_WRONG_PASSWORD = -3
STAT_NO_AP_FOUND = -2
NETWORKS = {}  # ssid -> key
interfaces = []


class WLAN:
    PM_NONE = 0
    PM_PERFORMANCE = 1
    PM_POWERSAVE = 2

    def __init__(self, interface=STA_IF):
        self._active = False
        self._status = STAT_IDLE
        self.config_set = {}
        self.connects = []
        interfaces.append(self)

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)

    def config(self, *args, **kw):
        if args:
            return self.config_set.get(args[0])
        self.config_set.update(kw)

    def connect(self, ssid, key=None):
        if not self._active:
            raise OSError("WLAN not active")
        self.connects.append(ssid)
        if ssid not in NETWORKS:
            self._status = STAT_NO_AP_FOUND
        elif NETWORKS[ssid] != key:
            self._status = STAT_WRONG_PASSWORD
        else:
            self._status = STAT_GOT_IP

    def disconnect(self):
        self._status = STAT_IDLE

    def drop(self):
        self._status = STAT_IDLE

    def status(self, *args):
        return self._status

    def isconnected(self):
        return self._status == STAT_GOT_IP

    def ifconfig(self):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")


_country = "XX"
_hostname = "mpy"


def country(c=None):
    global _country
    if c is None:
        return _country
    _country = c


def hostname(h=None):
    global _hostname
    if h is None:
        return _hostname
    _hostname = h
