"""tools/fleet_locust.py - the fleet (tools/fleet.py) as a Locust load profile (docs/fleet.md).

A Locust user is a simulated station: each worker (or a single local Locust) runs its users'
stations in its own MicroPython fleet processes (boards/unix/fleet.py --events calls), plays
charging sessions on them, and reports every station CALL (request type OCPP, named by its
action: the CSMS's response time as the station sees it, CALL written to answer taken) and
every CSMS request the stations answer (request type CSMS: the station's own handling time) as
Locust request events, so that `locust --master` / `--worker` spread the stations over
machines and Locust's UI and CSV give the CSMS's latency percentiles per action. The CSMS URL
is Locust's --host (ws:// or wss://, without the station id); the spawn rate is stations per
second.

  .venv/bin/locust -f tools/fleet_locust.py --host ws://csms:8180/ocpp --users 1000 --spawn-rate 50
  .venv/bin/locust -f tools/fleet_locust.py --master --expect-workers 2 --headless --host ws://... \\
      --users 1000 --spawn-rate 50 --run-time 10m --csv build/locust
  .venv/bin/locust -f tools/fleet_locust.py --worker --master-host MASTER      # on each machine

Worker w's stations are numbered from w * 100000 + 1 (its process p's from w * 100000 +
p * 10000 + 1), their ids from --station-ids; a user that stops leaves its station connected
and idle, for the next user of that worker to take on.
"""

import os
import pathlib
import random
import shutil
import sys

import gevent
from gevent.lock import Semaphore
from locust import User, events, task
from locust.runners import WorkerRunner

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `locust -f tools/fleet_locust.py`: the package tools/
    sys.path.insert(0, str(ROOT))

from tools import fleet as fleet_mod  # noqa: E402

WORKER_SPAN = 100000  # station numbers per worker
PROCESS_SPAN = 10000  # per fleet process of a worker


class CallFailed(Exception):
    """A CALL the CSMS answered with a CALLERROR, left unanswered within MessageTimeout, or
    whose connection closed before its answer; a CSMS request the station refused."""


@events.init_command_line_parser.add_listener
def _options(parser):
    g = parser.add_argument_group("OCPP2.Lite fleet (tools/fleet_locust.py)")
    g.add_argument("--station-ids", default="LC{:07d}", help="Python format of the station number (default LC{:07d})")
    g.add_argument("--fleet-processes", type=int, default=1, help="MicroPython processes per worker")
    g.add_argument("--fleet-per-process", type=int, default=fleet_mod.MAX_PER_PROCESS,
                   help="stations per MicroPython process at most (its heap is sized for them)")
    g.add_argument("--fleet-state", default=str(ROOT / "build" / "fleet-locust"),
                   help="the stations' flash directories go here (per worker: w<index>)")
    g.add_argument("--fleet-fresh", action="store_true", default=False, help="wipe the worker's --fleet-state first")
    g.add_argument("--sessions-per-hour", type=float, default=2.0, help="per station")
    g.add_argument("--session-minutes", type=float, default=20.0, help="mean session length")
    g.add_argument("--cards", default="", help="card mix: idToken[:weight],... (default 100 random cards)")
    g.add_argument("--ev-power", type=int, default=7400, help="W the EV draws")
    g.add_argument("--station-set", default="",
                   help="Component.Variable=VALUE,... provisioned into every station")
    g.add_argument("--station-password", default="", help="HTTP Basic auth password of every station")
    g.add_argument("--station-ca", default="", help="PEM of the CSMS root(s), for wss:// (a path on the workers)")


