"""The simulator's page (tools/simweb.py: `make sim WEB=1`, python -m tools.demo --web) in a real
headless Chromium, driven by Playwright: the page's buttons and fields drive a charging session,
and what the page shows must be what the CSMS received (statuses, transaction id, seqNo, every
frame both ways and its schema check: the station's own frames, over ws:// and wss://). Skipped, saying why, where Playwright or a Chromium is
missing (`apt-get install chromium`, or CHROMIUM=<binary>).

SIM_WEB_SHOT=<file.png> also writes the page's screenshot during the charging session there
(docs/img/sim-web.png in the README is made so)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from helpers import ROOT, MICROPYTHON, CsmsThread, server_ssl, wait_until

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - make setup installs it
    sync_playwright = None

CHROMIUM = next((p for p in map(shutil.which, [os.environ.get("CHROMIUM") or "chromium", "chromium-browser",
                                                "google-chrome"]) if p), None)
PASSWORD = "a-sixteen-char-secret"

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="the page's browser test needs Playwright "
                       "(requirements.txt: make setup installs it)"),
    pytest.mark.skipif(CHROMIUM is None, reason="the page's browser test needs a Chromium: %s "
                       "(make browser or apt-get install chromium, or CHROMIUM=<binary>)"
                       % ("CHROMIUM=%s is not a program" % os.environ["CHROMIUM"] if os.environ.get("CHROMIUM")
                          else "none found")),
]


class Demo:
    """python -m tools.demo --web ... as a subprocess in its own process group: its stdout
    lines kept, the page's URL read from them."""

    def __init__(self, args):
        self.lines = []
        self.p = subprocess.Popen(
            [sys.executable, "-m", "tools.demo", "--web", "--web-port", "0"] + args, cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True, env=dict(os.environ, MICROPYTHON=MICROPYTHON))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = wait_until(self._url, 20, lambda: "the page's URL; output: %s" % self.lines[-10:])

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def _url(self):
        for line in list(self.lines):
            m = re.search(r"in a browser: (http://127\.0\.0\.1:\d+/)", line)
            if m:
                return m.group(1)
        assert self.p.poll() is None, "the demo ended: %s" % self.lines[-10:]

    def printed(self, who):
        """The texts of the lines the demo printed for who (e.g. "CS001 -> CSMS")."""
        out = []
        for line in list(self.lines):
            m = re.match(r"\[ *[\d.]+\] (.{16}) (.*)$", line)
            if m and m.group(1).rstrip() == who:
                out.append(m.group(2))
        return out

    def close(self):
        """Ends it as a person would (Ctrl-C); the process group is killed if that fails."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.p.pid, signal.SIGKILL)  # (the station too, whatever happened)
        except ProcessLookupError:
            pass
        self.p.wait(5)
        self._reader.join(5)
        self.p.stdin.close()
        self.p.stdout.close()


@pytest.fixture
def demos():
    made = []

    def start(*args):
        made.append(Demo([str(a) for a in args]))
        return made[-1]

    yield start
    for d in made:
        d.close()
    for d in made:
        assert not [line for line in d.lines if "Traceback" in line], "\n".join(d.lines[-40:])


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1200, "height": 760})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: m.type == "error" and errors.append(m.text))
    yield pg
    ctx.close()
    assert not errors, "the page's console: %s" % errors


def evse(page, n):
    return page.locator('.evse[data-evse="%d"]' % n)


def field(page, n, name):
    return evse(page, n).locator('[data-f="%s"]' % name)



def frames_as_at_csms(page, csms):
    """Wait until the page's frame log holds every frame the CSMS received and sent, in order
    both ways, and check that none broke the schemas (the CSMS's check and the page's)."""
    def same():
        return (frames_on_page(page, "up") == [f.text for f in csms.frames if f.direction == "in"]
                and frames_on_page(page, "down") == [f.text for f in csms.frames if f.direction == "out"])
    wait_until(same, 10, lambda: "the same frames on the page (%d) as at the CSMS (%d)"
               % (page.locator("#frames tr[data-dir]").count(), len(csms.frames)))
    expect(page.locator("#nframes")).to_have_text(str(len(csms.frames)))
    assert not csms.violations
    expect(page.locator("#nbad")).to_have_text("0")

def frames_on_page(page, d):
    """The full text of every frame the page lists in direction d, in order."""
    return page.locator('#frames tr[data-dir="%s"] td.json' % d).all_text_contents()


def screenshot(page, path):
    """The page's top as a PNG of 48 colours (Pillow): a few tens of kB for the README."""
    import io

    from PIL import Image

    page.locator("header").scroll_into_view_if_needed()
    page.mouse.move(0, 0)  # no hover
    im = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    im.quantize(colors=48, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE).save(path, optimize=True)


