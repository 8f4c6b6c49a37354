# SDM120 / SDM630 meter driver on the unix port: the register requests it sends, the exact
# float32 -> integer conversion (energy in Wh without float arithmetic) and a meter that
# stops answering.
import hwfakes
import modbus_model
from drivers import sdm
from drivers.modbus import TIMEOUT, ModbusError, ModbusRTU


def _b(x):
    import struct

    return struct.pack(">f", x)


def test_f32_scaled_is_exact():
    f = sdm.f32_scaled
    assert f(_b(12345.678), 0, 1000) == 12345678  # float32 12345.677734375 kWh
    assert f(_b(230.5), 0, 10) == 2305
    assert f(_b(7.25), 0, 1000) == 7250
    assert f(_b(-1500.5), 0, 1) == -1501  # export: negative power, rounded half away from 0
    assert f(_b(0.0), 0, 1000) == 0 and f(_b(-0.0), 0, 1) == 0
    assert f(_b(1e-45), 0, 1000) == 0  # denormal
    assert f(_b(16777216.0), 0, 1000) == 16777216000  # past 2^24: integers stay exact
    assert f(b"\x00" + _b(0.5), 1, 3) == 2  # offset into the buffer; 1.5 rounds up
    for bad in (float("inf"), float("nan")):
        try:
            f(_b(bad), 0, 1)
        except ValueError:
            continue
        raise AssertionError(bad)


def _meter(model, addr=1):
    m = hwfakes.fresh()
    line = modbus_model.Line(2)
    sim = modbus_model.SDM(line, addr, model)
    uart = m.UART(2, timeout=0)
    bus = ModbusRTU(uart, None, 40, 1)
    return uart, sim, sdm.SDM(bus, addr, sdm.MODELS[model])


def test_sdm120_reads_voltage_current_power_energy():
    uart, sim, meter = _meter("SDM120")
    sim.set(230.5, 7.25, 1671.1, 12345.678)
    hwfakes.run(meter.read())
    assert uart.sent == [bytes.fromhex("01040000000e71ce"), bytes.fromhex("010400480002f1dd")]
    assert meter.values[sdm.V1] == 2305 and meter.values[sdm.I1] == 7250
    assert meter.w == 1671 and meter.wh == 12345678
    assert meter.volts == 231 and meter.amps == 7  # whole units of phase 1, rounded


def test_sdm630_three_phases_total_power_import_energy():
    uart, sim, meter = _meter("SDM630", 2)
    sim.set(231.0, 16.0, 11088.0, 42.0)
    sim.put(2, 229.9)  # phase 2 voltage
    sim.put(10, 15.5)  # phase 3 current
    hwfakes.run(meter.read())
    assert uart.sent == [bytes.fromhex("02040000000cf03c"), bytes.fromhex("0204003400023036"),
                         bytes.fromhex("020400480002f1ee")]
    v = meter.values
    assert (v[sdm.V1], v[sdm.V2], v[sdm.V3]) == (2310, 2299, 2310)
    assert (v[sdm.I1], v[sdm.I2], v[sdm.I3]) == (16000, 16000, 15500)
    assert meter.w == 11088 and meter.wh == 42000


def test_meter_that_stops_answering():
    uart, sim, meter = _meter("SDM120")
    sim.set(230.0, 0.0, 0.0, 1.5)
    hwfakes.run(meter.read())
    assert meter.wh == 1500
    sim.silent = True
    try:
        hwfakes.run(meter.read())
    except ModbusError as e:
        assert e.args[0] == TIMEOUT
    else:
        raise AssertionError("no error")
    assert meter.wh == 1500  # the last good register is kept
    sim.silent = False
    sim.set(230.0, 0.0, 0.0, 1.502)
    hwfakes.run(meter.read())
    assert meter.wh == 1502


def test_nan_register_is_an_error():
    uart, sim, meter = _meter("SDM120")
    sim.put(0x48, float("nan"))
    try:
        hwfakes.run(meter.read())
    except ValueError:
        return
    raise AssertionError("NaN accepted")
