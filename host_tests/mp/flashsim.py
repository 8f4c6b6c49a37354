# host_tests/mp/flashsim.py - littlefs on a RAM block device that can lose power, for tests
# of the flash store on MicroPython (vfs.VfsLfs2 is the filesystem the boards use).
import vfs

MOUNT = "/flash"


class Flash:
    """Block device. With cut = n, the n-th program/erase from now is left half done and
    fails (-5, EIO), as does every one after it: the power is gone. It returns the error, as
    a flash driver does, rather than raising it: an exception would jump out of littlefs'
    C code half way and leave its state in RAM broken."""

    def __init__(self, data=None, blocks=48, size=512):
        self.size = size
        self.data = bytearray(data) if data else bytearray(b"\xff" * (blocks * size))
        self.ops = 0
        self.cut = None

    def _op(self):
        self.ops += 1
        return self.cut is not None and self.ops >= self.cut

    # byte loops: littlefs may call these while the GC runs a file finalizer (heap locked)
    def readblocks(self, n, buf, off=0):
        a = n * self.size + off
        d = self.data
        for i in range(len(buf)):
            buf[i] = d[a + i]

    def writeblocks(self, n, buf, off=None):
        if off is None:
            for i in range(len(buf) // self.size):
                if self.ioctl(6, n + i):
                    return -5
            off = 0
        a = n * self.size + off
        dead = self._op()
        d = self.data
        for i in range(len(buf) // 2 if dead else len(buf)):
            d[a + i] = buf[i]
        return -5 if dead else 0

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.size
        if op == 5:
            return self.size
        if op == 6:
            dead = self._op()
            a = arg * self.size
            d = self.data
            for i in range(self.size // 2 if dead else self.size):
                d[a + i] = 0xFF
            return -5 if dead else 0


def mount(flash):
    try:
        vfs.umount(MOUNT)
    except OSError:
        pass
    vfs.mount(vfs.VfsLfs2(flash), MOUNT)


def fresh():
    f = Flash()
    vfs.VfsLfs2.mkfs(f)
    mount(f)
    return f


def power_cuts(image, action, check):
    """For n = 1, 2, ...: mount a copy of image, run action() with the power cut at the n-th
    block write, then mount what is left and run check(finished). Stops after the first n at
    which action() finished; returns the number of cut points tried."""
    n = 1
    while True:
        f = Flash(image)
        mount(f)
        f.cut = f.ops + n
        try:
            action()
            finished = True
        except OSError:
            finished = False
        mount(Flash(f.data))  # power back: what reached the flash
        check(finished)
        if finished:
            return n
        n += 1
