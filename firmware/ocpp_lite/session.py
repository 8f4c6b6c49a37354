# ocpp_lite/session.py - the OCPP-J request engine: a bounded queue of outgoing CALLs, at
# most one of them outstanding (Part 4 section 4.1.1), MessageTimeout, unique message ids,
# and the frames to write. Incoming CALLs are handed back to the caller for dispatch.
from collections import deque
from time import ticks_add, ticks_diff
from micropython import const
from . import rpc

PRE_BOOT = const(1)  # may be sent before BootNotification is Accepted (B02.FR.02)
_QUEUE = const(16)  # queued CALLs
_OUT = const(8)  # encoded frames waiting for the socket


class Session:
    def __init__(self, prefix, timeout_s, log):
        self.out = deque((), _OUT)  # frames (str) to write, in order
        self.timeout_ms = timeout_s * 1000
        self.online = False  # the WebSocket is open
        self.accepted = False  # BootNotification was Accepted: all CALLs may go
        self.last_call = None  # ticks of the last CALL written
        self._log = log
        self._q = []  # (action, payload, done, flags)
        self._busy = None  # (id, action, done, deadline)
        self._prefix = prefix
        self._n = 0

    def call(self, action, payload, done=None, flags=0):
        """Queue a CALL; done(station, payload_or_None, now) runs on its result, error or loss.
        Returns False when the queue is full."""
        if len(self._q) >= _QUEUE:
            self._log("queue full, %s dropped" % action)
            return False
        self._q.append((action, payload, done, flags))
        return True

    def idle(self):
        """No CALL queued or outstanding."""
        return not self._q and not self._busy

    def reply(self, mid, payload):
        self.out.append(rpc.result(mid, payload))

    def reply_error(self, mid, code, text=""):
        self.out.append(rpc.error(mid, code, text))

    def pump(self, st, now):
        """Write the next allowed CALL when none is outstanding."""
        if self._busy or not self.online:
            return
        for i in range(len(self._q)):
            q = self._q[i]
            if self.accepted or q[3] & PRE_BOOT:
                self._q.pop(i)
                self._n += 1
                mid = "%s%x" % (self._prefix, self._n)
                self.out.append(rpc.call(mid, q[0], q[1]))
                self._busy = (mid, q[0], q[2], ticks_add(now, self.timeout_ms))
                self.last_call = now
                return

    def receive(self, st, buf, now):
        """Take one text message. Returns (id, action, payload) for a CALL to dispatch, else None."""
        try:
            m = rpc.parse(buf)
        except rpc.CallError as e:
            self._log("bad frame: %s %s" % (e.args[0], e.args[1]))
            self.reply_error(e.args[2], e.args[0], e.args[1])
            return None
        if m is None:
            self._log("broken response dropped")
        elif m[0] == rpc.CALL:
            return m[1], m[2], m[3]
        elif not self._busy or m[1] != self._busy[0]:
            self._log("response to unknown id %s dropped" % m[1])
        elif m[0] == rpc.CALLRESULT:
            self._finish(st, m[3], now)
        else:
            self._log("%s answered %s: %s" % (self._busy[1], m[2], m[3]))
            self._finish(st, None, now)
        return None

    def tick(self, st, now):
        b = self._busy
        if b and ticks_diff(now, b[3]) >= 0:
            self._log("%s %s timed out" % (b[1], b[0]))
            self._finish(st, None, now)

    def deadline(self, now):
        """ms until the outstanding CALL times out, or None."""
        return ticks_diff(self._busy[3], now) if self._busy else None

    def connected(self):
        self.online = True

    def disconnected(self, st, now):
        """The socket is gone: pending replies are void, the outstanding CALL failed."""
        self.online = False
        while self.out:
            self.out.popleft()
        if self._busy:
            self._finish(st, None, now)

    def _finish(self, st, payload, now):
        done = self._busy[2]
        self._busy = None
        if done:
            done(st, payload, now)
