# Issue 12 finding 7, "Tick overflow from CSMS values": time.ticks_add(t, delta) raises
# OverflowError when |delta| >= 2^29 ms (TICKS_PERIOD / 2) on 32-bit boards, and
# asyncio.sleep / sleep_ms / wait_for_ms go through it; the 64-bit unix port never raises.
# Each test drives the real handler with a huge CSMS value (a 32-bit int, 2^31 - 1) and then
# lets time pass. The runtime tasks run on a virtual clock: asyncio.sleep and sleep_ms are
# replaced by fakes that first do what the real ones do with the value (ticks_add(now, ms):
# OverflowError on a 32-bit port) and then move the clock without waiting. Besides not
# raising, each test checks what holds on any port: no single wait over a day, and the waits
# the CSMS asked for still add up to what it asked for (waited in steps) or, for a timeout, end
# after at most a day. host_tests/test_tick_overflow32.py runs this module on the 32-bit port.
import asyncio
import binascii
import json
from time import ticks_add
from fakes import NET, T0, answer, sent, station
from ocpp_lite.certificates import MANUFACTURER
from ocpp_lite.engine import clock
from ocpp_lite import crypto
from test_x509 import ROOT, SIGNER

HUGE = 2**31 - 1  # s: what a CSMS can put in an OCPP integer (68 years)
DAY_MS = 86400000  # the longest single wait the station may ask of ticks_add
MINUTE_MS = 60000


class VirtualTime:
    """asyncio.sleep / sleep_ms on a virtual tick counter while installed (with: ...)."""

    def __init__(self, st=None):
        self.now = 0
        self.st = st
        self.reset()

    def reset(self):
        self.frames = []  # the CALLs the station sent but Heartbeats
        self.waits = []  # ms of the first sleeps
        self.total = 0  # ms of all sleeps
        self.longest = 0

    async def sleep_ms(self, ms):
        ms = max(0, ms)
        ticks_add(self.now, ms)  # what asyncio.sleep_ms does with it (OverflowError on 32-bit)
        if len(self.waits) < 32:
            self.waits.append(ms)
        self.total += ms
        self.longest = max(self.longest, ms)
        self.now = ticks_add(self.now, ms)
        st = self.st
        if st:  # the runtime's timer ticks the station at least once a minute, applies effects
            st.tick(self.now)
            self.frames += csms(st, self.now)
            while st.effects:
                st.effects.popleft()

    async def sleep(self, s):
        await self.sleep_ms(int(s * 1000))  # asyncio.sleep(s) is sleep_ms(int(s * 1000))

    def __enter__(self):
        self._old = asyncio.sleep, asyncio.sleep_ms
        asyncio.sleep, asyncio.sleep_ms = self.sleep, self.sleep_ms
        return self

    def __exit__(self, *exc):
        asyncio.sleep, asyncio.sleep_ms = self._old


def run(coro):
    try:
        return asyncio.run(coro)
    finally:
        asyncio.new_event_loop()


def csms(st, now):
    """A CSMS that answers every CALL the station sends now; the CALL frames but Heartbeats."""
    out = []
    while True:
        f = [x for x in sent(st) if x[0] == 2]
        if not f:
            return out
        for x in f:
            if x[2] == "Heartbeat":
                answer(st, x, {"currentTime": st.stamp(now)}, now)
            else:
                out.append(x)
                answer(st, x, {}, now)


def register(st, wall):
    """Connected and Accepted, the CSMS's time being wall; the CALLs after the boot answered."""
    st.connected("1", 0)
    f = sent(st)[0]
    answer(st, f, {"currentTime": clock.iso(wall), "interval": 60, "status": "Accepted"}, 0)
    return csms(st, 0)


def settle(st, now):
    """The CALLs the station sends once the task ended."""
    st.tick(now)
    return csms(st, now)


def calls(frames, action):
    return [f for f in frames if f[0] == 2 and f[2] == action]


