# hw/board.py - the hardware interface of runtime.app.App (boards/README.md) for the real
# boards, built from a board's pin map (boards/<board>/pins.py) with the machine module and
# the Wi-Fi interface the board passes in. The interlock (hw.evse guard) runs every 20 ms in
# a machine.Timer callback, which also feeds the watchdog; run() is the hardware loop: every
# 50 ms it reports what the interlock found to the station, every 200 ms it polls the RFID
# reader; meters and Wi-Fi in their own tasks.
import asyncio
import json
from time import gmtime, ticks_diff, ticks_ms, time
from micropython import const
from ocpp_lite import __version__
from ocpp_lite.engine.clock import UNIX_2000
from drivers import cp, mfrc522, modbus, relay, s0, sdm, watchdog
from .evse import Evse
from .inputs import Inputs
from .wifi import FILE as WIFI_FILE, Wifi

_TICK_MS = const(50)
_GUARD_MS = const(20)  # the interlock's period: 3 identical pilot reads (debounce) take 40-60 ms
_RFID_EVERY = const(4)  # loop passes per RFID poll
_METER_MS = const(5000)
_STALE_MS = const(90000)  # App.alive moves at least once a minute
_CLOCK_SET = const(757382400)  # 2024-01-01 in seconds since 2000: an earlier RTC was never set
_ENERGY = "energy"  # store document: S0 energy registers, kept over reboots
_SAVE_WH = const(100)
_OFFSET = UNIX_2000 if gmtime(0)[0] == 1970 else 0  # the port's time() epoch vs 2000


def _hex(b):
    return "".join("%02X" % x for x in b)


