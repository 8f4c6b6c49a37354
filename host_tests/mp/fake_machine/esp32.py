# host_tests/mp/fake_machine/esp32.py - the esp32.Partition API of MicroPython (OTA part) on
# the unix port: two OTA app partitions in RAM, the otadata boot choice, and a bootloader with
# ESP-IDF app rollback (reset() boots the chosen partition on trial; a second reset before
# mark_app_valid_cancel_rollback() boots the previous one again).
SIZE = 64 * 1024  # bytes per app partition
_parts = {}
_state = {}


def reset_all(running="ota_0"):
    _parts.clear()
    _parts["ota_0"] = bytearray(b"\xe9" + bytes(SIZE - 1))
    _parts["ota_1"] = bytearray(b"\xff" * SIZE)
    _state.update(running=running, boot=running, previous=None, trial=False, rollback=True, resets=0)


def reset():
    """A chip reset: the bootloader starts the boot partition, or rolls back an unconfirmed one."""
    _state["resets"] += 1
    if _state["trial"]:  # the trial did not confirm: back to the previous app
        _state["boot"] = _state["running"] = _state["previous"]
        _state["trial"] = False
    elif _state["boot"] != _state["running"]:
        _state["previous"] = _state["running"]
        _state["running"] = _state["boot"]
        _state["trial"] = _state["rollback"]


def content(label):
    return bytes(_parts[label])


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0

    def __init__(self, ident, block_size=4096):
        self.label = _state["running"] if ident == Partition.RUNNING else _state["boot"] if ident == Partition.BOOT else ident
        self.bs = block_size

    def info(self):
        return (0, 0x10 + int(self.label[-1]), 0x10000 * (1 + int(self.label[-1])), SIZE, self.label, False)

    def get_next_update(self):
        return Partition("ota_1" if self.label == "ota_0" else "ota_0")

    def ioctl(self, cmd, arg):
        return {4: SIZE // self.bs, 5: self.bs}.get(cmd, 0)

    def writeblocks(self, block, buf, offset=None):
        if self.label == _state["running"]:
            raise OSError(-0x1501)  # ESP_ERR_OTA_PARTITION_CONFLICT
        start = block * self.bs + (offset or 0)
        if start + len(buf) > SIZE or (offset is None and len(buf) % self.bs):
            raise OSError(22)
        p = _parts[self.label]
        if offset is None:  # the simple form erases first
            p[start : start + len(buf)] = b"\xff" * len(buf)
        for i in range(len(buf)):
            p[start + i] &= buf[i]  # flash bits only go from 1 to 0

    def readblocks(self, block, buf, offset=0):
        start = block * self.bs + offset
        buf[:] = _parts[self.label][start : start + len(buf)]

    def set_boot(self):
        if _parts[self.label][0] != 0xE9:
            raise OSError(-0x1503)  # ESP_ERR_OTA_VALIDATE_FAILED
        _state["boot"] = self.label

    @classmethod
    def mark_app_valid_cancel_rollback(cls):
        if not _state["rollback"]:
            raise OSError(-261)
        _state["trial"] = False


reset_all()
