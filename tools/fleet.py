"""tools/fleet.py - many simulated stations against one CSMS: a load test (docs/fleet.md).

Starts N stations (ids from a pattern, each with its own flash directory and connection) in as
few MicroPython processes as the machine needs (boards/unix/fleet.py: the stations of a process
share one event loop and the imported code), against any ws:// or wss:// CSMS, plays a scripted
load (charging sessions per hour per station with a card mix, network outages on a share of the
stations) and prints a live summary: stations connected and booted, transactions started and
ended, messages per second both ways, errors, the CSMS's response times as the stations see them
(CALL written to answer taken), the station processes' CPU and their event loops' lag.

  python -m tools.fleet --csms ws://host:port/path --stations 1000 --id-pattern CS{:04d}
  python -m tools.fleet --csms bundled --stations 20 --duration 60     # the bundled CSMS (tools/csms.py)

Fleet is also the API the tests use (host_tests/test_fleet.py).
"""

import argparse
import json
import math
import os
import pathlib
import random
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
MICROPYTHON = os.environ.get("MICROPYTHON") or str(ROOT / ".venv" / "bin" / "micropython")
EDGES = (2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)  # boards/unix/fleet.py _EDGES
MAX_PER_PROCESS = 600  # stations per MicroPython process at most by default (docs/fleet.md)
HEAP_BASE = 8 << 20  # -X heapsize: the code and the loop, then per station
HEAP_PER_STATION = 48 << 10
TICK = os.sysconf("SC_CLK_TCK")


def raise_fd_limit():
    """Every station is a socket: the soft limit of open files raised to the hard one (the
    station processes and a bundled CSMS started from here inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def percentile(hist, q):
    """The upper edge (ms) of the bucket holding quantile q of histogram hist (over EDGES; the
    last bucket is open: None)."""
    n = sum(hist)
    if not n:
        return None
    k = q * n
    run = 0
    for i, c in enumerate(hist):
        run += c
        if run >= k:
            return EDGES[i] if i < len(EDGES) else None
    return None


def _cpu(pid):
    """CPU seconds (user + system) of process pid so far, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


class Proc:
    """One MicroPython process of stations: its inputs, events, counters and log."""

    def __init__(self, fleet, index, first, count, heap):
        self.fleet = fleet
        self.index = index
        self.first = first
        self.ids = [fleet.pattern.format(i) for i in range(first, first + count)]
        args = [MICROPYTHON, "-X", "heapsize=%d" % heap, str(ROOT / "boards" / "unix" / "fleet.py"),
                "--dir", str(fleet.state), "--csms", fleet.csms, "--ids", fleet.pattern, "--first", str(first),
                "--count", str(count), "--evses", str(fleet.evses), "--ramp", str(fleet.ramp),
                "--stats", str(int(fleet.stats_s * 1000))]
        if fleet.password:
            args += ["--password", fleet.password]
        if fleet.ca:
            args += ["--ca", str(fleet.ca)]
        ev = (["all"] if fleet.all_events else []) + (["calls"] if fleet.on_call else [])
        if ev:
            args += ["--events", ",".join(ev)]
        for k, v in fleet.sets.items():
            args += ["--set", "%s=%s" % (k, v)]
        self.stats = None  # the last stats line
        self.mem = []  # mem lines
        self.log = []  # stderr, the last lines
        self.errors_logged = 0
        self._lock = threading.Lock()
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, bufsize=1)
        self._threads = [threading.Thread(target=self._out, daemon=True),
                         threading.Thread(target=self._err, daemon=True)]
        for t in self._threads:
            t.start()

    def _out(self):
        for line in self.p.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                self._note("STDOUT NOT JSON: " + line.rstrip())
                continue
            k = ev.get("ev")
            if k is None and ("call" in ev or "req" in ev):  # --events calls
                self.fleet.on_call(ev)
            elif k == "stats":
                self.stats = ev
            elif k == "mem":
                self.mem.append(ev)
            else:
                self.fleet._event(ev)

    def _err(self):
        for line in self.p.stderr:
            self.errors_logged += 1
            self._note(line.rstrip())

    def _note(self, line):
        self.log.append(line)
        if len(self.log) > 200:
            del self.log[:100]
        if self.fleet.echo_log:
            print("[proc %d] %s" % (self.index, line), file=sys.stderr, flush=True)

    def send(self, op):
        with self._lock:
            try:
                self.p.stdin.write(json.dumps(op) + "\n")
                self.p.stdin.flush()
            except (OSError, ValueError):  # the process has ended
                pass

    def cpu(self):
        return _cpu(self.p.pid)

    def close(self, timeout=15):
        if self.p.poll() is None:
            self.send({"op": "quit"})
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        for t in self._threads:
            t.join(2)
        for s in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                s.close()
            except Exception:
                pass


