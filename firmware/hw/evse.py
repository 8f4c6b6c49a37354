# hw/evse.py - one EVSE's hardware: control pilot, contactor and meter. While the station
# allows energy (board.relay(evse, True)) and no fault is active, the pilot offers the EVSE's
# rated current, or the station's limit if lower (board.limit); otherwise constant +12 V,
# nothing offered. The contactor is interlocked here, below the station: it closes only while
# a current is offered and the EV asks for energy (state C/D), and opens when either ends or a
# fault appears (a pilot error, the contactor's feedback disagreeing, the fault input).
#
# Two sides (docs/boards.md "The interlock"): guard(now) is the interlock. It reads the pilot,
# the contactor feedback and the fault input and drives pilot and contactor; the board calls
# it from a machine.Timer callback (a soft IRQ: it runs between two bytecodes of whatever the
# asyncio loop is doing), so it allocates nothing and raises nothing it can help. report(io),
# in the asyncio hardware loop, only tells the station (hw.inputs) what the guard found. The
# guard owns the hardware state (pilot.state, ready, drops, trip); the loop writes only
# allowed, the offer and mfault, whole values the guard picks up at its next pass.
from micropython import const
from drivers import cp
from drivers.modbus import TIMEOUT, ModbusError
from drivers.relay import STUCK_OPEN, WELDED

PILOT_ERROR = "PilotError"
METER_TIMEOUT = "MeterTimeout"
METER_ERROR = "MeterError"
_METER_FAILS = const(3)  # failed reads in a row (each with its retries) before it is a fault
_VALID = (cp.A, cp.B, cp.C, cp.D)
# fault bits: the guard's (trip) and the meter's (mfault, set by the loop)
_PILOT = const(1)
_WELDED = const(2)
_STUCK = const(4)
_TRIP = const(8)
_M_TIMEOUT = const(16)
_M_ERROR = const(32)
_NOT_STUCK = const(~4)
_NOT_WELDED = const(~2)
_NOT_PILOT = const(~1)
_NOT_TRIP = const(~8)


class Evse:
    def __init__(self, n, pilot, relay, meter=None, amps=16, trip=None, trip_reason="GroundFault"):
        """n: EVSE id; pilot: drivers.cp.Pilot; relay: drivers.relay.Relay; meter: an object
        with async read() and wh, w, volts, amps (drivers.sdm.SDM, drivers.s0.S0) or None;
        amps: the rated current (cable, contactor, supply); trip: a Pin/Signal reading 1 while
        a fault input is active (an RCD's trip output, an emergency stop), or None, reported
        as trip_reason."""
        self.n = n
        self.pilot = pilot
        self.relay = relay
        self.meter = meter
        self.rating = amps
        self._trip_in = trip
        self._reasons = ((_PILOT, PILOT_ERROR), (_WELDED, WELDED), (_STUCK, STUCK_OPEN), (_TRIP, trip_reason),
                         (_M_TIMEOUT, METER_TIMEOUT), (_M_ERROR, METER_ERROR))
        self.allowed = False  # the station's relay(evse, closed)
        self.cap = None  # the station's limit(evse, amps); None: the rating
        self._offer = cp.duty_permille(amps)  # PWM duty while allowed (per mille)
        self.armed = False  # a timer runs guard(): the loop leaves the outputs to it
        self.ready = False  # guard: the EV asks for energy (C/D)
        self.drops = 0  # guard: times the EV stopped asking (counted, so none is missed)
        self.trip = 0  # guard: fault bits of pilot, contactor and fault input
        self.mfault = 0  # loop: fault bits of the meter
        self._fails = 0
        self.restart()

    def restart(self):
        """A new station instance knows nothing: report the hardware state to it afresh."""
        self._plugged = False
        self._ready = False
        self._drops = self.drops
        self._told = 0  # fault bits the station was told of

    @property
    def faults(self):
        """The reasons active now."""
        f = self.trip | self.mfault
        return [r for b, r in self._reasons if f & b]

    # --- from the station (the asyncio loop) ---------------------------------------------
    def allow(self, closed, now):
        self.allowed = closed
        if not closed or not self.armed:  # opening is safe from any side; closing is the guard's
            self._apply(now)

    def limit(self, amps, now):
        self.cap = amps
        r = self.rating
        self._offer = cp.duty_permille(r if amps is None or amps > r else amps)
        if not self.armed:
            self._apply(now)

    def _apply(self, now):
        p = self.pilot
        pm = self._offer if self.allowed and not (self.trip | self.mfault) else 1000
        if pm != p.permille:
            p.duty(pm)
        self.relay.set(self.ready and pm < 1000, now)

    # --- the interlock -----------------------------------------------------------------
    def guard(self, now):
        """Read pilot, contactor feedback and fault input; drive pilot and contactor.
        Allocation-free (small ints, constant strings): a timer callback calls it."""
        p = self.pilot
        p.poll()
        s = p.state
        ready = s == cp.C or s == cp.D
        if self.ready and not ready:
            self.drops += 1
        self.ready = ready
        t = self.trip
        if s is None or s == cp.A or s == cp.B or ready:
            t &= _NOT_PILOT
        else:
            t |= _PILOT  # E, F, between the levels, no diode
        if s == cp.A:
            t &= _NOT_STUCK  # the next EV may try the contactor again
        r = self.relay.fault(now)
        if r is None:
            t &= _NOT_WELDED  # the contacts opened after all
        elif r == WELDED:
            t |= _WELDED
        else:
            t |= _STUCK
        i = self._trip_in
        if i is not None:
            t = t | _TRIP if i.value() else t & _NOT_TRIP
        self.trip = t
        self._apply(now)

    def poll(self, io, now):
        """One pass without a timer: guard, then report (tests, a board without a timer)."""
        self.guard(now)
        self.report(io)

    # --- to the station (the asyncio loop) ---------------------------------------------
    def report(self, io):
        """Tell io (hw.inputs) what changed since the last report: plug, ready, faults."""
        s = self.pilot.state
        ready = self.ready
        drops = self.drops
        plugged = s != cp.A if s in _VALID else self._plugged
        if self._ready and (not ready or drops != self._drops):
            self._ready = False
            io.ev_ready(self.n, False)
        self._drops = drops
        if plugged != self._plugged:
            self._plugged = plugged
            (io.plug if plugged else io.unplug)(self.n)
        if ready and not self._ready:
            self._ready = True
            io.ev_ready(self.n, True)
        self._report(io)

    async def read_meter(self, io):
        """Read the meter; report the reading, or a fault after repeated failures."""
        m = self.meter
        try:
            await m.read()
        except (ModbusError, ValueError, OSError) as e:
            self._fails += 1
            if self._fails >= _METER_FAILS:
                timeout = isinstance(e, ModbusError) and e.args[0] == TIMEOUT
                self.mfault |= _M_TIMEOUT if timeout else _M_ERROR
                self._report(io)
            return
        self._fails = 0
        self.mfault = 0
        self._report(io)
        io.meter(self.n, m.wh, m.w, m.volts, m.amps)

    def _report(self, io):
        f = self.trip | self.mfault
        told = self._told
        if told == f:
            return
        for b, r in self._reasons:
            if f & b and not told & b:
                io.fault(self.n, r)
        if told and not f:
            io.fault_cleared(self.n)
        self._told = f