class Board:
    def __init__(self, machine, pins, store, wlan, log=print):
        """machine: the machine module; pins: the board's pin map module; store: the
        runtime Store (Wi-Fi credentials, S0 energy); wlan: the station interface."""
        Pin = machine.Pin
        self.log = log
        self._store = store
        self.hw = pins.HW  # facts for the device model: phases, power_max (W), connector type
        self.info = {
            "model": pins.MODEL,
            "vendorName": "OCPP2.Lite",
            "serialNumber": _hex(machine.unique_id())[:25],
            "firmwareVersion": __version__,
        }
        self._led = Pin(pins.LED, Pin.OUT, value=0) if pins.LED is not None else None
        self._rtc = machine.RTC()
        self._new_wdt = lambda: machine.WDT(timeout=pins.WDT_MS)
        self._feeder = None
        self._Timer = machine.Timer
        self._timer_id = getattr(pins, "TIMER", -1)
        self._timer = None
        self._guard_cb = self._guard  # bound once: the timer calls it without allocating
        self._app = None
        self._pass = ticks_ms()  # the hardware loop's last pass
        self.failed = False  # the interlock raised: all open, the watchdog starves
        self._saved = store.load(_ENERGY) or {}
        self._bus = None  # the Modbus line, opened for the first SDM meter
        self.evse = [self._evse(machine, pins, n, e) for n, e in enumerate(pins.EVSES, 1)]
        self.evses = len(self.evse)
        self.reader = self._reader(machine, pins.RFID)
        w = store.load(WIFI_FILE) or {}
        self.wifi = Wifi(wlan, w.get("ssid", ""), w.get("key", ""), log)

    def _evse(self, machine, pins, n, e):
        Pin = machine.Pin
        pilot = cp.Pilot(
            machine.PWM(Pin(e["pwm"]), freq=1000, duty_u16=65535),  # +12 V from the start
            machine.ADC(Pin(e["adc"]), **pins.ADC_KW),
            e["cal"],
        )
        fb = e["feedback"]  # auxiliary contact to GND: low = closed
        contactor = relay.Relay(
            Pin(e["relay"], Pin.OUT, value=0),
            None if fb is None else machine.Signal(Pin(fb, Pin.IN, Pin.PULL_UP), invert=True),
        )
        t = e.get("trip")  # (pin, reason): a fault input to GND, low = tripped
        trip = None if not t else machine.Signal(Pin(t[0], Pin.IN, Pin.PULL_UP), invert=True)
        m = self._meter(machine, pins, n, e["meter"])
        if trip is None:
            return Evse(n, pilot, contactor, m, e["amps"])
        return Evse(n, pilot, contactor, m, e["amps"], trip, t[1])

    def _meter(self, machine, pins, n, m):
        Pin = machine.Pin
        if not m:
            return None
        if m[0] == "S0":
            return s0.S0(Pin(m[1], Pin.IN, Pin.PULL_UP), m[2], self._saved.get(str(n), 0))
        if self._bus is None:
            b = pins.MODBUS
            u = machine.UART(b["uart"], baudrate=b["baudrate"], tx=Pin(b["tx"]), rx=Pin(b["rx"]), timeout=0)
            self._bus = modbus.ModbusRTU(u, None if b["de"] is None else Pin(b["de"], Pin.OUT, value=0))
        return sdm.SDM(self._bus, m[1], sdm.MODELS[m[0]])

    def _reader(self, machine, r):
        if not r:
            return None
        Pin = machine.Pin
        spi = machine.SPI(r["spi"], baudrate=r["baudrate"], sck=Pin(r["sck"]), mosi=Pin(r["mosi"]), miso=Pin(r["miso"]))
        reader = mfrc522.MFRC522(spi, Pin(r["cs"], Pin.OUT, value=1), Pin(r["rst"], Pin.OUT, value=1))
        try:
            self.log("MFRC522 version 0x%02x" % reader.init())
            return reader
        except OSError as e:
            self.log("RFID reader not found: %s" % e)
            return None

    # --- outputs -----------------------------------------------------------------------
    def show(self, ev):
        print(json.dumps(ev))
        if self._led is not None and ev.get("ev") == "ws":
            self._led.value(ev["state"] == "connected")

    def relay(self, evse, closed):
        self.evse[evse - 1].allow(closed, ticks_ms())

    def limit(self, evse, amps):
        """The most current the pilot may offer (None: the EVSE's rating)."""
        self.evse[evse - 1].limit(amps, ticks_ms())

    def wall(self):
        s = time() - _OFFSET
        return s if s >= _CLOCK_SET else None

    def set_wall(self, s):
        t = gmtime(s + _OFFSET)
        self._rtc.datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))

    async def net_wait(self):
        await self.wifi.wait()

    # --- the hardware loop -------------------------------------------------------------
    async def run(self, app):
        io = Inputs(app)
        for e in self.evse:
            e.restart()
        self.arm(app)
        tasks = [asyncio.create_task(self.wifi.run(app.link.drop)), asyncio.create_task(self._meters(io))]
        try:
            await self._loop(io)
        except Exception as e:  # the watchdog resets the board: it is not fed any more
            self.log("hardware loop failed: %r" % e)
            raise
        finally:
            self.disarm()
            for t in tasks:
                t.cancel()
            now = ticks_ms()
            for e in self.evse:  # the safe state
                e.allow(False, now)

    # --- the interlock -----------------------------------------------------------------
    def arm(self, app):
        """Start the interlock timer (and the watchdog, once: it cannot be stopped)."""
        if self._feeder is None:
            self._feeder = watchdog.Feeder(self._new_wdt(), _STALE_MS)
        self._app = app
        self._pass = ticks_ms()
        for e in self.evse:
            e.armed = True
        T = self._Timer
        self._timer = T(self._timer_id, mode=T.PERIODIC, period=_GUARD_MS, callback=self._guard_cb)

    def disarm(self):
        if self._timer is not None:
            self._timer.deinit()
            self._timer = None
        for e in self.evse:
            e.armed = False

    def _guard(self, _timer):
        """The timer callback (soft IRQ): every EVSE's interlock, then the watchdog, fed only
        while the App's loop and the hardware loop both pass. Allocates nothing; never raises:
        on an error everything is opened and the watchdog starves (a reset follows)."""
        if self.failed:
            return
        now = ticks_ms()
        try:
            for e in self.evse:
                e.guard(now)
            if ticks_diff(now, self._pass) < _STALE_MS:
                self._feeder.feed(self._app.alive, now)
        except Exception:
            self.failed = True
            for e in self.evse:
                try:
                    e.allowed = False
                    e.relay.set(False, now)
                    e.pilot.duty(1000)
                except Exception:
                    pass

    async def _loop(self, io):
        n = 0
        while True:
            now = self._pass = ticks_ms()
            if self.failed:
                raise RuntimeError("interlock failed")
            for e in self.evse:
                e.report(io)
            n += 1
            if self.reader and n % _RFID_EVERY == 0:
                uid = self.reader.poll(now)
                if uid:
                    io.tap(_hex(uid))
            await asyncio.sleep_ms(_TICK_MS)

    async def _meters(self, io):
        while True:
            for e in self.evse:
                if e.meter:
                    await e.read_meter(io)
            self._keep_energy()
            await asyncio.sleep_ms(_METER_MS)

    def _keep_energy(self):
        """Save S0 registers every _SAVE_WH so the energy never goes back after a reboot."""
        due = False
        for e in self.evse:
            k = str(e.n)
            if isinstance(e.meter, s0.S0) and e.meter.wh - self._saved.get(k, 0) >= _SAVE_WH:
                self._saved[k] = e.meter.wh
                due = True
        if due:
            self._store.save(_ENERGY, self._saved)
