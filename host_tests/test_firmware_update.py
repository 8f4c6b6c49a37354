"""Secure firmware update (L01) against the `ocpp` CSMS and a local HTTP(S) file server: keys
and certificates made in the test with `cryptography`; the firmware is an application bundle
(a ROMFS image of the core profile built here with another version number) that the simulator
really runs after the reboot, or rolls back when it does not come up. The OCTT Core cases of
block L are played as Part 6 describes them: the UpdateFirmwareRequest dates are <Current
DateTime - 2 hours> unless the case schedules them ahead.

Cases that do not apply to this station: TC_L_13 (the station can download during a
transaction, PICS AQ-7: TC_L_15 applies instead) and TC_L_11 (the station cancels an update that
has not reached Installing with AcceptedCanceled, L01.FR.24, PICS C-60: TC_L_10 applies instead,
its flow is test_update_while_downloading_is_canceled)."""

import base64
import datetime
import shutil
import subprocess
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from ocpp.v201 import call

from helpers import ROOT, listener, make_cert, pem, server_ssl, wait_until
from tools import profiles
from tools.fileserver import FileServer

MF_ROOT = "ManufacturerRootCertificate"
NEW = "9.9.9-test"
BIN = ROOT / ".venv" / "bin"


def patched_firmware(src, version, broken=False):
    """A copy of firmware/ at src with __version__ = version (broken: its station module
    fails on import)."""
    shutil.copytree(ROOT / "firmware", src)
    init = src / "ocpp_lite" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "%s" or "' % version))
    if broken:
        with open(src / "ocpp_lite" / "station.py", "a") as f:
            f.write("\nraise ImportError('this bundle is broken')\n")


def build_bundle(out, version, broken=False):
    """The ROMFS image of the core profile with __version__ = version (broken: its station
    module fails on import)."""
    src = out / "src"
    patched_firmware(src, version, broken)
    present = [str(p.relative_to(src).with_suffix("")) for pkg in profiles.CLIENT for p in (src / pkg).rglob("*.py")]
    mods, _ = profiles.modules("core", present)
    stage = out / "stage"
    for m in mods:
        (stage / m).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(BIN / "mpy-cross"), "-O3", "-s", m + ".py", "-o", str(stage / (m + ".mpy")),
                        str(src / (m + ".py"))], check=True)
    image = out / "bundle.romfs"
    subprocess.run([str(BIN / "mpremote"), "romfs", "--no-mpy", "-o", str(image), "build", str(stage)],
                   check=True, capture_output=True)
    return image.read_bytes()


@pytest.fixture(scope="session")
def bundles(tmp_path_factory):
    return {"good": build_bundle(tmp_path_factory.mktemp("good"), NEW),
            "broken": build_bundle(tmp_path_factory.mktemp("broken"), "0.0.0-broken", broken=True)}


@pytest.fixture(scope="session")
def signers():
    """Manufacturer roots and signing certificates: EC and RSA, a second root, an expired
    signing certificate."""
    out = {}
    for kind in ("ec", "rsa"):
        root, root_key = make_cert("Manufacturer root " + kind, kind=kind)
        out[kind] = (root, make_cert("Firmware signer " + kind, issuer=root, issuer_key=root_key, ca=False, kind=kind))
        if kind == "ec":
            out["expired"] = (root, make_cert("Old signer", issuer=root, issuer_key=root_key, ca=False, days=(-9, -1)))
    other, other_key = make_cert("Somebody else's root")
    out["other"] = (other, make_cert("Foreign signer", issuer=other, issuer_key=other_key, ca=False))
    return out


def sign(data, key):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
    else:
        sig = key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    return base64.b64encode(sig).decode()


@pytest.fixture
def files(closing):
    return closing(FileServer())


@pytest.fixture
def station(csms, sims, signers):
    """A station with the EC and RSA manufacturer roots installed over OCPP."""
    def start(**kw):
        s = sims(csms.url, **kw)
        s.wait_event(ev="boot", status="Accepted")
        for kind in ("ec", "rsa"):
            r = csms.call("CS001", call.InstallCertificate(certificate_type=MF_ROOT, certificate=pem(signers[kind][0])))
            assert r.status == "Accepted"
        return s
    return start


def update(csms, url, signer=None, data=b"", rid=1, retrieve=None, install=None, **kw):
    fw = {"location": url, "retrieve_date_time": iso(retrieve or now() - datetime.timedelta(seconds=10))}
    if install:
        fw["install_date_time"] = iso(install)
    if signer:
        cert, key = signer
        fw["signing_certificate"] = pem(cert)
        fw["signature"] = sign(data, key)
    r = csms.call("CS001", call.UpdateFirmware(request_id=rid, firmware=fw, **kw))
    return r.status


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def statuses(csms, rid=None):
    return [f.payload["status"] for f in csms.inbound("FirmwareStatusNotification")
            if rid is None or f.payload.get("requestId") == rid]


