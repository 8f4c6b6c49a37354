"""A board package end to end: boards/esp32 and boards/rp2040 run on the MicroPython unix port
(host_tests/mp/boardrun.py) with the fake machine and network modules and the peripheral models
(control pilot, contactor, SDM meter on Modbus, MFRC522 with a card) in place of the hardware,
against the CSMS: plug and unplug through the pilot model reach the CSMS as StatusNotification
Occupied / Available, a charging session runs from the card on the reader to the contactor
and the meter, and UpdateFirmware installs an application bundle (the application `make deploy`
builds, as a ROMFS image) that the board unpacks and runs after its reset, or rolls back when it
crashes at start."""

import json
import os
import shutil
import subprocess
import threading
import time

import pytest
from ocpp.v201 import call

from helpers import MICROPYTHON, ROOT, Sim, pem, wait_until
from test_firmware_update import (MF_ROOT, NEW, files, patched_firmware, security, signers,  # noqa: F401
                                  statuses, update, versions, wait_status)
from tools import deploy

RUN = ROOT / "host_tests" / "mp" / "boardrun.py"


class BoardProc(Sim):
    """boardrun.py as a subprocess; events and logs as with Sim."""

    def __init__(self, board, state, csms_url, ident="CS-BOARD-1"):
        self.state = state
        self.events = []
        self.log = []
        self.p = subprocess.Popen([MICROPYTHON, str(RUN), board, str(state), csms_url, ident],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, bufsize=1)
        self._threads = [threading.Thread(target=self._read, args=(self.p.stdout, True), daemon=True),
                         threading.Thread(target=self._read, args=(self.p.stderr, False), daemon=True)]
        for t in self._threads:
            t.start()

    def report(self):
        """A fresh {"ev": "models", ...} report of the peripheral models."""
        n = len(self.find(ev="models")) + 1
        self.send(report=True)
        return self.wait_event(ev="models", n=n)


def _statuses(csms):
    return [f.payload["connectorStatus"] for f in csms.inbound("StatusNotification")]


@pytest.mark.parametrize("board,model", [("esp32", "OCPP2.Lite-ESP32"), ("rp2040", "OCPP2.Lite-PicoW")])
def test_plug_and_unplug_through_the_board_reach_the_csms(csms, closing, tmp_path, board, model):
    b = closing(BoardProc(board, tmp_path / "state", csms.url))
    boot = csms.wait_call("BootNotification", timeout=20)
    assert boot.payload["chargingStation"]["model"] == model
    assert boot.payload["chargingStation"]["serialNumber"] == "DEADBEEF0001"  # machine.unique_id()
    wait_until(lambda: _statuses(csms) == ["Available"], 10, lambda: "Available at boot: %r" % _statuses(csms))
    assert any("wifi up" in line for line in b.log)

    b.send(cp="B")  # the EV is plugged in: the pilot falls to +9 V
    wait_until(lambda: _statuses(csms) == ["Available", "Occupied"], 10, lambda: "Occupied: %r" % _statuses(csms))
    sn = csms.inbound("StatusNotification")[-1].payload
    assert (sn["evseId"], sn["connectorId"]) == (1, 1)

    r = b.report()
    assert not r["contactor"] and r["pwm"] == 65535  # no transaction: nothing offered

    def polled():
        r = b.report()
        return r["modbus"] > 0 and r["wdt_fed"] > 0 and r["rfid_frames"] > 0

    wait_until(polled, 10, "meter, watchdog and RFID reader polled")

    b.send(cp="A")  # unplugged
    wait_until(lambda: _statuses(csms) == ["Available", "Occupied", "Available"], 10,
               lambda: "Available again: %r" % _statuses(csms))
    b.send(quit=True)
    assert b.p.wait(10) == 0
    assert b.find(ev="exit", why="quit")
    assert not b.crashed(), "\n".join(b.log)
    assert not [line for line in b.log if "STDOUT NOT JSON" in line]


def _tx(csms, event):
    return [f.payload for f in csms.inbound("TransactionEvent") if f.payload["eventType"] == event]


