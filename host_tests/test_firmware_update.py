"""Secure firmware update (L01) against the `ocpp` CSMS and a local HTTP(S) file server: keys
and certificates made in the test with `cryptography`; the firmware is an application bundle
(a ROMFS image of the core profile built here with another version number) that the simulator
really runs after the reboot, or rolls back when it does not come up."""

import base64
import datetime
import shutil
import subprocess
import sys
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from ocpp.v201 import call

from helpers import ROOT, make_cert, pem, server_ssl, wait_until

sys.path.insert(0, str(ROOT / "tools"))
import profiles  # noqa: E402
from fileserver import FileServer  # noqa: E402

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


def security(csms, kind):
    return [f.payload for f in csms.inbound("SecurityEventNotification") if f.payload["type"] == kind]


def versions(csms):
    return [f.payload["chargingStation"]["firmwareVersion"] for f in csms.inbound("BootNotification")]


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_TC_L_01_CS_bundle_installed_and_run(csms, station, sims, files, signers, bundles, kind):
    s = station()
    old = versions(csms)[0]
    files.files["/fw.romfs"] = bundles["good"]
    assert update(csms, files.url("/fw.romfs"), signers[kind][1], bundles["good"]) == "Accepted"
    wait_status(csms, "Installed", timeout=30)
    assert statuses(csms) == ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting",
                              "Installed"]
    boot = csms.inbound("BootNotification")[-1].payload
    assert boot["reason"] == "FirmwareUpdate" and boot["chargingStation"]["firmwareVersion"] == NEW
    assert old != NEW
    wait_until(lambda: security(csms, "FirmwareUpdated"), 10, "FirmwareUpdated")  # L01.FR.31
    assert not (s.state / "app.try").exists()  # confirmed after the accepted boot
    assert csms.call("CS001", call.TriggerMessage(requested_message="FirmwareStatusNotification")).status == "Accepted"
    wait_until(lambda: "Idle" in statuses(csms), 5, "Idle after Installed")  # L01.FR.25
    s.send(op="reboot")  # still the new bundle
    s.wait_event(ev="boot", status="Accepted", n=3)
    assert versions(csms)[-1] == NEW
    s.kill()  # and after a power cut
    s = sims(state=s.state)
    s.wait_event(ev="boot", status="Accepted")
    assert versions(csms)[-1] == NEW and csms.inbound("BootNotification")[-1].payload["reason"] == "PowerUp"


def test_TC_L_06_CS_tampered_file_is_never_installed(csms, station, files, signers, bundles):
    s = station()
    tampered = bytearray(bundles["good"])
    tampered[len(tampered) // 2] ^= 1
    files.files["/fw.romfs"] = bytes(tampered)
    assert update(csms, files.url("/fw.romfs"), signers["ec"][1], bundles["good"]) == "Accepted"
    wait_status(csms, "InvalidSignature")
    assert statuses(csms) == ["Downloading", "Downloaded", "InvalidSignature"]
    wait_until(lambda: security(csms, "InvalidFirmwareSignature"), 10, "InvalidFirmwareSignature sent")  # L01.FR.03
    time.sleep(1)
    assert len(csms.inbound("BootNotification")) == 1 and not (s.state / "app.next").exists()
    csms.call("CS001", call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    wait_until(lambda: statuses(csms).count("InvalidSignature") == 2, 5, "the last status again")  # L01.FR.26


def test_TC_L_05_18_CS_signing_certificate_checked_before_accepting(csms, station, files, signers, bundles):
    station()
    csms.call("CS001", call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    wait_until(lambda: [f.payload for f in csms.inbound("FirmwareStatusNotification")] == [{"status": "Idle"}], 5,
               "Idle")  # F06.FR.16: nothing going on
    files.files["/fw.romfs"] = bundles["good"]
    url = files.url("/fw.romfs")
    assert update(csms, url, signers["other"][1], bundles["good"]) == "InvalidCertificate"  # wrong signer
    assert update(csms, url, signers["expired"][1], bundles["good"], rid=2) == "InvalidCertificate"
    assert update(csms, url, None, rid=3) == "Rejected"  # TC_L_18: no certificate, no signature
    wait_until(lambda: len(security(csms, "InvalidFirmwareSigningCertificate")) == 2, 10, "events sent")  # L01.FR.02
    time.sleep(0.5)
    assert not files.requests and statuses(csms) == ["Idle"]


def test_TC_L_07_CS_download_failed_after_retries(csms, station, files, signers, bundles):
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


def test_TC_L_08_CS_install_verification_failed(csms, station, files, signers):
    station()
    data = b"not a ROMFS image" * 100
    files.files["/fw.bin"] = data
    assert update(csms, files.url("/fw.bin"), signers["ec"][1], data) == "Accepted"
    wait_status(csms, "InstallVerificationFailed")
    assert statuses(csms) == ["Downloading", "Downloaded", "SignatureVerified", "Installing",
                              "InstallVerificationFailed"]


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


def test_TC_L_02_03_15_CS_scheduled_download_install_and_transaction(csms, station, files, signers, bundles):
    s = station()
    files.files["/fw.romfs"] = bundles["good"]
    s.send(op="plug", evse=1)
    s.send(op="tap", idToken="AA11BB22")
    s.wait_event(ev="relay", evse=1, closed=True)
    t = now()
    assert update(csms, files.url("/fw.romfs"), signers["ec"][1], bundles["good"],
                  retrieve=t + datetime.timedelta(seconds=3), install=t + datetime.timedelta(seconds=5)) == "Accepted"
    wait_status(csms, "InstallScheduled", timeout=15)  # TC_L_02: installDateTime ahead
    assert statuses(csms)[:5] == ["DownloadScheduled", "Downloading", "Downloaded",  # TC_L_03
                                  "SignatureVerified", "InstallScheduled"]
    time.sleep(4)  # installDateTime passes; the transaction holds the installation (L01.FR.06)
    assert "Installing" not in statuses(csms)
    s.send(op="unplug", evse=1)
    s.wait_event(ev="status", evse=1, status="Unavailable")  # L01.FR.07: no new session meanwhile
    wait_status(csms, "Installed", timeout=30)
    wait_until(lambda: csms.inbound("StatusNotification")[-1].payload["connectorStatus"] == "Available", 5,
               "Available after the installation")
    assert [f.payload["eventType"] for f in csms.inbound("TransactionEvent")][-1] == "Ended"


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
