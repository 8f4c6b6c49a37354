# drivers/mfrc522.py - NXP MFRC522 contactless reader over SPI: ISO/IEC 14443A cards found
# with REQA/WUPA, their 4, 7 or 10 byte UID read through the anticollision and select
# cascade (levels 0x93, 0x95, 0x97; cascade tag 0x88; BCC and CRC_A checked; CRC_A computed
# in software), then the card is halted. poll() debounces: one tap is one tap.
from time import ticks_diff
from micropython import const

# registers (datasheet section 9)
_COMMAND = const(0x01)
_COM_IRQ = const(0x04)
_ERROR = const(0x06)
_FIFO_DATA = const(0x09)
_FIFO_LEVEL = const(0x0A)
_CONTROL = const(0x0C)
_BIT_FRAMING = const(0x0D)
_MODE = const(0x11)
_TX_CONTROL = const(0x14)
_TX_ASK = const(0x15)
_T_MODE = const(0x2A)
_T_PRESCALER = const(0x2B)
_T_RELOAD_H = const(0x2C)
_T_RELOAD_L = const(0x2D)
_VERSION = const(0x37)
# commands (section 10.3)
_IDLE = const(0x00)
_TRANSCEIVE = const(0x0C)
_SOFT_RESET = const(0x0F)
_POWER_DOWN = const(0x10)  # CommandReg bit, set until the oscillator runs after a reset
# ComIrqReg bits: RxIRq | IdleIRq, TimerIRq; ErrorReg: BufferOvfl | CollErr | ParityErr | ProtocolErr
_RX_DONE = const(0x30)
_TIMER = const(0x01)
_ERRORS = const(0x1B)
_START_SEND = const(0x80)
# ISO/IEC 14443-3 type A
_REQA = const(0x26)
_WUPA = const(0x52)
_HLTA = const(0x50)
_ANTICOLL = const(0x20)  # NVB: 2 bytes sent, no UID bits known
_SELECT = const(0x70)  # NVB: 7 bytes sent, the whole UID part
_CASCADE_TAG = const(0x88)
_SAK_MORE = const(0x04)  # SAK bit: UID not complete
_LEVELS = b"\x93\x95\x97"
_POLLS = const(2000)  # bound on ComIrqReg reads per command (the chip's timer ends it first)
_GONE_MS = const(1000)  # a card unseen for this long is gone; presenting it again is a new tap


def crc_a(buf, n):
    """ISO/IEC 14443-3 CRC_A of buf[:n] (x^16+x^12+x^5+1, preset 0x6363), sent low byte first."""
    crc = 0x6363
    for i in range(n):
        b = buf[i] ^ (crc & 0xFF)
        b = (b ^ (b << 4)) & 0xFF
        crc = (crc >> 8) ^ (b << 8) ^ (b << 3) ^ (b >> 4)
    return crc


