# boards/esp32/board.py - the ESP32 board object: the shared hardware loop (hw.board) on this
# board's pin map, with the ESP32 Wi-Fi station and firmware updates (hw.ota: MicroPython
# images into the next OTA app partition, application bundles through hw.appdir).
import esp32
import machine
import network
import pins
from hw.appdir import Installer
from hw.board import Board
from hw.ota import Ota


def _wlan():
    network.hostname(pins.MODEL.lower().replace(".", "-"))
    w = network.WLAN(network.STA_IF)
    w.active(True)
    w.config(pm=w.PM_NONE)  # no modem sleep: the CSMS may send at any moment
    return w


def make_board(store, log=print):
    b = Board(machine, pins, store, _wlan(), log)
    b.installer = Ota(esp32, store, Installer(store.root))  # UpdateFirmware: an image or a bundle
    return b