class Fleet:
    """N stations in processes of at most per_process stations each (default: as many
    processes as cores, at most MAX_PER_PROCESS stations each). Events of the stations are kept
    per station id (events[id]: list of (monotonic time, dict)); counters from the processes'
    stats lines (totals()). on_call: fn(line), called on a reader thread with every station
    CALL's and CSMS request's line (boards/unix/fleet.py --events calls), which are not kept.
    span: process i's stations are numbered from first + i * span (default: one after the
    other); stations may be 0, and add() starts more."""

    def __init__(self, csms, stations, pattern="CS{:04d}", first=1, state=None, per_process=None,
                 processes=None, password=None, ca=None, sets=None, evses=1, ramp=100, stats_s=1.0,
                 all_events=False, heap=None, echo_log=False, on_call=None, span=None):
        raise_fd_limit()
        self.csms = csms
        self.n = stations
        self.pattern = pattern
        self.first = first
        self.state = pathlib.Path(state or ROOT / "build" / "fleet")
        self.password = password
        self.ca = ca
        self.sets = dict(sets or {})
        self.evses = evses
        self.ramp = ramp
        self.stats_s = stats_s
        self.all_events = all_events
        self.echo_log = echo_log
        self.on_call = on_call
        if processes is None:
            per = per_process or MAX_PER_PROCESS
            processes = max(math.ceil(stations / per), min(os.cpu_count() or 1, stations))
        self.nproc = max(1, min(processes, stations) if stations else processes)
        self.events = {}
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.procs = []
        k = first
        for i in range(self.nproc):
            count = stations // self.nproc + (1 if i < stations % self.nproc else 0)
            h = heap or HEAP_BASE + HEAP_PER_STATION * count
            self.procs.append(Proc(self, i, first + i * span if span else k, count, h))
            k += count
        self.ids = [i for p in self.procs for i in p.ids]
        self._where = {i: p for p in self.procs for i in p.ids}

    def _event(self, ev):
        with self.lock:
            self.events.setdefault(ev.get("s"), []).append((time.monotonic(), ev))

    def add(self, n=1):
        """n more stations, in the process that has the fewest (numbered on from its last);
        returns their ids."""
        p = min(self.procs, key=lambda p: len(p.ids))
        new = [self.pattern.format(p.first + len(p.ids) + i) for i in range(n)]
        p.ids += new
        self.ids += new
        self.n += n
        for i in new:
            self._where[i] = p
        p.send({"op": "add", "n": n})
        return new

    def find(self, ident, **match):
        return [e for t, e in list(self.events.get(ident, ())) if all(e.get(k) == v for k, v in match.items())]

    def send(self, ident, **op):
        """A simulator input for station ident (docs/simulator.md)."""
        op["s"] = ident
        self._where[ident].send(op)

    def totals(self):
        """The processes' last counters summed (None until every process has reported)."""
        st = [p.stats for p in self.procs]
        if any(s is None for s in st):
            return None
        t = {"n": 0, "conn": 0, "boot": 0, "txs": 0, "txe": 0, "sent": 0, "recv": 0, "rtt_sum": 0, "rtt_max": 0,
             "lag": 0, "heap": 0, "err": {}, "rtt": [0] * (len(EDGES) + 1)}
        for s in st:
            for k in ("n", "conn", "boot", "txs", "txe", "sent", "recv", "rtt_sum", "heap"):
                t[k] += s[k]
            t["rtt_max"] = max(t["rtt_max"], s["rtt_max"])
            t["lag"] = max(t["lag"], s["lag"])
            for k, v in s["err"].items():
                t["err"][k] = t["err"].get(k, 0) + v
            t["rtt"] = [a + b for a, b in zip(t["rtt"], s["rtt"])]
        t["errors"] = sum(t["err"].values())
        return t

    def cpu(self):
        return sum(c for c in (p.cpu() for p in self.procs) if c is not None)

    def mem(self, timeout=30):
        """Each process's heap after a full collection: [{"n", "live", "used", "free", ...}]."""
        have = [len(p.mem) for p in self.procs]
        for p in self.procs:
            p.send({"op": "mem"})
        end = time.monotonic() + timeout
        while any(len(p.mem) <= h for p, h in zip(self.procs, have)):
            if time.monotonic() > end:
                raise TimeoutError("no mem answer")
            time.sleep(0.05)
        return [p.mem[h] for p, h in zip(self.procs, have)]

    def alive(self):
        return [p for p in self.procs if p.p.poll() is None]

    def close(self):
        for p in self.procs:
            p.send({"op": "quit"})
        for p in self.procs:
            p.close()


