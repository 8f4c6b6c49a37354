# runtime/queue.py - the must-deliver message queue in flash (TransactionEvents, critical
# security events; E11/E12, A04.FR.02): one file per message ("q_<order>"), written before
# the message is sent and removed when the CSMS has answered, so a power cut loses none and a
# message sent again after a reboot carries the same message id. Bounded: when full, the
# oldest droppable message (a TransactionEvent Updated) goes first; Started, Ended and
# security events are never dropped. In RAM only an index: (order, transaction id, droppable).
import json
from micropython import const

_PREFIX = "q_"
LIMIT = const(64)


class FlashQueue:
    def __init__(self, store, log, limit=LIMIT):
        self.s = store
        self.log = log
        self.limit = limit
        self.index = []
        self.dropped = 0  # droppable messages given up because the queue was full
        for name in store.names(_PREFIX):
            k = int(name[len(_PREFIX) :])
            m = self.get(k)
            if m is None:
                self.remove(k)
            else:
                self.index.append((k, m.get("tx"), m.get("u")))
        self.index.sort()

    def __len__(self):
        return len(self.index)

    def last(self):
        """The highest order number stored (0 if none): new messages come after it."""
        return self.index[-1][0] if self.index else 0

    def first(self):
        return self.index[0][0] if self.index else None

    def push(self, k, m):
        """Store message m with order k. Raises OSError when the flash fails."""
        if len(self.index) >= self.limit:
            for i in range(len(self.index)):
                if self.index[i][2]:
                    self.remove(self.index[i][0])
                    self.dropped += 1
                    self.log("queue full: an Updated TransactionEvent dropped")
                    break
        self.s.write("%s%08d" % (_PREFIX, k), json.dumps(m).encode())
        self.index.append((k, m.get("tx"), m.get("u")))

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
