"""Security profiles 1 and 2 (A00): HTTP Basic auth on the upgrade, wss:// with the server
certificate checked against the installed CSMS root and host name, and failed attempts
logged as security events (A04). TLS is real: the unix port's mbedTLS against CPython ssl.
The OCTT Core cases TC_A_01/04/05/06 are played as Part 6 (with its 2024-2025 errata)
describes them."""

import ssl

import pytest

from helpers import CsmsThread, make_cert, pem, server_ssl, wait_until
from test_device_model import cv, set_

FAST = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
        "OCPPCommCtrlr.RetryBackOffRepeatTimes": 1}
# a passwordString of 16..40 characters (the OCTT's check on the configured BasicAuthPassword)
PASSWORD = "OCTT-pass_0123456789"
# TLS_ECDHE_ECDSA_WITH_AES_128/256_GCM_SHA256/384 or TLS_RSA_WITH_AES_128/256_GCM_SHA256/384
# (A00.FR.318/319, the OCTT's validation of the Client Hello), in OpenSSL's names
SUITES = ({"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"},
          {"AES128-GCM-SHA256", "AES256-GCM-SHA384"})


@pytest.fixture
def servers(closing):
    made = []

    def make(**kw):
        made.append(closing(CsmsThread(**kw)))
        return made[-1]

    yield make
    for c in made:
        assert not c.violations, c.violations


def tls_url(c):
    return "wss://localhost:%d/ocpp" % c.csms.port


def booted(c, n=1, timeout=15):
    """Reusable state Booted on CSMS c: the station's n-th BootNotification there is answered
    Accepted, and on that connection StatusNotification Available for its connector and the
    SecurityEventNotification StartupOfTheDevice or ResetOrReboot follow. Returns the
    BootNotification frame."""
    boot = c.wait_call("BootNotification", n=n, timeout=timeout)
    answer = wait_until(lambda: [f for f in list(c.frames) if f.direction == "out" and f.kind == 3
                                 and f.id == boot.id], 5, "BootNotificationResponse")[0]
    assert answer.payload["status"] == "Accepted", answer

    def after():
        fr = [f for f in c.inbound() if f.conn == boot.conn and f.t >= boot.t]
        return fr[fr.index(boot) + 1:] if boot in fr else []

    def startup():
        return [f for f in after() if f.action == "SecurityEventNotification"
                and f.payload["type"] in ("StartupOfTheDevice", "ResetOrReboot")]

    wait_until(startup, timeout, lambda: "StartupOfTheDevice/ResetOrReboot after the boot; got %r" % after())
    sns = [(f.payload["evseId"], f.payload["connectorId"], f.payload["connectorStatus"])
           for f in after() if f.action == "StatusNotification"]
    assert (1, 1, "Available") in sns, sns
    return boot


def abort(c, station="CS001"):
    """The CSMS drops the station's connection (no close handshake)."""
    tap = c.csms._taps[station]
    c.loop.call_soon_threadsafe(tap.conn.transport.abort)


def tls_of(c, station="CS001"):
    """The ssl object of the station's current connection to CSMS c."""
    return c.csms._taps[station].conn.transport.get_extra_info("ssl_object")