class Load:
    """The scripted load, played on a thread: per station, charging sessions as a Poisson
    process of rate per_hour (plug in, tap a card of the mix, the EV draws power, after the
    session's length the same card again, unplug), one at a time per EVSE, from the station's first
    accepted boot on; every outage_every s
    the network of a share of the stations goes down for outage_s."""

    def __init__(self, fleet, per_hour=2.0, minutes=20.0, cards=None, power=7400, outage_every=0,
                 outage_share=0.1, outage_s=30.0, seed=None):
        self.f = fleet
        self.rate = per_hour / 3600.0
        self.minutes = minutes
        self.cards = cards or card_mix(None)
        self.power = power
        self.outage_every = outage_every
        self.outage_share = outage_share
        self.outage_s = outage_s
        self.rnd = random.Random(seed)
        self.sessions = 0  # started, ended (scripted)
        self.finished = 0
        self.outages = 0  # stations taken down so far
        self.down = set()
        self._stop = threading.Event()
        self._t = None

    def start(self):
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def stop(self):
        self._stop.set()
        if self._t:
            self._t.join(10)

    def _run(self):
        import heapq

        f = self.f
        q = []  # (time, seq, station, evse, step, card)
        seq = 0
        now = time.monotonic()
        for ident in f.ids:
            for evse in range(1, f.evses + 1):
                if self.rate > 0:
                    heapq.heappush(q, (now + self.rnd.expovariate(self.rate), seq, ident, evse, "plug", None))
                    seq += 1
        if self.outage_every:
            heapq.heappush(q, (now + self.outage_every, seq, None, 0, "outage", None))
            seq += 1
        while not self._stop.is_set():
            if not q:
                self._stop.wait(0.5)
                continue
            t = q[0][0]
            wait = t - time.monotonic()
            if wait > 0:
                self._stop.wait(min(wait, 0.5))
                continue
            t, _, ident, evse, step, card = heapq.heappop(q)
            nxt = None
            if step == "plug" and not f.find(ident, ev="boot", status="Accepted"):
                nxt = (2.0, "plug", None)  # the station is still starting: its sessions wait
            elif step == "plug":
                self.sessions += 1
                f.send(ident, op="plug", evse=evse)
                nxt = (2.0, "tap", pick(self.rnd, self.cards))
            elif step == "tap":
                f.send(ident, op="tap", idToken=card)
                nxt = (1.0, "power", card)
            elif step == "power":
                f.send(ident, op="ev_power", evse=evse, w=self.power)
                nxt = (max(1.0, self.rnd.expovariate(1.0 / (self.minutes * 60))), "stop", card)
            elif step == "stop":
                f.send(ident, op="tap", idToken=card)
                nxt = (2.0, "unplug", card)
            elif step == "unplug":
                f.send(ident, op="unplug", evse=evse)
                self.finished += 1
                if self.rate > 0:
                    nxt = (self.rnd.expovariate(self.rate), "plug", None)
            elif step == "outage":
                k = max(1, round(len(f.ids) * self.outage_share))
                for s in self.rnd.sample(f.ids, k):
                    if s not in self.down:
                        self.down.add(s)
                        self.outages += 1
                        f.send(s, op="net", up=False)
                        heapq.heappush(q, (t + self.outage_s, seq, s, 0, "up", None))
                        seq += 1
                heapq.heappush(q, (t + self.outage_every, seq, None, 0, "outage", None))
            elif step == "up":
                self.down.discard(ident)
                f.send(ident, op="net", up=True)
            if nxt:
                heapq.heappush(q, (t + nxt[0], seq, ident, evse, nxt[1], nxt[2]))
            seq += 1