def wait_status(csms, status, rid=1, timeout=20):
    return wait_until(lambda: status in statuses(csms, rid), timeout,
                      lambda: "FirmwareStatusNotification %s; got %r" % (status, statuses(csms, rid)))


def ago():
    """<Current DateTime - 2 hours>."""
    return now() - datetime.timedelta(hours=2)


def ahead(s):
    """(date-time s seconds ahead in whole seconds, as sent; the monotonic time it is reached)."""
    t = (now() + datetime.timedelta(seconds=s)).replace(microsecond=0)
    return t, time.monotonic() + (t - now()).total_seconds()


def fsn_frames(csms, status, rid=1):
    return [f for f in csms.inbound("FirmwareStatusNotification")
            if f.payload["status"] == status and f.payload.get("requestId") == rid]


def security(csms, kind):
    return [f.payload for f in csms.inbound("SecurityEventNotification") if f.payload["type"] == kind]


def versions(csms):
    return [f.payload["chargingStation"]["firmwareVersion"] for f in csms.inbound("BootNotification")]


def check_installed(csms, s, expect, rid=1, timeout=30):
    """The end of a successful update: the FirmwareStatusNotifications of rid are exactly
    expect (ending Installing, InstallRebooting, Installed); the station rebooted into the new
    bundle (BootNotification reason FirmwareUpdate) before it reported Installed (L01.FR.28), and
    sent SecurityEventNotification FirmwareUpdated (L01.FR.31)."""
    wait_status(csms, "Installed", rid, timeout)
    assert statuses(csms, rid) == expect
    boot = csms.inbound("BootNotification")[-1]
    assert boot.payload["reason"] == "FirmwareUpdate", boot.payload
    assert boot.payload["chargingStation"]["firmwareVersion"] == NEW
    assert fsn_frames(csms, "InstallRebooting", rid)[0].t < boot.t < fsn_frames(csms, "Installed", rid)[0].t
    wait_until(lambda: security(csms, "FirmwareUpdated"), 10, "SecurityEventNotification FirmwareUpdated")
    assert not (s.state / "app.try").exists()  # confirmed after the accepted boot


# --- TC_L_01 - L_03: successful updates --------------------------------------------------
@pytest.mark.octt("TC_L_01_CS")
@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_TC_L_01_CS_installation_successful(csms, station, files, signers, bundles, kind):
    s = station()
    assert versions(csms)[0] != NEW
    files.files["/fw.romfs"] = bundles["good"]
    assert update(csms, files.url("/fw.romfs"), signers[kind][1], bundles["good"], retrieve=ago(),
                  install=ago()) == "Accepted"
    check_installed(csms, s, ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting",
                              "Installed"])


def test_installed_bundle_kept_after_reboot_and_power_cut(csms, station, sims, files, signers, bundles):
    s = station()
    files.files["/fw.romfs"] = bundles["good"]
    assert update(csms, files.url("/fw.romfs"), signers["ec"][1], bundles["good"]) == "Accepted"
    wait_status(csms, "Installed", timeout=30)
    assert csms.call("CS001", call.TriggerMessage(requested_message="FirmwareStatusNotification")).status == "Accepted"
    wait_until(lambda: "Idle" in statuses(csms), 5, "Idle after Installed")  # L01.FR.25
    s.send(op="reboot")  # still the new bundle
    s.wait_event(ev="boot", status="Accepted", n=3)
    assert versions(csms)[-1] == NEW
    s.kill()  # and after a power cut
    s = sims(state=s.state)
    s.wait_event(ev="boot", status="Accepted")
    assert versions(csms)[-1] == NEW and csms.inbound("BootNotification")[-1].payload["reason"] == "PowerUp"


@pytest.mark.octt("TC_L_02_CS")
def test_TC_L_02_CS_install_scheduled(csms, station, files, signers, bundles):
    s = station()
    files.files["/fw.romfs"] = bundles["good"]
    install, reached = ahead(6)
    assert update(csms, files.url("/fw.romfs"), signers["ec"][1], bundles["good"], retrieve=ago(),
                  install=install) == "Accepted"
    wait_status(csms, "InstallScheduled")  # L01.FR.16: installDateTime is ahead
    assert statuses(csms) == ["Downloading", "Downloaded", "SignatureVerified", "InstallScheduled"]
    check_installed(csms, s, ["Downloading", "Downloaded", "SignatureVerified", "InstallScheduled", "Installing",
                              "InstallRebooting", "Installed"])
    assert fsn_frames(csms, "Installing")[0].t >= reached - 1  # not before installDateTime (1 s: clock)


