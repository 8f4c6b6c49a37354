# host_tests/mp/fake_machine/machine.py - a `machine` module for the unix port: Pin, Signal,
# UART, SPI, PWM, ADC, WDT, RTC with the MicroPython API the drivers use, wired to peripheral
# models instead of silicon. Put this directory first on sys.path (hwfakes.py does).
#
# Timer is a soft timer as on the ESP32 and RP2040 ports: a ticker thread (the unix port's
# _thread, standing for the timer interrupt) hands each expired timer's callback to
# micropython.schedule, so it runs on the main thread between two bytecodes of whatever
# Python code runs there, a long computation included, but not inside a blocking C call
# (a poll(2), a flash operation); a full schedule queue drops the call, as an ISR would.
#
# Wiring: pins are shared by id (two Pin(5) objects are one wire); a model registers itself
# for a bus with attach("uart", 2, model) / attach("spi", 1, model) / attach("adc", 34, model)
# before or after the board opens the bus; watch(pin_id, fn) calls fn(level) on every change.

_levels = {}  # pin id -> level
_watchers = {}  # pin id -> [fn(level)]
_irqs = {}  # pin id -> (handler, trigger, Pin)
devices = {}  # (kind, id) -> model
pwms = {}  # pin id -> PWM
wdts = []


def attach(kind, ident, model):
    devices[(kind, ident)] = model


def watch(pin_id, fn):
    _watchers.setdefault(pin_id, []).append(fn)


def level(pin_id):
    return _levels.get(pin_id, 0)


def drive(pin_id, v):
    """Set a wire from outside (a model or a test); runs watchers and pin IRQs."""
    v = 1 if v else 0
    old = _levels.get(pin_id)
    _levels[pin_id] = v
    if old == v:
        return
    for fn in _watchers.get(pin_id, ()):
        fn(v)
    irq = _irqs.get(pin_id)
    if irq and old is not None:
        handler, trigger, pin = irq
        if (v and trigger & Pin.IRQ_RISING) or (not v and trigger & Pin.IRQ_FALLING):
            handler(pin)


def reset_all():
    for d in (_levels, _watchers, _irqs, devices, pwms):
        d.clear()
    del wdts[:]
    for i in range(len(_slots)):
        _slots[i] = None


def _id(p):
    return p.id if isinstance(p, Pin) else p


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        if value is not None:
            drive(id, value)
        elif id not in _levels:
            _levels[id] = 1 if pull == Pin.PULL_UP else 0

    def value(self, v=None):
        if v is None:
            return _levels.get(self.id, 0)
        drive(self.id, v)

    def on(self):
        drive(self.id, 1)

    def off(self):
        drive(self.id, 0)

    def __call__(self, v=None):
        return self.value(v)

    def irq(self, handler=None, trigger=3, hard=False):
        _irqs[self.id] = (handler, trigger, self)


class Signal:
    def __init__(self, pin, invert=False):
        self._pin = pin
        self._inv = invert

    def value(self, v=None):
        if v is None:
            return self._pin.value() ^ self._inv
        self._pin.value((1 if v else 0) ^ self._inv)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class UART:
    """Bytes written go to the attached model's receive(data) -> bytes it answers now (or
    None); model.pending() may hand over later bytes."""

    def __init__(self, id, baudrate=9600, bits=8, parity=None, stop=1, tx=None, rx=None, timeout=0, **kw):
        self.id = id
        self.baudrate = baudrate
        self.rxbuf = bytearray()
        self.sent = []  # every write, as bytes

    def _dev(self):
        return devices.get(("uart", self.id))

    def _pump(self):
        d = self._dev()
        if d and hasattr(d, "pending"):
            more = d.pending()
            if more:
                self.rxbuf.extend(more)

    def write(self, buf):
        data = bytes(buf)
        self.sent.append(data)
        d = self._dev()
        if d:
            ans = d.receive(data)
            if ans:
                self.rxbuf.extend(ans)
        return len(data)

    def flush(self):
        pass

    def any(self):
        self._pump()
        return len(self.rxbuf)

    def read(self, n=-1):
        self._pump()
        if not self.rxbuf:
            return None
        if n < 0 or n > len(self.rxbuf):
            n = len(self.rxbuf)
        out = bytes(self.rxbuf[:n])
        self.rxbuf = self.rxbuf[n:]
        return out

    def readinto(self, buf, n=-1):
        data = self.read(len(buf) if n < 0 else n)
        if not data:
            return None
        buf[: len(data)] = data
        return len(data)


