"""Network connection profiles (B09/B10), the security-profile upgrade (A05) and the Basic
auth password change (A01) against the `ocpp` CSMS, with a second CSMS where a test
migrates the station."""

import json
import time

import pytest
from ocpp.v201 import call

from helpers import CsmsThread, RawWs, server_ssl, wait_until
from test_device_model import cv, get, set_

PASSWORD = "0123456789abcdefXYZ!"
FAST = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
        "OCPPCommCtrlr.RetryBackOffRepeatTimes": 0}


def profile(url, sp=1, timeout=10, **kw):
    return dict({"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": url,
                 "messageTimeout": timeout, "securityProfile": sp, "ocppInterface": "Wired0"}, **kw)


def set_profile(csms, slot, prof, station="CS001"):
    r = csms.raw_call(station, "np%d%d" % (slot, time.monotonic_ns() % 10**6), "SetNetworkProfile",
                      {"configurationSlot": slot, "connectionData": prof})
    return r.msg[2]


@pytest.fixture
def other(closing):
    """A second CSMS."""
    return closing(CsmsThread())


def test_TC_B_43_CS_set_network_profile_rejected_and_accepted(csms, sims, tmp_path):
    state = tmp_path / "flash"
    s = sims(csms.url, state=state)
    s.wait_event(ev="boot", status="Accepted")
    url = "ws://127.0.0.1:1/ocpp"
    for slot, prof, reason in ((3, profile(url), "InvalidSlot"),
                               (2, profile(url, ocppVersion="OCPP16"), "UnsupportedVersion"),
                               (2, profile(url, ocppTransport="SOAP"), "UnsupportedVersion"),
                               (2, profile(url, sp=3), "UnsupportedProfile"),
                               (2, profile(url, sp=2), "UrlNotForProfile"),
                               (2, profile("wss://h/ocpp", sp=1), "UrlNotForProfile"),
                               (2, profile("ftp://h/", sp=1), "InvalidUrl"),
                               (2, profile(url, timeout=0), "InvalidTimeout"),
                               (2, profile(url, vpn={"server": "v", "user": "u", "password": "p", "key": "k",
                                                     "type": "IPSec"}), "NoApnOrVpn")):
        assert set_profile(csms, slot, prof) == {"status": "Rejected", "statusInfo": {"reasonCode": reason}}
    assert set_profile(csms, 2, profile(url)) == {"status": "Accepted"}
    assert set_profile(csms, 1, profile(csms.url, timeout=12)) == {"status": "Accepted"}  # active slot too
    # a profile is only used after a reboot (B09 remark): nothing changed on this connection
    [r] = get(csms, cv("OCPPCommCtrlr", "MessageTimeout", instance="Default"))
    assert r["attribute_value"] == "30"
    s.send(op="reboot")
    s.wait_event(ev="boot", status="Accepted", n=2)
    [r] = get(csms, cv("OCPPCommCtrlr", "MessageTimeout", instance="Default"))
    assert r["attribute_value"] == "12"
    assert any("network profile 2 set" in line for line in s.seclog())
    net = json.loads(max((p.read_bytes() for p in state.glob("net.*")), key=lambda b: int(b.split()[0]))
                     .split(b"\n", 1)[1])
    assert net["profiles"]["2"]["ocppCsmsUrl"] == url


def test_TC_B_45_CS_migrate_to_new_profile(csms, sims, other):
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Accepted")
    assert set_profile(csms, 2, profile(other.url)) == {"status": "Accepted"}
    [r] = set_(csms, cv("OCPPCommCtrlr", "NetworkConfigurationPriority", attribute_value="2,1"))
    assert r["attribute_status"] == "Accepted"
    s.send(op="reboot")
    b = other.wait_call("BootNotification", timeout=10)
    assert b.payload["reason"] == "LocalReset"
    s.wait_event(ev="boot", status="Accepted", n=2)
    res = get(other, cv("OCPPCommCtrlr", "ActiveNetworkProfile"), cv("OCPPCommCtrlr", "NetworkConfigurationPriority"))
    assert [x["attribute_value"] for x in res] == ["2", "2,1"]


def test_TC_B_46_CS_fallback_after_connection_attempts(csms, sims, other):
    s = sims(csms.url, sets=dict(FAST, **{"OCPPCommCtrlr.NetworkProfileConnectionAttempts": 2}))
    s.wait_event(ev="boot", status="Accepted")
    dead = RawWs(status=503)  # slot 2: a server that refuses every upgrade
    try:
        assert set_profile(csms, 2, profile(dead.url)) == {"status": "Accepted"}
        [r] = set_(csms, cv("OCPPCommCtrlr", "NetworkConfigurationPriority", attribute_value="2,1"))
        assert r["attribute_status"] == "Accepted"
        s.send(op="reboot")
        s.wait_event(ev="boot", status="Accepted", n=2, timeout=15)
        assert len(dead.accepted) == 2  # NetworkProfileConnectionAttempts on slot 2, then slot 1
        assert len(csms.inbound("BootNotification")) == 2
    finally:
        dead.close()