@pytest.mark.octt("TC_L_03_CS")
def test_TC_L_03_CS_download_scheduled(csms, station, files, signers, bundles):
    s = station()
    files.files["/fw.romfs"] = bundles["good"]
    retrieve, reached = ahead(5)
    assert update(csms, files.url("/fw.romfs"), signers["ec"][1], bundles["good"], retrieve=retrieve,
                  install=ago()) == "Accepted"
    wait_status(csms, "DownloadScheduled")  # L01.FR.13: retrieveDateTime is ahead
    assert statuses(csms) == ["DownloadScheduled"] and not files.requests
    check_installed(csms, s, ["DownloadScheduled", "Downloading", "Downloaded", "SignatureVerified", "Installing",
                              "InstallRebooting", "Installed"])
    assert fsn_frames(csms, "Downloading")[0].t >= reached - 1  # not before retrieveDateTime (1 s: clock)
    assert files.requests == [("GET", "/fw.romfs")]


# --- TC_L_05, L_18: the request is refused ------------------------------------------------
@pytest.mark.octt("TC_L_05_CS")
@pytest.mark.parametrize("signer", ["other", "expired"])  # not trusted; a trusted chain, but expired
def test_TC_L_05_CS_invalid_signing_certificate(csms, station, files, signers, bundles, signer):
    station()
    files.files["/fw.romfs"] = bundles["good"]
    r = update(csms, files.url("/fw.romfs"), signers[signer][1], bundles["good"], retrieve=ago(), install=ago())
    assert r in ("InvalidCertificate", "RevokedCertificate"), r
    wait_until(lambda: security(csms, "InvalidFirmwareSigningCertificate"), 10,
               "SecurityEventNotification InvalidFirmwareSigningCertificate")  # L01.FR.02
    assert not files.requests and not statuses(csms)  # refused: nothing downloaded, no update going on


@pytest.mark.octt("TC_L_18_CS")
def test_TC_L_18_CS_missing_signing_certificate_and_signature(csms, station, files, bundles):
    station()
    files.files["/fw.romfs"] = bundles["good"]
    r = update(csms, files.url("/fw.romfs"), None, retrieve=ago(), install=ago())
    assert r in ("Rejected", "InvalidCertificate"), r
    assert csms.call("CS001", call.TriggerMessage(requested_message="FirmwareStatusNotification")).status == "Accepted"
    wait_until(lambda: statuses(csms) == ["Idle"], 5, "Idle: no update going on")  # F06.FR.16
    assert not files.requests


