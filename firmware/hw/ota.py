# hw/ota.py - ESP32 firmware images over the air, as the board's installer (boards/README.md):
# the download goes straight into the next OTA app partition (esp32.Partition), one 4 kB flash
# block at a time; once the core has verified the signature the partition becomes the boot
# partition (ESP-IDF checks the image then). The new firmware runs on trial (ESP-IDF app
# rollback) until the CSMS accepts its boot and it is marked valid; one that never gets there
# is rolled back by the bootloader at the next reset. Other files (application bundles) go to
# the bundle installer given, if any. A firmware image replaces the application as a whole:
# while it is on trial it runs its own code, not the bundle (hw/appdir.py), and once it is
# confirmed the bundles are dropped; one rolled back finds its bundle again.
from micropython import const

_MAGIC = const(0xE9)  # first byte of an ESP32 app image
_BLOCK = const(4096)
_TARGET = "ota.target"  # store file: label of the partition an installation switched to


def image_on_trial(esp32, root):
    """At start: True when the firmware image an update installed runs and is not confirmed
    yet. root: the store's directory."""
    try:
        with open(root + "/" + _TARGET, "rb") as f:
            target = f.read()
    except OSError:
        return False
    return esp32.Partition(esp32.Partition.RUNNING).info()[4] == target.decode()


class Ota:
    def __init__(self, esp32, store, other=None):
        """esp32: the esp32 module; store: runtime.store.Store; other: the installer of files
        that are not app images (e.g. runtime.bundle.Bundles) or None."""
        self.P = esp32.Partition
        self.s = store
        self.other = other
        self._staged = None

    def stage(self, head, size):
        if head[0] != _MAGIC:
            if self.other is None:
                raise ValueError("not an ESP32 app image")
            self._staged = self.other
            return self.other.stage(head, size)
        part = self.P(self.P.RUNNING).get_next_update()
        room = part.ioctl(4, 0) * part.ioctl(5, 0)  # blocks x block size
        if size is not None and size > room:
            raise OSError(28)  # ENOSPC
        self._staged = _Writer(part, room)
        return self._staged

    def install(self):
        """Boot the staged image next. Raises ValueError when ESP-IDF refuses it."""
        w = self._staged
        if w is None:
            raise ValueError("nothing downloaded")
        if w is self.other:
            return w.install()
        try:
            w.part.set_boot()  # esp_ota_set_boot_partition checks the image
        except OSError as e:
            raise ValueError("not a valid app image: %r" % e)
        self.s.write(_TARGET, w.part.info()[4].encode())

    def outcome(self):
        """After a start: True when the image installed last runs (on trial), False when the
        bootloader rolled it back, None when none was installed."""
        target = self.s.read(_TARGET)
        if target is None:
            return self.other.outcome() if self.other else None
        if self.P(self.P.RUNNING).info()[4] == target.decode():
            return True
        self.s.remove(_TARGET)
        return False

    def confirm(self):
        try:
            self.P.mark_app_valid_cancel_rollback()
        except OSError:
            pass  # a firmware built without app rollback: nothing to cancel
        if self.other:
            if self.s.read(_TARGET) is None:
                self.other.confirm()  # a bundle on trial
            else:
                self.other.clear()  # the image replaced the application
        self.s.remove(_TARGET)


class _Writer:
    """Writes a stream into a partition block by block (each erased first)."""

    def __init__(self, part, room):
        self.part = part
        self.room = room
        self.buf = bytearray(_BLOCK)
        self.n = 0
        self.block = 0

    def write(self, data):
        i = 0
        while i < len(data):
            k = min(len(data) - i, _BLOCK - self.n)
            self.buf[self.n : self.n + k] = data[i : i + k]
            self.n += k
            i += k
            if self.n == _BLOCK:
                self._flush()

    def _flush(self):
        if (self.block + 1) * _BLOCK > self.room:
            raise OSError(28)  # ENOSPC
        self.part.writeblocks(self.block, self.buf)  # the simple form erases the block first
        self.block += 1
        self.n = 0

    def close(self):
        if self.n:
            for i in range(self.n, _BLOCK):
                self.buf[i] = 0xFF  # erased flash
            self._flush()
