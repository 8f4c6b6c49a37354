"""Network connection profiles (B09/B10), the security-profile upgrade (A05) and the Basic
auth password change (A01) against the `ocpp` CSMS, with a second CSMS (the OCTT's second
endpoint) where a test migrates the station. The OCTT Core cases TC_A_09/10/19/20/22 and
TC_B_43/45/46/49 are played as Part 6 (with its 2024-2025 errata) describes them."""

import json
import time

import pytest
from ocpp.v201 import call

from helpers import CsmsThread, RawWs, server_ssl, wait_until
from test_certificates import CSMS_ROOT, certificate_installed
from test_device_model import cv, get, set_
from test_security import abort, booted

PASSWORD = "OCTT-pass_0123456789"
FAST = {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
        "OCPPCommCtrlr.RetryBackOffRepeatTimes": 0}
OCPP = "OCPPCommCtrlr"
QUIET_S = 1.0  # how long "nothing is sent" is watched where the case says so


def profile(url, sp=1, timeout=10, **kw):
    return dict({"ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": url,
                 "messageTimeout": timeout, "securityProfile": sp, "ocppInterface": "Wired0"}, **kw)


def set_profile(csms, slot, prof, station="CS001"):
    r = csms.raw_call(station, "np%d%d" % (slot, time.monotonic_ns() % 10**6), "SetNetworkProfile",
                      {"configurationSlot": slot, "connectionData": prof})
    return r.msg[2]


def set_priority(csms, value):
    """SetVariables OCPPCommCtrlr.NetworkConfigurationPriority; returns (attributeStatus, reasonCode)."""
    [r] = set_(csms, cv(OCPP, "NetworkConfigurationPriority", attribute_value=value))
    return r["attribute_status"], (r.get("attribute_status_info") or {}).get("reason_code")


def configure(csms, **values):
    """Configuration State of a case: OCPPCommCtrlr variables set with SetVariables, Accepted."""
    res = set_(csms, *[cv(OCPP, k, attribute_value=str(v)) for k, v in values.items()])
    assert [r["attribute_status"] for r in res] == ["Accepted"] * len(values), res


def reset_on_idle(csms):
    assert csms.call("CS001", call.Reset(type="OnIdle")).status == "Accepted"


def variables(csms, *names):
    return [r["attribute_value"] for r in get(csms, *[cv(*n.split(".")) for n in names])]


@pytest.fixture
def other(closing):
    """The OCTT's second endpoint: a second CSMS."""
    return closing(CsmsThread())


@pytest.fixture
def tls(closing, pki, tmp_path):
    """A second endpoint for security profile 2 (the test CA's localhost certificate)."""
    return closing(CsmsThread(ssl=server_ssl(*pki["server"], tmp_path / "tls"), password=PASSWORD))


def wss(c):
    return "wss://localhost:%d/ocpp" % c.csms.port


# --- B09 SetNetworkProfile ---------------------------------------------------------------------
@pytest.mark.octt("TC_B_43_CS")
def test_TC_B_43_CS_set_network_profile_rejected(csms, sim):
    """configurationSlot 999 with otherwise valid connection data: Rejected."""
    r = set_profile(csms, 999, profile(csms.url))
    assert r["status"] == "Rejected", r  # the tool's validation; the reasonCode is optional (B09.FR.05)
    assert variables(csms, "OCPPCommCtrlr.NetworkConfigurationPriority") == ["1"]


def test_set_network_profile_checks_content_and_takes_effect_after_reboot(csms, sims, tmp_path):
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


# --- B10 migrate to another profile ------------------------------------------------------------
def migrate(csms, slot, url, **kw):
    """Steps 1-6 of TC_B_45/46/49 and A_19: SetNetworkProfile on the slot not in use (Accepted),
    NetworkConfigurationPriority <that slot>,<the active one> (Accepted or RebootRequired),
    ResetRequest OnIdle (Accepted)."""
    [active] = variables(csms, "OCPPCommCtrlr.ActiveNetworkProfile")
    assert active != str(slot)
    assert set_profile(csms, slot, profile(url, **kw)) == {"status": "Accepted"}
    assert set_priority(csms, "%d,%s" % (slot, active))[0] in ("Accepted", "RebootRequired")
    reset_on_idle(csms)
    return active


@pytest.mark.octt("TC_B_45_CS")
def test_TC_B_45_CS_migrate_to_new_profile(csms, sim, other):
    migrate(csms, 2, other.url)
    boot = booted(other)  # step 7: on the slot set at step 1
    assert boot.payload["reason"] == "RemoteReset"
    assert len(csms.inbound("BootNotification")) == 1
    assert variables(other, "OCPPCommCtrlr.ActiveNetworkProfile", "OCPPCommCtrlr.NetworkConfigurationPriority") \
        == ["2", "2,1"]