@pytest.mark.parametrize("board,duty", [("esp32", 533 * 65535 // 1000), ("rp2040", 267 * 65535 // 1000)])
def test_charging_session_through_the_board(csms, closing, tmp_path, board, duty):
    b = closing(BoardProc(board, tmp_path / "state", csms.url))
    b.wait_event(ev="boot", status="Accepted", timeout=20)
    b.send(meter=[230.0, 0.0, 0.0, 12.5])
    b.send(cp="B")
    b.wait_event(ev="status", status="Occupied")
    b.send(card="04A1B2C3")  # one tap, the card stays on the reader
    auth = csms.wait_call("Authorize").payload
    assert auth["idToken"] == {"idToken": "04A1B2C3", "type": "ISO14443"}
    wait_until(lambda: _tx(csms, "Started"), 10, "TransactionEvent Started")
    wait_until(lambda: b.report()["pwm"] == duty, 5, "the rated current offered")
    assert not b.report()["contactor"]  # state B: the EV does not ask yet
    b.send(cp="C")
    wait_until(lambda: b.report()["contactor"], 5, "contactor closed")
    b.send(meter=[230.0, 16.0, 3680.0, 12.75])
    wait_until(lambda: any(t.get("transactionInfo", {}).get("chargingState") == "Charging"
                           for t in _tx(csms, "Updated") + _tx(csms, "Started")), 15, "chargingState Charging")
    b.send(card=None)
    b.send(cp="A")  # the cable is pulled
    ended = wait_until(lambda: _tx(csms, "Ended"), 10, "TransactionEvent Ended")[0]
    assert ended["transactionInfo"]["stoppedReason"] in ("EVDisconnected", "StoppedByEV")
    values = [sv["value"] for mv in ended.get("meterValue", ()) for sv in mv["sampledValue"]
              if sv.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"]
    assert values == [12750]  # the SDM's register in Wh
    r = b.report()
    assert not r["contactor"] and r["pwm"] == 65535
    assert len(csms.inbound("Authorize")) == 1  # the card held on the reader was one tap
    b.wait_event(ev="status", status="Available")


def test_welded_contactor_faults_the_station(csms, closing, tmp_path):
    b = closing(BoardProc("esp32", tmp_path / "state", csms.url))
    b.wait_event(ev="boot", status="Accepted", timeout=20)
    b.send(cp="C")
    b.send(card="04A1B2C3")
    wait_until(lambda: _tx(csms, "Started"), 10, "TransactionEvent Started")
    wait_until(lambda: b.report()["contactor"], 5, "contactor closed")
    b.send(weld=True)
    b.send(cp="A")  # the board opens the contactor; the contacts stay closed
    b.wait_event(ev="status", status="Faulted", timeout=10)
    assert _tx(csms, "Ended")
    b.send(weld=False)
    b.wait_event(ev="status", status="Available", timeout=10)


def board_bundle(board, out, version, broken=False):
    """The application `make deploy` installs on board (tools/deploy.py: the lite profile,
    drivers, hw, pins and board modules) as a ROMFS image, built from a copy of the sources
    with __version__ = version (broken: its station module fails on import)."""
    src = out / "src"
    patched_firmware(src / "firmware", version, broken)
    shutil.copytree(ROOT / "boards" / board, src / "boards" / board)
    root, deploy.ROOT = deploy.ROOT, src
    try:
        return deploy.build_app(board, "lite", out / "build")[1].read_bytes()
    finally:
        deploy.ROOT = root


@pytest.fixture(scope="module")
def board_bundles(tmp_path_factory):
    return {(b, broken): board_bundle(b, tmp_path_factory.mktemp(b), "0.0.0-broken" if broken else NEW, broken)
            for b in ("esp32", "rp2040") for broken in (False, True)}


def _updated_board(csms, closing, tmp_path, files, signers, board, data):
    """A board (station id CS001) that has accepted UpdateFirmware for data, signed."""
    b = closing(BoardProc(board, tmp_path / "state", csms.url, "CS001"))
    b.wait_event(ev="boot", status="Accepted", timeout=20)
    r = csms.call("CS001", call.InstallCertificate(certificate_type=MF_ROOT, certificate=pem(signers["ec"][0])))
    assert r.status == "Accepted"
    files.files["/app.romfs"] = data
    assert update(csms, files.url("/app.romfs"), signers["ec"][1], data) == "Accepted"
    return b


@pytest.mark.parametrize("board", ["rp2040", "esp32"])
def test_application_bundle_installed_and_run_on_the_board(csms, closing, tmp_path, files, signers, board_bundles,
                                                           board):
    data = board_bundles[(board, False)]
    b = _updated_board(csms, closing, tmp_path, files, signers, board, data)
    old = versions(csms)[0]
    wait_status(csms, "Installed", timeout=60)
    assert statuses(csms) == ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting",
                              "Installed"]
    assert len(b.find(ev="reset")) == 1  # the chip reset, then the bundle unpacked and run
    boot = csms.inbound("BootNotification")[-1].payload
    assert boot["reason"] == "FirmwareUpdate" and boot["chargingStation"]["firmwareVersion"] == NEW != old
    wait_until(lambda: security(csms, "FirmwareUpdated"), 10, "FirmwareUpdated")
    state, app = tmp_path / "state", tmp_path / "app"
    assert (state / "app.run").read_bytes() == data and not (state / "app.try").exists()  # confirmed
    assert (app / "hw" / "board.mpy").exists() and (app / "pins.mpy").exists()
    b.send(cp="B")  # the bundle's hardware loop drives the models
    wait_until(lambda: _statuses(csms)[-1:] == ["Occupied"], 10, lambda: "Occupied: %r" % _statuses(csms))
    b.close()  # a power cut: the next start runs the bundle again
    b = closing(BoardProc(board, state, csms.url, "CS001"))
    b.wait_event(ev="boot", status="Accepted", timeout=20)
    assert versions(csms)[-1] == NEW and csms.inbound("BootNotification")[-1].payload["reason"] == "PowerUp"
    assert not b.crashed(), "\n".join(b.log)


@pytest.mark.parametrize("board", ["rp2040", "esp32"])
def test_bundle_crashing_at_start_is_rolled_back_on_the_board(csms, closing, tmp_path, files, signers, board_bundles,
                                                              board):
    b = _updated_board(csms, closing, tmp_path, files, signers, board, board_bundles[(board, True)])
    old = versions(csms)[0]
    wait_status(csms, "InstallationFailed", timeout=60)
    assert statuses(csms)[-2:] == ["InstallRebooting", "InstallationFailed"]
    assert len(b.find(ev="reset")) == 2  # the reboot onto the bundle, and its crash
    assert any("this bundle is broken" in line for line in b.log)
    assert versions(csms)[-1] == old and len(versions(csms)) == 2  # the deployed code again
    assert not (tmp_path / "state" / "app.run").exists() and not (tmp_path / "app").exists()
    assert not security(csms, "FirmwareUpdated")
