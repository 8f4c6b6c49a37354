# host_tests/mp/hwfakes.py - puts fake_machine/ (machine, network and the peripheral models)
# first on sys.path for the driver tests and clears the wiring between tests.
import sys

_dir = (__file__.rpartition("/")[0] or ".") + "/fake_machine"
if _dir not in sys.path:
    sys.path.insert(0, _dir)

import machine  # noqa: E402  (the fake one)


def fresh():
    """A clean wiring board for one test."""
    machine.reset_all()
    return machine


def run(coro):
    import asyncio

    try:
        return asyncio.run(coro)
    finally:
        asyncio.new_event_loop()


def board_package(name):
    """Import boards/<name> (its pins and board modules) afresh; returns the board module."""
    root = __file__.rpartition("/")[0] or "."
    d = root + "/../../boards/" + name
    for b in ("esp32", "rp2040"):
        p = root + "/../../boards/" + b
        if p in sys.path:
            sys.path.remove(p)
    sys.path.insert(1, d)
    for m in ("pins", "board"):
        sys.modules.pop(m, None)
    import board

    return board


class Models:
    """The peripheral models on a board package's pin map (its first EVSE): ev (pilot), contactor,
    meter (SDM on the Modbus line), rfid (MFRC522); Wi-Fi network "lab" with key "secret"."""

    def __init__(self, pins):
        import modbus_model
        import network
        from contactor_model import Contactor
        from mfrc522_model import MFRC522Model
        from pilot_model import Pilot

        e = pins.EVSES[0]
        self.ev = Pilot(e["pwm"], e["adc"], e["cal"])
        self.contactor = Contactor(e["relay"], e["feedback"], active_low=True)
        self.meter = modbus_model.SDM(modbus_model.Line(pins.MODBUS["uart"]), e["meter"][1], e["meter"][0])
        self.rfid = MFRC522Model(pins.RFID["spi"], pins.RFID["cs"])
        network.NETWORKS.clear()
        network.NETWORKS["lab"] = "secret"


def tmpdir():
    import os

    d = "/tmp/ocpp2lite-%s" % "".join("%02x" % b for b in os.urandom(4))
    os.mkdir(d)
    return d


def rmtree(d):
    from hw.appdir import rmtree

    rmtree(d)
