"""A board package end to end: boards/esp32 and boards/rp2040 run on the MicroPython unix port
(host_tests/mp/boardrun.py) with the fake machine and network modules and the peripheral models
(control pilot, contactor, SDM meter on Modbus, MFRC522 with a card) in place of the hardware,
against the CSMS: plug and unplug through the pilot model reach the CSMS as StatusNotification
Occupied / Available, and a charging session runs from the card on the reader to the contactor
and the meter."""

import json
import os
import subprocess
import threading
import time

import pytest

from helpers import MICROPYTHON, ROOT, Sim, wait_until

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
