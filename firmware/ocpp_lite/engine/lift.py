# ocpp_lite/engine/lift.py - long strings taken out of a received message before json.loads.
# json.loads builds each string in a buffer that grows 16 bytes at a time and then copies it,
# so a long string costs its text in the message, the growing buffer and the string at once
# (32-bit port: an 8 kB string 16.6 kB beyond the message; made here 8.1 kB), in pieces a
# fragmented heap may not have. lift() decodes each long string jsonsyntax.check listed (keys
# too) in place and makes it a str with one allocation; a short marker takes its place, so the
# text stays the same JSON, and put_back() sets the strs into the parsed value. rpc.parse
# imports this module with the first message that has such a string.
#
# The values jsonsyntax.check marks (its _PLACES: a certificate's PEM or chain, an
# attributeValue, the strings of a customData it could not blank; DataTransfer's data as its
# JSON text, never decoded) cost not even that: they stay where they were decoded, the JSON is
# parsed from a copy of the rest of the text, and they come out as bytes: one alone as the
# received bytearray itself (its text is no longer needed once parsed), several as memoryviews
# of it. Their handlers take str, bytearray or memoryview; engine/schema.py drops customData
# once checked, so none is ever stored or sent (json.dumps would write it as bytearray(b'...')).

from .jsonsyntax import fill

_ESC = b'"\\/bfnrt'
_UNESC = b'"\\/\x08\x0c\n\r\t'  # what each escape of _ESC stands for


def lift(b, longs):
    """Take the strings at longs (start and end offsets in bytearray b, in pairs; a start
    -1 - s: a value to keep as bytes; start and end -1 - s, -1 - e: a value to keep as its
    JSON text; an end -1 - e alone: blanks, left out of a copy) out of b. Returns (strs, text to parse): strs[k] is the
    str of string k, or (start, end) of its decoded bytes in b for a value to keep (finish()
    makes those bytearrays); the text is b, or, when a value is kept, a new bytearray with
    only the markers of the strings.
    None when b holds a \\u0000 escape of its own (nothing lifted): the marker of string k is
    "\\u0000<k>", then blanks up to the string's end."""
    if b.find(b"\\u0000") >= 0:
        return None
    mv = memoryview(b)
    out = []
    kept = False
    cut = 0  # bytes of the text the strings take beyond their markers
    for j in range(0, len(longs), 2):
        s = longs[j]
        e = longs[j + 1]
        keep = s < 0
        if keep:
            s = longs[j] = -1 - s
        tag = _tag(j >> 1)
        if e < 0:
            e = longs[j + 1] = -1 - e
            if not keep:  # the blanks of a customData jsonsyntax.check dropped: not copied
                cut += e - s
                out.append(None)
                continue
            cut += e - s - len(tag)  # a value kept as its JSON text, checked already
            out.append((s, e))
            kept = True
            continue
        end = _unescape(b, mv, s + 1, e - 1)
        cut += e - s - len(tag)
        if keep:
            _utf8(b, mv, s + 1, end)
            out.append((s + 1, end))
            kept = True
            continue
        out.append(str(mv[s + 1 : end], "utf-8"))
        fill(mv, s, e, tag)
    if not kept:
        return out, b
    t = bytearray(len(b) - cut)  # the text with markers in place of every lifted string
    r = w = 0
    for j in range(0, len(longs), 2):
        s = longs[j]
        t[w : w + s - r] = mv[r:s]
        w += s - r
        if out[j >> 1] is not None:
            tag = _tag(j >> 1)
            t[w : w + len(tag)] = tag
            w += len(tag)
        r = longs[j + 1]
    t[w:] = mv[r:]
    return out, t


def finish(b, strs):
    """strs with the kept values (lift) made bytes: one alone becomes b itself (its text moved
    to the front, b cut to its length: a PEM is a bytearray, with find()); several become
    memoryviews of b, which stays whole (no copies). b is no message afterwards."""
    big = -1
    n = 0
    for k in range(len(strs)):
        if type(strs[k]) is tuple:
            big = k
            n += 1
    if n != 1:
        if n:
            mv = memoryview(b)
            for k in range(len(strs)):
                x = strs[k]
                if type(x) is tuple:
                    strs[k] = mv[x[0] : x[1]]
        return strs
    mv = memoryview(b)
    i, e = strs[big]
    w = 0
    while i < e:  # moved left in pieces that do not overlap
        m = min(e - i, i - w)
        mv[w : w + m] = mv[i : i + m]
        w += m
        i += m
    del mv
    b[w:] = b""
    strs[big] = b
    return strs


def put_back(v, strs):
    """The parsed value v with the markers lift() left in it (values and keys) replaced by strs."""
    t = type(v)
    if t is str:
        if not v or v[0] != "\x00":
            return v
        return strs[int(v[1:])]
    if t is list:
        for k in range(len(v)):
            v[k] = put_back(v[k], strs)
    elif t is dict:
        for k in list(v):  # (a copy of the keys: keys may change)
            x = put_back(v[k], strs)
            if k and k[0] == "\x00":
                del v[k]
                k = strs[int(k[1:])]
            v[k] = x
    return v


def _utf8(b, mv, i, e):
    """Raise UnicodeError unless b[i:e] is UTF-8 (as str() would, a piece at a time)."""
    while i < e:
        j = min(i + 256, e)
        while i < j < e and b[j] & 0xC0 == 0x80:  # not inside a character
            j -= 1
        if j == i:
            raise UnicodeError
        str(mv[i:j], "utf-8")
        i = j


def _tag(k):
    return ('"\\u0000%d"' % k).encode()


def _unescape(b, mv, i, j):
    """Decode the checked JSON string text b[i:j] in place (its bytes move left); returns
    where the decoded text ends. check() refused surrogate escapes, so a \\uXXXX is 1-3 bytes."""
    w = i
    while True:
        e = b.find(b"\\", i, j)
        if e < 0:
            e = j
        if w == i:
            w = i = e
        while i < e:  # moved left in pieces that do not overlap
            m = min(e - i, i - w)
            mv[w : w + m] = mv[i : i + m]
            w += m
            i += m
        if e == j:
            return w
        c = b[e + 1]
        if c == 117:  # u
            x = int(str(mv[e + 2 : e + 6], "ascii"), 16)
            if x < 0x80:
                b[w] = x
                w += 1
            elif x < 0x800:
                b[w] = 0xC0 | x >> 6
                b[w + 1] = 0x80 | x & 0x3F
                w += 2
            else:
                b[w] = 0xE0 | x >> 12
                b[w + 1] = 0x80 | x >> 6 & 0x3F
                b[w + 2] = 0x80 | x & 0x3F
                w += 3
            i = e + 6
        else:
            b[w] = _UNESC[_ESC.find(bytes((c,)))]
            w += 1
            i = e + 2
