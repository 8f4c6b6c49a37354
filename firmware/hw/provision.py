# hw/provision.py - what `make deploy` writes into a board's store: the CSMS URL, identity
# and password, device-model settings (runtime.config.provision), CSMS root certificates
# (PEM text) and the Wi-Fi network. Runs on the board itself, after the deployment of new
# code: application bundles installed by firmware updates are dropped, so the new code runs.
import os
from runtime import config
from runtime.bundle import Bundles
from runtime.store import Store
from .wifi import FILE


def apply(csms, identity, password=None, sets=None, wifi=None, ca=None, root=None):
    """sets: {"Component.Variable": text}; wifi: (ssid, key) or None; ca: PEM text or None.
    Raises ValueError for an unknown setting, a bad value or a bad certificate."""
    if root is None:
        from .main import STATE as root
    try:
        os.mkdir(root)
    except OSError:
        pass
    s = Store(root)
    Bundles(root).clear()
    config.provision(s, dict(sets or {}), csms, identity, password)
    if ca:
        config.install_ca(s, ca)
    if wifi:
        s.save(FILE, {"ssid": wifi[0], "key": wifi[1]})
    return s
