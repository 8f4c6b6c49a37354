# runtime/http.py - a small HTTP/1.1 client for file transfers (L01 firmware download, N01 log
# upload) on asyncio streams, plain or TLS: one request per connection, a body sent from a
# callback, the response body read through the caller's buffer (Content-Length, chunked, or
# up to the close); bounded header lines and a timeout on every read and write.
import asyncio
import binascii
from micropython import const
from ocpp_lite.provisioning.netprofile import parse_url
from .ws import within

_BUF = const(512)  # status line, header lines, chunk-size lines
_HEAD_LINES = const(32)


class HttpError(Exception):
    """HttpError(status, text): the server answered status (0: a broken response)."""


def split_url(url):
    """'http[s]://[user:password@]host[:port][/path]' -> (tls, host, port, path, userinfo)."""
    if not (url.startswith("http://") or url.startswith("https://")):
        raise ValueError("not an http:// or https:// URL")
    rest = url[url.find("//") + 2 :]
    slash = rest.find("/")
    at = rest.rfind("@", 0, slash if slash >= 0 else len(rest))
    user = rest[:at] if at >= 0 else None
    # http:// and https:// split like ws:// and wss:// (same default ports)
    tls, host, port, path = parse_url("ws" + url[4 : url.find("//") + 2] + rest[at + 1 :])
    if any(c in path for c in " \r\n") or any(c in host for c in " \r\n/"):
        raise ValueError("bad characters in URL")
    return tls, host, port, path, user


async def request(method, url, ctx, timeout_ms, length=0, body=None, head=()):
    """Send a request and return the Response after its header. body: async body(write) that
    writes length bytes with await write(buf); head: extra header lines. ctx: ssl context for
    https. Raises ValueError (URL), OSError (network, TLS: a server certificate that does not
    verify too), asyncio.TimeoutError, HttpError."""
    tls, host, port, path, user = split_url(url)
    if tls and ctx is None:
        raise ValueError("https:// needs an installed CSMS root certificate")
    try:
        r, _ = await within(
            asyncio.open_connection(host, port, ctx if tls else None, host if tls else None), timeout_ms)
    except ValueError as e:  # how the ssl module reports a certificate that does not verify
        raise OSError("TLS: %s" % e)
    resp = Response(r, timeout_ms)
    try:
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + (host if ":" not in host else "[%s]" % host)
                 + ("" if port == (443 if tls else 80) else ":%d" % port), "Connection: close",
                 "User-Agent: OCPP2.Lite"]
        if user:
            lines.append("Authorization: Basic " + binascii.b2a_base64(user.encode())[:-1].decode())
        if body:
            lines.append("Content-Length: %d" % length)
        await resp.write(("\r\n".join(lines + list(head)) + "\r\n\r\n").encode())
        if body:
            await body(resp.write)
        await resp.head()
    except BaseException:
        resp.close()
        raise
    return resp


class Response:
    def __init__(self, stream, timeout_ms):
        self.s = stream
        self.t = timeout_ms
        self.status = 0
        self.length = None  # Content-Length, None when chunked or up to the close
        self._b = bytearray(_BUF)
        self._mv = memoryview(self._b)
        self._r = self._w = 0
        self._chunked = False
        self._chunks = 0
        self._left = 0  # bytes left of the body or of the current chunk
        self._end = False

    async def write(self, data):
        try:
            self.s.write(data)
            await within(self.s.drain(), self.t)
        except ValueError as e:  # the TLS handshake runs in the first write
            raise OSError("TLS: %s" % e)

    async def _fill(self):
        """Read more into the buffer; False at the end of the stream."""
        if self._r == self._w:
            self._r = self._w = 0
        elif self._w == _BUF:
            n = self._w - self._r
            self._b[:n] = self._b[self._r : self._w]
            self._r, self._w = 0, n
        if self._w == _BUF:
            raise HttpError(0, "response line too long")
        n = await within(self.s.readinto(self._mv[self._w :]), self.t)
        if n is None:
            return True  # TLS record not complete yet
        self._w += n
        return n > 0

    async def _line(self):
        while True:
            i = self._b.find(b"\r\n", self._r, self._w)
            if i >= 0:
                line = bytes(self._b[self._r : i])
                self._r = i + 2
                return line
            if not await self._fill():
                raise HttpError(0, "connection closed in the response header")

    async def head(self):
        line = await self._line()
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise HttpError(0, "not an HTTP response")
        self.status = int(parts[1])
        for _ in range(_HEAD_LINES):
            line = await self._line()
            if not line:
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                if not value.isdigit():
                    raise HttpError(0, "bad Content-Length")
                self.length = self._left = int(value)
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self._chunked = True
        else:
            raise HttpError(0, "too many header lines")
        if self._chunked:
            self.length = None
            self._left = 0
        self._end = self.length == 0

    async def readinto(self, mv):
        """Read body bytes into mv; 0 at the end of the body. Raises OSError or HttpError when
        the body ends early."""
        if self._chunked and not self._left and not self._end:
            await self._chunk()
        if self._end:
            return 0
        want = len(mv) if self.length is None and not self._chunked else min(len(mv), self._left)
        n = None
        while n is None:
            if self._r < self._w:
                n = min(want, self._w - self._r)
                mv[:n] = self._mv[self._r : self._r + n]
                self._r += n
            else:
                n = await within(self.s.readinto(mv[:want]), self.t)
        if not n:
            if self.length is not None or self._chunked:
                raise HttpError(0, "connection closed in the body")
            self._end = True  # the body ends with the connection
            return 0
        self._left -= n
        if self.length is not None and not self._left:
            self._end = True
        return n

    async def _chunk(self):
        """Start the next chunk of a chunked body (or find its end)."""
        if self._chunks and await self._line():
            raise HttpError(0, "bad chunk end")
        self._chunks += 1
        try:
            self._left = int((await self._line()).split(b";")[0].strip(), 16)
        except ValueError:
            raise HttpError(0, "bad chunk size")
        if self._left <= 0:
            while await self._line():  # trailer fields
                pass
            self._end = True

    def close(self):
        try:
            self.s.close()
        except Exception:
            pass
