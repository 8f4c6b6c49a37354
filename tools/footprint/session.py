"""tools/footprint/session.py - the reference session of the footprint report: the simulated
station (boards/unix/main.py, code from a ROMFS image) against the bundled CSMS through a
counting relay, driven through STEPS.

STEPS is the one list of what the session does. A step runs only when the build supports it:
a CSMS request answered with CALLERROR NotSupported/NotImplemented, or a simulator op the station
logs as "not acted on by this build", makes the step "not in this build" (it cleans up and the
session goes on). As features land, their steps start to run by themselves. Add a step: write
`async def step(s)` returning OK or SKIP (raise Failed when the station misbehaves), and put it
in STEPS. After every step the station is idle (cable out and no transaction, except between
remote_start and remote_stop) and measured with the simulator's {"op":"mem"} probe.
"""

import asyncio
import json
import os
import pathlib
import shutil
import tempfile
import time
import websockets
from ocpp.v201 import call_result

from tools import csms as csms_mod, largest
from tools.footprint.wire import Relay

ROOT = pathlib.Path(__file__).resolve().parents[2]

MICROPYTHON = os.environ.get("MICROPYTHON") or str(ROOT / ".venv" / "bin" / "micropython")
STATION = "FP001"
OK = "ok"
SKIP = "not in this build"
UNSUPPORTED = ("NotSupported", "NotImplemented")


class Failed(Exception):
    """The session could not complete (a step's expected outcome did not happen)."""


# --- the steps ---------------------------------------------------------------------------
async def boot(s):
    await s.wait_event(ev="boot", status="Accepted")
    return OK


async def get_base_report(s):
    r = await s.call("GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"})
    if r is None:
        return SKIP
    s.expect(r, "status", "Accepted")
    await s.wait(lambda: any(not f.payload.get("tbc") for f in s.calls("NotifyReport")
                             if f.payload.get("requestId") == 1), "last NotifyReport")
    return OK


