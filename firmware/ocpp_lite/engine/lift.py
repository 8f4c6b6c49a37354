# ocpp_lite/engine/lift.py - long strings taken out of a received message before json.loads.
# json.loads builds each string in a buffer that grows 16 bytes at a time and then copies it,
# so a long string costs its text in the message, the growing buffer and the string at once
# (32-bit port: an 8 kB string 16.6 kB beyond the message; made here 8.1 kB), in pieces a
# fragmented heap may not have. lift() decodes each long string jsonsyntax.check listed (keys
# too) in place and makes it a str with one allocation; a short marker takes its place, so the
# text stays the same JSON, and put_back() sets the strs into the parsed value. rpc.parse
# imports this module with the first message that has such a string.

_ESC = b'"\\/bfnrt'
_UNESC = b'"\\/\x08\x0c\n\r\t'  # what each escape of _ESC stands for
_BLANK = b"                                "


def lift(b, longs):
    """Take the strings at longs (start and end offsets in bytearray b, in pairs) out of b.
    Returns them (a list of str), or None when b holds a \\u0000 escape of its own (nothing
    lifted): the marker of string k is "\\u0000<k>", then blanks up to the string's end."""
    if b.find(b"\\u0000") >= 0:
        return None
    mv = memoryview(b)
    out = []
    for j in range(0, len(longs), 2):
        s = longs[j]
        e = longs[j + 1]
        end = _unescape(b, mv, s + 1, e - 1)
        out.append(str(mv[s + 1 : end], "utf-8"))
        tag = ('"\\u0000%d"' % (j >> 1)).encode()
        k = s + len(tag)
        mv[s:k] = tag
        while k < e:
            m = min(e - k, len(_BLANK))
            mv[k : k + m] = _BLANK[:m]
            k += m
    return out


def put_back(v, strs):
    """The parsed value v with the markers lift() left in it (values and keys) replaced by strs."""
    t = type(v)
    if t is str:
        return strs[int(v[1:])] if v and v[0] == "\x00" else v
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
