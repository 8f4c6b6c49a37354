"""tools/csms.py - a small local CSMS (OCPP 2.0.1) on the `ocpp` package and `websockets`.

Used by `make sim` (python -m tools.demo) and by the tests. It accepts stations at
ws[s]://HOST:PORT/<any path>/<station id>, checks HTTP Basic auth when a password is set,
answers the station's requests, records every frame, and validates every frame the station
sends against the official OCPP 2.0.1 JSON schemas shipped with `ocpp` (violations are kept in
Csms.violations and logged).

Run alone:  .venv/bin/python -m tools.csms --port 9000 [--password P] [--cert C --key K]
"""

import argparse
import asyncio
import base64
import datetime
import json
import logging
import os
import pathlib
import time

import jsonschema
import ocpp.v201
from ocpp.routing import on
from ocpp.v201 import call_result
from websockets.asyncio.server import serve

SUBPROTOCOL = "ocpp2.0.1"
SCHEMAS = pathlib.Path(ocpp.v201.__file__).parent / "schemas"
ERROR_CODES = {
    "FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported",
    "NotImplemented", "NotSupported", "OccurrenceConstraintViolation",
    "PropertyConstraintViolation", "ProtocolError", "RpcFrameworkError", "SecurityError",
    "TypeConstraintViolation",
}
_validators = {}


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def schema_errors(name, payload):
    """Errors of payload against schema <name> (e.g. 'BootNotificationRequest')."""
    v = _validators.get(name)
    if v is None:
        path = SCHEMAS / (name + ".json")
        if not path.exists():
            return ["no schema " + name]
        v = _validators[name] = jsonschema.Draft6Validator(json.loads(path.read_text()))
    return [e.message for e in v.iter_errors(payload)]


def frame_errors(m, calls):
    """Errors of one decoded OCPP-J frame m (None if it was not JSON): the framing, then the
    payload against the official schema; calls maps the ids of the CALLs the other side sent
    to their actions (a CALLRESULT is checked against its CALL's Response schema)."""
    if not isinstance(m, list) or len(m) < 3 or m[0] not in (2, 3, 4):
        return ["not an OCPP-J frame"]
    if not isinstance(m[1], str) or not 0 < len(m[1]) <= 36:
        return ["bad message id"]
    if m[0] == 2:
        if len(m) != 4:
            return ["CALL needs 4 elements"]
        if not isinstance(m[2], str) or not m[2].isalnum():
            return ["bad action %r" % (m[2],)]
        return schema_errors(m[2] + "Request", m[3])
    if m[0] == 3:
        if len(m) != 3:
            return ["CALLRESULT needs 3 elements"]
        action = calls.get(m[1])
        return schema_errors(action + "Response", m[2]) if action else ["answer to no CALL"]
    if len(m) != 5 or m[2] not in ERROR_CODES or not isinstance(m[3], str) \
            or len(m[3]) > 255 or not isinstance(m[4], dict):
        return ["malformed CALLERROR"]
    return []


class Frame:
    """One WebSocket message: t (monotonic s), station id, 'in' (from the station) or 'out',
    conn (the number of the connection that carried it: index in Csms.connects)."""

    def __init__(self, station, direction, text):
        self.t = time.monotonic()
        self.conn = None
        self.station = station
        self.direction = direction
        self.text = text
        try:
            self.msg = json.loads(text)
        except ValueError:
            self.msg = None

    @property
    def kind(self):
        return self.msg[0] if isinstance(self.msg, list) and self.msg else None

    @property
    def id(self):
        return self.msg[1] if isinstance(self.msg, list) and len(self.msg) > 1 else None

    @property
    def action(self):
        return self.msg[2] if self.kind == 2 else None

    @property
    def payload(self):
        return self.msg[-1] if isinstance(self.msg, list) else None

    def __repr__(self):
        return "<%s %s %s>" % (self.direction, self.station, self.text[:200])