@pytest.mark.octt("TC_B_46_CS")
def test_TC_B_46_CS_fallback_after_connection_attempts(csms, sims):
    """The new slot's URL cannot be used: NetworkProfileConnectionAttempts (2) attempts there,
    then Booted on the second slot of NetworkConfigurationPriority."""
    s = sims(csms.url, sets=FAST)
    s.wait_event(ev="boot", status="Accepted")
    configure(csms, NetworkProfileConnectionAttempts=2)
    dead = RawWs(status=503)  # the invalid ocppCsmsUrl: a server that refuses every upgrade
    try:
        migrate(csms, 2, dead.url)
        booted(csms, n=2, timeout=15)
        assert len(dead.accepted) == 2  # NetworkProfileConnectionAttempts on slot 2, then slot 1
        assert dead.accepted[0] > csms.inbound("BootNotification")[0].t
    finally:
        dead.close()
    assert variables(csms, "OCPPCommCtrlr.ActiveNetworkProfile") == ["1"]


@pytest.mark.octt("TC_B_49_CS")
def test_TC_B_49_CS_fallback_after_attempts_per_priority_failed(csms, sims):
    """NetworkProfileConnectionAttempts 1, no back-off growth: after the reset the new slot
    (whose endpoint is not served) fails once, the other slot's first attempt is rejected too -
    every entry of NetworkConfigurationPriority has failed - and the station falls back to the
    profile it last connected with (B10.FR.07), one RetryBackOffWaitMinimum later each time,
    and boots there."""
    wait_min = 2
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Accepted")
    configure(csms, NetworkProfileConnectionAttempts=1, RetryBackOffRepeatTimes=0, RetryBackOffRandomRange=0,
              RetryBackOffWaitMinimum=wait_min)
    dead = RawWs(status=503)  # the endpoint that is not active: refuses every upgrade
    try:
        csms.csms.password = "no-station-has-this-1"  # the first fallback attempt is rejected (401)
        n = len(csms.connects)
        migrate(csms, 2, dead.url)
        wait_until(lambda: len(csms.connects) > n, 3 * wait_min + 5, "the first attempt on slot 1")
        csms.csms.password = None
        booted(csms, n=2, timeout=3 * wait_min + 10)
        attempts = sorted([(t, 2) for t in dead.accepted] + [(t, 1) for t, _, _ in csms.connects[n:]])
        assert [slot for _, slot in attempts] == [2, 1, 1], attempts  # fallback to the last profile
        assert [ok for _, _, ok in csms.connects[n:]] == [False, True]
        gaps = [b[0] - a[0] for a, b in zip(attempts, attempts[1:])]
        assert all(g >= wait_min - 0.2 for g in gaps), gaps  # RetryBackOffWaitMinimum, never doubled
        assert all(g < 2 * wait_min for g in gaps), gaps
    finally:
        dead.close()
    assert variables(csms, "OCPPCommCtrlr.ActiveNetworkProfile") == ["1"]


def test_B10_FR_10_boot_again_after_switching_profile_without_reboot(csms, sims, other):
    s = sims(csms.url, sets=FAST)
    s.wait_event(ev="boot", status="Accepted")
    assert set_profile(csms, 2, profile(other.url)) == {"status": "Accepted"}
    set_(csms, cv("OCPPCommCtrlr", "NetworkConfigurationPriority", attribute_value="2,1"))
    csms.close()  # CSMS 1 goes away: the station moves on to the first slot
    b = other.wait_call("BootNotification", timeout=10)
    assert b.payload["reason"] == "Unknown"  # registering again without a reboot
    s.wait_event(ev="boot", status="Accepted", n=2)


# --- A05 security profile upgrade --------------------------------------------------------------
@pytest.mark.octt("TC_A_19_CS")
def test_TC_A_19_CS_upgrade_to_security_profile_2(csms, sims, pki, tls, tmp_path):
    """From security profile 1 (a CSMS root installed with InstallCertificate) to 2: the new
    slot first, a reset, Booted over TLS, SecurityProfile 2 and the profile-1 slot gone; the
    station then never falls back to profile 1 and comes back once the TLS server does."""
    s = sims(csms.url, password=PASSWORD, sets=FAST)
    s.wait_event(ev="boot", status="Accepted")
    certificate_installed(csms, CSMS_ROOT, pki["ca"])  # Memory State CertificateInstalled
    migrate(csms, 2, wss(tls), sp=2)
    booted(tls, timeout=20)  # steps 7-10
    assert variables(tls, "SecurityCtrlr.SecurityProfile") == ["2"]  # step 12
    assert variables(tls, "OCPPCommCtrlr.NetworkConfigurationPriority") == ["2"]  # step 14: no profile-1 slot
    # steps 15-16: only a profile-1 server answers; the station does not go back to it
    port = tls.csms.port
    n_plain, n_log = len(csms.connects), len(s.log)
    abort(tls)
    tls.close()
    wait_until(lambda: sum("connection failed" in line for line in s.log[n_log:]) >= 2, 10,
               "two failed attempts on the TLS slot")
    assert len(csms.connects) == n_plain
    # steps 17-18: the profile-2 server is back, the station reconnects with profile 2
    back = CsmsThread(ssl=server_ssl(*pki["server"], tmp_path / "back"), password=PASSWORD, port=port)
    try:
        back.wait_connected("CS001", timeout=10)
        assert not back.violations
    finally:
        back.close()
    assert len(csms.connects) == n_plain