class MFRC522:
    def __init__(self, spi, cs, rst=None, gone_ms=_GONE_MS):
        """spi: machine.SPI (mode 0, <= 10 MHz); cs: Pin to the chip's SDA/NSS; rst: Pin to
        NRSTPD, or None. Call init() before polling."""
        self._spi = spi
        self._cs = cs
        self._rst = rst
        self._gone = gone_ms
        self._w = bytearray(2)
        self._r = bytearray(2)
        self._tx = bytearray(9)
        self._rx = bytearray(5)
        self._uid = bytearray(10)
        self._last = None  # UID of the card seen last
        self._seen = 0  # ticks_ms it was seen
        cs.value(1)

    # --- registers ---------------------------------------------------------------------
    def _wr(self, reg, val):
        w = self._w
        w[0] = (reg << 1) & 0x7E
        w[1] = val
        self._cs.value(0)
        self._spi.write(w)
        self._cs.value(1)

    def _rd(self, reg):
        w = self._w
        w[0] = 0x80 | ((reg << 1) & 0x7E)
        w[1] = 0
        self._cs.value(0)
        self._spi.write_readinto(w, self._r)
        self._cs.value(1)
        return self._r[1]

    def init(self):
        """Reset the chip, set its timer to 10 ms and switch the antenna on; returns the
        VersionReg value. OSError when no chip answers."""
        if self._rst:
            self._rst.value(1)
        self._wr(_COMMAND, _SOFT_RESET)
        for _ in range(_POLLS):
            if not self._rd(_COMMAND) & _POWER_DOWN:
                break
        self._wr(_T_MODE, 0x80)  # TAuto: the timer starts at the end of each transmission
        self._wr(_T_PRESCALER, 0xA9)  # 13.56 MHz / (2 * 169 + 1): 25 us per tick
        self._wr(_T_RELOAD_H, 0x01)
        self._wr(_T_RELOAD_L, 0x90)  # 400 ticks: 10 ms without an answer is no card
        self._wr(_TX_ASK, 0x40)  # 100 % ASK modulation
        self._wr(_MODE, 0x3D)  # CRC preset 0x6363 (ISO 14443-3)
        self._wr(_TX_CONTROL, self._rd(_TX_CONTROL) | 0x03)  # antenna drivers TX1 and TX2 on
        v = self._rd(_VERSION)
        if v in (0x00, 0xFF):
            raise OSError("no MFRC522")
        return v

    # --- ISO/IEC 14443-3 ---------------------------------------------------------------
    def _transceive(self, n, bits=0):
        """Send self._tx[:n] (the last byte with bits bits, 0 = all 8); returns the number of
        bytes received into self._rx, or -1 for no answer or a receive error."""
        w = self._wr
        w(_COMMAND, _IDLE)
        w(_COM_IRQ, 0x7F)  # clear every interrupt request bit
        w(_FIFO_LEVEL, 0x80)  # flush the FIFO
        for i in range(n):
            w(_FIFO_DATA, self._tx[i])
        w(_BIT_FRAMING, bits)
        w(_COMMAND, _TRANSCEIVE)
        w(_BIT_FRAMING, _START_SEND | bits)
        for _ in range(_POLLS):
            irq = self._rd(_COM_IRQ)
            if irq & _RX_DONE:
                break
            if irq & _TIMER:
                return -1
        else:
            return -1
        w(_BIT_FRAMING, bits)
        if self._rd(_ERROR) & _ERRORS:
            return -1
        got = self._rd(_FIFO_LEVEL) & 0x7F
        if got > len(self._rx):
            return -1
        for i in range(got):
            self._rx[i] = self._rd(_FIFO_DATA)
        return got

    def _crc(self, n):
        c = crc_a(self._tx, n)
        self._tx[n] = c & 0xFF
        self._tx[n + 1] = c >> 8

    def read_uid(self, wake=False):
        """Wake a card (REQA, or WUPA to reach halted ones too), read its UID through the
        cascade levels and halt it; the UID bytes, or None."""
        tx, rx, uid = self._tx, self._rx, self._uid
        tx[0] = _WUPA if wake else _REQA
        if self._transceive(1, 7) != 2:  # ATQA
            return None
        n = 0
        for sel in _LEVELS:
            tx[0] = sel
            tx[1] = _ANTICOLL
            if self._transceive(2) != 5 or rx[0] ^ rx[1] ^ rx[2] ^ rx[3] != rx[4]:
                return None  # no answer, a collision or a bad BCC
            tx[1] = _SELECT
            tx[2:7] = rx  # UID part and BCC
            self._crc(7)
            if self._transceive(9) != 3 or crc_a(rx, 1) != rx[1] | rx[2] << 8:
                return None
            if rx[0] & _SAK_MORE:
                if tx[2] != _CASCADE_TAG or n == 6:
                    return None
                uid[n : n + 3] = tx[3:6]
                n += 3
            else:
                uid[n : n + 4] = tx[2:6]
                n += 4
                break
        else:
            return None
        tx[0] = _HLTA
        tx[1] = 0
        self._crc(2)
        self._transceive(4)  # a halted card does not answer
        return bytes(uid[:n])

    def poll(self, now):
        """The UID of a card newly presented, else None. A card kept on the reader (it is
        halted, so it is looked for with WUPA) or presented again within gone_ms is not new."""
        recent = self._last is not None and ticks_diff(now, self._seen) < self._gone
        uid = self.read_uid()
        if uid is None and recent:
            uid = self.read_uid(True)
        if uid is None:
            return None
        new = not recent or uid != self._last
        self._last = uid
        self._seen = now
        return uid if new else None
