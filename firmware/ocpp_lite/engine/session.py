# ocpp_lite/engine/session.py - the OCPP-J request engine: outgoing CALLs from a bounded queue
# in RAM and from the must-deliver queue in flash (st.q: TransactionEvents, critical security
# events), at most one outstanding (Part 4 section 4.1.1), in the order they were made;
# MessageTimeout, retries of must-deliver messages (E13), unique message ids, and the frames
# to write. An incoming CALL goes to its handler by the dispatch table (dispatch.py) and its
# answer (or CALLERROR) is queued here; a CALLRESULT or CALLERROR goes to the CALL's owner.
#
# Every CALL has an owner that learns its fate: done(st, payload, now) runs once, with the
# CALLRESULT payload, or None when it was answered with a CALLERROR, timed out, was lost with
# the link, or could not be queued (docs/behaviour.md "Message classes"):
#   best-effort (flags 0): dropped, oldest first, when the RAM queue is full;
#   KEEP: state sent again rather than queued twice (BootNotification, StatusNotification per
#     connector, Authorize): never dropped for room; one with the key of a queued one takes
#     its place (the newest state wins, the owner is the same);
#   URGENT: goes before every queued message, and fails when the link drops (Authorize,
#     BootNotification: what a person or the registration is waiting for);
#   flash (keep()): two lanes, TransactionEvents in order among themselves (E13) and the other
#     must-deliver messages; a failed one waits and is retried in its own lane only, so a CSMS
#     that refuses one kind of message never holds back TransactionEvents.
from collections import deque
from time import ticks_diff
from micropython import const
from . import rpc
from .clock import later
from ..dispatch import admit, handler

PRE_BOOT = const(1)  # may be sent before BootNotification is Accepted (B02.FR.02)
KEEP = const(2)  # never dropped for room; coalesced by key
URGENT = const(4)  # before the queued ones; fails when the link drops
_REJECTED = const(2)  # provisioning/boot.py REJECTED
_QUEUE = const(16)  # queued CALLs in RAM
_OUT = const(8)  # encoded frames waiting for the socket
_FORMAT = const("FormatViolation")  # RPC framework error codes (engine/rpc.py)
_INTERNAL = const("InternalError")
_SECURITY = const("SecurityError")
_STEPPER = type((lambda: (yield))())  # the generator type: what a handler in steps returns
TE = "TransactionEvent"


