"""Log retrieval (N01) and the security log (A04) against the `ocpp` CSMS and a local HTTP(S)
server (tools/fileserver.py): what arrives on the server is checked line by line; uploads
that fail, are refused or are canceled; and critical security events that happen while the
station is offline reach the CSMS afterwards. The OCTT Core cases TC_N_25/26/35 are played as
Part 6 describes them."""

import datetime
import socket
import time

import pytest
from ocpp.v201 import call

from helpers import CsmsThread, server_ssl, wait_until
from tools.fileserver import FileServer

FAST = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
        "OCPPCommCtrlr.RetryBackOffRepeatTimes": 0}


@pytest.fixture
def files(closing):
    return closing(FileServer())


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def get_log(csms, url, kind="DiagnosticsLog", rid=1, **kw):
    log = {"remote_location": url}
    for k in ("oldest_timestamp", "latest_timestamp"):
        if k in kw:
            log[k] = kw.pop(k)
    r = csms.call("CS001", call.GetLog(log=log, log_type=kind, request_id=rid, **kw))
    return r.status, r.filename, (r.status_info or {}).get("reason_code")


def statuses(csms, rid=None):
    return [(f.payload["status"], f.payload.get("requestId")) for f in csms.inbound("LogStatusNotification")
            if rid is None or f.payload.get("requestId") == rid]


def wait_status(csms, status, rid, timeout=15):
    return wait_until(lambda: (status, rid) in statuses(csms), timeout,
                      lambda: "LogStatusNotification %s for %s; got %r" % (status, rid, statuses(csms)))


def lines(body):
    out = body.decode().splitlines()
    for line in out:  # every line starts with its time
        datetime.datetime.strptime(line[:20], "%Y-%m-%dT%H:%M:%SZ")
    return out


@pytest.mark.octt("TC_N_25_CS")
def test_TC_N_25_CS_diagnostics_log(csms, sim, files):
    """GetLog DiagnosticsLog: Accepted, LogStatusNotification Uploading, the file arrives,
    LogStatusNotification Uploaded (both with the requestId)."""
    assert get_log(csms, files.url("/logs/"), rid=17) == ("Accepted", "diagnostics-17.log", None)
    wait_status(csms, "Uploaded", 17)
    assert statuses(csms) == [("Uploading", 17), ("Uploaded", 17)]
    method, path, headers, body = files.uploads[0]
    assert (method, path) == ("PUT", "/logs/diagnostics-17.log")  # N01.FR.21: the name appended
    assert 'filename="diagnostics-17.log"' in headers["Content-Disposition"]
    got = lines(body)
    assert any("connecting to ws://127.0.0.1" in line for line in got)


@pytest.mark.octt("TC_N_35_CS")
def test_TC_N_35_CS_security_log(csms, sim, files):
    """GetLog SecurityLog: Accepted, Uploading, the station's security log arrives, Uploaded."""
    wait_until(lambda: any("StartupOfTheDevice" in line for line in sim.seclog()), 5, "startup event")
    assert get_log(csms, files.url("/sec/"), "SecurityLog", 23) == ("Accepted", "security-23.log", None)
    wait_status(csms, "Uploaded", 23)
    assert statuses(csms) == [("Uploading", 23), ("Uploaded", 23)]
    [(method, path, headers, body)] = files.uploads
    assert (method, path) == ("PUT", "/sec/security-23.log")
    got = lines(body)
    assert got == sim.seclog()[:len(got)] and any("StartupOfTheDevice" in line for line in got)


def test_security_log_time_window(csms, sim, files):
    wait_until(lambda: any("StartupOfTheDevice" in line for line in sim.seclog()), 5, "startup event")
    t0 = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    time.sleep(2.2)  # the station's clock may be up to a second behind (currentTime has no fraction)
    csms.call("CS001", call.SetNetworkProfile(configuration_slot=2, connection_data={
        "ocpp_version": "OCPP20", "ocpp_transport": "JSON", "ocpp_csms_url": "ws://127.0.0.1:1/x",
        "message_timeout": 10, "security_profile": 1, "ocpp_interface": "Wired0"}))  # a new security event
    for rid, path, window in ((2, "/all", {}), (3, "/old", {"latest_timestamp": iso(t0)}),
                              (4, "/new", {"oldest_timestamp": iso(t0 + datetime.timedelta(seconds=1))})):
        assert get_log(csms, files.url(path), "SecurityLog", rid, **window) == ("Accepted", "security-%d.log" % rid, None)
        wait_status(csms, "Uploaded", rid)
    got = {u[1]: lines(u[3]) for u in files.uploads}
    assert got["/all"] == sim.seclog()[:len(got["/all"])]
    assert got["/old"] + got["/new"] == got["/all"]
    assert any("StartupOfTheDevice" in line for line in got["/old"])
    assert [line.split()[1] for line in got["/new"]] == ["ReconfigurationOfSecurityParameters"]


@pytest.mark.octt("TC_N_26_CS")
def test_TC_N_26_CS_upload_failure_after_retries(csms, sim, files):
    """GetLog DiagnosticsLog with retries 3: the server refuses every upload; Uploading (again
    before a retry is allowed), then UploadFailure, after 1 + 3 attempts retryInterval apart."""
    files.upload_status = 500
    t = time.monotonic()
    assert get_log(csms, files.url("/x"), rid=5, retries=3, retry_interval=1)[0] == "Accepted"
    wait_status(csms, "UploadFailure", 5, timeout=20)
    got = statuses(csms)
    assert got[0] == ("Uploading", 5) and got[-1] == ("UploadFailure", 5), got
    assert set(got[1:-1]) <= {("Uploading", 5)}, got
    assert [r for r in files.requests if r[1] == "/x"] == [("PUT", "/x")] * 4
    assert time.monotonic() - t >= 3  # three pauses of retryInterval


