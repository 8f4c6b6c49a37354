# hw/wifi.py - Wi-Fi station bring-up: join the network provisioned in the store (document
# "wifi": {"ssid": ..., "key": ...}; never in code), keep `up` true while joined (wait() until
# it is), and rejoin with a growing pause after a loss, telling the caller so it can drop the
# CSMS link at once.
import asyncio
from micropython import const

FILE = "wifi"  # store document
_JOIN_MS = const(20000)
_CHECK_MS = const(1000)
_STEP_MS = const(200)
_PAUSE_MAX_S = const(60)


class Wifi:
    def __init__(self, wlan, ssid, key, log):
        """wlan: network.WLAN(network.STA_IF) set up by the board."""
        self.wlan = wlan
        self.ssid = ssid
        self.key = key
        self.log = log
        self.up = False

    async def wait(self):
        """Until the network is up (checked as often as run() checks the interface)."""
        while not self.up:
            await asyncio.sleep_ms(_STEP_MS)

    async def run(self, on_down):
        """Supervise the interface forever; on_down() is called when the network is lost."""
        w = self.wlan
        w.active(True)
        pause = 1
        while True:
            if w.isconnected():
                if not self.up:
                    self.log("wifi up: %s" % w.ifconfig()[0])
                    self.up = True
                    pause = 1
                await asyncio.sleep_ms(_CHECK_MS)
                continue
            if self.up:
                self.up = False
                self.log("wifi lost")
                on_down()
            if not self.ssid:
                self.log("no Wi-Fi provisioned (store document wifi)")
                await asyncio.sleep(_PAUSE_MAX_S)
                continue
            w.connect(self.ssid, self.key)
            t = 0
            while not w.isconnected() and t < _JOIN_MS:
                await asyncio.sleep_ms(_STEP_MS)
                t += _STEP_MS
            if not w.isconnected():
                self.log("wifi join of %s failed (status %d), next try in %d s" % (self.ssid, w.status(), pause))
                w.disconnect()
                await asyncio.sleep(pause)
                pause = min(pause * 2, _PAUSE_MAX_S)