def test_B10_FR_10_boot_again_after_switching_profile_without_reboot(csms, sims, other):
    s = sims(csms.url, sets=FAST)
    s.wait_event(ev="boot", status="Accepted")
    assert set_profile(csms, 2, profile(other.url)) == {"status": "Accepted"}
    set_(csms, cv("OCPPCommCtrlr", "NetworkConfigurationPriority", attribute_value="2,1"))
    csms.close()  # CSMS 1 goes away: the station moves on to the first slot
    b = other.wait_call("BootNotification", timeout=10)
    assert b.payload["reason"] == "Unknown"  # registering again without a reboot
    s.wait_event(ev="boot", status="Accepted", n=2)


def test_TC_A_19_20_22_CS_upgrade_to_security_profile_2(csms, sims, pki, tmp_path, closing):
    cert, key = pki["server"]
    tls = closing(CsmsThread(ssl=server_ssl(cert, key, tmp_path), password=PASSWORD))
    tls_url = "wss://localhost:%d/ocpp" % tls.csms.port
    s = sims(csms.url, password=PASSWORD, sets=FAST)
    s.wait_event(ev="boot", status="Accepted")
    assert set_profile(csms, 2, profile(tls_url, sp=2)) == {"status": "Accepted"}
    # A05.FR.02: no CSMS root certificate installed -> Rejected
    [r] = set_(csms, cv("OCPPCommCtrlr", "NetworkConfigurationPriority", attribute_value="2,1"))
    assert r["attribute_status"] == "Rejected" and r["attribute_status_info"]["reason_code"] == "NoCsmsRootCert"
    s.quit()
    s = sims(None, state=s.state, ident=None, ca=pki["ca_pem"])  # the root is installed locally
    s.wait_event(ev="boot", status="Accepted")
    [r] = set_(csms, cv("OCPPCommCtrlr", "NetworkConfigurationPriority", attribute_value="2,1"))
    assert r["attribute_status"] == "Accepted"
    s.send(op="reboot")
    tls.wait_call("BootNotification", timeout=15)
    s.wait_event(ev="boot", status="Accepted", n=2)
    # A05.FR.06: SecurityProfile is 2 and the profile-1 slot is gone
    res = get(tls, cv("SecurityCtrlr", "SecurityProfile"), cv("OCPPCommCtrlr", "NetworkConfigurationPriority"))
    assert [x["attribute_value"] for x in res] == ["2", "2"]
    # TC_A_22: a downgrade to profile 1 is rejected
    assert set_profile(tls, 1, profile(csms.url, sp=1)) == {
        "status": "Rejected", "statusInfo": {"reasonCode": "NoSecurityDowngrade"}}


def test_TC_A_09_CS_new_basic_auth_password_reconnects(sims, closing):
    c = closing(CsmsThread(password=PASSWORD))
    s = sims(c.url, password=PASSWORD, sets=FAST)
    s.wait_event(ev="boot", status="Accepted")
    new = "a-brand-new-password-42"
    [r] = set_(c, cv("SecurityCtrlr", "BasicAuthPassword", attribute_value=new))
    assert r["attribute_status"] == "Accepted"
    c.csms.password = new  # A01.FR.03: the CSMS now accepts only the new one
    wait_until(lambda: len(c.connects) >= 2, 10, "reconnect with the new password")
    assert c.connects[1][2] is True
    s.wait_event(ev="ws", state="connected", n=2)
    assert len(c.inbound("BootNotification")) == 1  # a reconnect, not a reboot
    log = "\n".join(s.log + s.seclog())
    assert "BasicAuthPassword changed" in log and new not in log and PASSWORD not in log


def test_TC_A_10_CS_invalid_password_rejected_and_kept(sims, closing):
    c = closing(CsmsThread(password=PASSWORD))
    s = sims(c.url, password=PASSWORD, sets=FAST)
    s.wait_event(ev="boot", status="Accepted")
    [r] = set_(c, cv("SecurityCtrlr", "BasicAuthPassword", attribute_value="short"))
    assert r["attribute_status"] == "Rejected"
    time.sleep(1)
    assert len(c.connects) == 1  # still the first connection, old password


def test_ping_interval_and_backoff_changes_take_effect_at_once(closing, sims):
    r = closing(RawWs())
    sims(r.url, sets={"OCPPCommCtrlr.WebSocketPingInterval": 0, "OCPPCommCtrlr.MessageTimeout": 2})
    wait_until(lambda: r.texts(), 5, "BootNotification")
    boot = r.texts()[0]
    r.send(r.frame(1, json.dumps([3, boot[1], {"currentTime": "2026-01-01T00:00:00Z", "interval": 300,
                                                "status": "Accepted"}]).encode()))
    items = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "WebSocketPingInterval"},
              "attributeValue": "1"},
             {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "RetryBackOffWaitMinimum"},
              "attributeValue": "1"},
             {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "RetryBackOffRandomRange"},
              "attributeValue": "0"}]
    r.send(r.frame(1, json.dumps([2, "sv", "SetVariables", {"setVariableData": items}]).encode()))
    wait_until(lambda: [m for m in r.texts() if m[1] == "sv"], 5, "SetVariables answer")
    t0 = time.monotonic()
    wait_until(lambda: any(op == 9 for op, *_ in r.frames), 4, "a ping after 1 s of silence")
    assert time.monotonic() - t0 < 3
    # RawWs never answers the ping: the link is dropped and re-opened after 1 s, not 10
    wait_until(lambda: len(r.accepted) >= 2, 8, "reconnect")
