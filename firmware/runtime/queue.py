# runtime/queue.py - the must-deliver message queue in flash (TransactionEvents, critical
# security events; E11/E12, A04.FR.02): one file per message ("q_<order>"), written before
# the message is sent and removed when the CSMS has answered, so a power cut loses none and a
# message sent again after a reboot carries the same message id. In RAM only an index:
# (order, transaction id or None, droppable).
#
# Bounded at LIMIT files, always (docs/behaviour.md "Message classes"). When full, room is made by
# dropping, oldest first, a TransactionEvent Updated (its meter values), else a security event
# (it stays in the security log); a droppable message that finds no room is refused (OSError).
# Started and Ended are never dropped: the station starts no new transaction while fewer than
# two places per EVSE are left for them (full(), as a full meter memory would), so every open
# transaction can always queue its Ended.
import json
from micropython import const

_PREFIX = const("q_")
LIMIT = const(64)
_ENOSPC = const(28)


class FlashQueue:
    def __init__(self, store, log, limit=LIMIT):
        self.s = store
        self.log = log
        self.limit = limit
        self.index = []
        self.dropped = 0  # messages given up because the queue was full
        for name in store.names(_PREFIX):  # one file parsed at a time, only its index kept
            k = int(name[len(_PREFIX) :])
            m = self.get(k)
            if m is None:
                self.remove(k)
            else:
                self.index.append((k, m.get("tx"), bool(m.get("u"))))
        self.index.sort()
        while len(self.index) > limit and self._drop():  # more than the bound (an older build)
            pass

    def __len__(self):
        return len(self.index)

    def last(self):
        """The highest order number stored (0 if none): new messages come after it."""
        return self.index[-1][0] if self.index else 0

    def first(self):
        return self.index[0][0] if self.index else None

    def head(self, lane):
        """The oldest order number of lane 0 (TransactionEvents) or 1 (the others), or None."""
        for x in self.index:
            if (x[1] is None) == (lane == 1):
                return x[0]
        return None

    def held(self):
        """Messages that are never dropped: Started and Ended TransactionEvents."""
        return sum(1 for x in self.index if x[1] is not None and not x[2])

    def full(self, evses):
        """Too little room left for the Started and Ended of a new transaction on every EVSE."""
        return self.held() > self.limit - 2 * evses

    def _drop(self):
        """Drop the oldest droppable message; False when there is none."""
        for updated in (True, False):  # the Updated TransactionEvents first, then the others
            for x in self.index:
                if x[2] if updated else x[1] is None:
                    self.remove(x[0])
                    self.dropped += 1
                    self.log("queue full: %s dropped" % ("a TransactionEvent Updated" if updated else
                                                         "a security event (kept in the security log)"))
                    return True
        return False

    def push(self, k, m):
        """Store message m with order k. Raises OSError when the flash fails, or when the queue
        is full and m may be dropped."""
        if len(self.index) >= self.limit and not self._drop():
            if m.get("tx") is None or m.get("u"):
                self.dropped += 1
                self.log("queue full: %s not queued" % m["a"])
            else:  # only if a transaction started against full() (cannot happen)
                self.log("queue full of Started/Ended: %s not queued" % m["a"])
            raise OSError(_ENOSPC)
        self.s.write("%s%08d" % (_PREFIX, k), json.dumps(m))  # a str is written as its UTF-8: no copy
        self.index.append((k, m.get("tx"), bool(m.get("u"))))

    def get(self, k):
        raw = self.s.read("%s%08d" % (_PREFIX, k))
        try:
            return json.loads(raw)
        except (TypeError, ValueError):
            self.log("queued message %d unreadable" % k)
            return None

    def remove(self, k):
        self.s.remove("%s%08d" % (_PREFIX, k))
        self.index = [x for x in self.index if x[0] != k]

    def of_tx(self):
        """(order, transaction id) of the messages of transactions."""
        return [(x[0], x[1]) for x in self.index if x[1] is not None]

    def count_tx(self, tx=None):
        """Messages of transaction tx (of any transaction if None)."""
        return sum(1 for x in self.index if x[1] is not None and (tx is None or x[1] == tx))