class Summary:
    """The live summary: one line per interval from the processes' counters."""

    def __init__(self, fleet, load=None, csms_pid=None):
        self.f = fleet
        self.load = load
        self.csms_pid = csms_pid  # a bundled CSMS's process: its CPU too
        self.last = (fleet.t0, 0, 0, 0.0, 0.0)  # (time, sent, recv, CPU s of the stations, of the CSMS)
        self.rows = []

    def line(self):
        f = self.f
        t = f.totals()
        now = time.monotonic()
        cpu = f.cpu()
        if t is None:
            return "[%7.1fs] waiting for the station processes" % (now - f.t0)
        ccpu = (_cpu(self.csms_pid) or 0.0) if self.csms_pid else 0.0
        dt = max(now - self.last[0], 1e-3)
        rate = (t["sent"] + t["recv"] - self.last[1] - self.last[2]) / dt
        cpu_share = (cpu - self.last[3]) / dt
        csms_share = (ccpu - self.last[4]) / dt
        self.last = (now, t["sent"], t["recv"], cpu, ccpu)
        n = sum(t["rtt"])
        row = {"t": round(now - f.t0, 1), "stations": t["n"], "connected": t["conn"], "booted": t["boot"],
               "tx_started": t["txs"], "tx_ended": t["txe"], "msgs_per_s": round(rate, 1), "sent": t["sent"],
               "received": t["recv"], "errors": t["errors"], "error_kinds": t["err"], "answers": n,
               "rtt_mean_ms": round(t["rtt_sum"] / n, 1) if n else None, "rtt_p50_ms": percentile(t["rtt"], 0.5),
               "rtt_p95_ms": percentile(t["rtt"], 0.95), "rtt_p99_ms": percentile(t["rtt"], 0.99),
               "rtt_max_ms": t["rtt_max"], "cpu": round(cpu_share, 2), "csms_cpu": round(csms_share, 2) if self.csms_pid else None,
               "lag_ms": t["lag"], "heap": t["heap"]}
        self.rows.append(row)

        def ms(v):
            return "-" if v is None else "<%d" % v

        text = ("[%7.1fs] stations %d connected %d booted %d | tx started %d ended %d | msgs/s %.1f | errors %d%s"
                " | rtt ms mean %s p50 %s p95 %s p99 %s max %d | cpu %.2f lag %d ms"
                % (row["t"], t["n"], t["conn"], t["boot"], t["txs"], t["txe"], rate, t["errors"],
                   (" " + json.dumps(t["err"], sort_keys=True)) if t["err"] else "",
                   "-" if row["rtt_mean_ms"] is None else row["rtt_mean_ms"], ms(row["rtt_p50_ms"]),
                   ms(row["rtt_p95_ms"]), ms(row["rtt_p99_ms"]), t["rtt_max"], cpu_share, t["lag"]))
        if self.csms_pid:
            text += " | CSMS cpu %.2f" % csms_share
        if self.load:
            text += " | sessions %d outages %d" % (self.load.sessions, self.load.outages)
        return text


