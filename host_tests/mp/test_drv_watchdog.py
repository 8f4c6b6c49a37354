# Watchdog feeder on the unix port: feeds machine.WDT only while the main loop's last pass
# (App.alive) is recent.
import hwfakes
from time import ticks_add
from drivers.watchdog import Feeder


def test_feeds_while_alive_and_stops_when_stale():
    m = hwfakes.fresh()
    wdt = m.WDT(timeout=8000)
    f = Feeder(wdt, 90000)
    alive = 1000
    assert f.feed(alive, ticks_add(alive, 100)) and wdt.fed == 1
    assert f.feed(alive, ticks_add(alive, 89999)) and wdt.fed == 2
    assert not f.feed(alive, ticks_add(alive, 90000)) and wdt.fed == 2
    alive = ticks_add(alive, 90000)  # the loop passed again
    assert f.feed(alive, alive) and wdt.fed == 3


def test_wrapping_ticks():
    m = hwfakes.fresh()
    wdt = m.WDT()
    f = Feeder(wdt, 1000)
    alive = ticks_add(0, -10)
    assert f.feed(alive, ticks_add(alive, 500))
    assert not f.feed(alive, ticks_add(alive, 1500))