class App:
    """What runtime tasks use of runtime/app.py's App, on the virtual clock."""

    def __init__(self, st, vt):
        self.st = st
        self.vt = vt
        self.lines = []
        self.settings = {"MaxMessageBytes": 8192, "DeflateWindowBits": 0}
        self.board = Board()
        self.store = Store()

    def hw(self, fn, *args):
        return fn(*(args + (self.vt.now,)))

    def log(self, text):
        self.lines.append(text)

    def security_event(self, kind, info):
        self.st.security.record(kind, info, self.vt.now)

    def on_link(self, slot, why=None):
        pass

    def stop(self, why, reason=None):
        self.stopped = (why, reason)


class Board:
    def __init__(self):
        self.installer = Installer()
        self.shown = []  # the events shown

    def show(self, ev):
        self.shown.append(ev)

    async def net_wait(self):
        pass


class Installer:
    def outcome(self):
        return None


class Store:
    """Files of the log upload in /tmp."""

    def path(self, name):
        return "/tmp/ocpp2lite-tick-overflow-" + name

    def remove(self, name):
        import os

        try:
            os.remove(self.path(name))
        except OSError:
            pass


def _profile(timeout):
    prof = json.loads(json.dumps(NET["profiles"]["1"]))
    prof["messageTimeout"] = timeout
    return prof


def test_finding7_message_timeout_huge():
    st = station()
    r = st.network.SetNetworkProfile({"configurationSlot": 1, "connectionData": _profile(HUGE)}, 0)
    assert r["status"] == "Accepted"
    assert st.flash.docs["net"]["profiles"]["1"]["messageTimeout"] == HUGE  # stored as given
    st.connected("1", 0)  # the BootNotification goes out with this profile's MessageTimeout
    assert [f[2] for f in sent(st)] == ["BootNotification"]
    assert st.rpc.timeout_ms <= DAY_MS
    # never answered: it times out after at most a day (+ the 30 s retry pause of B02)
    now, frames = 0, []
    for _ in range(24 * 60 + 2):
        now = ticks_add(now, MINUTE_MS)
        st.tick(now)
        assert 0 <= st.next_deadline(now) <= DAY_MS
        frames += sent(st)
    assert len(calls(frames, "BootNotification")) == 1, frames
    assert st.devmodel.live("@message_timeout", None, now) == DAY_MS // 1000  # what it uses


def test_finding7_message_timeout_huge_link():
    """runtime/link.py: the connection attempt's timeout (and the WebSocket's) comes from the
    profile's messageTimeout; a failed attempt waits the back-off, which the device model can
    make 3600 s << 10 (42 days); both wait in pieces of at most a day, the back-off in full."""
    from runtime import link, wsopen

    st = station(net={"sp": 1, "profiles": {"1": _profile(HUGE)}})
    st.rpc.receive(json.dumps([2, "sv", "SetVariables", {"setVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": n}, "attributeValue": v}
        for n, v in (("RetryBackOffWaitMinimum", "3600"), ("RetryBackOffRepeatTimes", "10"),
                     ("RetryBackOffRandomRange", "0"))]}]).encode(), 0)
    reply = [f for f in sent(st) if f[0] == 3][0][2]
    assert [x["attributeStatus"] for x in reply["setVariableResult"]] == ["Accepted"] * 3
    vt = VirtualTime(st)
    app = App(st, vt)
    timeouts = []
    attempts = 13

    async def connect(url, ident, password, ctx, timeout_ms, max_msg, deflate_bits):
        timeouts.append(timeout_ms)
        if len(timeouts) == attempts:
            lk._stopping = True
        ticks_add(vt.now, timeout_ms)  # what asyncio.wait_for_ms does with it
        raise OSError(111)  # ECONNREFUSED

    from ocpp_lite import station as station_mod

    old = wsopen.connect, station_mod.forget
    wsopen.connect = connect
    station_mod.forget = lambda m: None  # the link lets the module go after each attempt: keep this one
    try:
        with vt:
            lk = link.Link(app)
            run(lk.run())
    finally:
        wsopen.connect, station_mod.forget = old
    assert len(timeouts) == attempts and max(timeouts) <= DAY_MS
    waits = [3600 << min(f, 10) for f in range(attempts - 1)]  # no wait after the last
    assert [e["s"] for e in app.board.shown if e["ev"] == "backoff"] == waits  # each told before it
    expected = sum(waits)
    assert vt.longest <= DAY_MS
    assert vt.total == expected * 1000


