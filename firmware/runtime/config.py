# runtime/config.py - the station's settings: defaults, and the values provisioned into the
# store (config.json). Names follow the OCPP device-model variables they stand for.
from ocpp_lite import pem

DEFAULTS = {
    "CsmsUrl": "",  # ws:// (security profile 1) or wss:// (profile 2) endpoint, without identity
    "Identity": "",  # SecurityCtrlr.Identity: station id in the URL and basic-auth user
    "BasicAuthPassword": "",  # SecurityCtrlr.BasicAuthPassword (write-only)
    "MessageTimeout": 30,  # OCPPCommCtrlr.MessageTimeout, s
    "HeartbeatInterval": 300,  # OCPPCommCtrlr.HeartbeatInterval, s (until BootNotification sets it)
    "RetryBackOffWaitMinimum": 10,  # OCPPCommCtrlr.RetryBackOff*, s / count
    "RetryBackOffRandomRange": 10,
    "RetryBackOffRepeatTimes": 4,
    "WebSocketPingInterval": 60,  # OCPPCommCtrlr.WebSocketPingInterval, s (0 = no pings)
    "MaxMessageBytes": 8192,  # bound on an incoming WebSocket message (close 1009 above it)
}
_FILE = "config.json"
_CA = "csms_root_"


def load(store):
    cfg = dict(DEFAULTS)
    cfg.update(store.load(_FILE, {}))
    return cfg


def provision(store, changes):
    """Merge changes ({name: value}) into the stored settings; values of numeric settings
    given as text are converted. Raises ValueError for an unknown name or a bad value."""
    doc = store.load(_FILE, {})
    new = dict(doc)
    for k, v in changes.items():
        if k.find(".") >= 0:  # Component.Variable form
            k = k[k.find(".") + 1 :]
        if k not in DEFAULTS:
            raise ValueError("unknown setting " + k)
        if type(DEFAULTS[k]) is int:
            v = int(v)
        new[k] = v
    if new != doc:
        store.save(_FILE, new)


def install_ca(store, text):
    """Replace the installed CSMS root certificates with those of a PEM text."""
    ders = pem.to_der(text)
    for n in store.names(_CA):
        store.remove(n)
    for i in range(len(ders)):
        store.write("%s%d.der" % (_CA, i), ders[i])


def ca_certs(store):
    return [store.read(n) for n in store.names(_CA)]