def start_bundled(port=0, interval=300):
    """The bundled CSMS (tools/csms.py) in a process of its own, printing no frames; returns
    (process, URL)."""
    if not port:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    p = subprocess.Popen([sys.executable, "-m", "tools.fleet", "--serve-bundled", str(port), "--interval",
                          str(interval)], cwd=str(ROOT), stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("CSMS"):
        p.kill()
        raise RuntimeError("the bundled CSMS did not start")
    return p, "ws://127.0.0.1:%d/ocpp" % port


def _serve_bundled(port, interval):
    import asyncio

    from tools import csms as csms_mod

    async def run():
        c = csms_mod.Csms(port=port)
        c.interval = interval
        await c.start()
        print("CSMS listening on %s/<station id>" % c.url, flush=True)
        while True:  # its records would grow for ever: the counts kept, the frames let go
            await asyncio.sleep(10)
            del c.frames[:]

    raise_fd_limit()
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


def measure_heap(url, base, step, steps, state, pattern="CS{:04d}", sets=None, timeout=300):
    """Heap per added station: one process with base stations, then step more, steps times;
    after every station is booted and the loop idle, the heap after a full collection. Returns
    the mem lines ([{"n", "live", ...}])."""
    f = Fleet(url, base, pattern, 1, state, processes=1, sets=sets, heap=HEAP_BASE + HEAP_PER_STATION * (base + step * steps))
    out = []
    try:
        for k in range(steps + 1):
            n = base + k * step
            if k:
                f.procs[0].send({"op": "add", "n": step})
            end = time.monotonic() + timeout
            while not (f.totals() and f.totals()["boot"] == n and f.totals()["n"] == n):
                if time.monotonic() > end or not f.alive():
                    raise TimeoutError("%d stations not booted: %r" % (n, f.totals()))
                time.sleep(0.2)
            time.sleep(3)  # the boots' StatusNotification and SecurityEventNotification answered
            m = f.mem()[0]
            out.append(m)
            per = (m["live"] - out[-2]["live"]) / step if k else None
            print("%5d stations: heap %8d bytes live after a collection%s" % (m["n"], m["live"], "" if per is None else
                  ", %.0f bytes per added station" % per), flush=True)
    finally:
        f.close()
    return out


def card_mix(text):
    """The card mix "ID[:weight],..." as [(idToken, weight)]; without one, 100 cards alike."""
    out = []
    for part in filter(None, (x.strip() for x in (text or "").split(","))):
        card, _, w = part.partition(":")
        out.append((card, float(w) if w else 1.0))
    return out or [("%08X" % random.Random(i).getrandbits(32), 1.0) for i in range(100)]


def pick(rnd, mix):
    """A card of mix drawn by its weight."""
    return rnd.choices([c for c, _ in mix], [w for _, w in mix])[0]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tools.fleet", description=__doc__.split("\n")[0])
    p.add_argument("--csms", help="ws:// or wss:// URL of the CSMS (without the station id), or 'bundled'")
    p.add_argument("--stations", type=int, default=10)
    p.add_argument("--id-pattern", default="CS{:04d}", help="Python format of the station number (default CS{:04d})")
    p.add_argument("--first", type=int, default=1, help="number of the first station")
    p.add_argument("--state", default=str(ROOT / "build" / "fleet"), help="the stations' flash directories go here")
    p.add_argument("--fresh", action="store_true", help="wipe --state first")
    p.add_argument("--processes", type=int, help="MicroPython processes (default: the cores, more if needed)")
    p.add_argument("--per-process", type=int, default=MAX_PER_PROCESS, help="stations per process at most")
    p.add_argument("--heap", type=int, help="-X heapsize of each process (default 8 MB + 48 kB per station)")
    p.add_argument("--password", help="HTTP Basic auth password of every station")
    p.add_argument("--ca", help="PEM of the CSMS root(s), for wss://")
    p.add_argument("--set", action="append", default=[], metavar="Component.Variable=VALUE")
    p.add_argument("--evses", type=int, default=1)
    p.add_argument("--ramp", type=int, default=50, help="stations started per second per process")
    p.add_argument("--sessions-per-hour", type=float, default=2.0, help="per station (per EVSE)")
    p.add_argument("--session-minutes", type=float, default=20.0, help="mean session length")
    p.add_argument("--cards", help="card mix: idToken[:weight],... (default 100 random cards)")
    p.add_argument("--power", type=int, default=7400, help="W the EV draws")
    p.add_argument("--outage-every", type=float, default=0, help="s between network outages (0: none)")
    p.add_argument("--outage-share", type=float, default=0.1, help="share of the stations an outage takes down")
    p.add_argument("--outage-seconds", type=float, default=30)
    p.add_argument("--duration", type=float, default=0, help="s to run (0: until Ctrl-C)")
    p.add_argument("--summary", type=float, default=5, help="s between summary lines")
    p.add_argument("--interval", type=int, default=300, help="heartbeat interval the bundled CSMS gives")
    p.add_argument("--json", help="write the summary rows here at the end")
    p.add_argument("--log", action="store_true", help="echo the station processes' stderr")
    p.add_argument("--seed", type=int)
    p.add_argument("--measure-heap", type=int, metavar="STEP",
                   help="heap per added station: one process of --stations, then STEP more, --heap-steps times")
    p.add_argument("--heap-steps", type=int, default=2)
    p.add_argument("--serve-bundled", type=int, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.serve_bundled is not None:
        return _serve_bundled(a.serve_bundled, a.interval)
    if not a.csms:
        p.error("--csms URL (or --csms bundled)")
    sets = {}
    for s in a.set:
        k, eq, v = s.partition("=")
        if not eq:
            p.error("--set Component.Variable=VALUE")
        sets[k] = v
    if a.fresh:
        shutil.rmtree(a.state, ignore_errors=True)
    csms_p = None
    url = a.csms
    if url == "bundled" or url.startswith("bundled:"):
        csms_p, url = start_bundled(int(url.partition(":")[2] or 0), a.interval)
        print("bundled CSMS at %s" % url, flush=True)
    f = load = s = None
    try:
        if a.measure_heap:
            measure_heap(url, a.stations, a.measure_heap, a.heap_steps, a.state, a.id_pattern, sets)
            return
        f = Fleet(url, a.stations, a.id_pattern, a.first, a.state, a.per_process, a.processes, a.password, a.ca,
                  sets, a.evses, a.ramp, heap=a.heap, echo_log=a.log)
        print("%d stations in %d processes against %s" % (f.n, f.nproc, url), flush=True)
        load = Load(f, a.sessions_per_hour, a.session_minutes, card_mix(a.cards), a.power, a.outage_every,
                    a.outage_share, a.outage_seconds, a.seed).start()
        s = Summary(f, load, csms_p.pid if csms_p else None)
        end = time.monotonic() + a.duration if a.duration else None
        while end is None or time.monotonic() < end:
            time.sleep(a.summary if end is None else max(0.0, min(a.summary, end - time.monotonic())))
            print(s.line(), flush=True)
            if not f.alive():
                print("the station processes have ended", flush=True)
                break
    except KeyboardInterrupt:
        pass
    finally:
        if load:
            load.stop()
        if f:
            f.close()
            bad = [line for pr in f.procs for line in pr.log if "Traceback" in line or "failed" in line]
            if bad:
                print("station log (the last lines that say something failed):", *bad[-10:], sep="\n  ")
            if a.json and s:
                pathlib.Path(a.json).write_text(json.dumps(s.rows, indent=1))
        if csms_p:
            csms_p.terminate()
            csms_p.wait(10)


if __name__ == "__main__":
    main()