def _signed_update(retries, interval, get, put):
    pem = "-----BEGIN CERTIFICATE-----\n%s-----END CERTIFICATE-----\n" % binascii.b2a_base64(SIGNER).decode()
    return {"requestId": 7, "retries": retries, "retryInterval": interval,
            "firmware": {"location": "http://files.invalid/fw.bin", "retrieveDateTime": clock.iso(get),
                         "installDateTime": clock.iso(put), "signingCertificate": pem,
                         "signature": binascii.b2a_base64(bytes(256)).decode().strip()}}


class Certs:
    """runtime/certstore.py with one ManufacturerRootCertificate (test_x509's ROOT)."""

    def names(self, kind=None):
        return ["mf"] if kind in (None, MANUFACTURER) else []

    def kind(self, name):
        return MANUFACTURER

    def read(self, name):
        return ROOT


def test_finding7_firmware_retry_interval_huge():
    from runtime import fwupdate

    wall = clock.parse("2030-01-01T00:00:00Z")  # test_x509's certificates are valid from 2026-11-23
    certs = Certs()
    st = station(wall=wall, certs=lambda st: certs)
    register(st, wall)
    r = crypto.run(st.firmware.UpdateFirmware(_signed_update(HUGE, HUGE, wall + 2 * 86400, wall + 3 * 86400), 0))
    assert r["status"] == "Accepted", r
    vt = VirtualTime(st)
    app = App(st, vt)
    tries = []

    async def download(app, url, inst):
        tries.append(st.time(vt.now))
        if len(tries) < 3:
            raise OSError(113)  # EHOSTUNREACH: try again after retryInterval
        return bytes(32)

    old = fwupdate._download
    fwupdate._download = download
    try:
        with vt:
            run(fwupdate.run(app))
    finally:
        fwupdate._download = old
    assert vt.longest <= DAY_MS
    assert len(tries) == 3 and wall + 2 * 86400 <= tries[0] <= wall + 2 * 86400 + 60  # retrieveDateTime
    assert tries[1] - tries[0] == HUGE and tries[2] - tries[1] == HUGE  # retryInterval in full
    waited = vt.total  # 2 days to retrieveDateTime (in steps of a minute), then twice retryInterval
    assert 2 * DAY_MS + 2 * HUGE * 1000 <= waited <= 2 * DAY_MS + 2 * HUGE * 1000 + MINUTE_MS, waited
    statuses = [f[3]["status"] for f in calls(vt.frames + settle(st, vt.now), "FirmwareStatusNotification")]
    assert statuses == ["DownloadScheduled", "Downloading", "Downloaded", "InvalidSignature"], statuses


def test_finding7_log_retry_interval_huge():
    from runtime import logupload

    st = station()
    register(st, T0)
    r = st.diagnostics.GetLog({"logType": "DiagnosticsLog", "requestId": 9, "retries": HUGE, "retryInterval": HUGE,
                              "log": {"remoteLocation": "http://files.invalid/logs/"}}, 0)
    assert r["status"] == "Accepted"
    vt = VirtualTime(st)
    app = App(st, vt)
    tries = []

    async def send(app, job, size):
        tries.append(st.time(vt.now))
        return "UploadFailure" if len(tries) < 3 else "Uploaded"

    old = logupload._send
    logupload._send = send
    try:
        with vt:
            run(logupload.run(app))
    finally:
        logupload._send = old
    assert len(tries) == 3 and tries[1] - tries[0] == HUGE and tries[2] - tries[1] == HUGE
    assert vt.longest <= DAY_MS
    assert vt.total == 2 * HUGE * 1000  # retryInterval in full, twice, and nothing else
    statuses = [f[3]["status"] for f in calls(vt.frames + settle(st, vt.now), "LogStatusNotification")]
    assert statuses == ["Uploading", "Uploaded"], statuses


