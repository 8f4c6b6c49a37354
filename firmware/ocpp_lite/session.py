# ocpp_lite/session.py - the OCPP-J request engine: outgoing CALLs from a bounded queue in RAM
# and from the must-deliver queue in flash (st.q: TransactionEvents, critical security
# events), at most one outstanding (Part 4 section 4.1.1), in the order they were made;
# MessageTimeout, retries of must-deliver messages (E13), unique message ids, and the frames
# to write. Incoming CALLs are handed back to the caller for dispatch.
from collections import deque
from time import ticks_add, ticks_diff
from micropython import const
from . import rpc

PRE_BOOT = const(1)  # may be sent before BootNotification is Accepted (B02.FR.02)
_QUEUE = const(16)  # queued CALLs in RAM
_OUT = const(8)  # encoded frames waiting for the socket


class Session:
    def __init__(self, prefix, timeout_s, log, k=0):
        """prefix: of message ids (random per boot); k: the next order number (after what the
        flash queue holds)."""
        self.out = deque((), _OUT)  # frames to write, in order: str, or a list of str parts
        self.timeout_ms = timeout_s * 1000
        self.online = False  # the WebSocket is open
        self.accepted = False  # BootNotification was Accepted: all CALLs may go
        self.last_call = None  # ticks of the last CALL written
        self.retry_at = None  # ticks before which the flash queue head waits (E13)
        self.attempts = 0  # failed sends of the flash queue head
        # fn(): check the link at once (a ping; the runtime calls alive() on its answer and
        # drops the link without one). Set by the runtime; None: a timeout counts at once.
        self.probe = None
        self._doubt = None  # (k, action, ticks): a flash message timed out, the link is checked
        self._log = log
        self._q = []  # (k, action, payload, done, flags)
        self._busy = None  # (id, action, done, deadline, k of a flash message or None)
        self._prefix = prefix
        self._n = 0
        self._k = k

    def _order(self):
        self._k += 1
        return self._k

    def new_id(self):
        self._n += 1
        return "%s%x" % (self._prefix, self._n)

    def call(self, action, payload, done=None, flags=0):
        """Queue a CALL in RAM; done(station, payload_or_None, now) runs on its result, error
        or loss. Returns False when the queue is full."""
        if len(self._q) >= _QUEUE:
            self._log("queue full, %s dropped" % action)
            return False
        self._q.append((self._order(), action, payload, done, flags))
        return True

    def keep(self, st, action, payload, tx=None, droppable=False):
        """Queue a must-deliver CALL in flash (st.q); it is sent once Accepted, also after a
        reboot, with the same message id. Raises OSError when the flash fails."""
        st.q.push(self._order(), {"a": action, "p": payload, "m": self.new_id(), "tx": tx, "u": droppable})

    def idle(self):
        """No CALL queued or outstanding."""
        return not self._q and not self._busy

    def reply(self, mid, payload):
        self.out.append(rpc.result(mid, payload))

    def reply_error(self, mid, code, text=""):
        self.out.append(rpc.error(mid, code, text))

    def pump(self, st, now):
        """Write the next CALL when none is outstanding."""
        if self._busy or not self.online:
            return
        i = 0
        while i < len(self._q) and not (self.accepted or self._q[i][4] & PRE_BOOT):
            i += 1
        k = st.q.first() if self.accepted and len(st.q) else None
        if k is not None and (self._doubt or self.retry_at is not None and ticks_diff(now, self.retry_at) < 0):
            k = None
        if k is not None and (i == len(self._q) or k < self._q[i][0]):
            m = st.q.get(k)
            if m is None:  # unreadable: logged by the queue, dropped
                st.q.remove(k)
                return
            mid, action, payload, done = m["m"], m["a"], m["p"], None
        elif i < len(self._q):
            _, action, payload, done, _ = self._q.pop(i)
            mid = self.new_id()
            k = None
        else:
            return
        self.out.append(rpc.call(mid, action, payload))
        self._busy = (mid, action, done, ticks_add(now, self.timeout_ms), k)
        self.last_call = now

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
            self._finish(st, None, now, True)

    def deadline(self, st, now):
        """ms until the outstanding CALL times out or a flash message may be retried, or None."""
        if self._busy:
            return ticks_diff(self._busy[3], now)
        if self.retry_at is not None and self.accepted and len(st.q) and not self._doubt:
            return ticks_diff(self.retry_at, now)
        return None

    def connected(self):
        self.online = True
        self.retry_at = None

    def alive(self, st, now):
        """The link answered the probe: a flash message that timed out on it failed (E13)."""
        d = self._doubt
        if d:
            self._doubt = None
            self._kept(st, d[0], d[1], None, d[2])

    def disconnected(self, st, now):
        """The socket is gone: pending replies are void, the outstanding CALL failed."""
        self.online = False
        self._doubt = None  # the timeout was the link's: kept, not counted (E11, not E13)
        while self.out:
            self.out.popleft()
        if self._busy:
            self._finish(st, None, now)

    def _finish(self, st, payload, now, timed_out=False):
        mid, action, done, _, k = self._busy
        self._busy = None
        if k is not None:
            self._kept(st, k, action, payload, now, timed_out)
        elif done:
            done(st, payload, now)

    def _kept(self, st, k, action, payload, now, timed_out=False):
        """A flash message was answered (payload) or failed (None)."""
        if payload is None and not self.online:
            return  # offline: kept as it is, sent again after the reconnect
        if payload is None and timed_out and self.probe:
            # no answer: from the CSMS (a failed attempt) or from a dead link (offline, kept)?
            # Held until the link answers the probe (alive()) or is dropped (disconnected())
            self._doubt = (k, action, now)
            self.probe()
            return
        if payload is None:
            self.attempts += 1
            attempts, interval = st.attempts()
            if action != "TransactionEvent" or self.attempts < attempts:
                self.retry_at = ticks_add(now, interval * 1000 * self.attempts)  # E13.FR.02
                return
            self._log("%s given up after %d attempts" % (action, self.attempts))  # E13.FR.04
        m = st.q.get(k) if action == "TransactionEvent" else None
        st.q.remove(k)
        self.attempts = 0
        self.retry_at = None
        if m:
            st.kept_answered(m, payload, now)
