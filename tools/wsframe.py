"""tools/wsframe.py - RFC 6455 frames on the host side (the footprint tool's relay, the test
servers and the chaos proxy): where a frame ends in a stream of bytes, and what it holds."""


def size(b):
    """Bytes of the complete frame at the start of b, or None while it is incomplete."""
    if len(b) < 2:
        return None
    n, h = b[1] & 0x7F, 2
    if n == 126:
        if len(b) < 4:
            return None
        n, h = int.from_bytes(b[2:4], "big"), 4
    elif n == 127:
        if len(b) < 10:
            return None
        n, h = int.from_bytes(b[2:10], "big"), 10
    h += 4 if b[1] & 0x80 else 0
    return h + n if len(b) >= h + n else None


def split(buf):
    """(the complete frames at the start of buf, the bytes after them)."""
    frames = []
    n = size(buf)
    while n is not None:
        frames.append(buf[:n])
        buf = buf[n:]
        n = size(buf)
    return frames, buf


def parse(frame):
    """(opcode, fin, masked, rsv bits, payload unmasked) of one complete frame."""
    n, h = frame[1] & 0x7F, 2
    if n == 126:
        h = 4
    elif n == 127:
        h = 10
    masked = bool(frame[1] & 0x80)
    data = bytes(frame[h + 4 if masked else h:])
    if masked:
        mask = frame[h:h + 4]
        data = bytes(c ^ mask[i & 3] for i, c in enumerate(data))
    return frame[0] & 0x0F, bool(frame[0] & 0x80), masked, frame[0] & 0x70, data
