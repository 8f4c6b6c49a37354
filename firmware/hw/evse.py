# hw/evse.py - one EVSE's hardware: control pilot, contactor and meter. poll() reads the
# pilot and the contactor feedback and reports what changed through hw.inputs. While the
# station allows energy (board.relay(evse, True)) and no fault is active, the pilot offers the
# EVSE's rated current, or the station's limit if lower (board.limit); otherwise constant
# +12 V, nothing offered. The contactor is interlocked here, below the station: it closes
# only while a current is offered and the EV asks for energy (state C/D), and opens at once
# when either ends or a fault appears.
from micropython import const
from drivers import cp
from drivers.modbus import TIMEOUT, ModbusError
from drivers.relay import STUCK_OPEN, WELDED

PILOT_ERROR = "PilotError"
METER_TIMEOUT = "MeterTimeout"
METER_ERROR = "MeterError"
_METER_FAILS = const(3)  # failed reads in a row (each with its retries) before it is a fault
_VALID = (cp.A, cp.B, cp.C, cp.D)
_READY = (cp.C, cp.D)


class Evse:
    def __init__(self, n, pilot, relay, meter=None, amps=16):
        """n: EVSE id; pilot: drivers.cp.Pilot; relay: drivers.relay.Relay; meter: an object
        with async read() and wh, w, volts, amps (drivers.sdm.SDM, drivers.s0.S0) or None;
        amps: the rated current (cable, contactor, supply)."""
        self.n = n
        self.pilot = pilot
        self.relay = relay
        self.meter = meter
        self.rating = amps
        self.allowed = False  # the station's relay(evse, closed)
        self.cap = None  # the station's limit(evse, amps); None: the rating
        self.faults = []  # reasons active now
        self._fails = 0
        self.restart()

    def restart(self):
        """A new station instance knows nothing: report the hardware state to it afresh."""
        self._plugged = False
        self._ready = False
        self._told = []  # faults the station was told of

    # --- from the station --------------------------------------------------------------
    def allow(self, closed, now):
        self.allowed = closed
        self._apply(now)

    def limit(self, amps, now):
        self.cap = amps
        self._apply(now)

    def _apply(self, now):
        amps = 0
        if self.allowed and not self.faults:
            amps = self.rating if self.cap is None or self.cap > self.rating else self.cap
        p = self.pilot
        if cp.duty_permille(amps) != p.permille:
            p.offer(amps)
        self.relay.set(self._ready and p.permille < 1000, now)

    # --- hardware ----------------------------------------------------------------------
    def poll(self, io, now):
        """Read pilot and contactor, drive the contactor, report changes to io (hw.inputs)."""
        p = self.pilot
        p.poll()
        s = p.state
        plugged = s != cp.A if s in _VALID else self._plugged
        ready = s in _READY
        if self._ready and not ready:
            self._ready = False
            io.ev_ready(self.n, False)
        if plugged != self._plugged:
            self._plugged = plugged
            (io.plug if plugged else io.unplug)(self.n)
        if ready and not self._ready:
            self._ready = True
            io.ev_ready(self.n, True)
        self._set(PILOT_ERROR, s is not None and s not in _VALID)
        if s == cp.A:
            self._set(STUCK_OPEN, False)  # the next EV may try the contactor again
        r = self.relay.fault(now)
        if r:
            self._set(r, True)
        else:
            self._set(WELDED, False)  # the contacts opened after all
        self._apply(now)
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
                self._set(METER_TIMEOUT if timeout else METER_ERROR, True)
                self._report(io)
            return
        self._fails = 0
        self._set(METER_TIMEOUT, False)
        self._set(METER_ERROR, False)
        self._report(io)
        io.meter(self.n, m.wh, m.w, m.volts, m.amps)

    # --- faults ------------------------------------------------------------------------
    def _set(self, reason, on):
        if on and reason not in self.faults:
            self.faults.append(reason)
        elif not on and reason in self.faults:
            self.faults.remove(reason)

    def _report(self, io):
        if self._told == self.faults:
            return
        for r in self.faults:
            if r not in self._told:
                io.fault(self.n, r)
        if self._told and not self.faults:
            io.fault_cleared(self.n)
        self._told = list(self.faults)
