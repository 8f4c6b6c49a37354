# The shared EVSE hardware logic (firmware/hw/evse.py) on the unix port with the pilot,
# contactor and meter models: what it reports to the station and how it interlocks the
# contactor (welded, stuck open, pilot errors, a meter that stops answering).
import hwfakes
import modbus_model
from contactor_model import Contactor
from pilot_model import Pilot as CPModel
from hwapp import App, Core
from drivers import cp, relay, sdm
from drivers.modbus import ModbusRTU
from hw.evse import Evse
from hw.inputs import Inputs

CAL = (3000, 61000)


class Rig:
    def __init__(self, meter=True):
        m = self.m = hwfakes.fresh()
        self.ev = CPModel(25, 34, CAL)
        self.k = Contactor(26, 27, active_low=True)
        self.line = modbus_model.Line(2)
        self.sdm = modbus_model.SDM(self.line, 1)
        bus = ModbusRTU(m.UART(2, timeout=0), None, 20, 0)
        fb = m.Signal(m.Pin(27, m.Pin.IN, m.Pin.PULL_UP), invert=True)
        self.evse = Evse(
            1,
            cp.Pilot(m.PWM(m.Pin(25)), m.ADC(m.Pin(34)), CAL),
            relay.Relay(m.Pin(26, m.Pin.OUT), fb, 100),
            sdm.SDM(bus, 1, sdm.SDM120) if meter else None,
            32,
        )
        self.st = Core()
        self.app = App(self.st)
        self.io = Inputs(self.app)
        self.t = 0

    def run(self, state=None, ms=200):
        """Set the EV's state and poll for ms (50 ms steps)."""
        if state:
            self.ev.state = state
        for _ in range(ms // 50):
            self.t += 50
            self.evse.poll(self.io, self.t)

    def calls(self):
        c = [x for x in self.st.calls if x[0] != "meter"]
        del self.st.calls[:]
        return c


def test_plug_ready_unplug_are_reported_in_order():
    r = Rig()
    r.run("A")
    assert r.calls() == []
    r.run("B")
    assert r.calls() == [("plug", 1)]
    r.run("C")
    assert r.calls() == [("ev_ready", 1, True)]
    r.run("A")  # cable pulled while the EV asked for energy
    assert r.calls() == [("ev_ready", 1, False), ("unplug", 1)]
    r.run("C")
    assert r.calls() == [("plug", 1), ("ev_ready", 1, True)]


def test_contactor_interlock():
    r = Rig()
    pwm = r.m.pwms[25]
    r.run("C")
    r.calls()
    assert not r.k.closed and pwm.duty_u16() == 65535  # nothing offered: constant +12 V
    r.evse.allow(True, r.t)  # the station allows energy: the rating is offered at once
    assert pwm.duty_u16() == 533 * 65535 // 1000  # 32 A
    r.run()
    assert r.k.closed
    r.evse.limit(16, r.t)  # the station's limit, when lower
    assert pwm.duty_u16() == 267 * 65535 // 1000 and r.k.closed
    r.evse.limit(63, r.t)  # never more than the rating
    assert pwm.duty_u16() == 533 * 65535 // 1000
    r.evse.limit(0, r.t)  # no current: no contactor
    assert pwm.duty_u16() == 65535 and not r.k.closed
    r.evse.limit(None, r.t)
    r.run()
    assert r.k.closed
    r.run("B")  # the EV stops asking
    assert not r.k.closed and r.calls() == [("ev_ready", 1, False)]
    r.run("C")
    assert r.k.closed
    r.evse.allow(False, r.t)  # the station ends it: open at once, not at the next poll
    assert not r.k.closed and pwm.duty_u16() == 65535
    assert r.calls() == [("ev_ready", 1, True)]


def test_welded_contactor_is_a_fault_until_it_opens():
    r = Rig()
    r.evse.allow(True, 0)
    r.run("C")
    assert r.k.closed and r.calls() == [("plug", 1), ("ev_ready", 1, True)]
    r.k.weld()
    r.evse.allow(False, r.t)
    r.run()
    assert r.calls() == [("fault", 1, "ContactorWelded")]
    r.evse.allow(True, r.t)  # a new session while welded: nothing is offered
    assert r.m.pwms[25].duty_u16() == 65535 and r.m.level(26) == 0
    r.k.free()
    r.run()
    assert r.calls() == [("fault_cleared", 1)]
    assert r.m.pwms[25].duty_u16() == 533 * 65535 // 1000


def test_stuck_open_contactor_faults_until_the_ev_leaves():
    r = Rig()
    r.k.stuck_open = True
    r.evse.allow(True, 0)
    r.run("C", 400)
    assert r.calls() == [("plug", 1), ("ev_ready", 1, True), ("fault", 1, "ContactorStuckOpen")]
    assert r.m.level(26) == 0 and r.m.pwms[25].duty_u16() == 65535  # released, and not tried again ...
    r.run(ms=1000)
    assert r.calls() == [] and r.m.level(26) == 0
    r.k.stuck_open = False
    r.run("A")  # ... until the EV has gone
    assert r.calls() == [("ev_ready", 1, False), ("unplug", 1), ("fault_cleared", 1)]
    r.run("C")
    assert r.k.closed


def test_pilot_errors():
    r = Rig()
    r.run("B")
    r.calls()
    r.run("E")  # CP shorted to PE
    assert r.calls() == [("fault", 1, "PilotError")]
    r.run("B")
    assert r.calls() == [("fault_cleared", 1)]
    r.evse.allow(True, r.t)
    r.ev.diode = False
    r.run("C")
    assert r.calls() == [("fault", 1, "PilotError")]  # no diode: not a valid C
    assert r.m.pwms[25].duty_u16() == 65535


def test_meter_readings_and_a_meter_that_stops_answering():
    r = Rig()
    r.sdm.set(230.0, 16.0, 3680.0, 10.25)
    hwfakes.run(r.evse.read_meter(r.io))
    assert r.st.calls == [("meter", 1, 10250, 3680, 230, 16)]
    del r.st.calls[:]
    r.sdm.silent = True
    for _ in range(2):
        hwfakes.run(r.evse.read_meter(r.io))
    assert r.st.calls == []  # two misses are tolerated
    hwfakes.run(r.evse.read_meter(r.io))
    assert r.st.calls == [("fault", 1, "MeterTimeout")]
    del r.st.calls[:]
    r.sdm.silent = False
    r.sdm.bad_crc = 100
    for _ in range(3):
        hwfakes.run(r.evse.read_meter(r.io))
    assert r.st.calls == [("fault", 1, "MeterError")]  # answers, but broken
    del r.st.calls[:]
    r.sdm.bad_crc = 0
    hwfakes.run(r.evse.read_meter(r.io))
    assert r.st.calls == [("fault_cleared", 1), ("meter", 1, 10250, 3680, 230, 16)]


def test_restart_reports_the_state_to_a_new_station():
    r = Rig()
    r.run("C")
    r.calls()
    r.evse.restart()
    r.run()
    assert r.calls() == [("plug", 1), ("ev_ready", 1, True)]