class Session:
    def __init__(self, prefix, timeout_s, log, k=0, st=None, probe=None):
        """prefix: of message ids (random per boot); k: the next order number (after what the
        flash queue holds); st: the station (the handlers' services, and passed to the done of
        a CALL); probe: see below."""
        self.out = deque((), _OUT, 1)  # frames to write, in order: str, or a list of str parts
        self.timeout_ms = timeout_s * 1000
        self.online = False  # the WebSocket is open
        self.accepted = False  # BootNotification was Accepted: all CALLs may go
        self.last_call = None  # ticks of the last CALL written
        self.jammed = False  # a frame found self.out full: the connection must be renewed
        # per flash lane (0: TransactionEvents, 1: the others): failed sends of its head, and
        # ticks before which the head waits (E13), or None
        self.tries = [0, 0]
        self.wait = [None, None]
        # fn(): check the link at once (a ping; the runtime calls alive() on its answer and
        # drops the link without one). Given by the runtime; None: a timeout counts at once.
        self.probe = probe
        self._doubt = None  # (k, action, ticks): a flash message timed out, the link is checked
        self._log = log
        self._q = []  # [k, action, payload, done, flags, key]
        self._busy = None  # (id, action, done, deadline, k of a flash message or None)
        self._prefix = prefix
        self._n = 0
        self._k = k
        self._st = st
        self.dropped = 0  # CALLs dropped from the full RAM queue since start
        self._now = 0  # the latest ticks seen (for the fate of a CALL that cannot be queued)
        # (id, action, stepper): a CALL whose handler runs in steps (a signature check,
        # crypto.run): one step per tick(), answered when it ends; the runtime does not wait
        # while it is set
        self.later = None

    def _order(self):
        self._k += 1
        return self._k

    def new_id(self):
        self._n += 1
        return "%s%x" % (self._prefix, self._n)

    def call(self, action, payload, done=None, flags=0, key=None):
        """Queue a CALL in RAM (see the classes above). Returns False when it could not be
        queued (its done has then run with None)."""
        q = self._q
        if key is not None or flags & KEEP:
            for e in q:
                if e[1] == action and e[5] == key:  # the newest state replaces the queued one
                    e[2], e[3], e[4] = payload, done, flags
                    return True
        if len(q) >= _QUEUE:
            for i in range(len(q)):
                if not q[i][4] & KEEP:
                    e = q.pop(i)
                    self._dropped(e[1])
                    if e[3]:
                        e[3](self._st, None, self._now)
                    break
            else:
                self._dropped(action)
                if done:
                    done(self._st, None, self._now)
                return False
        q.append([self._order(), action, payload, done, flags, key])
        return True

    def _dropped(self, action):
        """Logged at the 1st, 2nd, 4th, 8th, ... drop: a week offline with clock-aligned meter
        values drops one a minute, and each log line is a flash write."""
        self.dropped += 1
        if not self.dropped & (self.dropped - 1):
            self._log("queue full, %s dropped (%d so far)" % (action, self.dropped))

    def keep(self, st, action, payload, tx=None, droppable=False):
        """Queue a must-deliver CALL in flash (st.q); it is sent once Accepted, also after a
        reboot, with the same message id. Raises OSError when the flash fails or is full."""
        st.q.push(self._order(), {"a": action, "p": payload, "m": self.new_id(), "tx": tx, "u": droppable})

    def registered(self, accepted):
        """The boot block's word: BootNotification Accepted (all CALLs may go) or not (only the
        PRE_BOOT ones, B02.FR.02)."""
        self.accepted = accepted

    def set_timeout(self, ms):
        """MessageTimeout of the network profile in use."""
        self.timeout_ms = ms

    def idle(self):
        """No CALL queued or outstanding."""
        return not self._q and not self._busy

    def _emit(self, frame):
        try:
            self.out.append(frame)
        except IndexError:  # the runtime writes after every input: it is stuck or gone
            if not self.jammed:
                self._log("frames full: connection renewed")
            self.jammed = True

    def reply(self, mid, payload):
        self._emit(rpc.result(mid, payload))

    def reply_error(self, mid, code, text=""):
        self._emit(rpc.error(mid, code, text))

    def _lane_ready(self, st, lane, now):
        """The order number of flash lane's head if it may go now, else None."""
        k = st.q.head(lane)
        w = self.wait[lane]
        if k is None or w is not None and ticks_diff(now, w) < 0:
            return None
        return k

    def pump(self, st, now):
        """Write the next CALL when none is outstanding."""
        self._now = now
        if self._busy or not self.online:
            return
        q = self._q
        i = -1
        for j in range(len(q)):  # the first that may go; an urgent one before all
            if self.accepted or q[j][4] & PRE_BOOT:
                if q[j][4] & URGENT:
                    i = j
                    break
                if i < 0:
                    i = j
        k = None
        if self.accepted and len(st.q) and not self._doubt and (i < 0 or not q[i][4] & URGENT):
            for lane in (0, 1):
                x = self._lane_ready(st, lane, now)
                if x is not None and (k is None or x < k):
                    k = x
        if k is not None and (i < 0 or k < q[i][0]):
            m = st.q.get(k)
            if m is None:  # unreadable: logged by the queue, dropped
                st.q.remove(k)
                return
            mid, action, payload, done = m["m"], m["a"], m["p"], None
        elif i >= 0:
            _, action, payload, done, _, _ = q.pop(i)
            mid = self.new_id()
            k = None
        else:
            return
        self._emit(rpc.call(mid, action, payload))
        self._busy = (mid, action, done, later(now, self.timeout_ms), k)
        self.last_call = now

    def receive(self, buf, now, over=0):
        """Take one text message: answer a CALL (its handler's result or a CALLERROR), give a
        response to the owner of the CALL it answers; then let the station do what is due.
        buf: the text, or a list holding it, which receive empties: the caller then keeps no
        reference, and the text (MaxMessageBytes of heap) is let go of once parsed, before the
        handler runs. over: the size of a message over MaxMessageBytes, of which buf is only
        the head."""
        if type(buf) is list:
            buf = buf.pop()
        st = self._st
        self._now = now
        try:
            m = self._over(st, buf, over, now) if over else self._take(st, buf, now)
        except MemoryError:  # parsing it, or what a response set off: that is dropped
            m = None
            mid = rpc.call_id(buf)
            if mid:  # a CALL not parsed: answered, so the CSMS need not wait for its timeout
                self.reply_error(mid, _INTERNAL, "out of memory")
            st.out_of_memory("receive", now)
        buf = None  # (what the handler needs of it, the parsed value holds)
        if m:
            self._dispatch(st, m[0], m[1], m[2], now)
        st.tick(now)

    def _over(self, st, buf, size, now):
        """A message over MaxMessageBytes, known by its head: a CALL is answered FormatViolation
        (the connection stays up: a CSMS that sent it again would meet a close each time), a
        response ends the CALL it answers as failed; else it is dropped."""
        h = rpc.head(buf)
        self._log("message of %d bytes over MaxMessageBytes" % size)
        if h and h[0] == rpc.CALL:
            self.reply_error(h[1], _FORMAT, "message of %d bytes over MaxMessageBytes" % size)
        elif h and self._busy and h[1] == self._busy[0]:
            self._finish(st, None, now)

    def _take(self, st, buf, now):
        """Parse buf: (id, action, payload) of a CALL to dispatch, else None."""
        try:
            m = rpc.parse(buf, (lambda a, n: admit(st, a, n)) if self.accepted or st.boot.state != _REJECTED else None)
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

    def _dispatch(self, st, mid, action, payload, now):
        try:
            if not self.accepted and st.boot.state == _REJECTED:
                raise rpc.CallError(_SECURITY, "not accepted by the CSMS")  # B03.FR.08
            res = handler(st, action)(payload, now)
            if type(res) is _STEPPER:  # a handler in steps: its first step now, the others in tick()
                if self.later is not None:  # the CSMS did not wait for its answer (OCPP-J: one
                    self._run_out(st, now)  # CALL at a time): the earlier one ends first
                self.later = (mid, action, res)
                res = self._step()
                if self.later is not None:
                    return
        except Exception as e:
            self._failed(st, mid, action, e, now)
            return
        self.reply(mid, res)

    def _run_out(self, st, now):
        """The handler in steps run to its end at once, and answered."""
        w = self.later
        try:
            res = None
            while self.later is not None:
                res = self._step()
            self.reply(w[0], res)
        except Exception as e:
            self._failed(st, w[0], w[1], e, now)

    def _step(self):
        """One step of the handler in steps; its answer once it has ended (later is None then)."""
        try:
            next(self.later[2])
            return None
        except StopIteration as e:
            self.later = None
            return e.value

    def _failed(self, st, mid, action, e, now):
        """A handler raised e: the CALLERROR it means."""
        self.later = None
        if isinstance(e, rpc.CallError):
            self.reply_error(mid, e.args[0], e.args[1] if len(e.args) > 1 else "")
        elif isinstance(e, MemoryError):
            self.reply_error(mid, _INTERNAL, "out of memory")
            st.out_of_memory(action, now)
        else:  # a handler bug must not take the station down
            self._log("%s handler failed: %r" % (action, e))
            self.reply_error(mid, _INTERNAL, "handler failed")

    def tick(self, st, now):
        self._now = now
        w = self.later
        if w is not None:
            try:
                res = self._step()
                if self.later is None:
                    self.reply(w[0], res)
            except Exception as e:
                self._failed(st, w[0], w[1], e, now)
        b = self._busy
        if b and ticks_diff(now, b[3]) >= 0:
            self._log("%s %s timed out" % (b[1], b[0]))
            self._finish(st, None, now, True)

    def deadline(self, st, now):
        """ms until the outstanding CALL times out or a flash message may be retried, or None
        (offline: nothing here is due until the link is back)."""
        if self.later is not None:
            return 0  # a handler in steps goes on
        if self._busy:
            return ticks_diff(self._busy[3], now)
        if not (self.online and self.accepted) or self._doubt:
            return None
        d = None
        for lane in (0, 1):
            w = self.wait[lane]
            if w is not None and st.q.head(lane) is not None:
                x = ticks_diff(w, now)
                d = x if d is None or x < d else d
        return d

    def connected(self, now=None):
        """The link is up; now: its ticks, from which the heartbeat interval counts (a tick
        value from before an outage may be beyond ticks_diff's range)."""
        if now is not None:
            self.last_call = now
        self.online = True
        self.jammed = False
        self.wait = [None, None]

    def alive(self, st, now):
        """The link answered the probe: a flash message that timed out on it failed (E13)."""
        d = self._doubt
        if d:
            self._doubt = None
            self._kept(st, d[0], d[1], None, d[2])

    def disconnected(self, st, now):
        """The socket is gone: pending replies are void, the outstanding CALL and the urgent
        ones queued failed."""
        self._now = now
        self.online = False
        self.later = None  # its answer could not reach the CSMS: the handler in steps ends
        self._doubt = None  # the timeout was the link's: kept, not counted (E11, not E13)
        while self.out:
            self.out.popleft()
        if self._busy:
            self._finish(st, None, now)
        for e in [e for e in self._q if e[4] & URGENT]:
            self._q.remove(e)
            if e[3]:
                e[3](st, None, now)

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
        lane = 0 if action == TE else 1
        if payload is None:
            self.tries[lane] += 1
            attempts, interval = st.attempts()
            if self.tries[lane] < attempts:  # E13.FR.02: wait interval * attempts so far
                self.wait[lane] = later(now, interval * 1000 * self.tries[lane])
                return
            # E13.FR.04; the other messages likewise: a CSMS that refuses them blocks nothing
            self._log("%s given up after %d attempts" % (action, self.tries[lane]))
        m = st.q.get(k) if lane == 0 else None
        st.q.remove(k)
        self.tries[lane] = 0
        self.wait[lane] = None
        if m:
            st.transactions.answered(m, payload, now)
