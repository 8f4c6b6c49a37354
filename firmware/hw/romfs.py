# hw/romfs.py - reads a ROMFS image (the format of vfs.VfsRom, as `mpremote romfs build` makes
# it) from a file, a few bytes at a time: a board cannot mount an image that is a file on
# littlefs (VfsRom needs memory-mapped data), so hw/appdir.py unpacks it instead.
# An image is one record (kind 0x14a6b1, the bytes d2 cd 31) holding records; a record is
# kind, length (both unsigned LEB128, most significant group first) and payload. A directory
# (4) or file (5) payload is name length, name, then records: sub-entries of a directory, the
# data of a file (2: verbatim; 3: length and offset from the start of the image's payload).
import os
from micropython import const

_IMAGE = const(0x14A6B1)
_VERBATIM = const(2)
_POINTER = const(3)
_DIR = const(4)
_FILE = const(5)


class Romfs:
    def __init__(self, f, size):
        """f: the image file opened "rb"; size: its length. Raises ValueError if it is not
        a ROMFS image."""
        self.f = f
        self.size = size
        self.b = bytearray(8)
        kind, self.base, self.end = self._record(0, size)
        if kind != _IMAGE:
            raise ValueError("not a ROMFS image")

    def _uint(self, pos, end):
        """(value, position after it) of the number at pos."""
        self.f.seek(pos)
        n = self.f.readinto(self.b)
        v = 0
        for i in range(min(n, end - pos)):
            c = self.b[i]
            v = (v << 7) | (c & 0x7F)
            if not c & 0x80:
                return v, pos + i + 1
        raise ValueError("ROMFS image cut short")

    def _record(self, pos, end):
        """(kind, payload start, payload end) of the record at pos."""
        kind, pos = self._uint(pos, end)
        n, pos = self._uint(pos, end)
        if pos + n > end:
            raise ValueError("ROMFS record too long")
        return kind, pos, pos + n

    def entries(self, pos=None, end=None, prefix=""):
        """(path, None, None) for a directory, before what it holds, and (path, offset, size)
        for a file: its data is size bytes at offset in the image."""
        if pos is None:
            pos, end = self.base, self.end
        while pos < end:
            kind, p, nxt = self._record(pos, end)
            if kind == _DIR or kind == _FILE:
                n, p = self._uint(p, nxt)
                self.f.seek(p)
                name = self.f.read(n).decode()
                if len(name) != n or not name or "/" in name or name in (".", ".."):
                    raise ValueError("bad ROMFS name %r" % name)
                if kind == _DIR:
                    yield prefix + name, None, None
                    yield from self.entries(p + n, nxt, prefix + name + "/")
                else:
                    yield (prefix + name,) + self._data(p + n, nxt)
            pos = nxt

    def _data(self, pos, end):
        while pos < end:
            kind, p, nxt = self._record(pos, end)
            if kind == _VERBATIM:
                return p, nxt - p
            if kind == _POINTER:
                n, p = self._uint(p, nxt)
                off, p = self._uint(p, nxt)
                if self.base + off + n > self.size:
                    raise ValueError("ROMFS data out of the image")
                return self.base + off, n
            pos = nxt
        raise ValueError("ROMFS file without data")


def unpack(image, dest):
    """Write the files and directories of the ROMFS image file into the new directory dest.
    Raises ValueError for a bad image, OSError (28: no room) from the file system."""
    buf = bytearray(512)
    mv = memoryview(buf)
    with open(image, "rb") as f:
        r = Romfs(f, os.stat(image)[6])
        os.mkdir(dest)
        for path, off, n in r.entries():
            if off is None:
                os.mkdir(dest + "/" + path)
                continue
            with open(dest + "/" + path, "wb") as out:
                while n:
                    k = min(n, len(buf))
                    f.seek(off)
                    if f.readinto(mv[:k]) != k:
                        raise ValueError("ROMFS image cut short")
                    out.write(mv[:k])
                    off += k
                    n -= k
