# The board packages (boards/esp32, boards/rp2040) built on the fake machine with the
# peripheral models wired to their pin maps: the hardware loop feeds the station, joins
# Wi-Fi from the store, feeds the watchdog and leaves the contactors open when it stops.
import asyncio
import hwfakes
import network
from mfrc522_model import Card
from hwapp import App, Core
from runtime.store import Store


def _rig(name):
    m = hwfakes.fresh()
    board_mod = hwfakes.board_package(name)
    import pins

    x = hwfakes.Models(pins)
    d = hwfakes.tmpdir()
    store = Store(d)
    store.save("wifi", {"ssid": "lab", "key": "secret"})
    return m, pins, board_mod.make_board(store, lambda t: None), x.ev, x.contactor, x.meter, x.rfid, d


async def _session(board, ev, k, meter, rfid, pins):
    st = Core()
    app = App(st)
    task = asyncio.create_task(board.run(app))
    await asyncio.wait_for_ms(board.net_wait(), 2000)
    ev.state = "B"
    await asyncio.sleep_ms(400)
    ev.state = "C"
    board.relay(1, True)
    await asyncio.sleep_ms(300)  # the hardware loop sees state C before the card (its passes' order)
    rfid.present(Card(b"\x04\xa1\xb2\xc3"))
    await asyncio.sleep_ms(600)
    closed = k.closed
    ev.state = "A"
    await asyncio.sleep_ms(400)
    task.cancel()
    await asyncio.sleep_ms(10)
    return st.calls, closed, app


def _check(name):
    m, pins, board, ev, k, meter, rfid, d = _rig(name)
    try:
        meter.set(230.0, 16.0, 3680.0, 5.5)
        calls, closed, app = hwfakes.run(_session(board, ev, k, meter, rfid, pins))
        assert board.evses == 1 and board.info["model"] == pins.MODEL
        assert board.info["serialNumber"] == "DEADBEEF0001" and board.hw == pins.HW
        hw = [c for c in calls if c[0] != "meter"]
        assert hw == [("plug", 1), ("ev_ready", 1, True), ("tap", "04A1B2C3", "ISO14443"),
                      ("ev_ready", 1, False), ("unplug", 1)], hw
        assert ("meter", 1, 5500, 3680, 230, 16) in calls
        assert closed  # allowed, offered, state C: the contactor closed ...
        assert not k.closed and m.level(pins.EVSES[0]["relay"]) == 0  # ... and opened again
        assert m.wdts and m.wdts[0].timeout == pins.WDT_MS and m.wdts[0].fed > 5
        assert network.interfaces[-1].config_set.get("pm") == network.WLAN.PM_NONE
        board.show({"ev": "ws", "state": "connected"})
        assert m.level(pins.LED) == 1
    finally:
        hwfakes.rmtree(d)


def test_esp32_board():
    _check("esp32")


def test_rp2040_board():
    _check("rp2040")
    assert network.country() == "DE"


def test_wall_clock():
    m, pins, board, ev, k, meter, rfid, d = _rig("esp32")
    try:
        w = board.wall()
        assert w is not None and w > 757382400  # the host clock is set
        board.set_wall(789008461)  # 2025-01-01T01:01:01Z
        assert m.RTC().datetime() == (2025, 1, 1, 2, 1, 1, 1, 0)  # a Wednesday
    finally:
        hwfakes.rmtree(d)


class _S0Pins:
    """A pin map with an S0 meter and no reader (the board's shapes, other values)."""

    MODEL = "S0-Test"
    HW = {"phases": 1, "power_max": 3680, "connector": "sType2"}
    LED = None
    WDT_MS = 8000
    ADC_KW = {}
    EVSES = ({"amps": 16, "relay": 1, "feedback": None, "pwm": 2, "adc": 3, "cal": (0, 65535), "meter": ("S0", 4, 10)},)
    MODBUS = None
    RFID = None


def test_s0_energy_survives_a_reboot():
    from time import sleep_ms
    from hw.board import Board

    m = hwfakes.fresh()
    d = hwfakes.tmpdir()
    try:
        b = Board(m, _S0Pins, Store(d), network.WLAN(), lambda t: None)
        for _ in range(3):  # 100 Wh per pulse
            m.drive(4, 0)
            m.drive(4, 1)
            sleep_ms(25)
        hwfakes.run(b.evse[0].meter.read())
        b._keep_energy()
        assert b.evse[0].meter.wh == 300
        b2 = Board(m, _S0Pins, Store(d), network.WLAN(), lambda t: None)  # after the reboot
        hwfakes.run(b2.evse[0].meter.read())
        assert b2.evse[0].meter.wh == 300 and b2.reader is None
    finally:
        hwfakes.rmtree(d)
