# host_tests/mp/test_wswrite.py - runtime/ws.py writes one message at a time: tasks writing at
# once (the session's frames, a ping, a pong) take turns, so the pieces of one message (its
# frame written through the 512-byte send buffer, or a NotifyReport page's fragments) never
# have another message's frames between them. Over a real loopback TCP connection.
import asyncio
import socket
from fakes import serve
from runtime import ws
from test_wscodec import _decode


async def _connected(server):
    """(listening server, WebSocket connected to it over loopback TCP)."""
    srv, port = await serve(server)
    s = socket.socket()
    s.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    s.setblocking(False)
    return srv, ws.WebSocket(s, 4096, 5000)


def _recorder(got):
    """(a server that keeps what it reads in got until the connection ends, a list that gets an
    item then)."""
    done = []

    async def server(reader, writer):
        while True:
            b = await reader.read(4096)
            if not b:
                break
            got.extend(b)
        done.append(1)

    return server, done


async def _hang_up(srv, w, done):
    """Drop the connection and wait (at most a second) for the server to have read all of it."""
    w.abort()
    for _ in range(100):
        if done:
            break
        await asyncio.sleep_ms(10)
    srv.close()


def _made(n):
    for _ in range(n):
        yield "m" * 100


def test_messages_written_at_once_by_several_tasks_take_turns():
    got = bytearray()
    server, done = _recorder(got)

    async def main():
        srv, w = await _connected(server)
        await asyncio.gather(w.send([_made(15)]), w.send("k" * 1500), w.ping(b"p"), w.send([_made(7)]))
        await _hang_up(srv, w, done)

    asyncio.run(main())
    frames = [(f[0], f[1], len(f[3])) for f in _decode(bytes(got))]
    messages = []  # each message's frames, in the order they came
    for f in frames:
        if f[1] == 9:  # a control frame may come between fragments (RFC 6455 5.4), it does not here
            messages.append([f])
        elif f[1] == 0:
            messages[-1].append(f)
        else:
            messages.append([f])
    assert sorted(sum(f[2] for f in m) for m in messages) == [1, 700, 1500, 1500], frames
    for m in messages:
        assert m[-1][0] == 1 and all(not f[0] for f in m[:-1]), frames  # FIN only on the last
        assert all(f[1] == 0 for f in m[1:]), frames  # continuations only after the first


def test_within_returns_times_out_and_lets_other_cancels_through():
    """ws.within, the timeout of every read and write (asyncio.wait_for_ms without its module)."""
    ended = []

    async def slow(ms, value):
        try:
            await asyncio.sleep_ms(ms)
            return value
        finally:
            ended.append(value)

    async def main():
        assert await ws.within(slow(10, "a"), 1000) == "a"
        try:
            await ws.within(slow(1000, "b"), 20)
        except asyncio.TimeoutError:
            pass
        else:
            raise AssertionError("no TimeoutError")
        assert ended == ["a", "b"]  # the awaited coroutine was ended, its finally ran

        async def waiter():
            return await ws.within(slow(1000, "c"), 500)

        t = asyncio.create_task(waiter())
        await asyncio.sleep_ms(10)
        t.cancel()  # a cancel from outside (the link dropping the reader) is not a timeout
        try:
            await t
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("the cancel did not come through")
        assert ended == ["a", "b", "c"]
        assert await ws.within(slow(5, "d"), 50) == "d"
        await asyncio.sleep_ms(100)  # the alarm of a wait that ended is gone: no cancel here

    asyncio.run(main())


def _failing():
    yield "m" * 100
    raise ValueError("a part that cannot be made")


def test_a_message_that_fails_while_compressed_ends_the_connection():
    """With permessage-deflate the compressor's window takes a message's parts as they are made:
    a part that fails leaves it holding bytes the CSMS never got, so the connection is dropped
    (the error reaches the sender; the link reconnects with a fresh compressor)."""
    from runtime.wsdeflate import Deflater

    async def server(reader, writer):
        while await reader.read(4096):
            pass

    async def main():
        srv, w = await _connected(server)
        w.pmd = (None, Deflater(10, True))  # (no inflater: the server sends nothing)
        await w.send("k" * 100)  # fine
        assert not w._dead
        try:
            await w.send(["[2,", _failing()])
            raise AssertionError("no error")
        except ValueError:
            pass
        assert w._dead
        try:
            await w.send("k" * 100)
            raise AssertionError("sent on a dropped connection")
        except ws.Closed:
            pass
        srv.close()

    asyncio.run(main())


def _firsts(wire):
    """The first byte (FIN, RSV1, opcode) of each client frame in wire."""
    out = []
    i = 0
    while i < len(wire):
        n = wire[i + 1] & 0x7F
        h = 2
        if n == 126:
            n, h = int.from_bytes(wire[i + 2 : i + 4], "big"), 4
        elif n == 127:
            n, h = int.from_bytes(wire[i + 2 : i + 10], "big"), 10
        out.append(wire[i])
        i += h + 4 + n
    return out


def test_a_compressed_message_longer_than_the_send_buffer_goes_as_fragments():
    """The compressor's output goes into the frames as it comes (its length is not known before):
    a short message is one frame with RSV1, a long one fragments of the 512-byte send buffer,
    RSV1 on the first only (RFC 7692 section 6.1), FIN on the last; the payloads joined inflate
    to the message (the sync flush's tail put back, as the CSMS does)."""
    import deflate
    import io
    from runtime.wsdeflate import Deflater

    got = bytearray()
    server, done = _recorder(got)

    x = 12345
    noise = []
    for _ in range(3000):  # text that compresses little: its compressed form is over 512 bytes
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        noise.append(chr(33 + (x >> 16) % 90))
    long = "".join(noise)

    async def main():
        srv, w = await _connected(server)
        w.pmd = (None, Deflater(10, True))
        await w.send('[2,"1","Heartbeat",{}]' + " " * 20)
        await w.send(['[2,"2","DataTransfer",{"vendorId":"v","data":"', long, '"}]'])
        await _hang_up(srv, w, done)

    asyncio.run(main())
    frames = _decode(bytes(got))
    firsts = _firsts(bytes(got))
    assert firsts[0] == 0xC1 and frames[0][0] == 1, firsts  # FIN, RSV1, text: one frame
    assert len(frames) > 3 and firsts[1] == 0x41 and all(b == 0x00 for b in firsts[2:-1]) and firsts[-1] == 0x80, firsts
    assert all(len(f[3]) <= 512 for f in frames)
    msgs = [frames[0][3], b"".join(f[3] for f in frames[1:])]
    z = deflate.DeflateIO(io.BytesIO(b"".join(msgs[:1] + [b"\x00\x00\xff\xff"] + msgs[1:] + [b"\x00\x00\xff\xff\x03\x00"])), deflate.RAW, 10)
    text = z.read()
    assert text == ('[2,"1","Heartbeat",{}]' + " " * 20 + '[2,"2","DataTransfer",{"vendorId":"v","data":"' + long + '"}]').encode()
