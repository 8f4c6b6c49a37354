# S0 pulse-counter meter on the unix port: falling edges on the pin IRQ, contact bounce, energy
# in integer Wh from a start value, a power estimate from the pulse interval.
import hwfakes
from time import sleep_ms
from drivers.s0 import S0


def _pulse(m, pin):
    m.drive(pin, 0)
    m.drive(pin, 1)


def test_counts_pulses_into_wh():
    m = hwfakes.fresh()
    p = m.Pin(35, m.Pin.IN, m.Pin.PULL_UP)
    meter = S0(p, 1000, wh=1000)
    hwfakes.run(meter.read())
    assert meter.wh == 1000 and meter.w == 0
    for _ in range(5):
        _pulse(m, 35)
        sleep_ms(25)
    hwfakes.run(meter.read())
    assert meter.count == 5 and meter.wh == 1005
    assert 0 < meter.w <= 144000  # 1 Wh per >= 25 ms


def test_bounce_is_one_pulse_and_rising_edges_do_not_count():
    m = hwfakes.fresh()
    meter = S0(m.Pin(7, m.Pin.IN, m.Pin.PULL_UP), 800)
    _pulse(m, 7)
    _pulse(m, 7)  # within the 20 ms bounce gap
    _pulse(m, 7)
    assert meter.count == 1
    sleep_ms(30)
    _pulse(m, 7)
    assert meter.count == 2
    hwfakes.run(meter.read())
    assert meter.wh == 2 * 1000 // 800  # 1.25 Wh per pulse, whole Wh


def test_power_decays_without_pulses():
    m = hwfakes.fresh()
    meter = S0(m.Pin(7, m.Pin.IN, m.Pin.PULL_UP), 1000)
    _pulse(m, 7)
    sleep_ms(25)
    _pulse(m, 7)
    hwfakes.run(meter.read())
    w1 = meter.w
    sleep_ms(120)
    hwfakes.run(meter.read())
    assert 0 < meter.w < w1