class _Tap:
    """Sits between `ocpp` and the WebSocket: records and validates frames, applies the
    Csms hooks (hold: actions not to answer; fail: CALLERROR; misbehave: per CALL; raw: ids
    of frames sent by send_raw)."""

    def __init__(self, csms, station, conn, n=0):
        self.csms = csms
        self.station = station
        self.conn = conn
        self.n = n  # the connection's number (index in Csms.connects)
        self.sent_calls = {}  # id of a CALL sent to the station -> action
        self.raw_ids = set()
        self.plan = {}  # id of a station CALL -> how its answer misbehaves

    async def recv(self):
        while True:
            text = await self.conn.recv()
            f = self.csms._record(self.station, "in", text, self)
            if f.kind in (3, 4) and f.id in self.raw_ids:
                continue  # answer to a raw frame: for the test, not for `ocpp`
            if f.kind == 2 and f.action in self.csms.hold:
                continue  # the CSMS "does not answer"
            if f.kind == 2 and f.action in self.csms.fail:
                await self.send(json.dumps([4, f.id, "InternalError", "refused by the test", {}]))
                continue
            how = self.csms.misbehave(self.station, f) if f.kind == 2 and self.csms.misbehave else None
            if how == "hold":
                continue
            if how:
                self.plan[f.id] = how
            return text

    async def send(self, text):
        how = None
        if self.plan and text.startswith(("[3", "[4")):
            how = self.plan.pop(json.loads(text)[1], None)
        if how == "wrong_id":  # the answer carries another message id
            m = json.loads(text)
            m[1] = ("W" + m[1])[:36]
            text = json.dumps(m)
        elif how == "twice":
            await self._send(text)
        elif how:  # seconds: answered that late, while the CSMS goes on
            asyncio.ensure_future(self._late(how, text))
            return
        await self._send(text)

    async def _late(self, seconds, text):
        await asyncio.sleep(seconds)
        await self._send(text, True)

    async def _send(self, text, quiet=False):
        f = self.csms._record(self.station, "out", text, self)
        if f.kind == 2:
            self.sent_calls[f.id] = f.action
        try:
            await self.conn.send(text)
        except Exception:
            if not quiet:
                raise


class StationHandler(ocpp.v201.ChargePoint):
    """The CSMS side of one connected station."""

    def __init__(self, csms, station_id, tap):
        super().__init__(station_id, tap, response_timeout=csms.response_timeout)
        self.csms = csms

    @on("BootNotification")
    def on_boot(self, charging_station, reason, **_):
        c = self.csms
        return call_result.BootNotification(
            current_time=now_iso(), interval=c.interval, status=c.boot_status
        )

    @on("Heartbeat")
    def on_heartbeat(self, **_):
        return call_result.Heartbeat(current_time=now_iso())

    @on("StatusNotification")
    def on_status(self, **_):
        return call_result.StatusNotification()

    @on("SecurityEventNotification")
    def on_security_event(self, **_):
        return call_result.SecurityEventNotification()

    @on("NotifyReport")
    def on_notify_report(self, request_id, seq_no, **_):
        return call_result.NotifyReport()

    @on("Authorize")
    def on_authorize(self, id_token, **_):
        return call_result.Authorize(id_token_info=self.csms.token_info(id_token["id_token"]))

    @on("TransactionEvent")
    def on_transaction_event(self, event_type, id_token=None, **_):
        tok = id_token["id_token"] if id_token else None
        info = self.csms.te_tokens.get(tok) or self.csms.token_info(tok) if tok else None
        return call_result.TransactionEvent(id_token_info=info)

    @on("MeterValues")
    def on_meter_values(self, **_):
        return call_result.MeterValues()

    @on("NotifyCustomerInformation")
    def on_notify_customer_information(self, **_):
        return call_result.NotifyCustomerInformation()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_):
        return call_result.FirmwareStatusNotification()

    @on("LogStatusNotification")
    def on_log_status(self, **_):
        return call_result.LogStatusNotification()

    @on("ReportChargingProfiles")
    def on_report_charging_profiles(self, **_):
        return call_result.ReportChargingProfiles()


