# runtime/store.py - the station's flash. JSON documents are kept in two copies (name.0,
# name.1), each with a sequence number and CRC-32; a save always overwrites the copy that is
# not the newest good one, so a power cut during a write leaves the last good state intact:
# load() returns the newest copy that checks out.
# Binary files (certificates) are written to name.new and renamed over name. Logs are
# bounded append-only files.
import binascii
import json
import os
from micropython import const

_HEAD = const(b"%010d %08x %010d\n")  # sequence, CRC-32 and length of the body (load() reads any width)
_BUF = const(256)


def _stream(f, obj):
    """Write obj's JSON to file f as json.dump makes it, through a small buffer, never whole in
    the heap; returns (CRC-32, length) of what was written. The class is made only for this
    call: the fallback is rare, and its code then costs no heap the rest of the time."""
    import io

    class Summed(io.IOBase):
        def __init__(self):
            self.crc = 0
            self.n = 0
            self.b = bytearray(_BUF)
            self.i = 0

        def write(self, data):
            k = len(data)
            if self.i + k > _BUF:
                self.flush()
            if k > _BUF:
                self.out(data)
            else:
                self.b[self.i : self.i + k] = data
                self.i += k
            return k

        def flush(self):
            if self.i:
                self.out(memoryview(self.b)[: self.i])
                self.i = 0

        def out(self, data):
            self.crc = binascii.crc32(data, self.crc)
            self.n += len(data)
            f.write(data)

    w = Summed()
    json.dump(obj, w)
    w.flush()
    return w.crc, w.n


class Store:
    def __init__(self, root):
        self.root = root.rstrip("/")
        parts = self.root.split("/")
        for i in range(1, len(parts) + 1):  # mkdir -p
            try:
                os.mkdir("/".join(parts[:i]) or "/")
            except OSError:
                pass  # exists
        self.writes = 0  # files written since start (footprint report)
        self.certs = 0  # certificates added or removed since start (runtime/certstore.py)
        self.damaged = ()  # documents with a copy that failed its check (security event)
        self._seq = {}  # name: 2 * sequence of its newest good copy + that copy's slot (a small int, no tuple)

    def path(self, name):
        return self.root + "/" + name

    # --- documents -------------------------------------------------------------------
    def load(self, name):
        """The newest good copy of document name, or None. A bad copy is noted in damaged."""
        best = None
        seq = 0
        good = 1  # slot of the copy returned (the next save writes the other one)
        for slot in (0, 1):
            raw = self.read("%s.%d" % (name, slot))
            if raw is None:
                continue
            doc = self._parse(raw)
            if doc is None:
                if name not in self.damaged:
                    self.damaged += (name,)  # (a tuple: none, the usual case, is no list's 64 bytes)
            elif doc[0] > seq:
                seq, best = doc
                good = slot
        self._seq[name] = seq * 2 + good
        return best

    @staticmethod
    def _parse(raw):
        nl = raw.find(b"\n")
        try:
            seq, crc, n = raw[:nl].split()
            body = raw[nl + 1 :]
            if len(body) != int(n) or binascii.crc32(body) != int(crc, 16):
                return None
            return int(seq), json.loads(body)
        except (ValueError, UnicodeError):
            return None

    def save(self, name, obj):
        """Write obj over the older copy of document name. Raises OSError. Its JSON text is made
        whole when the heap has a piece of its size, else (MemoryError: a 3 kB document of three
        EVSEs' transactions in a heap a month of uptime has cut up) written as it is made,
        through a small buffer (_stream), the header last over a placeholder of its width. A
        copy cut short fails its check either way."""
        if name not in self._seq:
            self.load(name)
        seq = self._seq[name]
        slot = 1 - (seq & 1)  # never the copy that is known good
        seq >>= 1
        try:
            body = json.dumps(obj)  # written as it is: no bytes copy (a str is a buffer of its UTF-8)
        except MemoryError:
            body = None
        with open(self.path("%s.%d" % (name, slot)), "wb") as f:
            if body is not None:
                f.write(_HEAD % (seq + 1, binascii.crc32(body), len(memoryview(body))))
                f.write(body)
            else:
                f.write(_HEAD % (0, 0, 0))
                crc, n = _stream(f, obj)
                f.seek(0)
                f.write(_HEAD % (seq + 1, crc, n))
        self._seq[name] = (seq + 1) * 2 + slot
        self.writes += 1

    # --- files -----------------------------------------------------------------------
    def read(self, name):
        """The bytes of file name, or None. Read with one allocation of its size (read() without
        one grows a buffer in steps: a fragmented heap may have room for the file, not them)."""
        try:
            with open(self.path(name), "rb") as f:
                n = f.seek(0, 2)
                f.seek(0)
                return f.read(n)
        except OSError:
            return None

    def write(self, name, data):
        """Write file name atomically (a new file renamed over it). data: bytes, or a str
        (written as its UTF-8, without a bytes copy)."""
        p = self.path(name)
        with open(p + ".new", "wb") as f:
            f.write(data)
        os.rename(p + ".new", p)
        self.writes += 1

    def remove(self, name):
        try:
            os.remove(self.path(name))
            self.writes += 1
        except OSError:
            pass

    def names(self, prefix=""):
        return sorted(n for n in os.listdir(self.root) if n.startswith(prefix) and not n.endswith(".new"))

    def append(self, name, line, limit):
        """Append a line to a log of at most ~2*limit bytes: when name passes limit it becomes
        name.1 (replacing the older one) and a new name starts."""
        p = self.path(name)
        try:
            if os.stat(p)[6] + len(line) > limit:
                os.rename(p, p + ".1")
        except OSError:
            pass
        with open(p, "a") as f:
            f.write(line + "\n")
        self.writes += 1