# --- TC_L_06 - L_08: the update fails ------------------------------------------------------
def tampered(bundles):
    data = bytearray(bundles["good"])
    data[len(data) // 2] ^= 1
    return bytes(data)


@pytest.mark.octt("TC_L_06_CS")
def test_TC_L_06_CS_invalid_signature(csms, station, files, signers, bundles):
    s = station()
    files.files["/fw.romfs"] = tampered(bundles)  # the signature is the good bundle's
    assert update(csms, files.url("/fw.romfs"), signers["ec"][1], bundles["good"], retrieve=ago(),
                  install=ago()) == "Accepted"
    wait_status(csms, "InvalidSignature")
    assert statuses(csms) == ["Downloading", "Downloaded", "InvalidSignature"]
    wait_until(lambda: security(csms, "InvalidFirmwareSignature"), 10,
               "SecurityEventNotification InvalidFirmwareSignature")  # L01.FR.03
    time.sleep(1)  # and it is never installed
    assert len(csms.inbound("BootNotification")) == 1 and not (s.state / "app.next").exists()
    assert statuses(csms) == ["Downloading", "Downloaded", "InvalidSignature"]


def test_last_status_repeated_on_trigger(csms, station, files, signers, bundles):
    station()
    files.files["/fw.romfs"] = tampered(bundles)
    assert update(csms, files.url("/fw.romfs"), signers["ec"][1], bundles["good"]) == "Accepted"
    wait_status(csms, "InvalidSignature")
    csms.call("CS001", call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    wait_until(lambda: statuses(csms).count("InvalidSignature") == 2, 5, "the last status again")  # L01.FR.26


@pytest.mark.octt("TC_L_07_CS")
def test_TC_L_07_CS_download_failed(csms, station, files, signers, bundles):
    # The OCTT sends no retries: the station's defaults apply (2 retries, 30 s apart).
    station()
    files.files["/fw.romfs"] = bundles["good"]
    url = files.url("/fw.romfs") + "_does_not_exist"
    assert update(csms, url, signers["ec"][1], bundles["good"], retrieve=ago(), install=ago()) == "Accepted"
    wait_status(csms, "DownloadFailed", timeout=120)
    assert statuses(csms) == ["Downloading", "DownloadFailed"]  # L01.FR.30 (Downloading: optional step)
    assert files.requests == [("GET", "/fw.romfs_does_not_exist")] * 3
    assert len(csms.inbound("BootNotification")) == 1


def test_download_failed_after_retries(csms, station, files, signers, bundles):
    station()
    t = time.monotonic()
    assert update(csms, files.url("/missing"), signers["ec"][1], b"x", retries=2, retry_interval=1) == "Accepted"
    wait_status(csms, "DownloadFailed")
    assert time.monotonic() - t >= 2
    assert statuses(csms) == ["Downloading", "DownloadFailed"]  # L01.FR.30
    assert files.requests == [("GET", "/missing")] * 3


def test_interrupted_download_is_retried(csms, station, files, signers, bundles):
    s = station()
    files.files["/fw.romfs"] = bundles["good"]
    files.faults["/fw.romfs"] = ["cut", "chunked"]  # the second attempt is complete (chunked coding)
    assert update(csms, files.url("/fw.romfs"), signers["rsa"][1], bundles["good"], retries=1,
                  retry_interval=1) == "Accepted"
    wait_status(csms, "Installed", timeout=30)
    assert files.requests == [("GET", "/fw.romfs")] * 2
    assert versions(csms)[-1] == NEW
    assert not s.crashed()


def test_download_larger_than_free_space(csms, station, files, signers, bundles):
    station(flash=len(bundles["good"]) // 2)
    files.files["/fw.romfs"] = bundles["good"]
    files.files["/nolength"] = bundles["good"]
    files.faults["/nolength"] = ["nolength"]
    assert update(csms, files.url("/fw.romfs"), signers["ec"][1], bundles["good"], retries=0) == "Accepted"
    wait_status(csms, "DownloadFailed")
    assert update(csms, files.url("/nolength"), signers["ec"][1], bundles["good"], rid=2, retries=0) == "Accepted"
    wait_status(csms, "DownloadFailed", 2)  # found out while writing


@pytest.mark.octt("TC_L_08_CS")
def test_TC_L_08_CS_install_verification_failed(csms, station, files, signers):
    station()
    data = b"not a ROMFS image" * 100  # signed by the trusted signer: only the installer can tell
    files.files["/fw.bin"] = data
    retrieve, _ = ahead(3)  # <Current DateTime + <Configured Download Offset Period>>
    assert update(csms, files.url("/fw.bin"), signers["ec"][1], data, retrieve=retrieve, install=ago()) == "Accepted"
    wait_status(csms, "InstallVerificationFailed", timeout=20)
    assert statuses(csms) == ["DownloadScheduled", "Downloading", "Downloaded", "SignatureVerified", "Installing",
                              "InstallVerificationFailed"]
    assert len(csms.inbound("BootNotification")) == 1  # the old firmware keeps running


def test_failed_bundle_is_rolled_back(csms, station, files, signers, bundles):
    """A bundle that fails at start-up is rolled back: to the code deployed first, and, after a
    good bundle was installed, to that bundle."""
    s = station()
    old = versions(csms)[0]
    files.files["/bad.romfs"] = bundles["broken"]
    files.files["/good.romfs"] = bundles["good"]
    for rid, expect in ((1, old), (3, NEW)):
        assert update(csms, files.url("/bad.romfs"), signers["ec"][1], bundles["broken"], rid=rid) == "Accepted"
        wait_status(csms, "InstallationFailed", rid, timeout=30)
        assert statuses(csms, rid)[-2:] == ["InstallRebooting", "InstallationFailed"]
        assert versions(csms)[-1] == expect  # the code it ran before
        if rid == 1:
            assert not (s.state / "app.run").exists()
            assert update(csms, files.url("/good.romfs"), signers["ec"][1], bundles["good"], rid=2) == "Accepted"
            wait_status(csms, "Installed", 2, timeout=30)
    assert (s.state / "app.run").read_bytes() == bundles["good"]
    assert len(security(csms, "FirmwareUpdated")) == 1
    assert sum("bundle on trial failed" in line for line in s.log) == 2
    s.log[:] = [line for line in s.log if "Traceback" not in line]  # the broken bundle's, expected



# --- TC_L_15: an update requested during a transaction -------------------------------------
@pytest.mark.octt("TC_L_15_CS")
def test_TC_L_15_CS_install_waits_for_transaction(csms, station, files, signers, bundles):
    # The station downloads during a transaction (AQ-7) and installs once it ended; no new
    # session may start meanwhile (AllowNewSessionsPendingFirmwareUpdate read-only false).
    # One EVSE: no other connector to set Unavailable while the transaction runs.
    from test_remote_control import charging_local  # (that module imports this one's fixtures)
    from test_transactions import wait_te
    from test_device_model import cv, get
    s = station()
    csms.wait_call("StatusNotification")  # Booted: Available
    # the case's prerequisite: AllowNewSessionsPendingFirmwareUpdate is implemented and false
    [v] = get(csms, cv("ChargingStation", "AllowNewSessionsPendingFirmwareUpdate"))
    assert (v["attribute_status"], v["attribute_value"]) == ("Accepted", "false"), v
    charging_local(csms, s)  # EnergyTransferStarted
    files.files["/fw.romfs"] = bundles["good"]
    assert update(csms, files.url("/fw.romfs"), signers["ec"][1], bundles["good"], retrieve=ago(),
                  install=ago()) == "Accepted"
    wait_status(csms, "InstallScheduled")  # L01.FR.34
    assert statuses(csms) == ["Downloading", "Downloaded", "SignatureVerified", "InstallScheduled"]
    time.sleep(1.5)  # the transaction holds the installation (the station looks every second)
    assert statuses(csms) == ["Downloading", "Downloaded", "SignatureVerified", "InstallScheduled"]
    assert not [f for f in csms.inbound("TransactionEvent") if f.payload["eventType"] == "Ended"]
    n = len(csms.inbound("StatusNotification"))
    s.send(op="unplug", evse=1)  # ParkingBayUnoccupied: the transaction ends
    wait_te(csms, "Ended")
    ended = [f for f in csms.inbound("TransactionEvent") if f.payload["eventType"] == "Ended"][0]
    sn = csms.wait_call("StatusNotification", n=n + 1).payload  # L01.FR.07: no new session
    assert sn["connectorStatus"] == "Unavailable", sn
    check_installed(csms, s, ["Downloading", "Downloaded", "SignatureVerified", "InstallScheduled", "Installing",
                              "InstallRebooting", "Installed"])
    assert fsn_frames(csms, "Installing")[0].t > ended.t
    wait_until(lambda: csms.inbound("StatusNotification")[-1].payload["connectorStatus"] == "Available", 5,
               "Available after the installation")


def test_https_download_and_cancel(csms, station, sims, files, signers, bundles, pki, closing, tmp_path):
    s = station(ca=pki["ca_pem"])
    secure = closing(FileServer(ssl=server_ssl(*pki["server"], tmp_path / "srv")))
    secure.files["/fw.romfs"] = bundles["good"]
    later = now() + datetime.timedelta(seconds=60)
    assert update(csms, secure.url("/fw.romfs", "localhost"), signers["ec"][1], bundles["good"],
                  retrieve=later) == "Accepted"
    wait_status(csms, "DownloadScheduled")
    r = update(csms, secure.url("/fw.romfs", "localhost"), signers["ec"][1], bundles["good"], rid=2)
    assert r == "AcceptedCanceled"  # L01.FR.24
    wait_status(csms, "Installed", 2, timeout=30)
    assert statuses(csms, 1) == ["DownloadScheduled"]
    assert versions(csms)[-1] == NEW


@pytest.mark.octt("TC_L_10_CS")
def test_TC_L_10_CS_update_while_downloading_is_canceled(csms, station, files, signers, bundles):
    """AcceptedCanceled (L01.FR.24): a second UpdateFirmwareRequest while the first is
    Downloading cancels it; the new one is downloaded, verified and installed."""
    s = station()
    hang, port = listener()  # accepts the first download's connection and never answers
    try:
        assert update(csms, "http://127.0.0.1:%d/fw.romfs" % port, signers["ec"][1], bundles["good"], rid=1,
                      retrieve=ago(), install=ago()) == "Accepted"
        wait_status(csms, "Downloading", 1)
        files.files["/fw.romfs"] = bundles["good"]
        assert update(csms, files.url("/fw.romfs"), signers["ec"][1], bundles["good"], rid=2, retrieve=ago(),
                      install=ago()) == "AcceptedCanceled"
        check_installed(csms, s, ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting",
                                  "Installed"], rid=2)
        assert statuses(csms, 1) == ["Downloading"]
    finally:
        hang.close()