@pytest.mark.octt("TC_A_20_CS")
def test_TC_A_20_CS_upgrade_without_csms_root_rejected(csms, sims, tls):
    """Security profile 1 without any CSMS root: putting a profile-2 slot first in
    NetworkConfigurationPriority is Rejected (A05.FR.02); the station stays where it is."""
    s = sims(csms.url, password=PASSWORD, sets=FAST)
    s.wait_event(ev="boot", status="Accepted")
    assert not list(s.state.glob("csms_root_*"))
    configure(csms, NetworkConfigurationPriority="1")  # Before: only the active slot
    assert set_profile(csms, 2, profile(wss(tls), sp=2))["status"] in ("Accepted", "Rejected")
    assert set_priority(csms, "2,1") == ("Rejected", "NoCsmsRootCert")
    assert variables(csms, "OCPPCommCtrlr.NetworkConfigurationPriority", "SecurityCtrlr.SecurityProfile") == ["1", "1"]
    reset_on_idle(csms)
    booted(csms, n=2)  # still on profile 1
    assert not tls.connects


@pytest.mark.octt("TC_A_22_CS")
def test_TC_A_22_CS_downgrade_to_security_profile_1_rejected(sims, pki, tls, other):
    """Connected with security profile 2: a profile-1 NetworkConnectionProfile for the other
    endpoint is Rejected (B09.FR.04)."""
    s = sims(wss(tls), password=PASSWORD, ca=pki["ca_pem"])
    booted(tls, timeout=15)
    assert variables(tls, "SecurityCtrlr.SecurityProfile") == ["2"]
    assert set_profile(tls, 2, profile(other.url, sp=1)) == {"status": "Rejected",
                                                            "statusInfo": {"reasonCode": "NoSecurityDowngrade"}}
    assert not any("network profile 2 set" in line for line in s.seclog())


# --- A01 BasicAuthPassword ---------------------------------------------------------------------
@pytest.mark.octt("TC_A_09_CS")
def test_TC_A_09_CS_new_basic_auth_password_reconnects(sims, closing):
    c = closing(CsmsThread(password=PASSWORD))
    s = sims(c.url, password=PASSWORD, sets=FAST)
    booted(c)
    new = "a-brand-new-password-42"
    [r] = set_(c, cv("SecurityCtrlr", "BasicAuthPassword", attribute_value=new))
    assert r["attribute_status"] == "Accepted"
    c.csms.password = new  # the OCTT now accepts only the new one
    wait_until(lambda: len(c.connects) >= 2, 10, "reconnect with the new password")
    assert [x[1:] for x in c.connects] == [("CS001", True), ("CS001", True)]
    s.wait_event(ev="ws", state="connected", n=2)
    assert variables(c, "SecurityCtrlr.SecurityProfile") == ["1"]  # the new connection works
    # A01.FR.11/12: the change is in the security log, the password nowhere
    log = "\n".join(s.log + s.seclog())
    assert "BasicAuthPassword changed" in log and new not in log and PASSWORD not in log


@pytest.mark.octt("TC_A_10_CS")
def test_TC_A_10_CS_invalid_password_rejected_and_kept(sims, closing):
    """A password of less than 16 characters is Rejected; the station keeps connecting with the
    old one (after a power cycle: Booted)."""
    c = closing(CsmsThread(password=PASSWORD))
    s = sims(c.url, password=PASSWORD, sets=FAST)
    booted(c)
    [r] = set_(c, cv("SecurityCtrlr", "BasicAuthPassword", attribute_value="short-pass-0123"))
    assert r["attribute_status"] == "Rejected"
    time.sleep(QUIET_S)
    assert len(c.connects) == 1  # no reconnect for a rejected password
    s.send(op="reboot")  # the manual power cycle
    booted(c, n=2)
    assert [x[1:] for x in c.connects] == [("CS001", True), ("CS001", True)]  # the OLD password


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