def test_upload_to_nobody_fails(csms, sim):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nobody listens there
    get_log(csms, "http://127.0.0.1:%d/y" % port, rid=6, retries=0)
    wait_status(csms, "UploadFailure", 6)
    assert statuses(csms) == [("Uploading", 6), ("UploadFailure", 6)]


@pytest.mark.parametrize("status,final", [(403, "PermissionDenied"), (400, "BadMessage"), (204, "Uploaded")])
def test_upload_status_mapping(csms, sim, files, status, final):
    files.upload_status = status
    get_log(csms, files.url("/z"), rid=7, retries=3, retry_interval=1)
    wait_status(csms, final, 7)
    assert len([r for r in files.requests if r[1] == "/z"]) == 1  # no retry: the server will not take it


def test_post_when_put_is_refused(csms, sim, files):
    files.refuse = {"PUT"}
    get_log(csms, files.url("/p"), "SecurityLog", rid=8)
    wait_status(csms, "Uploaded", 8)
    method, path, headers, body = files.uploads[0]
    assert method == "POST" and 'filename="security-8.log"' in headers["Content-Disposition"]  # N01.FR.19
    assert headers["Content-Type"] == "text/plain" and lines(body)


def test_https_upload_trusts_the_csms_roots(csms, sims, files, pki, closing, tmp_path):
    secure = closing(FileServer(ssl=server_ssl(*pki["server"], tmp_path / "srv")))
    s = sims(csms.url, ca=pki["ca_pem"])
    s.wait_event(ev="boot", status="Accepted")
    get_log(csms, secure.url("/s", "localhost"), "SecurityLog", rid=9)
    wait_status(csms, "Uploaded", 9)
    rogue = closing(FileServer(ssl=server_ssl(*pki["rogue_server"], tmp_path / "rogue")))
    get_log(csms, rogue.url("/r", "localhost"), "SecurityLog", rid=10, retries=0)
    wait_status(csms, "UploadFailure", 10)
    assert not rogue.uploads and len(secure.uploads) == 1


def test_bad_locations_and_trigger(csms, sim):
    assert get_log(csms, "ftp://example.com/logs/") == ("Rejected", None, "UnsupportedProtocol")
    assert csms.call("CS001", call.TriggerMessage(requested_message="LogStatusNotification")).status == "Accepted"
    wait_until(lambda: ("Idle", None) in statuses(csms), 5, "Idle")  # F06.FR.15
    hang = socket.socket()  # accepts connections (backlog) and never answers
    hang.bind(("127.0.0.1", 0))
    hang.listen(4)
    try:
        get_log(csms, "http://127.0.0.1:%d/h" % hang.getsockname()[1], rid=11)
        wait_status(csms, "Uploading", 11)
        csms.call("CS001", call.TriggerMessage(requested_message="LogStatusNotification"))
        wait_until(lambda: statuses(csms, 11).count(("Uploading", 11)) == 2, 5, "Uploading again")  # F06.FR.14
        assert get_log(csms, "http://bad host/", rid=12, retries=0)[0] == "AcceptedCanceled"
        wait_status(csms, "AcceptedCanceled", 11)
        wait_status(csms, "BadMessage", 12)  # a URL that cannot be used
    finally:
        hang.close()


def test_security_events_delivered_after_an_offline_period(pki, sims, tmp_path):
    """Critical security events (InvalidCsmsCertificate, raised while a rogue TLS server holds
    the CSMS's port) are kept in flash while offline, also over a power cut, and delivered
    once the real CSMS is back (A04.FR.02)."""
    good = server_ssl(*pki["server"], tmp_path / "good")
    c = CsmsThread(ssl=good)
    port = c.csms.port
    s = sims("wss://localhost:%d/ocpp" % port, ca=pki["ca_pem"], sets=FAST)
    try:
        s.wait_event(ev="boot", status="Accepted")
        c.close()
        c = CsmsThread(ssl=server_ssl(*pki["rogue_server"], tmp_path / "rogue"), port=port)
        s.wait_event(ev="security", type="InvalidCsmsCertificate", n=2, timeout=20)
        s.kill()  # a power cut while offline
        s = sims(state=s.state)
        s.wait_event(ev="security", type="InvalidCsmsCertificate", n=1, timeout=20)
        c.close()
        back = iso(datetime.datetime.now(datetime.timezone.utc))
        c = CsmsThread(ssl=good, port=port)
        logged = [line for line in s.seclog() if "InvalidCsmsCertificate" in line]
        assert len(logged) >= 3

        def sent():
            return [f.payload for f in c.inbound("SecurityEventNotification")
                    if f.payload["type"] == "InvalidCsmsCertificate"]

        wait_until(lambda: len(sent()) >= len(logged), 30, "events delivered")
        time.sleep(0.5)
        assert len(sent()) == len(logged)  # each once
        assert all(p["timestamp"] <= back for p in sent())  # with the time they happened, offline
    finally:
        c.close()
        assert not c.violations