class Pool:
    """A worker's stations: its fleet processes, started at its first user, and the stations
    whose users have stopped."""

    def __init__(self, env):
        self.env = env
        self.lock = Semaphore()
        self.fleet = None
        self.idle = []

    def _start(self):
        env, o = self.env, self.env.parsed_options
        url = env.host or ""
        if not url.startswith(("ws://", "wss://")):
            raise ValueError("--host must be the CSMS's ws:// or wss:// URL, not %r" % url)
        w = max(0, getattr(env.runner, "worker_index", 0) or 0)
        state = pathlib.Path(o.fleet_state) / ("w%d" % w)
        if o.fleet_fresh:
            shutil.rmtree(state, ignore_errors=True)
        sets = {}
        for s in filter(None, (x.strip() for x in (o.station_set or "").split(","))):
            k, _, v = s.partition("=")
            sets[k] = v
        per = o.fleet_per_process
        self.fleet = fleet_mod.Fleet(
            url, 0, o.station_ids, w * WORKER_SPAN + 1, state, per, o.fleet_processes, o.station_password or None,
            o.station_ca or None, sets, heap=fleet_mod.HEAP_BASE + fleet_mod.HEAP_PER_STATION * per,
            on_call=self._fire, span=PROCESS_SPAN)

    def _fire(self, ev):
        ok = ev.get("ok")
        if "call" in ev:
            kind, name = "OCPP", ev["call"]
        else:
            kind, name = "CSMS", ev["req"]
        self.env.events.request.fire(request_type=kind, name=name, response_time=ev.get("ms", 0),
                                     response_length=ev.get("len", 0),
                                     exception=None if ok else CallFailed(ev.get("err", "refused")),
                                     context={"station": ev.get("s")})

    def take(self):
        """A station for a new user: an idle one, else one more."""
        with self.lock:
            if self.fleet is None:
                self._start()
            if self.idle:
                return self.idle.pop()
            return self.fleet.add(1)[0]

    def give_back(self, ident):
        self.idle.append(ident)

    def close(self):
        with self.lock:
            f, self.fleet = self.fleet, None
            self.idle = []
        if f:
            f.close()  # each process ends its stations and has written its last lines
            bad = [line for p in f.procs for line in p.log if "Traceback" in line or "failed" in line]
            for line in bad[-10:]:
                print("station log: " + line, file=sys.stderr)


_pools = {}


def _pool(env):
    p = _pools.get(id(env))
    if p is None:
        p = _pools[id(env)] = Pool(env)
    return p


@events.test_stop.add_listener
def _stop(environment, **kw):
    """The test stopped (on a worker: before it tells the master): the stations end, their last
    CALLs are reported, and a worker sends its statistics at once (the master may quit before
    the next periodic report)."""
    p = _pools.pop(id(environment), None)
    if p:
        p.close()
        if isinstance(environment.runner, WorkerRunner):
            environment.runner._send_stats()


@events.quitting.add_listener
def _quit(environment, **kw):
    p = _pools.pop(id(environment), None)
    if p:
        p.close()


class Station(User):
    """One simulated station: boots, then plays charging sessions as a Poisson process of
    --sessions-per-hour (plug in, tap a card of the mix, the EV draws --ev-power, after a
    session of --session-minutes on average the same card again, unplug)."""

    def wait_time(self):
        return 0  # the task's own pauses are the load

    def on_start(self):
        o = self.environment.parsed_options
        self.pool = _pool(self.environment)
        self.ident = self.pool.take()
        self.f = self.pool.fleet
        self.rate = o.sessions_per_hour / 3600.0
        self.minutes = o.session_minutes
        self.power = o.ev_power
        self.cards = fleet_mod.card_mix(o.cards)
        self.rnd = random.Random()
        self.f.send(self.ident, op="unplug", evse=1)  # a station taken on: whatever its last user left
        while not self.f.find(self.ident, ev="boot", status="Accepted"):
            gevent.sleep(0.5)

    def on_stop(self):
        pool = getattr(self, "pool", None)
        if pool is not None and getattr(self, "ident", None) and pool.fleet is self.f:
            pool.give_back(self.ident)  # its session, if one is open, is ended by the next user

    @task
    def session(self):
        if self.rate <= 0:
            gevent.sleep(60)
            return
        gevent.sleep(self.rnd.expovariate(self.rate))
        card = fleet_mod.pick(self.rnd, self.cards)
        send = self.f.send
        send(self.ident, op="plug", evse=1)
        gevent.sleep(2.0)
        send(self.ident, op="tap", idToken=card)
        gevent.sleep(1.0)
        send(self.ident, op="ev_power", evse=1, w=self.power)
        gevent.sleep(max(1.0, self.rnd.expovariate(1.0 / (self.minutes * 60))))
        send(self.ident, op="tap", idToken=card)
        gevent.sleep(2.0)
        send(self.ident, op="unplug", evse=1)


if __name__ == "__main__":
    sys.exit("run it with Locust: .venv/bin/locust -f %s --host ws://HOST:PORT/PATH (docs/fleet.md)"
             % os.path.relpath(__file__))