class Csms:
    def __init__(self, host="127.0.0.1", port=0, password=None, ssl=None, log=None, compression="deflate"):
        self.host = host
        self.port = port
        self.password = password  # None: no Basic auth check
        self.ssl = ssl
        # websockets': "deflate" accepts permessage-deflate, None refuses it; a list of its
        # extension factories accepts as they say (e.g. ServerPerMessageDeflateFactory without
        # context takeover)
        self.compression = compression
        self.log = log or (lambda f: None)
        self.boot_status = "Accepted"
        self.interval = 300
        self.response_timeout = 30
        self.hold = set()  # actions the CSMS leaves unanswered
        self.fail = set()  # actions the CSMS answers with a CALLERROR
        self.tokens = {}  # idToken -> idTokenInfo (camelCase dict); any other token is Accepted
        self.te_tokens = {}  # idToken -> idTokenInfo in TransactionEvent answers (else tokens)
        # fn(station, CALL Frame) -> how the CSMS answers that CALL of the station: None
        # (normally), "hold" (not at all), "twice", "wrong_id" (another message id) or a
        # number (that many seconds late); for the network campaign
        self.misbehave = None
        self.frames = []
        self.violations = []
        self.connects = []  # (monotonic time, station id, accepted: bool)
        self.closes = []  # (monotonic time, station id, close code the station sent or None)
        self.handlers = {}  # station id -> connected StationHandler
        self._server = None
        self._taps = {}

    def token_info(self, token):
        return self.tokens.get(token, {"status": "Accepted"})

    @property
    def url(self):
        return "%s://%s:%d/ocpp" % ("wss" if self.ssl else "ws", self.host, self.port)

    async def start(self):
        self._server = await serve(
            self._handle, self.host, self.port, subprotocols=[SUBPROTOCOL],
            process_request=self._check_request, ssl=self.ssl, ping_interval=None,
            max_size=2**20, **({"compression": None, "extensions": self.compression}
                               if isinstance(self.compression, list) else {"compression": self.compression}),
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        if self._server:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _check_request(self, connection, request):
        sid = request.path.rstrip("/").rsplit("/", 1)[-1]
        if self.password is not None:
            ok = False
            auth = request.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                try:
                    user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                    ok = user == sid and pw == self.password
                except ValueError:
                    pass
            if not ok:
                self.connects.append((time.monotonic(), sid, False))
                return connection.respond(401, "Unauthorized\n")
        return None

    async def _handle(self, conn):
        sid = conn.request.path.rstrip("/").rsplit("/", 1)[-1]
        if conn.subprotocol != SUBPROTOCOL:
            await conn.close(1002, "ocpp2.0.1 required")
            return
        self.connects.append((time.monotonic(), sid, True))
        tap = _Tap(self, sid, conn, len(self.connects) - 1)
        self._taps[sid] = tap
        handler = StationHandler(self, sid, tap)
        self.handlers[sid] = handler
        try:
            await handler.start()
        except Exception:
            pass  # connection closed
        finally:
            if self.handlers.get(sid) is handler:
                del self.handlers[sid]
            rcvd = conn.protocol.close_rcvd
            self.closes.append((time.monotonic(), sid, rcvd.code if rcvd else None))

    def _record(self, station, direction, text, tap):
        f = Frame(station, direction, text)
        f.conn = tap.n  # which connection (index in connects) carried it
        self.frames.append(f)
        if direction == "in":
            for err in self._validate(f, tap):
                self.violations.append((f, err))
                logging.getLogger("csms").error("schema violation in %r: %s", f, err)
        self.log(f)
        return f

    def _validate(self, f, tap):
        return frame_errors(f.msg, tap.sent_calls)

    async def send_raw(self, station, text, track_id=None):
        """Send a raw text frame to a connected station (test hook); replies to track_id are
        kept from `ocpp`."""
        tap = self._taps[station]
        if track_id is not None:
            tap.raw_ids.add(track_id)
        f = self._record(station, "out", text, tap)
        if f.kind == 2 and isinstance(f.id, str) and isinstance(f.action, str):
            tap.sent_calls[f.id] = f.action  # so the station's answer is schema-checked too
        await tap.conn.send(text)

    async def call(self, station, payload):
        """Send an OCPP request (an ocpp.v201.call object); returns the response object."""
        return await self.handlers[station].call(payload)


def _tls_context(cert, key):
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def print_frame(f):
    path = "%s -> CSMS" % f.station if f.direction == "in" else "CSMS -> %s" % f.station
    print("%-16s %s" % (path, f.text), flush=True)


async def _main(args):
    ssl = _tls_context(args.cert, args.key) if args.cert else None
    csms = Csms(args.host, args.port, args.password, ssl, log=print_frame)
    csms.interval = args.interval
    await csms.start()
    print("CSMS listening on %s/<station id>" % csms.url, flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--password", default=os.environ.get("CSMS_PASSWORD"))
    p.add_argument("--interval", type=int, default=300, help="heartbeat interval given at boot")
    p.add_argument("--cert")
    p.add_argument("--key")
    try:
        asyncio.run(_main(p.parse_args()))
    except KeyboardInterrupt:
        pass