class SPI:
    """Each transfer goes byte by byte to the attached model's xfer(byte) -> byte; the model
    watches its chip-select pin for the frame boundaries."""

    def __init__(self, id, baudrate=1000000, polarity=0, phase=0, sck=None, mosi=None, miso=None, **kw):
        self.id = id
        self.baudrate = baudrate

    def _xfer(self, b):
        d = devices.get(("spi", self.id))
        return d.xfer(b) if d else 0xFF

    def write(self, buf):
        for b in buf:
            self._xfer(b)

    def readinto(self, buf, write=0):
        for i in range(len(buf)):
            buf[i] = self._xfer(write)

    def write_readinto(self, wbuf, rbuf):
        for i in range(len(wbuf)):
            rbuf[i] = self._xfer(wbuf[i])


class PWM:
    def __init__(self, pin, freq=0, duty_u16=None, **kw):
        self.pin = _id(pin)
        self._freq = freq
        self._duty = 0 if duty_u16 is None else duty_u16
        pwms[self.pin] = self

    def freq(self, f=None):
        if f is None:
            return self._freq
        self._freq = f

    def duty_u16(self, d=None):
        if d is None:
            return self._duty
        if not 0 <= d <= 65535:
            raise ValueError("duty")
        self._duty = d

    def deinit(self):
        pwms.pop(self.pin, None)


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, pin, atten=None, **kw):
        self.pin = _id(pin)
        self.atten = atten
        self._key = ("adc", self.pin)  # made once: reads allocate nothing, as on a board

    def read_u16(self):
        d = devices.get(self._key)
        return d.sample() if d else 0


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self.fed = 0
        wdts.append(self)

    def feed(self):
        self.fed += 1


class RTC:
    _dt = (2000, 1, 1, 5, 0, 0, 0, 0)

    def datetime(self, dt=None):
        if dt is None:
            return RTC._dt
        RTC._dt = tuple(dt)


def unique_id():
    return b"\xde\xad\xbe\xef\x00\x01"


def reset():
    raise SystemExit("machine.reset()")


# --- soft timers -------------------------------------------------------------------------
# The ticker thread only reads _slots (fixed size: never reallocated under it) and the armed
# timers' _due, _period and _call; the main thread fills and clears slots.
_slots = [None] * 8
_ticker = [False]  # the thread runs


def _tick():
    import micropython
    from time import sleep_ms, ticks_add, ticks_diff, ticks_ms

    while True:
        sleep_ms(1)
        now = ticks_ms()
        n = 0
        for i in range(len(_slots)):
            t = _slots[i]
            if t is None:
                continue
            n += 1
            if ticks_diff(now, t._due) < 0:
                continue
            if t._mode == Timer.ONE_SHOT:
                _slots[i] = None
            else:
                t._due = ticks_add(t._due, t._period)
                if ticks_diff(now, t._due) >= 0:  # fell behind (a busy host): no burst
                    t._due = ticks_add(now, t._period)
            try:
                micropython.schedule(t._call, t)
            except RuntimeError:  # the queue is full: this expiry is lost
                t.lost += 1
        if not n:
            _ticker[0] = False  # then look again: a timer armed meanwhile keeps the thread
            for t in _slots:
                if t is not None:
                    _ticker[0] = True
                    break
            else:
                return


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        self.id = id
        self._call = None
        self.lost = 0  # expiries dropped because the schedule queue was full
        if kw:
            self.init(**kw)

    def init(self, mode=PERIODIC, period=-1, callback=None, freq=None, hard=False):
        from time import ticks_add, ticks_ms

        if hard:
            raise ValueError("hard timers are not modelled")
        self.deinit()
        if freq:
            period = 1000 // freq
        self._mode = mode
        self._period = period
        self._call = callback
        self._due = ticks_add(ticks_ms(), period)
        for i in range(len(_slots)):
            if _slots[i] is None:
                _slots[i] = self
                break
        else:
            raise ValueError("no free timer")
        if not _ticker[0]:
            import _thread

            _ticker[0] = True
            _thread.start_new_thread(_tick, ())

    def deinit(self):
        for i in range(len(_slots)):
            if _slots[i] is self:
                _slots[i] = None
