# runtime/wsdeflate.py - RFC 7692 permessage-deflate for the station's WebSocket, without I/O:
# the extension offered in the opening handshake and the check of the server's answer, the
# CSMS's messages inflated within MaxMessageBytes, and the messages the station sends
# compressed (fixed Huffman codes over a window kept from message to message).
#
# Two ways, chosen by what the deflate module has:
# - the boards' firmware and the 32-bit port (boards/common/deflate-takeover.patch, built with
#   MICROPY_PY_DEFLATE_COMPRESS=1): DeflateIO.compress()/sync() and DeflateIO.inflate() in C,
#   both windows kept there (the compressor searches its whole window for the longest match);
# - stock firmware and the PyPI unix port, whose deflate module inflates one stream to its end,
#   keeps nothing after it and does not compress: a compressor in MicroPython (matches found
#   through a hash of 3-byte prefixes), and the CSMS's window kept here and put before each
#   message as a stored block that the inflater reads first and the station skips, so that a
#   message's references into the ones before it resolve.
# Both windows are kept between messages (context takeover) unless the server's answer says
# otherwise, taken at connect time. The compressor's output goes into the frames as it comes
# (runtime/ws.py), never into a buffer of the message's size.
from array import array
from micropython import const
from deflate import DeflateIO, RAW

_C = hasattr(DeflateIO, "sync")  # boards/common/deflate-takeover.patch, with the compressor

