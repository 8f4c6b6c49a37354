# drivers/watchdog.py - feeds a hardware watchdog (machine.WDT) only while the main loop is
# alive: its last pass (ticks_ms, runtime App.alive) is younger than stale_ms. A hung loop
# stops the feeding and the watchdog resets the board.
from time import ticks_diff


class Feeder:
    def __init__(self, wdt, stale_ms):
        """wdt: object with feed(); stale_ms: how old the loop's last pass may be (the App
        loop passes at least once a minute, so more than 60000)."""
        self._wdt = wdt
        self._stale = stale_ms

    def feed(self, alive, now):
        """Feed if the loop passed within stale_ms of now; True when fed."""
        if ticks_diff(now, alive) < self._stale:
            self._wdt.feed()
            return True
        return False