def test_finding7_charging_profile_far_future():
    st = station()
    start = T0 + 30 * 86400  # a month ahead: the limit starts then, also with nothing else going on
    p = {"id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
         "validTo": "9999-12-31T23:59:59Z",
         "chargingSchedule": [{"id": 1, "chargingRateUnit": "A", "startSchedule": clock.iso(start), "duration": HUGE,
                               "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6},
                                                          {"startPeriod": HUGE, "limit": 10}]}]}
    assert st.smartcharging.SetChargingProfile({"evseId": 0, "chargingProfile": p}, 0)["status"] == "Accepted"
    assert st.smartcharging.limits == [None]
    now = 0
    for hour in range(31 * 24):
        now = ticks_add(now, 3600000)
        st.tick(now)
        d = st.smartcharging.deadline(now)
        assert d is None or d <= DAY_MS
        if hour < 30 * 24 - 24:  # far from the start: nothing limits yet
            assert st.smartcharging.limits == [None]
    assert st.smartcharging.limits == [6]
    assert [e for e in st.effects if e[0] == "limit"] == [("limit", 1, 6)]
    assert st.time(now) >= start


def test_finding7_later_clamps():
    assert clock.MAX_WAIT_S * 1000 == DAY_MS
    assert clock.later(5, HUGE * 1000) == ticks_add(5, DAY_MS)
    assert clock.later(5, 10**30) == ticks_add(5, DAY_MS)
    assert clock.later(5, -HUGE * 1000) == 5
    assert clock.later(5, 1234) == ticks_add(5, 1234)


def test_finding7_sleep_in_steps():
    from runtime.link import sleep_s

    with VirtualTime() as vt:
        run(sleep_s(7 * 86400 + 5))  # a week and 5 s: seven days, then 5 s
        assert vt.waits == [DAY_MS] * 7 + [5000]
        vt.reset()
        run(sleep_s(HUGE))
        assert vt.longest <= DAY_MS and vt.total == HUGE * 1000
        vt.reset()
        run(sleep_s(0))
        run(sleep_s(-3))
        assert vt.total == 0


# --- tick values kept across a long outage (ticks_diff wraps after 2^29 ms on 32-bit) --------
BOOT_OK = {"currentTime": "2025-05-05T10:00:00Z", "interval": 300, "status": "Accepted"}


def _week_offline(st, now, days=7):
    """The link is down for days; the runtime wakes the station at least once a minute."""
    st.disconnected(now)
    for _ in range(days * 1440):
        now = ticks_add(now, MINUTE_MS)
        st.tick(now)
    return now


def test_finding7_boot_after_a_week_offline_at_power_up():
    """The BootNotification due since power-up goes at the first connection, a week later."""
    st = station()
    now = _week_offline(st, 0)
    st.connected("1", now)
    f = [x for x in sent(st) if x[0] == 2]
    assert f and f[0][2] == "BootNotification", f


def test_finding7_a_week_offline_reports_every_connector_and_beats_on_time():
    """B04: an outage longer than OfflineThreshold reports every connector (measured on the
    wall clock, not in ticks), and the heartbeat comes an interval after the reconnection."""
    st = station(evses=2)
    st.connected("1", 0)
    answer(st, sent(st)[0], BOOT_OK, 0)
    settle(st, 0)
    now = _week_offline(st, 0)
    st.connected("1", now)
    f = [x for x in sent(st) if x[0] == 2]
    assert [x[2] for x in f] == ["StatusNotification"], f  # one outstanding at a time
    answer(st, f[0], {}, now)
    f = [x for x in sent(st) if x[0] == 2]
    assert [x[2] for x in f] == ["StatusNotification"], f  # the second connector too
    answer(st, f[0], {}, now)
    assert 0 < st.next_deadline(now) <= 300000
    now = ticks_add(now, 300000)
    st.tick(now)
    assert [x[2] for x in sent(st) if x[0] == 2] == ["Heartbeat"]
    assert st.stamp(now) == clock.iso(T0 + 7 * 86400 + 300)