def te(csms, tx=None):
    return [f.payload for f in csms.inbound("TransactionEvent")
            if tx is None or f.payload["transactionInfo"]["transactionId"] == tx]


def test_the_page_drives_a_charging_session_and_shows_what_the_csms_received(demos, page, tmp_path):
    """Against a CSMS the demo did not start (any ws:// URL): every simulator input through the
    page's buttons and fields, and after each the page agrees with what the CSMS received."""
    csms = CsmsThread(password=PASSWORD)
    try:
        csms.tokens["BLOCKED1"] = {"status": "Blocked"}
        d = demos("--csms", csms.url, "--id", "CS-WEB", "--password", PASSWORD, "--evses", 2,
                  "--state", tmp_path / "state", "--set", "SampledDataCtrlr.TxUpdatedInterval=1",
                  "--set", "OCPPCommCtrlr.RetryBackOffWaitMinimum=1", "--set", "OCPPCommCtrlr.RetryBackOffRandomRange=0")
        page.goto(d.url)
        expect(page.locator("#live")).to_have_text("live")
        expect(page.locator("#boot")).to_have_text("Accepted", timeout=15000)
        expect(page.locator("#link")).to_have_text("connected")
        expect(page.locator("#profile")).to_have_text("1 (ws://, Basic auth)")
        expect(page.locator("#station")).to_have_text("CS-WEB")
        assert [c[1:] for c in csms.connects] == [("CS-WEB", True)]  # Basic auth, the station id
        for n in (1, 2):
            expect(field(page, n, "status")).to_have_text("Available")
            expect(field(page, n, "cable")).to_have_text("unplugged")

        # plug in EVSE 1: the status the CSMS got is the page's
        evse(page, 1).locator('[data-op="plug"]').click()
        expect(field(page, 1, "status")).to_have_text("Occupied")
        expect(field(page, 1, "cable")).to_have_text("plugged in")
        wait_until(lambda: [f for f in csms.inbound("StatusNotification")
                            if (f.payload["evseId"], f.payload["connectorStatus"]) == (1, "Occupied")], 10, "Occupied")
        expect(field(page, 2, "status")).to_have_text("Available")

        # a card the CSMS blocks, typed into the idToken field
        page.fill("#token", "BLOCKED1")
        page.click("#tap")
        expect(page.locator("#auths li").last).to_have_text(re.compile(r"BLOCKED1: Blocked$"))
        assert csms.inbound("Authorize")[-1].payload["idToken"]["idToken"] == "BLOCKED1"
        expect(field(page, 1, "tx")).to_have_text("none")

        # an accepted card: the transaction the CSMS saw start is the page's
        page.fill("#token", "AA11BB22")
        page.select_option("#tokentype", "ISO14443")
        page.click("#tap")
        expect(page.locator("#auths li").last).to_have_text(re.compile(r"AA11BB22 \(EVSE 1\): Accepted$"))
        started = wait_until(lambda: [p for p in te(csms) if p["eventType"] == "Started"], 10, "Started")[0]
        tx = started["transactionInfo"]["transactionId"]
        assert started["idToken"] == {"idToken": "AA11BB22", "type": "ISO14443"}
        expect(field(page, 1, "tx")).to_have_text(tx)
        expect(field(page, 1, "contactor")).to_have_text("closed")

        # the EV draws 7400 W: the CSMS's meter values and the page's agree
        evse(page, 1).locator('[data-f="w"]').fill("7400")
        evse(page, 1).locator('[data-op="ev_power"]').click()
        expect(field(page, 1, "charging")).to_have_text("Charging")
        expect(field(page, 1, "power")).to_have_text("7400 W", timeout=10000)
        wait_until(lambda: any(s.get("measurand") == "Power.Active.Import" and s["value"] == 7400
                               for p in te(csms, tx) for m in p.get("meterValue", []) for s in m["sampledValue"]),
                   10, "7400 W at the CSMS")

        # the control pilot: state B suspends the charging and opens the contactor, C again
        evse(page, 1).locator('[data-op="notready"]').click()
        expect(field(page, 1, "charging")).to_have_text("SuspendedEV")
        expect(field(page, 1, "contactor")).to_have_text("open")
        expect(field(page, 1, "power")).to_have_text("0 W")
        evse(page, 1).locator('[data-op="ready"]').click()
        expect(field(page, 1, "charging")).to_have_text("Charging")
        expect(field(page, 1, "contactor")).to_have_text("closed")
        assert [p["transactionInfo"].get("chargingState") for p in te(csms, tx)
                if p["triggerReason"] == "ChargingStateChanged"][-2:] == ["SuspendedEV", "Charging"]

        # unplugged: the transaction ends; the last seqNo the CSMS got is the page's
        evse(page, 1).locator('[data-op="unplug"]').click()
        expect(field(page, 1, "status")).to_have_text("Available")
        expect(field(page, 1, "contactor")).to_have_text("open")
        expect(field(page, 1, "tx")).to_have_text("none (last %s)" % tx)
        ended = wait_until(lambda: [p for p in te(csms, tx) if p["eventType"] == "Ended"], 10, "Ended")[0]
        seqs = [p["seqNo"] for p in te(csms, tx)]
        assert seqs == list(range(len(seqs))) and ended["seqNo"] == seqs[-1] >= 3, seqs
        expect(field(page, 1, "seq")).to_have_text(str(ended["seqNo"]))
        wh = max(s["value"] for p in te(csms, tx) for m in p.get("meterValue", []) for s in m["sampledValue"]
                 if s.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register")
        expect(field(page, 1, "wh")).to_have_text("%d Wh" % wh)
        assert wh > 0

        # the network cut and restored: a new connection after the back-off
        page.click("#net-down")
        expect(page.locator("#net")).to_have_text("down (simulated)")
        expect(page.locator("#link")).to_have_text(re.compile(r"^closed since [\d.]+ s \(1006 dropped by the station\)$"))
        expect(page.locator("#backoff")).to_have_text(re.compile(r"^1 s before the next attempt \(from [\d.]+ s\)$"))
        page.click("#net-up")
        expect(page.locator("#connects")).to_have_text("2", timeout=15000)
        expect(page.locator("#reconnects")).to_have_text("1")
        expect(page.locator("#gap")).to_have_text(re.compile(r"^[\d.]+ s after the link closed$"))
        expect(page.locator("#link")).to_have_text("connected")
        csms.wait_connected("CS-WEB", n=2)

        # reboot (LocalReset), then a power cut: the process killed and started on its state
        page.click("#reboot")
        csms.wait_call("BootNotification", n=2, timeout=15)
        expect(page.locator("#connects")).to_have_text("3", timeout=15000)
        expect(page.locator("#boot")).to_have_text("Accepted", timeout=15000)
        page.click("#powercut")
        boot = csms.wait_call("BootNotification", n=3, timeout=20)
        assert [f.payload["reason"] for f in csms.inbound("BootNotification")] == ["PowerUp", "LocalReset", "PowerUp"]
        expect(page.locator("#connects")).to_have_text("4", timeout=15000)
        expect(page.locator("#proc")).to_have_text(re.compile(r"^running \(pid \d+\)$"))
        expect(page.locator("#frames tr.other", has_text="station process ended: killed by signal 9")).to_have_count(1)
        expect(page.locator("#boot")).to_have_text("Accepted", timeout=15000)
        assert boot.conn == len(csms.connects) - 1

        # any input line: the busy loop, seen as the station's events
        page.fill("#raw", '{"op":"busy","ms":200}')
        page.click("#send")
        expect(page.locator("#events li").last).to_have_text(re.compile(r'"busy".*"done": ?true'))

        # every frame, both ways, in order, and its schema check: the page's are the CSMS's
        frames_as_at_csms(page, csms)
        assert page.locator('#frames tr[data-ok="1"]').count() == len(csms.frames)
        assert page.locator("#frames .chk.good").first.text_content() == "\u2713"
    finally:
        csms.close()


def test_make_sim_web_with_the_bundled_csms(demos, page, tmp_path):
    """`make sim WEB=1`: the bundled CSMS; the frames the page lists are the ones the demo
    printed as the CSMS's, and a frame breaking the schema would be counted (the check is the
    CSMS's: tools/csms.py frame_errors)."""
    d = demos("--port", 0, "--state", tmp_path / "state", "--fresh")
    page.goto(d.url)
    expect(page.locator("#boot")).to_have_text("Accepted", timeout=15000)
    expect(page.locator("#csms")).to_have_text(re.compile(r"^ws://127\.0\.0\.1:\d+/ocpp \(bundled\)$"))
    expect(page.locator("#profile")).to_have_text("none (ws://, no password)")
    evse(page, 1).locator('[data-op="plug"]').click()
    page.click("#tap")
    expect(field(page, 1, "contactor")).to_have_text("closed")
    tx = field(page, 1, "tx").text_content()

    def printed(who):
        return [json.loads(t) for t in d.printed(who)]
    started = wait_until(lambda: [m for m in printed("CS001 -> CSMS") if m[0] == 2 and m[2] == "TransactionEvent"],
                         10, "TransactionEvent printed")[0]
    assert started[3]["transactionInfo"]["transactionId"] == tx
    expect(field(page, 1, "seq")).to_have_text("0")
    if os.environ.get("SIM_WEB_SHOT"):  # the README's picture: charging, a periodic meter value in
        evse(page, 1).locator('[data-op="ev_power"]').click()
        expect(field(page, 1, "power")).to_have_text("7400 W", timeout=15000)
        expect(field(page, 1, "seq")).to_have_text("2")
        screenshot(page, os.environ["SIM_WEB_SHOT"])
    wait_until(lambda: frames_on_page(page, "up") == d.printed("CS001 -> CSMS")
               and frames_on_page(page, "down") == d.printed("CSMS -> CS001"), 10, "the printed frames on the page")
    expect(page.locator("#nbad")).to_have_text("0")
    # the inputs were the page's: the same lines the demo passes from stdin
    assert [json.loads(t[len("input "):]) for t in d.printed("web") if t.startswith("input ")][:2] == [
        {"op": "plug", "evse": 1}, {"op": "tap", "idToken": "AA11BB22", "type": "ISO14443"}]
    # the stream drives the station: only for this server's own pages
    req = urllib.request.Request(d.url + "live", headers={"Origin": "http://evil.example", "Connection": "Upgrade",
                                                          "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                                          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    for r in (req, urllib.request.Request(d.url, headers={"Host": "rebound.example"})):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(r, timeout=5)
        e.value.close()
        assert e.value.code == 403


def test_wss_the_page_shows_the_stations_own_frames_and_its_end(demos, page, pki, tmp_path):
    """Over wss:// (security profile 2: TLS, which no relay could read) to tools/csms.py with its
    certificate from a test root the station is given (--ca): a charging session clicked through,
    the page's frame log is the station's own (tools/sim --frames 1) and is what the CSMS
    received and sent, both ways, in order, each frame with its schema check; the page shows the
    cable, power, energy and seqNo from the station's events, the CSMS's close code and the
    back-off; the station process killed from outside is shown ended with its exit status, and
    the power button starts it again."""
    cert, key = pki["server"]
    csms = CsmsThread(password=PASSWORD, ssl=server_ssl(cert, key, tmp_path / "tls"))
    try:
        d = demos("--csms", "wss://localhost:%d/ocpp" % csms.csms.port, "--id", "CS-TLS", "--password", PASSWORD,
                  "--ca", pki["ca_pem"], "--state", tmp_path / "state",
                  "--set", "SampledDataCtrlr.TxUpdatedInterval=1",
                  "--set", "OCPPCommCtrlr.RetryBackOffWaitMinimum=1", "--set", "OCPPCommCtrlr.RetryBackOffRandomRange=0")
        page.goto(d.url)
        expect(page.locator("#boot")).to_have_text("Accepted", timeout=20000)
        expect(page.locator("#profile")).to_have_text(re.compile(r"^2 \(wss://"))
        expect(page.locator("#proc")).to_have_text(re.compile(r"^running \(pid \d+\)$"))

        evse(page, 1).locator('[data-op="plug"]').click()
        expect(field(page, 1, "cable")).to_have_text("plugged in")
        expect(field(page, 1, "status")).to_have_text("Occupied")
        page.click("#tap")
        started = wait_until(lambda: [p for p in te(csms) if p["eventType"] == "Started"], 10, "Started")[0]
        tx = started["transactionInfo"]["transactionId"]
        expect(field(page, 1, "tx")).to_have_text(tx)
        expect(field(page, 1, "contactor")).to_have_text("closed")
        evse(page, 1).locator('[data-op="ev_power"]').click()
        expect(field(page, 1, "power")).to_have_text("7400 W", timeout=10000)
        expect(field(page, 1, "charging")).to_have_text("Charging")
        wait_until(lambda: [p for p in te(csms, tx) if p["triggerReason"] == "MeterValuePeriodic"], 10, "a periodic meter value")
        evse(page, 1).locator('[data-op="unplug"]').click()
        expect(field(page, 1, "cable")).to_have_text("unplugged")
        expect(field(page, 1, "tx")).to_have_text("none (last %s)" % tx)
        ended = wait_until(lambda: [p for p in te(csms, tx) if p["eventType"] == "Ended"], 10, "Ended")[0]
        expect(field(page, 1, "seq")).to_have_text(str(ended["seqNo"]))
        wh = [s["value"] for s in ended["meterValue"][-1]["sampledValue"]
              if s.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"]
        expect(field(page, 1, "wh")).to_have_text("%d Wh" % wh[0])
        expect(field(page, 1, "power")).to_have_text("0 W")
        assert wh[0] > 0

        # the CSMS closes the connection: its code, the back-off, the next connection
        tap = csms.csms._taps["CS-TLS"]
        csms.run(tap.conn.close(4001, "go away"))
        expect(page.locator("#frames tr.other", has_text="closed, 4001 closed by the server")).to_have_count(1)
        expect(page.locator("#frames tr.other", has_text="next connection attempt in 1 s (back-off)")).to_have_count(1)
        expect(page.locator("#connects")).to_have_text("2", timeout=15000)
        csms.wait_connected("CS-TLS", n=2)

        # every frame both ways, in order, and its check: the page's are the CSMS's
        frames_as_at_csms(page, csms)
        assert page.locator("#frames td.chk.good").all_text_contents() == ["\u2713"] * len(csms.frames)
        acts = page.locator("#frames tr[data-dir] td.act").all_text_contents()
        assert "CALL TransactionEvent" in acts and "RESULT TransactionEvent" in acts  # (the CALL a result answers)

        # the station process killed from outside: the page says it ended, and how; started again
        pid = int(page.locator("#proc").get_attribute("data-pid"))
        os.kill(pid, signal.SIGKILL)
        expect(page.locator("#proc")).to_have_text("ended: killed by signal 9", timeout=10000)
        expect(page.locator("#link")).to_have_text(re.compile(r"\(the station process ended\)$"))
        page.click("#powercut")
        csms.wait_call("BootNotification", n=2, timeout=20)
        expect(page.locator("#proc")).to_have_text(re.compile(r"^running \(pid \d+\)$"), timeout=15000)
        assert int(page.locator("#proc").get_attribute("data-pid")) != pid
        expect(page.locator("#connects")).to_have_text("3", timeout=15000)
    finally:
        csms.close()