def use_cert(ctx, cert, key, directory):
    """From now on the TLS server of ctx presents cert (new handshakes only)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "c.pem").write_text(pem(cert))
    (directory / "k.pem").write_text(pem(key))
    ctx.load_cert_chain(str(directory / "c.pem"), str(directory / "k.pem"))


@pytest.mark.octt("TC_A_01_CS")
def test_TC_A_01_CS_basic_auth_accepted(servers, sims):
    """Security profile 1: the upgrade carries Authorization: Basic base64(<id>:<password>),
    the user name being the id at the end of the URL; then Booted."""
    assert 16 <= len(PASSWORD) <= 40
    c = servers(password=PASSWORD)
    s = sims(c.url, password=PASSWORD)
    booted(c)
    s.wait_event(ev="boot", status="Accepted")
    assert [x[1:] for x in c.connects] == [("CS001", True)]  # the CSMS checked id and password


def test_basic_auth_rejected_is_a_security_event_and_retried(servers, sims):
    c = servers(password=PASSWORD)
    s = sims(c.url, password="wrong-password-0123", sets=FAST)
    wait_until(lambda: len(c.connects) >= 2, 6, "two refused attempts")
    assert all(not ok for _, _, ok in c.connects)
    ev = s.wait_event(ev="security", type="FailedToAuthenticateAtCsms")
    assert ev
    assert any("FailedToAuthenticateAtCsms" in line for line in s.seclog())
    assert not c.inbound()  # no OCPP message without authentication
    assert not s.find(ev="ws", state="connected")


def test_no_password_means_no_authorization_header(servers, sims):
    c = servers(password=PASSWORD)
    s = sims(c.url, sets=FAST)
    wait_until(lambda: c.connects, 5, "attempt")
    assert c.connects[0][2] is False
    s.wait_event(ev="security", type="FailedToAuthenticateAtCsms")


@pytest.mark.octt("TC_A_04_CS")
def test_TC_A_04_CS_tls_valid_certificate(servers, sims, pki, tmp_path):
    """State Booting on security profile 2: TLS 1.2 or newer with the configured server
    certificate, a Client Hello offering one of the two GCM suite pairs, the upgrade with
    Basic auth, then Booted."""
    cert, key = pki["server"]
    c = servers(password=PASSWORD, ssl=server_ssl(cert, key, tmp_path))
    s = sims(tls_url(c), password=PASSWORD, ca=pki["ca_pem"])
    booted(c)
    s.wait_event(ev="boot", status="Accepted")
    assert [x[1:] for x in c.connects] == [("CS001", True)]
    t = tls_of(c)
    assert t.version() in ("TLSv1.2", "TLSv1.3"), t.version()
    offered = {name for name, _, _ in t.shared_ciphers() or ()}
    assert any(pair <= offered for pair in SUITES), offered
    # the root was converted from PEM and installed in flash as DER
    ders = sorted(s.state.glob("csms_root_*.der"))
    assert len(ders) == 1 and ders[0].read_bytes()[0] == 0x30


def test_tls_with_ca_bundle_of_several_roots(servers, sims, pki, tmp_path):
    cert, key = pki["server"]
    c = servers(ssl=server_ssl(cert, key, tmp_path))
    s = sims(tls_url(c), ca=pki["bundle_pem"])
    s.wait_event(ev="boot", status="Accepted", timeout=15)
    assert len(list(s.state.glob("csms_root_*.der"))) == 2


def invalid_server_certs(pki):
    """The invalid server certificates the OCTT generates: not signed by the installed root,
    expired, not yet valid, and a commonName (and SAN) that is not the CSMS's host name."""
    ca, ca_key = pki["ca"], pki["ca_key"]
    return {"rogue_root": pki["rogue_server"],
            "expired": make_cert("localhost", ca, ca_key, ca=False, days=(-30, -2)),
            "future": make_cert("localhost", ca, ca_key, ca=False, days=(2, 30)),
            "other_host": pki["other_host"]}