NAME = const("permessage-deflate")
_MIN_BITS = const(8)
_MAX_BITS = const(15)
# what RFC 7692 section 7.2.1 strips from a message (a sync flush's empty stored block), and an
# empty last block: the deflate module reads a stream to its last block
_TAIL = const(b"\x00\x00\xff\xff\x03\x00")
_TOO_BIG = const(1009)  # RFC 6455 close codes
_INVALID = const(1007)
_SCRATCH = const(256)  # what inflate() counts through when it keeps no window
# The CSMS's window is asked for at 2**9 bytes at most: the station holds it twice while it
# inflates (kept, and the inflater's own; in C: kept, and its copy while a message is counted),
# and zlib's compressor (websockets', most CSMSs') reaches 262 bytes less than its window, so a
# larger one mostly costs heap (benchmark: 28.3 bytes per request and answer with 9 or 10 bits;
# the reference session on the 32-bit port, DeflateWindowBits 11: 242 bytes less billed of 13 kB
# with 10 bits, for 1 kB more heap)
_THEIR_BITS = const(9)
_AHEAD = const(256)  # the compressor's buffer: its window and this many bytes of a message after it
_LOOK = const(128)  # bytes of a part left for the next one (a match may run on into it): < _AHEAD
_OUT = const(64)  # the compressor's output buffer
_HASH = const(256)  # entries of the match table (16-bit positions: 512 bytes)
_MIN_MATCH = const(3)
_MAX_MATCH = const(258)
_PLAIN = (str, bytes, bytearray, memoryview)  # compress() parts taken as they are (else iterated)
# The C compressor's output buffer, and the most it is given at a time (9 bits a byte at most):
# a match does not run on past that (the reference session on the 32-bit port, DeflateWindowBits
# 11: 209 bytes less billed than with 128, 12782 against 12991 and the peer's 13046, for 242
# bytes more heap while connected)
_COUT = const(256)
_CIN = const((8 * _COUT - 17) // 9)
_EMPTY = const(b"\x00")  # an empty message (a stored block's header): inflating it takes the window

# bit-reversed bytes: Huffman codes are sent from their most significant bit, the stream's bits
# from the least significant one
_REV = const(
    b"\x00\x80\x40\xc0\x20\xa0\x60\xe0\x10\x90\x50\xd0\x30\xb0\x70\xf0\x08\x88\x48\xc8\x28\xa8\x68\xe8"
    b"\x18\x98\x58\xd8\x38\xb8\x78\xf8\x04\x84\x44\xc4\x24\xa4\x64\xe4\x14\x94\x54\xd4\x34\xb4\x74\xf4"
    b"\x0c\x8c\x4c\xcc\x2c\xac\x6c\xec\x1c\x9c\x5c\xdc\x3c\xbc\x7c\xfc\x02\x82\x42\xc2\x22\xa2\x62\xe2"
    b"\x12\x92\x52\xd2\x32\xb2\x72\xf2\x0a\x8a\x4a\xca\x2a\xaa\x6a\xea\x1a\x9a\x5a\xda\x3a\xba\x7a\xfa"
    b"\x06\x86\x46\xc6\x26\xa6\x66\xe6\x16\x96\x56\xd6\x36\xb6\x76\xf6\x0e\x8e\x4e\xce\x2e\xae\x6e\xee"
    b"\x1e\x9e\x5e\xde\x3e\xbe\x7e\xfe\x01\x81\x41\xc1\x21\xa1\x61\xe1\x11\x91\x51\xd1\x31\xb1\x71\xf1"
    b"\x09\x89\x49\xc9\x29\xa9\x69\xe9\x19\x99\x59\xd9\x39\xb9\x79\xf9\x05\x85\x45\xc5\x25\xa5\x65\xe5"
    b"\x15\x95\x55\xd5\x35\xb5\x75\xf5\x0d\x8d\x4d\xcd\x2d\xad\x6d\xed\x1d\x9d\x5d\xdd\x3d\xbd\x7d\xfd"
    b"\x03\x83\x43\xc3\x23\xa3\x63\xe3\x13\x93\x53\xd3\x33\xb3\x73\xf3\x0b\x8b\x4b\xcb\x2b\xab\x6b\xeb"
    b"\x1b\x9b\x5b\xdb\x3b\xbb\x7b\xfb\x07\x87\x47\xc7\x27\xa7\x67\xe7\x17\x97\x57\xd7\x37\xb7\x77\xf7"
    b"\x0f\x8f\x4f\xcf\x2f\xaf\x6f\xef\x1f\x9f\x5f\xdf\x3f\xbf\x7f\xff"
)
# RFC 1951 section 3.2.5: the first length of each length code (257...285) and its extra bits,
# and the first distance of each distance code (0...29) and its extra bits
_LBASE = const((3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
                131, 163, 195, 227, 258))
_LEXTRA = const((0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0))
_DBASE = const((1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
                1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577))


def offer(bits):
    """The Sec-WebSocket-Extensions value the station offers: a window of 2**bits for its own
    messages, of 2**min(bits, 9) for the server's."""
    return "%s; client_max_window_bits=%d; server_max_window_bits=%d" % (NAME, bits, min(bits, _THEIR_BITS))


def accept(value, bits):
    """Check the server's Sec-WebSocket-Extensions answer (bytes) to offer(bits): (the window
    bits the station compresses with, whether it keeps its window between messages, the same
    two of the server's messages). Raises
    ValueError(text): an answer that is not an acceptance of that offer fails the connection
    (RFC 7692 section 5)."""
    if b"," in value:
        raise ValueError("more than one extension accepted")
    parts = value.split(b";")
    if parts[0].strip().lower() != NAME.encode():
        raise ValueError("extension not offered: %s" % parts[0].strip().decode())
    most = min(bits, _THEIR_BITS)  # (what offer() asked of the server)
    mine, keep, theirs, their_keep, seen = bits, True, most, True, []
    for p in parts[1:]:
        k, eq, v = p.partition(b"=")
        k, v = k.strip().lower(), v.strip().strip(b'"')
        if k in seen:
            raise ValueError("repeated extension parameter")
        seen.append(k)
        if k == b"server_no_context_takeover" and not eq:
            their_keep = False
        elif k == b"client_no_context_takeover" and not eq:
            keep = False
        elif k == b"server_max_window_bits" and v.isdigit() and _MIN_BITS <= int(v) <= most:
            theirs = int(v)
        elif k == b"client_max_window_bits" and v.isdigit() and _MIN_BITS <= int(v) <= _MAX_BITS:
            mine = min(bits, int(v))
        else:
            raise ValueError("extension parameter not offered: %s" % p.strip().decode())
    return mine, keep, theirs, their_keep


if _C:

    def _window(bits):
        """An inflater with its window of 2**bits taken (empty: a reference into it is refused)."""
        d = DeflateIO(None, RAW, bits)
        d.inflate(_EMPTY, 0)
        return d

    class Inflater:
        """The CSMS's messages inflated (DeflateIO.inflate, boards/common/deflate-takeover.patch),
        the window of 2**bits kept between them in C (taken at connect time), or, when the CSMS
        does not keep its own (server_no_context_takeover), one taken for each message and let
        go of after it: a reference into an earlier message is then a broken stream."""

        def __init__(self, bits, keep):
            self.d = _window(bits) if keep else None
            self.bits = bits

        def inflate(self, data, bound):
            """The message compressed as data (bytes-like, read in place; or a list of one, taken
            out of it), inflated into a bytearray of its length, found by inflating it twice
            (counted first, the window put back as it was: a short message takes a short
            buffer, not one of the bound). Raises ValueError(close code, text): 1009 when it
            inflates to more than bound bytes (MaxMessageBytes; counting stops there: no
            decompression bomb), 1007 when data is no deflate stream (or one cut inside a block,
            or that refers to before the first byte the window has held)."""
            if type(data) is list:
                data = data.pop()
            d = self.d or _window(self.bits)
            try:
                n = d.inflate(data, bound)
                if n > bound:
                    raise ValueError(_TOO_BIG, "message over %d bytes once inflated" % bound)
                out = bytearray(n)
                if n:
                    d.inflate(data, out)
            except OSError:
                raise ValueError(_INVALID, "broken deflate stream")
            return out

    class Deflater:
        """The station's compressor (DeflateIO.compress/sync, boards/common/deflate-takeover.patch):
        compress(parts) gives one message's payload a piece at a time, its window of 2**bits kept
        between messages in C when keep (context takeover), the longest match in it taken. Its
        buffers are taken once, at connect time: the window, and the compressed bytes in a small
        one given out each time a piece of the message has gone through."""

        def __init__(self, bits, keep):
            self.d = DeflateIO(None, RAW, bits)
            self.keep = keep
            self.out = bytearray(_COUT)
            self.buf = bytearray(_CIN)  # a message's bytes until a piece is whole
            self.d.compress(b"", self.out)  # (the window taken now)

        def compress(self, parts):
            """(a generator) The compressed payload of a message given as parts (str or
            bytes-like, or iterators of them, made as they are taken): memoryviews of the output
            buffer, each valid until the next is asked for. A message made in parts is never
            joined: it goes through C in pieces of _CIN bytes (a match does not run on past a
            piece), short parts gathered into one. What RFC 7692 strips (the sync flush's last
            4 bytes) is not given."""
            d = self.d
            out = self.out
            buf = self.buf
            n = 0  # bytes in buf
            for p in parts:
                for t in (p,) if type(p) in _PLAIN else p:  # an iterator of str: text made as written
                    mv = memoryview(t)  # (a str's UTF-8 bytes)
                    j = 0
                    while j < len(mv):
                        if n == 0 and len(mv) - j >= _CIN:  # a whole piece: from the part itself
                            k = d.compress(mv[j : j + _CIN], out)
                            j += _CIN
                        else:
                            c = min(_CIN - n, len(mv) - j)
                            buf[n : n + c] = mv[j : j + c]
                            n += c
                            j += c
                            if n < _CIN:
                                continue
                            k = d.compress(buf, out)
                            n = 0
                        if k:
                            yield memoryview(out)[:k]
            if n:
                k = d.compress(memoryview(buf)[:n], out)
                if k:
                    yield memoryview(out)[:k]
            k = d.sync(out, not self.keep)
            if k:
                yield memoryview(out)[:k]

else:

    class Inflater:
        """The CSMS's messages inflated, with a window of 2**bits kept between them when keep: a
        bytearray of that size, taken once (at connect time) and written over, not a new object
        after each message."""

        def __init__(self, bits, keep):
            self.bits = bits
            self.win = bytearray(1 << bits) if keep else None  # its first self.k bytes
            self.k = 0

        def inflate(self, data, bound):
            """The message compressed as data (bytes-like), inflated into a bytearray of its
            length, found by inflating it twice (once to count, once into a buffer of that size: a
            short message takes a short buffer, not one of the bound). data may be a list of one
            (taken out of it: its payload is let go of once copied). Raises ValueError(close
            code, text): 1009 when it inflates to more than bound bytes (MaxMessageBytes; counting
            stops there: no decompression bomb), 1007 when data is no deflate stream."""
            if type(data) is list:
                data = data.pop()
            win = self.win
            k = self.k
            # the window as a stored block (not the last: BFINAL 0, BTYPE 00, its length and the
            # length's complement), then the message, which starts on a byte (the previous one
            # ended with a sync flush): one bytes object, which io.BytesIO reads in place (join
            # takes no memoryview: a window not full yet is sliced)
            head = b""
            if k:
                head = bytes((0, k & 0xFF, k >> 8, ~k & 0xFF, (~k >> 8) & 0xFF))
            src = b"".join((head, win if k and k == len(win) else win[:k] if k else b"", data, _TAIL))
            data = None
            # inflated twice: counted through the window's buffer (src holds its bytes now) or a
            # scratch, then into a buffer of that length (taken before the second inflater's
            # state: the other order needs more heap, measured)
            bits = self.bits
            scratch = memoryview(win if win is not None else bytearray(_SCRATCH))
            try:
                d = _skip(src, bits, scratch, k)
                n = 0
                while True:
                    c = d.readinto(scratch)
                    if not c:
                        break
                    n += c
                    if n > bound:
                        raise ValueError(_TOO_BIG, "message over %d bytes once inflated" % bound)
                d = None
                out = bytearray(n)
                mv = memoryview(out)
                if n:
                    d = _skip(src, bits, scratch, k)
                    i = 0
                    while i < n:
                        c = d.readinto(mv[i:])
                        if not c:
                            raise EOFError
                        i += c
            except (OSError, EOFError):
                raise ValueError(_INVALID, "broken deflate stream")
            if win is not None:  # the last 2**bits bytes of the window and the message
                size = len(win)
                if n >= size:
                    win[:] = mv[n - size :]
                    k = size
                else:
                    m = min(k, size - n)
                    win[:m] = memoryview(src)[5 + k - m : 5 + k]
                    win[m : m + n] = out
                    k = m + n
                self.k = k
            return out


    def _skip(src, bits, scratch, k):
        """An inflater of src (its state taken) with its first k bytes (the window) read through
        scratch."""
        import deflate
        import io

        d = deflate.DeflateIO(io.BytesIO(src), deflate.RAW, bits)
        while k:
            c = d.readinto(scratch[: min(k, len(scratch))])
            if not c:
                raise EOFError
            k -= c
        return d


    class Deflater:
        """The station's compressor: compress(parts) gives one message's payload a piece at a time,
        its window of 2**bits kept between messages when keep (context takeover). Its buffers are
        taken once, at connect time: the window and the bytes that follow it in one bytearray (a
        part is copied in after the window, never joined to it), the compressed bytes in a small
        one given out each time it fills (ws.py writes them into its frames as they come)."""

        def __init__(self, bits, keep):
            self.win = 1 << bits
            self.keep = keep
            self.buf = bytearray(self.win + _AHEAD)  # the window, then what is to be compressed
            self.n = 0  # bytes in buf
            self.i = 0  # the first of them not compressed yet
            # 3-byte prefix hash -> where it was last seen in the stream, modulo 2**16 (a position
            # found there is only a candidate: a match is taken for the bytes that do match)
            self.table = array("H", bytes(2 * _HASH))  # (MicroPython takes bytes as the items' memory)
            self.base = 0  # position of buf[0] in the stream, modulo 2**16
            self.out = bytearray(_OUT)
            self.k = 0  # bytes in out
            self.acc = 0  # bits not yet written, and how many
            self.nacc = 0

        def compress(self, parts):
            """(a generator) The compressed payload of a message given as parts (str or bytes-like,
            or iterators of them, made as they are taken): memoryviews of the compressor's output
            buffer, each valid until the next is asked for. A message made in parts is never
            joined: each is compressed as it comes with the window behind it (the last _LOOK bytes
            of one wait for the next, which a match may run on into). What RFC 7692 strips (the
            sync flush's last 4 bytes) is not given."""
            if not self.keep:
                self.n = self.i = 0  # (positions in the table then point into this message or nowhere)
            self.k = 0
            self._bits(2, 3)  # a block with fixed codes (BTYPE 01), not the last one (BFINAL 0)
            buf = self.buf
            size = len(buf)
            for p in parts:
                for t in (p,) if type(p) in _PLAIN else p:  # an iterator of str: text made as written
                    mv = memoryview(t)  # (a str's UTF-8 bytes)
                    j = 0
                    while j < len(mv):
                        n = self.n
                        c = min(size - n, len(mv) - j)
                        buf[n : n + c] = mv[j : j + c]
                        j += c
                        self.n = n = n + c
                        yield from self._feed(n - _LOOK)
                        if n == size:  # full: the window moves on (i > win: _LOOK < _AHEAD)
                            s = self.i - self.win
                            buf[: n - s] = memoryview(buf)[s:]
                            self.n -= s
                            self.i -= s
                            self.base = (self.base + s) & 0xFFFF
            yield from self._feed(self.n)
            self._sym(256)  # the block's end
            self._bits(0, 3)  # the sync flush: an empty stored block, its header to the byte
            if self.nacc:
                self._bits(0, 8 - self.nacc)
            if self.k:
                yield memoryview(self.out)[: self.k]

        def _feed(self, lim):
            """(a generator) Compress buf from i up to lim at least; the output buffer given out
            whenever it is nearly full."""
            buf = self.buf
            base = self.base
            table = self.table
            win = self.win
            n = self.n
            i = self.i
            while i < lim:
                length = 0
                if i + _MIN_MATCH <= n:
                    h = ((buf[i] * 33 + buf[i + 1]) * 33 + buf[i + 2]) & (_HASH - 1)
                    cand = (table[h] - base) & 0xFFFF  # where the prefix was last seen, in buf
                    table[h] = (base + i) & 0xFFFF
                    if cand < i and i - cand <= win:
                        most = min(_MAX_MATCH, n - i)
                        while length < most and buf[cand + length] == buf[i + length]:
                            length += 1
                if length >= _MIN_MATCH:
                    self._match(length, i - cand)
                    for j in range(i + 1, min(i + length, n - _MIN_MATCH + 1)):  # the match's prefixes
                        table[((buf[j] * 33 + buf[j + 1]) * 33 + buf[j + 2]) & (_HASH - 1)] = (base + j) & 0xFFFF
                    i += length
                else:
                    self._sym(buf[i])
                    i += 1
                if self.k > _OUT - 8:  # (a symbol writes 5 bytes at most)
                    self.i = i
                    yield memoryview(self.out)[: self.k]
                    self.k = 0
            self.i = i

        def _match(self, length, dist):
            c = 0
            while c < 28 and _LBASE[c + 1] <= length:
                c += 1
            self._sym(257 + c)
            if _LEXTRA[c]:
                self._bits(length - _LBASE[c], _LEXTRA[c])
            d = 0
            while d < 29 and _DBASE[d + 1] <= dist:
                d += 1
            self._bits(_REV[d] >> 3, 5)  # distance codes: 5 bits each
            if d >= 4:
                self._bits(dist - _DBASE[d], (d >> 1) - 1)

        def _sym(self, s):
            """Write literal/length symbol s with its fixed code (RFC 1951 section 3.2.6)."""
            if s < 144:
                self._bits(_REV[0x30 + s], 8)
            elif s < 256:
                c = 0x190 + s - 144  # 9 bits
                self._bits((_REV[c & 0xFF] << 1) | (c >> 8), 9)
            elif s < 280:
                self._bits(_REV[s - 256] >> 1, 7)
            else:
                self._bits(_REV[0xC0 + s - 280], 8)

        def _bits(self, v, n):
            acc = self.acc | (v << self.nacc)
            n += self.nacc
            if n >= 8:
                out = self.out
                k = self.k
                while n >= 8:
                    out[k] = acc & 0xFF
                    acc >>= 8
                    n -= 8
                    k += 1
                self.k = k
            self.acc = acc
            self.nacc = n
