# Modbus RTU master on the unix port against a simulated RS-485 line: the request bytes, CRC16,
# response checks, timeouts, retries, CRC errors and exception responses.
import hwfakes
import modbus_model
from drivers.modbus import CRC, TIMEOUT, ModbusError, ModbusRTU, crc16


def _bus(de=None, timeout_ms=40, retries=2):
    m = hwfakes.fresh()
    line = modbus_model.Line(2)
    meter = modbus_model.SDM(line, 1, "SDM120")
    uart = m.UART(2, baudrate=9600, timeout=0)
    return m, line, meter, uart, ModbusRTU(uart, de, timeout_ms, retries)


def _fails(coro):
    try:
        hwfakes.run(coro)
    except ModbusError as e:
        return e.args[0]
    raise AssertionError("no ModbusError")


def test_crc16_known_frames():
    assert crc16(bytes.fromhex("010400000002"), 6) == 0xCB71  # sent 71 CB
    assert crc16(bytes.fromhex("01030000000A"), 6) == 0xCDC5  # the classic read-holding example
    assert crc16(b"\x01\x04\x00\x48\x00\x02", 6) == 0xDDF1


def test_request_bytes_and_register_data():
    m, line, meter, uart, bus = _bus()
    meter.put(0x48, 12345.678)
    data = hwfakes.run(bus.read_input(1, 0x48, 2))
    assert uart.sent == [bytes.fromhex("010400480002f1dd")]
    assert bytes(data) == bytes.fromhex("4640e6b6")  # float32 12345.678, big-endian
    data = hwfakes.run(bus.read_input(1, 0, 2))
    assert uart.sent[-1] == bytes.fromhex("01040000000271cb")
    assert bytes(data) == bytes.fromhex("43660000")  # 230.0 V


def test_silent_slave_times_out_after_retries():
    m, line, meter, uart, bus = _bus(retries=2)
    meter.silent = True
    assert _fails(bus.read_input(1, 0, 2)) == TIMEOUT
    assert len(uart.sent) == 3 and len(set(uart.sent)) == 1  # the same request, three times
    assert bus.errors == 3


def test_crc_error_is_retried():
    m, line, meter, uart, bus = _bus()
    meter.bad_crc = 1
    data = hwfakes.run(bus.read_input(1, 0, 2))
    assert bytes(data) == bytes.fromhex("43660000")
    assert len(uart.sent) == 2 and bus.errors == 1


def test_crc_errors_on_every_attempt_fail():
    m, line, meter, uart, bus = _bus(retries=1)
    meter.bad_crc = 5
    assert _fails(bus.read_input(1, 0, 2)) == CRC
    assert len(uart.sent) == 2


def test_exception_response_gives_its_code():
    m, line, meter, uart, bus = _bus(retries=0)
    assert _fails(bus.read_input(1, 0x200, 2)) == 2  # illegal data address
    meter.exception = 4
    assert _fails(bus.read_input(1, 0, 2)) == 4


def test_wrong_address_answers_nothing():
    m, line, meter, uart, bus = _bus(retries=0)
    assert _fails(bus.read_input(7, 0, 2)) == TIMEOUT
    assert uart.sent == [bytes.fromhex("07040000000271ad")]


def test_answer_in_pieces_and_stale_bytes():
    m, line, meter, uart, bus = _bus()
    line.chunk = 3  # the answer trickles in
    uart.rxbuf.extend(b"\x55\xaa")  # noise from before the request is discarded
    data = hwfakes.run(bus.read_input(1, 0, 14))
    assert len(data) == 28 and bytes(data[:4]) == bytes.fromhex("43660000")
    assert bus.errors == 0


def test_de_pin_frames_each_request():
    m = hwfakes.fresh()
    line = modbus_model.Line(1)
    modbus_model.SDM(line, 1)
    seen = []
    m.watch(4, seen.append)
    bus = ModbusRTU(m.UART(1, timeout=0), m.Pin(4, m.Pin.OUT))
    hwfakes.run(bus.read_input(1, 0, 2))
    hwfakes.run(bus.read_input(1, 0, 2))
    assert seen == [1, 0, 1, 0] and m.level(4) == 0


def test_bad_count_is_refused():
    m, line, meter, uart, bus = _bus()
    for n in (0, 41):
        try:
            hwfakes.run(bus.read_input(1, 0, n))
        except ValueError:
            continue
        raise AssertionError(n)
    assert uart.sent == []