async def get_variables(s):
    r = await s.call("GetVariables", {"getVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
    return SKIP if r is None else OK


async def set_variables(s, value="1"):
    """TxUpdatedInterval: meter values every second in the charging step (reset to 0 after it,
    so that later steps do not depend on how long they take)."""
    r = await s.call("SetVariables", {"setVariableData": [
        {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"},
         "attributeValue": value}]})
    return SKIP if r is None else OK


async def trigger_heartbeat(s):
    n = len(s.calls("Heartbeat"))
    r = await s.call("TriggerMessage", {"requestedMessage": "Heartbeat"})
    if r is None:
        return SKIP
    s.expect(r, "status", "Accepted")
    await s.wait(lambda: len(s.calls("Heartbeat")) > n, "Heartbeat")
    return OK


async def status(s):
    await s.plug()
    await s.unplug()
    return OK


async def _charging(s):
    """Cable in, a local start (RFID), the EV drawing power until meter values come; False
    (cable out again) when the build does not act on the tap."""
    await s.plug()
    if not await s.op_acted(lambda: s.tx_event("Started"), op="tap", idToken="AA11BB22"):
        await s.unplug()
        return False
    s.station.send(op="ev_power", evse=1, w=7400)
    await s.wait(lambda: s.tx_event("Updated", meter=True), "TransactionEvent with meter values", 15)
    return True


# The costliest message the station parses (tools/footprint/parsecost.py measures every
# candidate; host_tests/test_footprint.py checks this choice): the largest request of this
# action, padded with customData to MaxMessageBytes.
COSTLIEST = "RequestStartTransaction"


def largest_text(mid):
    """The JSON text of the costliest legal CALL the station parses: the largest request of
    COSTLIEST (tools/largest.py: every optional field, strings at their schema maxLength, arrays
    at what the station advertises), padded with a legal customData to MaxMessageBytes (blanked
    unbuilt by the station, but its text is held while the rest is parsed). DataTransfer's data
    and customData are not built, so no message is costlier for its free-form values."""
    return largest.padded(largest.largest_request(COSTLIEST, mid))


async def largest_message(s):
    """The costliest message the station parses (largest_text), while a transaction sends meter
    values every second: parsed, checked and answered (no EVSE 2147483647: Rejected, or a
    CALLERROR about its content), not InternalError or the parse bound's FormatViolation. Its
    heap is in the least heap: every legal message fits in what the report states. Right after
    boot, as the heap is then laid out (measured: the same message later in the session needs
    less)."""
    await set_variables(s)
    if not await _charging(s):
        return SKIP
    s._n += 1
    mid = "fp-%d" % s._n
    await s.csms.send_raw(STATION, largest_text(mid), mid)
    f = await s.wait(lambda: next((f for f in list(s.csms.frames) if f.direction == "in"
                                   and f.kind in (3, 4) and f.id == mid), None), "the largest message's reply")
    if f.kind == 4 and (f.msg[2] in ("RpcFrameworkError", "InternalError") or "bound" in f.msg[3]) \
            or f.kind == 3 and f.msg[2].get("status") != "Rejected":
        raise Failed("the largest message was answered %s" % f.text[:200])
    await s.unplug(tx_ends=True)
    return OK


async def charging(s):
    """Local start (cable, then RFID), meter values while the EV draws power (every second once
    set_variables has run), EV unplugged."""
    if not await _charging(s):
        return SKIP
    await set_variables(s, "0")
    await s.unplug(tx_ends=True)
    return OK


async def remote_start(s):
    await s.plug()
    r = await s.call("RequestStartTransaction", {
        "idToken": {"idToken": "REMOTE01", "type": "Central"}, "remoteStartId": 7, "evseId": 1})
    if r is None:
        await s.unplug()
        return SKIP
    s.expect(r, "status", "Accepted")
    f = await s.wait(lambda: s.tx_event("Started"), "TransactionEvent Started")
    s.ctx["tx"] = f.payload["transactionInfo"]["transactionId"]
    return OK


async def remote_stop(s):
    if "tx" not in s.ctx:
        return SKIP
    r = await s.call("RequestStopTransaction", {"transactionId": s.ctx.pop("tx")})
    s.expect(r, "status", "Accepted")
    await s.wait(lambda: s.tx_event("Ended"), "TransactionEvent Ended")
    await s.unplug()
    return OK


async def smart_charging(s):
    """A TxDefaultProfile of 16 A on the station, its composite schedule, cleared again."""
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    r = await s.call("SetChargingProfile", {"evseId": 0, "chargingProfile": {
        "id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
        "chargingSchedule": [{"id": 1, "chargingRateUnit": "A", "startSchedule": start,
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}]}})
    if r is None:
        return SKIP
    s.expect(r, "status", "Accepted")
    await s.call("GetCompositeSchedule", {"duration": 3600, "evseId": 1})
    await s.call("ClearChargingProfile", {"chargingProfileId": 1})
    return OK


async def reset(s):
    n = len(s.station.find(ev="boot", status="Accepted"))
    r = await s.call("Reset", {"type": "Immediate"})
    if r is None:
        return SKIP
    s.expect(r, "status", "Accepted")
    await s.wait_event(n=n + 1, ev="boot", status="Accepted")
    return OK


STEPS = (
    ("boot", boot),
    ("largest_message", largest_message),
    ("get_base_report", get_base_report),
    ("get_variables", get_variables),
    ("set_variables", set_variables),
    ("trigger_heartbeat", trigger_heartbeat),
    ("status", status),
    ("charging", charging),
    ("remote_start", remote_start),
    ("remote_stop", remote_stop),
    ("smart_charging", smart_charging),
    ("reset", reset),
)


# --- what the CSMS answers to station requests csms.py has no handler for -----------------
def _accept_token(**kw):
    return {"id_token_info": {"status": "Accepted"}} if kw.get("id_token") else {}


_FALLBACK = {
    "Authorize": lambda **kw: call_result.Authorize(id_token_info={"status": "Accepted"}),
    "TransactionEvent": lambda **kw: call_result.TransactionEvent(**_accept_token(**kw)),
    "NotifyReport": lambda **kw: call_result.NotifyReport(),
    "MeterValues": lambda **kw: call_result.MeterValues(),
    "NotifyEvent": lambda **kw: call_result.NotifyEvent(),
    "NotifyCustomerInformation": lambda **kw: call_result.NotifyCustomerInformation(),
    "FirmwareStatusNotification": lambda **kw: call_result.FirmwareStatusNotification(),
    "LogStatusNotification": lambda **kw: call_result.LogStatusNotification(),
    "ReportChargingProfiles": lambda **kw: call_result.ReportChargingProfiles(),
}


# --- the station process -----------------------------------------------------------------
_TROUBLE = ("MemoryError", "Traceback", "out of memory", "OSError(12,")  # OSError(12): ENOMEM


class Station:
    """boards/unix/main.py on the unix port as a subprocess (optionally under a wrapper such
    as valgrind); stdout events and stderr log lines collected with arrival times."""

    def __init__(self):
        self.events = []  # (monotonic time, dict)
        self.log = []
        self.p = None
        self.t_spawn = None

    async def start(self, args, heap=None, wrap=(), exe=None, cwd=None):
        """exe: a port with the code frozen in (tools/mp32.py), which runs its frozen main."""
        cmd = list(wrap) + [exe or MICROPYTHON] + (["-X", "heapsize=%d" % heap] if heap else [])
        cmd += ["-m", "main"] if exe else [str(ROOT / "boards" / "unix" / "main.py")]
        self.t_spawn = time.monotonic()
        self.p = await asyncio.create_subprocess_exec(
            *cmd, *args, stdin=asyncio.subprocess.PIPE, cwd=cwd,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self._tasks = [asyncio.create_task(self._read(self.p.stdout, True)),
                       asyncio.create_task(self._read(self.p.stderr, False))]

    async def _read(self, stream, events):
        while True:
            line = await stream.readline()
            if not line:
                return
            text = line.decode(errors="replace").rstrip("\n")
            if events:
                try:
                    self.events.append((time.monotonic(), json.loads(text)))
                except ValueError:
                    self.log.append("stdout: " + text)
            else:
                self.log.append(text)

    def send(self, **op):
        self.p.stdin.write((json.dumps(op) + "\n").encode())

    def find(self, **match):
        return [e for t, e in list(self.events) if all(e.get(k) == v for k, v in match.items())]

    def trouble(self):
        """Why the station cannot go on, or None: a traceback, or the station saying it ran out
        of memory (a message dropped or answered InternalError, a connection that failed with
        ENOMEM): at this heap the session loses something, and waiting for its step to time out
        would only make a bisection slower."""
        for line in self.log:
            if any(m in line for m in _TROUBLE):
                return "station: " + line
        if self.p.returncode is not None:
            return "station exited with %s" % self.p.returncode
        return None

    async def stop(self, timeout):
        if self.p.returncode is None:
            try:
                self.send(op="quit")
                await asyncio.wait_for(self.p.wait(), timeout)
            except (asyncio.TimeoutError, ConnectionError):
                self.p.kill()
                await self.p.wait()
        for t in self._tasks:
            await t
        return self.p.returncode


# --- the session -------------------------------------------------------------------------
class Session:
    """One run of STEPS with the code of ROMFS image (None: the source tree, or the code frozen
    into exe). slow multiplies every timeout (a station under valgrind is slow)."""

    def __init__(self, image, tls=None, heap=None, wrap=(), slow=1, exe=None, extra=()):
        self.image, self.tls, self.heap, self.wrap, self.slow = image, tls, heap, wrap, slow
        self.exe = exe
        self.extra = list(extra)  # more station options (tools.footprint stalls: --stalls 1)
        self.csms = None
        self.relay = None
        self.station = Station()
        self.ctx = {}  # what steps pass on to later steps
        self.done = 0  # steps completed and measured
        self.res = {"steps": {}, "mem": {}}  # filled in as the steps complete
        self._n = 0

    # --- CSMS side -----------------------------------------------------------------------
    def _frame(self, f):
        h = self.csms.handlers.get(f.station)
        if h is not None and not getattr(h, "_fp", False):
            h._fp = True
            for action, fn in _FALLBACK.items():
                h.route_map.setdefault(action, {"_on_action": fn, "_skip_schema_validation": False})

    def calls(self, action):
        return [f for f in list(self.csms.frames) if f.direction == "in" and f.action == action]

    def tx_event(self, event_type, meter=False):
        for f in self.calls("TransactionEvent")[self.ctx.get("te0", 0):]:
            if f.payload.get("eventType") == event_type and (not meter or f.payload.get("meterValue")):
                return f
        return None

    async def call(self, action, payload):
        """Send a CALL; the reply frame, or None when the build does not support the action."""
        self._n += 1
        mid = "fp-%d" % self._n
        await self.csms.send_raw(STATION, json.dumps([2, mid, action, payload]), mid)
        f = await self.wait(lambda: next((f for f in list(self.csms.frames) if f.direction == "in"
                                          and f.kind in (3, 4) and f.id == mid), None), action + " reply")
        if f.kind == 4:
            if f.msg[2] in UNSUPPORTED:
                return None
            raise Failed("%s answered with CALLERROR %s %s" % (action, f.msg[2], f.msg[3]))
        return f

    @staticmethod
    def expect(f, key, value):
        if f.payload.get(key) != value:
            raise Failed("%s: %s is %r, not %r" % (f.text[:120], key, f.payload.get(key), value))

    # --- station side --------------------------------------------------------------------
    async def wait(self, pred, what, timeout=10):
        end = time.monotonic() + timeout * self.slow
        while True:
            r = pred()
            if r:
                return r
            why = self.station.trouble()
            if why:
                raise Failed("%s (waiting for %s)" % (why, what))
            if time.monotonic() > end:
                raise Failed("no %s within %d s" % (what, timeout * self.slow))
            await asyncio.sleep(0.01)

    async def wait_event(self, n=1, **match):
        return await self.wait(lambda: len(self.station.find(**match)) >= n and self.station.find(**match)[n - 1],
                               "station event %r" % match)

    async def op_acted(self, pred, **op):
        """Send a simulator op; True once pred() holds, False when the build does not act on it."""
        marker = "op %s is not acted on" % op["op"]
        n = sum(marker in line for line in self.station.log)
        self.station.send(**op)
        r = await self.wait(lambda: (pred() and "acted") or
                            (sum(marker in line for line in self.station.log) > n and "ignored"),
                            "effect of %r" % op)
        return r == "acted"

    async def plug(self):
        n = len(self.station.find(ev="status", evse=1, status="Occupied"))
        self.station.send(op="plug", evse=1)
        await self.wait_event(n=n + 1, ev="status", evse=1, status="Occupied")

    async def unplug(self, tx_ends=False):
        n = len(self.station.find(ev="status", evse=1, status="Available"))
        self.station.send(op="unplug", evse=1)
        await self.wait_event(n=n + 1, ev="status", evse=1, status="Available")
        if tx_ends:
            await self.wait(lambda: self.tx_event("Ended"), "TransactionEvent Ended")

    async def settle(self, quiet=0.1):
        """Wait until no frame has passed for quiet seconds (longer for a slow station)."""
        q = quiet * min(self.slow, 10)
        await asyncio.sleep(q)
        await self.wait(lambda: not self.csms.frames or time.monotonic() - self.csms.frames[-1].t > q,
                        "a quiet link")

    async def mem(self):
        n = len(self.station.find(ev="mem"))
        self.station.send(op="mem")
        return await self.wait_event(n=n + 1, ev="mem")

    # --- the run -------------------------------------------------------------------------
    async def run(self, steps=STEPS):
        """Run the session; returns the raw results (see footprint.py for the figures)."""
        tls = self.tls
        self.csms = csms_mod.Csms(ssl=tls["server_ssl"] if tls else None, log=self._frame)
        await self.csms.start()
        self.relay = await Relay(self.csms.port, bool(tls)).start()
        state = pathlib.Path(tempfile.mkdtemp(prefix="footprint-"))
        url = "%s://%s:%d/ocpp" % ("wss", "localhost", self.relay.port) if tls else \
            "ws://127.0.0.1:%d/ocpp" % self.relay.port
        args = (["--romfs", str(self.image)] if self.image else []) + [
            "--state", str(state), "--csms", url, "--id", STATION]
        if tls:
            args += ["--ca", str(tls["ca_pem"])]
        args += self.extra
        res = self.res
        try:
            # The state directory is the working directory too: a frozen main finds nothing there.
            await self.station.start(args, self.heap, self.wrap, self.exe, str(state))
            for name, step in steps:
                self.ctx["te0"] = len(self.calls("TransactionEvent"))
                try:
                    res["steps"][name] = await step(self)
                except Failed as e:
                    raise Failed("step %s: %s" % (name, e)) from None
                except (ConnectionError, websockets.exceptions.ConnectionClosed) as e:
                    log = [line for line in self.station.log if "stdout: 0000" not in line][-12:]
                    raise Failed("step %s: connection lost (%r); station log:\n  %s" % (name, e, "\n  ".join(log))) from None
                await self.settle()
                res["mem"][name] = await self.mem()
                self.done += 1
            rc = await self.station.stop(10 * self.slow)
            if rc != 0:
                raise Failed("station exit status %s after quit" % rc)
            res["flash"] = {"bytes": sum(p.stat().st_size for p in state.rglob("*") if p.is_file()),
                            "files": sum(1 for p in state.rglob("*") if p.is_file())}
            boots = self.calls("BootNotification")
            res["boot_s"] = boots[0].t - self.station.t_spawn if boots else None
            ready = [t for t, e in self.station.events if e.get("ev") == "ready"]
            res["ready_s"] = ready[0] - self.station.t_spawn if ready else None
            res["violations"] = ["%s: %s" % (f.text[:100], e) for f, e in self.csms.violations]
            return res
        finally:
            if self.station.p and self.station.p.returncode is None:
                self.station.p.kill()
                await self.station.p.wait()
            await self.relay.stop()
            await self.csms.stop()
            shutil.rmtree(state, ignore_errors=True)


def run(image, **kw):
    """Run one session in a fresh event loop; returns (results, session)."""
    s = Session(image, **kw)
    return asyncio.run(s.run()), s
