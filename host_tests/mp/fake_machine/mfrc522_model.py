# host_tests/mp/fake_machine/mfrc522_model.py - an MFRC522 at register level on the SPI bus
# (datasheet 8.1.2 framing: address byte, then data; reads pipeline the next address) with
# ISO/IEC 14443-3 type A cards in its field: REQA/WUPA -> ATQA, anticollision and select per
# cascade level (cascade tag 0x88, BCC, CRC_A checked by the card), HLTA. The CRC
# coprocessor is not modelled: the driver computes CRC_A itself.
import machine

# register addresses
COMMAND, COM_IRQ, ERROR, FIFO_DATA, FIFO_LEVEL, CONTROL, BIT_FRAMING = 0x01, 0x04, 0x06, 0x09, 0x0A, 0x0C, 0x0D
TX_CONTROL, VERSION = 0x14, 0x37
IDLE, TRANSCEIVE, SOFT_RESET = 0x00, 0x0C, 0x0F


def crc_a(data):
    crc = 0x6363
    for b in data:
        b ^= crc & 0xFF
        b = (b ^ (b << 4)) & 0xFF
        crc = (crc >> 8) ^ (b << 8) ^ (b << 3) ^ (b >> 4)
    return bytes((crc & 0xFF, crc >> 8))


class Card:
    """A type A card: uid of 4, 7 or 10 bytes; sak: the final SAK."""

    def __init__(self, uid, sak=0x08):
        self.uid = bytes(uid)
        self.sak = sak
        self.levels = {4: 1, 7: 2, 10: 3}[len(uid)]
        self.state = "IDLE"
        self.level = 0
        self.frames = []  # every frame it received

    def part(self, k):
        """UID part of cascade level k: CT + 3 bytes, or the last 4 bytes."""
        u = self.uid
        if k < self.levels - 1:
            return b"\x88" + u[3 * k : 3 * k + 3]
        return u[3 * k : 3 * k + 4]

    def hear(self, frame, bits):
        """Answer a frame (bytes, bits in its last byte; 0 = 8) with bytes or None."""
        self.frames.append((frame, bits))
        st = self.state
        if bits == 7 and len(frame) == 1 and frame[0] in (0x26, 0x52):
            if st == "IDLE" or (st == "HALT" and frame[0] == 0x52):
                self.state = "READY"
                self.level = 0
                return bytes(((self.levels - 1) << 6 | 0x04, 0x00))  # ATQA
            return None
        sel = (0x93, 0x95, 0x97)[self.level] if self.level < 3 else None
        if st == "READY" and len(frame) == 2 and frame[0] == sel and frame[1] == 0x20:
            p = self.part(self.level)
            return p + bytes((p[0] ^ p[1] ^ p[2] ^ p[3],))
        if st == "READY" and len(frame) == 9 and frame[0] == sel and frame[1] == 0x70:
            p = self.part(self.level)
            if frame[2:6] == p and frame[6] == p[0] ^ p[1] ^ p[2] ^ p[3] and crc_a(frame[:7]) == frame[7:9]:
                self.level += 1
                sak = 0x04 if self.level < self.levels else self.sak
                if self.level == self.levels:
                    self.state = "ACTIVE"
                return bytes((sak,)) + crc_a(bytes((sak,)))
            self.state = "IDLE"
            return None
        if st == "ACTIVE" and frame[:2] == b"\x50\x00" and crc_a(frame[:2]) == frame[2:4]:
            self.state = "HALT"
            return None
        if st != "HALT":
            self.state = "IDLE"
        return None


class MFRC522Model:
    """attach to ("spi", bus id); cs: the chip-select pin id."""

    def __init__(self, spi_id, cs, version=0x92):
        self.regs = bytearray(64)
        self.version = version
        self.fifo = bytearray()
        self.cards = []
        self.frames = []  # (bytes, tx last bits) of every frame sent to the field
        self.spi_log = []  # (address byte, is_read) of every register access
        self.noise = 0  # answers to corrupt (one bit flipped) from now on
        self._addr = None
        self._read = False
        self._power_down_reads = 0
        self.reset()
        machine.attach("spi", spi_id, self)
        machine.watch(cs, self._cs)

    def reset(self):
        self.regs[:] = bytes(64)
        self.regs[COMMAND] = 0x20
        self.regs[VERSION] = self.version
        self.fifo = bytearray()

    def present(self, card):
        if card not in self.cards:
            card.state = "IDLE"  # powered up by the field
            self.cards.append(card)

    def remove(self, card):
        if card in self.cards:
            self.cards.remove(card)

    # --- SPI framing -------------------------------------------------------------------
    def _cs(self, level):
        self._addr = None

    def xfer(self, b):
        if self._addr is None:
            self._addr = (b >> 1) & 0x3F
            self._read = bool(b & 0x80)
            self.spi_log.append((b, self._read))
            return 0
        if self._read:
            out = self._get(self._addr)
            self._addr = (b >> 1) & 0x3F
            return out
        self._set(self._addr, b)
        return 0

    # --- registers ---------------------------------------------------------------------
    def _get(self, a):
        if a == FIFO_DATA:
            if not self.fifo:
                return 0
            v = self.fifo[0]
            self.fifo = self.fifo[1:]
            return v
        if a == FIFO_LEVEL:
            return len(self.fifo)
        if a == COMMAND and self._power_down_reads:
            self._power_down_reads -= 1
            return self.regs[COMMAND] | 0x10
        return self.regs[a]

    def _set(self, a, v):
        r = self.regs
        if a == COMMAND:
            if v & 0x0F == SOFT_RESET:
                self.reset()
                self._power_down_reads = 2
                return
            r[COMMAND] = (r[COMMAND] & 0xF0) | (v & 0x0F)
        elif a == COM_IRQ:
            r[COM_IRQ] = r[COM_IRQ] | (v & 0x7F) if v & 0x80 else r[COM_IRQ] & ~v & 0x7F
        elif a == FIFO_DATA:
            if len(self.fifo) < 64:
                self.fifo.append(v)
            else:
                r[ERROR] |= 0x10
        elif a == FIFO_LEVEL:
            if v & 0x80:
                self.fifo = bytearray()
                r[ERROR] &= ~0x10 & 0xFF
        elif a == BIT_FRAMING:
            r[BIT_FRAMING] = v
            if v & 0x80 and r[COMMAND] & 0x0F == TRANSCEIVE:
                self._transceive(v & 0x07)
        elif a in (ERROR, VERSION):
            pass  # read-only
        else:
            r[a] = v

    def _transceive(self, bits):
        r = self.regs
        frame = bytes(self.fifo)
        self.fifo = bytearray()
        self.frames.append((frame, bits))
        r[ERROR] &= 0x10
        r[COM_IRQ] |= 0x40  # TxIRq
        answers = []
        if r[TX_CONTROL] & 0x03 == 0x03:  # the antenna field powers the cards
            for c in self.cards:
                a = c.hear(frame, bits)
                if a is not None:
                    answers.append(a)
        if not answers:
            r[COM_IRQ] |= 0x01  # TimerIRq: nothing came back
            return
        if any(a != answers[0] for a in answers):
            r[ERROR] |= 0x08  # CollErr
            r[COM_IRQ] |= 0x22  # RxIRq, ErrIRq
            return
        a = bytearray(answers[0])
        if self.noise:
            self.noise -= 1
            a[-1] ^= 0x01
        self.fifo = a
        r[CONTROL] = r[CONTROL] & 0xF8  # RxLastBits 0: whole bytes
        r[COM_IRQ] |= 0x20  # RxIRq
