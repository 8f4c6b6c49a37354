# runtime/http.py on the unix port against scripted server bytes: Content-Length, chunked (with
# extensions and trailer fields), close-delimited bodies, delivered in odd pieces; broken and
# hostile responses end in HttpError, never in more memory; URLs.
import asyncio
from runtime import http


class Stream:
    """The server side of a connection: replies with data in pieces of `piece` bytes."""

    def __init__(self, data, piece=7):
        self.data = data
        self.i = 0
        self.piece = piece
        self.sent = bytearray()

    async def readinto(self, mv):
        n = min(len(mv), self.piece, len(self.data) - self.i)
        mv[:n] = self.data[self.i : self.i + n]
        self.i += n
        return n

    def write(self, b):
        self.sent.extend(b)

    async def drain(self):
        pass

    def close(self):
        pass


def _get(data, piece=7, size=64):
    async def go():
        r = http.Response(Stream(data, piece), 1000)
        await r.head()
        body = bytearray()
        buf = memoryview(bytearray(size))
        n = await r.readinto(buf)
        while n:
            body.extend(buf[:n])
            n = await r.readinto(buf)
        return r.status, r.length, bytes(body)

    try:
        return asyncio.run(go())
    finally:
        asyncio.new_event_loop()


def _fails(data, piece=7):
    try:
        _get(data, piece)
    except http.HttpError:
        return True
    return False


BODY = bytes(range(256)) * 5


def test_bodies():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX: y\r\n\r\n" % len(BODY)
    for piece in (1, 7, 600):
        assert _get(head + BODY, piece) == (200, len(BODY), BODY)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i in range(0, len(BODY), 300):
        part = BODY[i : i + 300]
        chunked += b"%x;ext=1\r\n%s\r\n" % (len(part), part)
    chunked += b"0\r\nTrailer: 1\r\n\r\n"
    assert _get(chunked, 5, 100) == (200, None, BODY)
    assert _get(b"HTTP/1.0 404 Not Found\r\n\r\nno such file") == (404, None, b"no such file")
    assert _get(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n") == (204, 0, b"")


def test_broken_and_hostile_responses():
    assert _fails(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")  # cut in the body
    assert _fails(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc")
    assert _fails(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert _fails(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n")
    assert _fails(b"SSH-2.0-OpenSSH\r\n\r\n")
    assert _fails(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n")
    assert _fails(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 40 + b"\r\n")  # too many header lines
    assert _fails(b"HTTP/1.1 200 OK\r\nX: " + b"y" * 2000 + b"\r\n\r\n", 600)  # a line over the buffer
    assert _fails(b"HTTP/1.1 200")  # closed in the header


def test_urls():
    assert http.split_url("http://h/x") == (False, "h", 80, "/x", None)
    assert http.split_url("https://u:p@h:8443") == (True, "h", 8443, "/", "u:p")
    assert http.split_url("http://[::1]:81/a@b") == (False, "::1", 81, "/a@b", None)
    for bad in ("ftp://h/", "http://", "http://h:x/", "http://bad host/", "http://h/a b", "https://u@/x"):
        try:
            http.split_url(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_request_line_and_auth():
    s = Stream(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")

    async def go():
        async def fake_open(host, port, ssl=None, server_hostname=None):
            assert (host, port, ssl, server_hostname) == ("h", 8080, None, None)
            return s, s

        real = asyncio.open_connection
        asyncio.open_connection = fake_open
        try:
            async def body(write):
                await write(b"abc")

            r = await http.request("PUT", "http://user:pw@h:8080/up/f.log", None, 1000, 3, body, ("X-A: 1",))
            return r.status
        finally:
            asyncio.open_connection = real

    try:
        assert asyncio.run(go()) == 201
    finally:
        asyncio.new_event_loop()
    head, _, body = bytes(s.sent).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"PUT /up/f.log HTTP/1.1" and b"Host: h:8080" in lines and b"X-A: 1" in lines
    assert b"Authorization: Basic dXNlcjpwdw==" in lines and b"Content-Length: 3" in lines and body == b"abc"
