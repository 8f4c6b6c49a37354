# host_tests/mp/test_wsread.py - runtime/ws.py's wait for the next frame (WebSocket.wait, which
# the link calls before recv so that an idle connection holds no frame of recv's): a socket error
# there ends the WebSocket as one in recv does, with Closed, and the receive buffer is held only
# while a frame is read.
from asyncio import core
from runtime import ws


class _Sock:
    """A socket whose reads fail with OSError(code), or give data."""

    def __init__(self, code=None, data=b""):
        self.code = code
        self.data = data

    def readinto(self, mv):
        if self.code is not None:
            raise OSError(self.code)
        n = len(self.data)
        mv[:n] = self.data
        return n

    def close(self):
        pass


class _Readable:
    """asyncio's I/O queue, for a generator driven by hand: every socket is readable."""

    def queue_read(self, s):
        return None


def _wait(w):
    """Drive w.wait() by hand past its wait for the socket; returns what it raised, or None."""
    real = core._io_queue
    core._io_queue = _Readable()
    try:
        g = w.wait()
        g.send(None)  # waiting for the socket to be readable: no buffer held
        assert w._b is None
        try:
            g.send(None)
        except StopIteration:
            return None
        except Exception as e:
            return e
        raise AssertionError("wait() waits again with the frame's bytes there")
    finally:
        core._io_queue = real


def test_a_tls_record_over_the_input_buffer_while_idle_is_closed_1015():
    e = _wait(ws.WebSocket(_Sock(-0x7100), 4096, 5000))  # MBEDTLS_ERR_SSL_BAD_INPUT_DATA
    assert type(e) is ws.Closed and e.args[0] == 1015, repr(e)
    e = _wait(ws.WebSocket(_Sock(-0x7200), 4096, 5000))  # MBEDTLS_ERR_SSL_INVALID_RECORD
    assert type(e) is ws.Closed and e.args[0] == 1015, repr(e)


def test_a_socket_error_while_idle_is_closed_1006():
    e = _wait(ws.WebSocket(_Sock(104), 4096, 5000))  # ECONNRESET
    assert type(e) is ws.Closed and e.args[0] == 1006 and "socket error" in e.args[1], repr(e)


def test_a_frame_start_is_read_into_a_buffer_taken_for_it():
    w = ws.WebSocket(_Sock(data=b"\x81\x02"), 4096, 5000)
    assert _wait(w) is None
    assert len(w._b) == 512 and w._w - w._r == 2 and w.rx_bytes == 2
    e = _wait(ws.WebSocket(_Sock(data=b""), 4096, 5000))  # the connection ended
    assert type(e) is ws.Closed and e.args == (1006, "connection lost"), repr(e)
