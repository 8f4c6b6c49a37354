# host_tests/mp/fakes.py - helpers for core unit tests: a Station with a scripted CSMS.
import json
from time import ticks_add
from ocpp_lite.station import Station
from ocpp_lite.engine.clock import parse

T0 = parse("2025-05-05T10:00:00Z")  # the time the fake CSMS answers with

INFO = {"model": "M", "vendorName": "V"}
HW = {"phases": 3, "power_max": 11000, "connector": "cType2"}
NET = {"sp": 1, "profiles": {"1": {"ocppVersion": "OCPP20", "ocppTransport": "JSON",
                                   "ocppCsmsUrl": "ws://csms/ocpp", "messageTimeout": 30,
                                   "securityProfile": 1, "ocppInterface": "Wired0"}}}


class Flash:
    """Documents the station saved, as a dict; fail=True makes the next save raise. load()
    gives the saved one, else the one the station started with (first, set by station())."""

    def __init__(self):
        self.docs = {}
        self.first = {}
        self.fail = False

    def load(self, name):
        d = self.docs.get(name, self.first.get(name))
        return None if d is None else json.loads(json.dumps(d))

    def save(self, name, doc):
        if self.fail:
            raise OSError(28)  # ENOSPC
        self.docs[name] = json.loads(json.dumps(doc))


class Queue:
    """The flash message queue (runtime/queue.py) in RAM: {order: message}; unbounded unless
    limit is given (then full() as the real one)."""

    def __init__(self, limit=1 << 20):
        self.m = {}
        self.limit = limit

    def __len__(self):
        return len(self.m)

    def last(self):
        return max(self.m) if self.m else 0

    def first(self):
        return min(self.m) if self.m else None

    def head(self, lane):
        ks = [k for k, m in self.m.items() if (m["tx"] is None) == (lane == 1)]
        return min(ks) if ks else None

    def held(self):
        return sum(1 for m in self.m.values() if m["tx"] is not None and not m["u"])

    def full(self, evses):
        return self.held() > self.limit - 2 * evses

    def push(self, k, m):
        self.m[k] = json.loads(json.dumps(m))

    def get(self, k):
        return self.m.get(k)

    def remove(self, k):
        self.m.pop(k, None)

    def of_tx(self):
        return [(k, m["tx"]) for k, m in sorted(self.m.items()) if m["tx"] is not None]

    def count_tx(self, tx=None):
        return sum(1 for m in self.m.values() if m["tx"] is not None and (tx is None or m["tx"] == tx))


def station(evses=1, reason="PowerUp", now=0, wall=T0, vars=None, net=NET, flash=None, tx=None, q=None, avail=None,
            certs=None):
    logs = []
    flash = flash or Flash()
    flash.first = {"vars": vars, "net": net, "tx": tx, "avail": avail}
    st = Station(INFO, HW, evses, flash.load, flash.save, Queue() if q is None else q, now, wall, b"\x0a\x0b\x0c\x0d\x01\x02\x03\x04",
                 reason, logs.append, certs=certs)
    st.logs = logs
    st.flash = flash
    return st


def text(f):
    """A frame of st.rpc.out as text: a str, or a list of parts, str or made as written
    (an iterator of str: a NotifyReport page)."""
    if type(f) is str:
        return f
    return "".join(p if type(p) is str else "".join(p) for p in f)


def sent(st):
    """Decoded frames the station wants to write, drained."""
    out = []
    while st.rpc.out:
        f = st.rpc.out.popleft()
        out.append(json.loads(text(f)))
    return out


def answer(st, frame, payload, now):
    st.rpc.receive(json.dumps([3, frame[1], payload]).encode(), now)


def boot_accepted(st, now=0, interval=60):
    st.connected("1", now)
    f = sent(st)[0]
    answer(st, f, {"currentTime": "2025-05-05T10:00:00Z", "interval": interval, "status": "Accepted"}, now)
    return f


def later(now, s):
    return ticks_add(now, int(s * 1000))


def drain(st, now=0):
    """Answer every CALL the station sends with {} until it is quiet; returns them."""
    seen = []
    while True:
        f = [x for x in sent(st) if x[0] == 2]
        if not f:
            return seen
        seen.append(f[0])
        answer(st, f[0], {}, now)


def calls(st, now=0):
    """Every CALL the station sends until it is idle, each answered with an empty payload."""
    out = []
    for _ in range(50):
        st.tick(now)  # writes the next queued CALL
        frames = [m for m in sent(st) if m[0] == 2]
        if not frames:
            return out
        for m in frames:
            out.append(m)
            answer(st, m, {}, now)
    raise AssertionError("the station never went quiet")


def accepted():
    """A station whose BootNotification was Accepted, with what followed it answered."""
    st = station()
    boot_accepted(st)
    calls(st)
    return st


async def serve(handler):
    """(server, port): an asyncio server on 127.0.0.1 at a free port, found by trying (the unix
    port's sockets have no getsockname)."""
    import asyncio
    import os

    while True:
        port = 20000 + int.from_bytes(os.urandom(2), "little") % 20000
        try:
            return await asyncio.start_server(handler, "127.0.0.1", port), port
        except OSError:
            pass
