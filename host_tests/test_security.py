"""Security profiles 1 and 2 (A00): HTTP Basic auth on the upgrade, wss:// with the server
certificate checked against the installed CSMS root and host name, and failed attempts
logged as security events (A04). TLS is real: the unix port's mbedTLS against CPython ssl."""

import ssl

import pytest

from helpers import CsmsThread, server_ssl, wait_until

FAST = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
        "OCPPCommCtrlr.RetryBackOffRepeatTimes": 1}
PASSWORD = "0123456789abcdefXYZ!"


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


def test_TC_A_01_CS_basic_auth_accepted(servers, sims):
    c = servers(password=PASSWORD)
    s = sims(c.url, password=PASSWORD)
    s.wait_event(ev="boot", status="Accepted")
    assert c.connects[0][1:] == ("CS001", True)


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


def test_TC_A_04_CS_tls_valid_certificate(servers, sims, pki, tmp_path):
    cert, key = pki["server"]
    c = servers(password=PASSWORD, ssl=server_ssl(cert, key, tmp_path))
    s = sims(tls_url(c), password=PASSWORD, ca=pki["ca_pem"])
    s.wait_event(ev="boot", status="Accepted", timeout=15)
    assert c.wait_call("SecurityEventNotification").payload["type"] == "StartupOfTheDevice"
    # the root was converted from PEM and installed in flash as DER
    ders = sorted(s.state.glob("csms_root_*.der"))
    assert len(ders) == 1 and ders[0].read_bytes()[0] == 0x30


def test_tls_with_ca_bundle_of_several_roots(servers, sims, pki, tmp_path):
    cert, key = pki["server"]
    c = servers(ssl=server_ssl(cert, key, tmp_path))
    s = sims(tls_url(c), ca=pki["bundle_pem"])
    s.wait_event(ev="boot", status="Accepted", timeout=15)
    assert len(list(s.state.glob("csms_root_*.der"))) == 2


@pytest.mark.parametrize("which", ["rogue_server", "other_host"])
def test_TC_A_05_CS_invalid_certificate_refused_and_reported(servers, sims, pki, tmp_path, which):
    """Untrusted issuer, or trusted issuer but another host name: no connection, an
    InvalidCsmsCertificate event, delivered to the CSMS once a valid server answers."""
    cert, key = pki[which]
    c = servers(ssl=server_ssl(cert, key, tmp_path / "bad"))
    port = c.csms.port
    s = sims(tls_url(c), ca=pki["ca_pem"], sets=FAST)
    s.wait_event(ev="security", type="InvalidCsmsCertificate", timeout=15)
    assert not c.connects and not c.inbound()
    assert any("InvalidCsmsCertificate" in line for line in s.seclog())
    c.close()
    good, gkey = pki["server"]
    c2 = servers(port=port, ssl=server_ssl(good, gkey, tmp_path / "good"))
    s.wait_event(ev="boot", status="Accepted", timeout=20)
    wait_until(lambda: "InvalidCsmsCertificate" in
               [f.payload["type"] for f in c2.inbound("SecurityEventNotification")], 5, "event")


def test_TC_A_06_CS_tls_version_too_low(servers, sims, pki, tmp_path):
    cert, key = pki["server"]
    try:
        ctx = server_ssl(cert, key, tmp_path, maximum_version=ssl.TLSVersion.TLSv1_1)
    except (ssl.SSLError, ValueError) as e:
        pytest.skip("this OpenSSL cannot serve TLS 1.1: %s" % e)
    c = servers(ssl=ctx)
    s = sims(tls_url(c), ca=pki["ca_pem"], sets=FAST)
    s.wait_event(ev="security", type="InvalidTLSVersion", timeout=15)
    assert not c.inbound()


def test_wss_without_installed_root_does_not_connect(servers, sims, pki, tmp_path):
    cert, key = pki["server"]
    c = servers(ssl=server_ssl(cert, key, tmp_path))
    s = sims(tls_url(c), sets=FAST)
    wait_until(lambda: any("CSMS root certificate" in line for line in s.log), 5, "refusal logged")
    assert not c.connects
