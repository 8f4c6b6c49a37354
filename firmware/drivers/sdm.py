# drivers/sdm.py - Eastron SDM120 (single phase) and SDM630 (three phase) DIN-rail energy
# meters over Modbus RTU. Their input registers (function 0x04) hold IEEE-754 float32 values
# in big-endian register pairs; they are converted exactly, in integer arithmetic, to
# voltage in dV, current in mA, active power in W and total import energy in Wh.
from micropython import const

V1 = const(0)  # slots of SDM.values
V2 = const(1)
V3 = const(2)
I1 = const(3)
I2 = const(4)
I3 = const(5)
W = const(6)
WH = const(7)

# Register maps: requests of (first register, register count, fields), each field being
# (register offset in the request, slot, scale to the integer unit).
SDM120 = (
    (0x0000, 14, ((0, V1, 10), (6, I1, 1000), (12, W, 1))),  # V, A, W at 0x00, 0x06, 0x0C
    (0x0048, 2, ((0, WH, 1000),)),  # import active energy, kWh
)
SDM630 = (
    (0x0000, 12, ((0, V1, 10), (2, V2, 10), (4, V3, 10), (6, I1, 1000), (8, I2, 1000), (10, I3, 1000))),
    (0x0034, 2, ((0, W, 1),)),  # total system power, W
    (0x0048, 2, ((0, WH, 1000),)),  # total import active energy, kWh
)
MODELS = {"SDM120": SDM120, "SDM630": SDM630}


def f32_scaled(b, i, scale):
    """round(value * scale) of the big-endian float32 at b[i:i+4], exactly; ValueError for
    infinities and NaN."""
    exp = ((b[i] & 0x7F) << 1) | (b[i + 1] >> 7)
    if exp == 0xFF:
        raise ValueError("not a number")
    if exp == 0:
        return 0  # zero or denormal: far below every unit used here
    x = (((b[i + 1] & 0x7F) << 16) | (b[i + 2] << 8) | b[i + 3] | 0x800000) * scale
    shift = exp - 150
    if shift >= 0:
        x <<= shift
    else:
        x = (x + (1 << (-shift - 1))) >> -shift
    return -x if b[i] & 0x80 else x


class SDM:
    def __init__(self, bus, addr, model):
        """bus: modbus.ModbusRTU; addr: the meter's Modbus address; model: SDM120 or SDM630."""
        self._bus = bus
        self.addr = addr
        self._map = model
        self.values = [0] * 8  # by slot: V1 V2 V3 (dV), I1 I2 I3 (mA), W, WH

    @property
    def wh(self):
        return self.values[WH]

    @property
    def w(self):
        return self.values[W]

    @property
    def volts(self):
        """Phase 1 voltage, whole V."""
        return (self.values[V1] + 5) // 10

    @property
    def amps(self):
        """Phase 1 current, whole A."""
        return (self.values[I1] + 500) // 1000

    async def read(self):
        """Read every register of the map; raises modbus.ModbusError or ValueError."""
        v = self.values
        for start, count, fields in self._map:
            data = await self._bus.read_input(self.addr, start, count)
            for off, slot, scale in fields:
                v[slot] = f32_scaled(data, 2 * off, scale)