@pytest.mark.octt("TC_A_05_CS")
def test_TC_A_05_CS_invalid_certificate_refused_and_reported(servers, sims, pki, tmp_path):
    """Per invalid server certificate: the CSMS drops the link, the station reconnects to the
    valid certificate, the CSMS drops it again, the station refuses the invalid one (no
    upgrade), reconnects to the valid one and sends SecurityEventNotification
    InvalidCsmsCertificate (errata 2024-11/2025-02 of Part 6)."""
    cert, key = pki["server"]
    ctx = server_ssl(cert, key, tmp_path / "good")
    c = servers(ssl=ctx)
    s = sims(tls_url(c), ca=pki["ca_pem"], sets=FAST)
    booted(c)
    # Before: NetworkProfileConnectionAttempts 3, NetworkConfigurationPriority only the active slot
    res = set_(c, cv("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", attribute_value="3"),
               cv("OCPPCommCtrlr", "NetworkConfigurationPriority", attribute_value="1"))
    assert [r["attribute_status"] for r in res] == ["Accepted", "Accepted"], res
    for i, (name, (bad, bad_key)) in enumerate(invalid_server_certs(pki).items()):
        n = len(c.connects)
        abort(c)  # steps 1-3 (4): the link is dropped, the station comes back on the valid certificate
        wait_until(lambda: len(c.connects) > n, 10, "reconnect on the valid certificate")
        ev_n = len(s.find(ev="security", type="InvalidCsmsCertificate"))
        use_cert(ctx, bad, bad_key, tmp_path / name)
        n = len(c.connects)
        abort(c)  # steps 4-7: the next handshake meets the invalid certificate
        s.wait_event(ev="security", type="InvalidCsmsCertificate", n=ev_n + 1, timeout=15)
        assert len(c.connects) == n, name  # the station terminated before any upgrade
        use_cert(ctx, cert, key, tmp_path / "good")
        sent = len(c.inbound("SecurityEventNotification"))
        # steps 8-11: the station reconnects to the valid certificate and reports the event
        ev = c.wait_call("SecurityEventNotification", n=sent + 1, timeout=15)
        assert ev.payload["type"] == "InvalidCsmsCertificate", (name, ev)
        assert c.connects[-1][2] is True
    assert not c.inbound("BootNotification")[1:]  # reconnects, not reboots
    assert sum("InvalidCsmsCertificate" in line for line in s.seclog()) >= 4


def test_invalid_certificate_while_booting_then_valid_server(servers, sims, pki, tmp_path):
    """Untrusted issuer while booting: no connection, an InvalidCsmsCertificate event,
    delivered to the CSMS once a valid server answers on that port."""
    cert, key = pki["rogue_server"]
    c = servers(ssl=server_ssl(cert, key, tmp_path / "bad"))
    port = c.csms.port
    s = sims(tls_url(c), ca=pki["ca_pem"], sets=FAST)
    s.wait_event(ev="security", type="InvalidCsmsCertificate", timeout=15)
    assert not c.connects and not c.inbound()
    c.close()
    good, gkey = pki["server"]
    c2 = servers(port=port, ssl=server_ssl(good, gkey, tmp_path / "good"))
    s.wait_event(ev="boot", status="Accepted", timeout=20)
    wait_until(lambda: "InvalidCsmsCertificate" in
               [f.payload["type"] for f in c2.inbound("SecurityEventNotification")], 5, "event")


@pytest.mark.octt("TC_A_06_CS")
def test_TC_A_06_CS_tls_version_too_low(servers, sims, pki, tmp_path):
    """NetworkProfileConnectionAttempts 1: the CSMS answers the Client Hello with TLS 1.1; the
    station terminates, reconnects to a TLS 1.2 server, boots and reports InvalidTLSVersion."""
    cert, key = pki["server"]
    try:
        ctx = server_ssl(cert, key, tmp_path / "old", maximum_version=ssl.TLSVersion.TLSv1_1)
    except (ssl.SSLError, ValueError) as e:
        pytest.skip("this OpenSSL cannot serve TLS 1.1: %s" % e)
    c = servers(ssl=ctx)
    port = c.csms.port
    s = sims(tls_url(c), ca=pki["ca_pem"], sets=dict(FAST, **{"OCPPCommCtrlr.NetworkProfileConnectionAttempts": 1}))
    s.wait_event(ev="security", type="InvalidTLSVersion", timeout=15)
    assert not c.connects and not c.inbound()  # terminated during the handshake
    c.close()
    c2 = servers(port=port, ssl=server_ssl(cert, key, tmp_path / "new"))
    booted(c2, timeout=20)
    assert tls_of(c2).version() in ("TLSv1.2", "TLSv1.3")
    wait_until(lambda: "InvalidTLSVersion" in
               [f.payload["type"] for f in c2.inbound("SecurityEventNotification")], 10, "InvalidTLSVersion sent")


def test_wss_without_installed_root_does_not_connect(servers, sims, pki, tmp_path):
    cert, key = pki["server"]
    c = servers(ssl=server_ssl(cert, key, tmp_path))
    s = sims(tls_url(c), sets=FAST)
    wait_until(lambda: any("CSMS root certificate" in line for line in s.log), 5, "refusal logged")
    assert not c.connects
