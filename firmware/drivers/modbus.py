# drivers/modbus.py - Modbus RTU master on a UART (RS-485): read input registers (function
# 0x04) with CRC16 (poly 0xA001, init 0xFFFF, low byte first), a response timeout and
# retries. The UART must be non-blocking (timeout=0); an optional DE/RE pin switches a
# half-duplex transceiver to transmit while the request goes out.
import asyncio
from time import ticks_diff, ticks_ms
from micropython import const

_READ_INPUT = const(0x04)
_EXCEPTION = const(0x80)  # set in the function code of an exception response
_MAX_REGS = const(40)
_TIMEOUT_MS = const(300)  # the SDM meters answer within ~60 ms at 9600 baud
_RETRIES = const(2)
_GAP_MS = const(5)  # > 3.5 character times of silence before a frame at 9600 baud
_POLL_MS = const(2)

TIMEOUT = "timeout"  # ModbusError kinds; an exception response gives its code (int)
CRC = "crc"
FRAME = "frame"


class ModbusError(Exception):
    pass


def crc16(buf, n):
    """Modbus CRC16 of buf[:n]; sent low byte first."""
    crc = 0xFFFF
    for i in range(n):
        crc ^= buf[i]
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


class ModbusRTU:
    def __init__(self, uart, de=None, timeout_ms=_TIMEOUT_MS, retries=_RETRIES):
        """uart: machine.UART opened with timeout=0; de: Pin driving DE/RE (1 = transmit)."""
        self._uart = uart
        self._de = de
        self.timeout_ms = timeout_ms
        self.retries = retries
        self._tx = bytearray(8)
        self._rx = bytearray(5 + 2 * _MAX_REGS)
        self._rxv = memoryview(self._rx)
        self.errors = 0  # failed attempts since start (diagnostics)
        if de:
            de.value(0)

    async def read_input(self, slave, reg, count):
        """Read count input registers from reg; returns a memoryview of the 2*count data
        bytes (valid until the next request). Raises ModbusError(kind) after the retries."""
        if not 0 < count <= _MAX_REGS:
            raise ValueError("count")
        q = self._tx
        q[0] = slave
        q[1] = _READ_INPUT
        q[2] = reg >> 8
        q[3] = reg & 0xFF
        q[4] = 0
        q[5] = count
        c = crc16(q, 6)
        q[6] = c & 0xFF
        q[7] = c >> 8
        err = None
        for _ in range(self.retries + 1):
            try:
                await self._transact(5 + 2 * count)
                return self._rxv[3 : 3 + 2 * count]
            except ModbusError as e:
                self.errors += 1
                err = e
        raise err

    async def _transact(self, need):
        u = self._uart
        rx = self._rx
        await asyncio.sleep_ms(_GAP_MS)
        while u.any():  # a late answer to an earlier request
            u.read()
        if self._de:
            self._de.value(1)
            u.write(self._tx)
            u.flush()  # until the last stop bit is out
            self._de.value(0)
        else:
            u.write(self._tx)
        got = 0
        t0 = ticks_ms()
        while got < need:
            if u.any():
                got += u.readinto(self._rxv[got:need]) or 0
                if got >= 2 and rx[1] == _READ_INPUT | _EXCEPTION:
                    need = 5
            elif ticks_diff(ticks_ms(), t0) > self.timeout_ms:
                raise ModbusError(TIMEOUT)
            else:
                await asyncio.sleep_ms(_POLL_MS)
        c = crc16(rx, need - 2)
        if rx[need - 2] != c & 0xFF or rx[need - 1] != c >> 8:
            raise ModbusError(CRC)
        if rx[0] != self._tx[0]:
            raise ModbusError(FRAME)
        if rx[1] != _READ_INPUT:
            if rx[1] == _READ_INPUT | _EXCEPTION:
                raise ModbusError(rx[2])
            raise ModbusError(FRAME)
        if rx[2] != need - 5:
            raise ModbusError(FRAME)
