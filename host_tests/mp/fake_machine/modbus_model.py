# host_tests/mp/fake_machine/modbus_model.py - Modbus RTU slaves on a simulated RS-485 line:
# Eastron SDM120 / SDM630 input-register maps holding IEEE-754 float32 big-endian pairs,
# answering function 0x04, checking the request CRC16, with faults to switch on: silent,
# bad CRC, exception responses, answers dribbled in small chunks.
import struct
import machine


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes((crc & 0xFF, crc >> 8))


class Line:
    """attach to ("uart", id); slaves answer by address."""

    def __init__(self, uart_id):
        self.slaves = {}
        self.requests = []  # every frame on the line
        self.chunk = 0  # > 0: hand answers over this many bytes per any()/read()
        self._out = bytearray()
        machine.attach("uart", uart_id, self)

    def receive(self, data):
        self.requests.append(data)
        if len(data) < 4 or crc16(data[:-2]) != data[-2:]:
            return None
        s = self.slaves.get(data[0])
        ans = s.answer(data) if s else None
        if ans and self.chunk:
            self._out.extend(ans)
            return None
        return ans

    def pending(self):
        n = self.chunk
        out = bytes(self._out[:n])
        self._out = self._out[n:]
        return out


class SDM:
    """An SDM120 or SDM630 at address addr on line."""

    def __init__(self, line, addr, model="SDM120"):
        self.addr = addr
        self.model = model
        self.regs = {}
        for r in list(range(0x50)) + list(range(0x154, 0x15C)):  # the maps' blocks, 0 by default
            self.regs[r] = 0
        self.silent = False
        self.bad_crc = 0  # answers with a broken CRC to give
        self.exception = None  # exception code to answer with
        self.answered = 0
        line.slaves[addr] = self
        self.set(230.0, 0.0, 0.0, 0.0)

    def put(self, reg, value):
        b = struct.pack(">f", value)
        self.regs[reg] = b[0] << 8 | b[1]
        self.regs[reg + 1] = b[2] << 8 | b[3]

    def set(self, volts, amps, watts, kwh):
        """Same values on every phase of an SDM630 (watts is the total)."""
        phases = 3 if self.model == "SDM630" else 1
        for p in range(phases):
            self.put(2 * p, volts)
            self.put(6 + 2 * p, amps)
            self.put(12 + 2 * p, watts / phases)
        if phases == 3:
            self.put(0x34, watts)
        self.put(0x48, kwh)
        self.put(0x156, kwh)

    def answer(self, q):
        if self.silent:
            return None
        if q[1] != 0x04 or len(q) != 8:
            out = bytes((self.addr, q[1] | 0x80, 0x01))
        elif self.exception is not None:
            out = bytes((self.addr, 0x84, self.exception))
        else:
            reg = q[2] << 8 | q[3]
            n = q[4] << 8 | q[5]
            if not 1 <= n <= 80 or any(r not in self.regs for r in range(reg, reg + n)):
                out = bytes((self.addr, 0x84, 0x02))  # illegal data address
            else:
                body = bytearray((self.addr, 0x04, 2 * n))
                for r in range(reg, reg + n):
                    body.append(self.regs[r] >> 8)
                    body.append(self.regs[r] & 0xFF)
                out = bytes(body)
        self.answered += 1
        c = crc16(out)
        if self.bad_crc:
            self.bad_crc -= 1
            c = bytes((c[0] ^ 0xFF, c[1]))
        return out + c
