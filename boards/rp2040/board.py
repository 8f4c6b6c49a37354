# boards/rp2040/board.py - the Raspberry Pi Pico W board object: the shared hardware loop
# (hw.board) on this board's pin map, with the CYW43 Wi-Fi station and application bundles
# as firmware updates (hw.appdir).
import machine
import network
import pins
from hw.appdir import Installer
from hw.board import Board


def _wlan():
    network.country(pins.COUNTRY)  # before the radio starts
    network.hostname(pins.MODEL.lower().replace(".", "-"))
    w = network.WLAN(network.STA_IF)
    w.active(True)
    w.config(pm=w.PM_NONE)  # the CYW43 power save would delay CSMS messages by up to 0.5 s
    return w


def make_board(store, log=print):
    b = Board(machine, pins, store, _wlan(), log)
    b.installer = Installer(store.root)  # UpdateFirmware: application bundles
    return b
