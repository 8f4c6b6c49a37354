# MFRC522 driver on the unix port against a register-level chip model with ISO/IEC 14443A
# cards: the frames it puts in the field (REQA, anticollision, select with BCC and CRC_A,
# HLTA), UIDs of 4, 7 and 10 bytes, the SPI address bytes, and one tap being one tap.
import hwfakes
from mfrc522_model import Card, MFRC522Model
from drivers.mfrc522 import MFRC522, crc_a


def _reader():
    m = hwfakes.fresh()
    chip = MFRC522Model(0, 17)
    r = MFRC522(m.SPI(0, baudrate=1000000), m.Pin(17, m.Pin.OUT), m.Pin(20, m.Pin.OUT))
    assert r.init() == 0x92
    return m, chip, r


def test_crc_a_of_hlta():
    assert crc_a(b"\x50\x00", 2) == 0xCD57  # the well-known HLTA frame 50 00 57 CD


def test_init_registers_and_spi_address_bytes():
    m, chip, r = _reader()
    assert chip.spi_log[0] == (0x02, False)  # write CommandReg (0x01 << 1): SoftReset
    assert (0x82, True) in chip.spi_log  # read CommandReg until PowerDown clears
    assert chip.regs[0x2A] == 0x80 and chip.regs[0x2B] == 0xA9  # TAuto, 25 us per tick
    assert chip.regs[0x2C] << 8 | chip.regs[0x2D] == 400
    assert chip.regs[0x15] == 0x40 and chip.regs[0x11] == 0x3D
    assert chip.regs[0x14] & 0x03 == 0x03  # antenna on
    assert m.level(17) == 1  # chip select released


def test_no_chip_is_an_error():
    m = hwfakes.fresh()
    r = MFRC522(m.SPI(1), m.Pin(5, m.Pin.OUT))  # nothing on the bus: MISO reads 0xFF
    try:
        r.init()
    except OSError:
        return
    raise AssertionError("no error")


def test_four_byte_uid_frames():
    m, chip, r = _reader()
    chip.present(Card(b"\x04\xa1\xb2\xc3"))
    assert r.read_uid() == b"\x04\xa1\xb2\xc3"
    bcc = 0x04 ^ 0xA1 ^ 0xB2 ^ 0xC3
    assert chip.frames == [
        (b"\x26", 7),  # REQA, a 7-bit short frame
        (b"\x93\x20", 0),  # anticollision, cascade level 1
        (b"\x93\x70\x04\xa1\xb2\xc3" + bytes((bcc,)) + b"\x9b\x05", 0),  # select + CRC_A
        (b"\x50\x00\x57\xcd", 0),  # HLTA
    ]
    assert chip.cards[0].state == "HALT"


def test_seven_and_ten_byte_uids_use_the_cascade():
    m, chip, r = _reader()
    uid7 = bytes.fromhex("04112233445566")
    chip.present(Card(uid7, 0x00))
    assert r.read_uid() == uid7
    sent = [f for f, bits in chip.frames]
    assert sent[1] == b"\x93\x20" and sent[2][2:6] == b"\x88\x04\x11\x22"  # cascade tag first
    assert sent[3] == b"\x95\x20" and sent[4][2:6] == b"\x33\x44\x55\x66"
    chip.cards = []
    chip.frames = []
    uid10 = bytes.fromhex("0102030405060708090a")
    chip.present(Card(uid10))
    assert r.read_uid() == uid10
    assert [f[0] for f, bits in chip.frames if len(f) == 9] == [0x93, 0x95, 0x97]


def test_nothing_in_the_field():
    m, chip, r = _reader()
    assert r.read_uid() is None and r.poll(0) is None
    assert chip.frames[-1] == (b"\x26", 7)  # only REQA went out


def test_card_held_on_the_reader_is_one_tap():
    m, chip, r = _reader()
    card = Card(b"\xde\xad\xbe\xef")
    chip.present(card)
    assert r.poll(0) == b"\xde\xad\xbe\xef"
    for t in range(200, 5000, 200):  # held for 5 s: halted, found again with WUPA
        assert r.poll(t) is None
    assert card.state == "HALT" and (b"\x52", 7) in chip.frames
    chip.remove(card)
    assert r.poll(5200) is None
    chip.present(card)  # back within a second (a shaky hand): the same tap
    assert r.poll(5400) is None
    chip.remove(card)
    for t in range(5600, 7000, 200):
        assert r.poll(t) is None
    chip.present(card)  # presented again after it was gone: a new tap
    assert r.poll(7000) == b"\xde\xad\xbe\xef"


def test_another_card_is_a_new_tap_at_once():
    m, chip, r = _reader()
    a = Card(b"\x01\x02\x03\x04")
    chip.present(a)
    assert r.poll(0) == b"\x01\x02\x03\x04"
    chip.remove(a)
    chip.present(Card(b"\x05\x06\x07\x08"))
    assert r.poll(100) == b"\x05\x06\x07\x08"


def test_corrupted_answer_and_collision_read_nothing():
    m, chip, r = _reader()
    chip.present(Card(b"\x01\x02\x03\x04"))
    chip.noise = 2  # a bit flipped in the ATQA (only its length counts) and in the BCC
    assert r.read_uid() is None
    chip.cards[0].state = "IDLE"
    assert r.read_uid() == b"\x01\x02\x03\x04"
    chip.cards[0].state = "IDLE"
    chip.present(Card(b"\x0a\x0b\x0c\x0d"))
    assert r.read_uid() is None  # two cards answer differently: CollErr
    assert chip.regs[0x06] & 0x08


def test_bad_crc_on_sak_is_rejected():
    m, chip, r = _reader()
    card = Card(b"\x01\x02\x03\x04")
    chip.present(card)
    orig = card.hear

    def hear(frame, bits):
        a = orig(frame, bits)
        if a and len(frame) == 9:  # corrupt the CRC_A of the SAK
            a = a[:2] + bytes((a[2] ^ 0x80,))
        return a

    card.hear = hear
    assert r.read_uid() is None
