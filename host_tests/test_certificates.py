"""Certificate management (M03-M05) against the `ocpp` CSMS: InstallCertificate checks,
GetInstalledCertificateIds hash data cross-checked with `cryptography` (the OCSP CertID of
RFC 6960 is the same hash data), DeleteCertificate, the CertificateEntries bound, and that an
installed CSMSRootCertificate is what wss:// trusts. Also the X.509 and signature code of the
firmware against `cryptography` with fresh keys on every run."""

import base64
import json
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509 import ocsp
from ocpp.v201 import call

from helpers import MICROPYTHON, ROOT, CsmsThread, make_cert, pem, server_ssl, wait_until

CSMS_ROOT = "CSMSRootCertificate"
MF_ROOT = "ManufacturerRootCertificate"


def install(csms, kind, text):
    r = csms.call("CS001", call.InstallCertificate(certificate_type=kind, certificate=text))
    return r.status, (r.status_info or {}).get("reason_code")


def installed(csms, types=None):
    r = csms.call("CS001", call.GetInstalledCertificateIds(certificate_type=types))
    return r.status, [(c["certificate_type"], c["certificate_hash_data"]) for c in r.certificate_hash_data_chain or []]


def hash_data(cert, issuer=None):
    """certificateHashData as `cryptography` computes an OCSP CertID (SHA-256)."""
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer or cert, hashes.SHA256()).build()
    return {"hash_algorithm": "SHA256", "issuer_name_hash": req.issuer_name_hash.hex(),
            "issuer_key_hash": req.issuer_key_hash.hex(), "serial_number": "%x" % req.serial_number}


def delete(csms, hd):
    return csms.call("CS001", call.DeleteCertificate(certificate_hash_data=hd)).status


def entries(csms):
    r = csms.call("CS001", call.GetVariables(get_variable_data=[
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "CertificateEntries"}}]))
    return int(r.get_variable_result[0]["attribute_value"])


def test_TC_M_01_02_12_13_17_18_19_CS_install_and_list(csms, sim):
    ec_root, _ = make_cert("Csms root EC")
    rsa_root, _ = make_cert("Manufacturer root RSA", kind="rsa", serial=0x00FF)  # serial 255: no leading 0 in hex
    assert install(csms, CSMS_ROOT, pem(ec_root)) == ("Accepted", None)
    assert install(csms, MF_ROOT, pem(rsa_root)) == ("Accepted", None)
    want = {CSMS_ROOT: hash_data(ec_root), MF_ROOT: hash_data(rsa_root)}
    assert want[MF_ROOT]["serial_number"] == "ff"
    status, got = installed(csms)  # TC_M_18: all types
    assert status == "Accepted" and sorted(got, key=lambda x: x[0]) == sorted(want.items())
    assert installed(csms, [CSMS_ROOT]) == ("Accepted", [(CSMS_ROOT, want[CSMS_ROOT])])  # TC_M_12
    assert installed(csms, [MF_ROOT]) == ("Accepted", [(MF_ROOT, want[MF_ROOT])])  # TC_M_13
    assert len(installed(csms, [CSMS_ROOT, MF_ROOT])[1]) == 2  # TC_M_17
    assert installed(csms, ["V2GRootCertificate", "V2GCertificateChain"]) == ("NotFound", [])  # TC_M_19
    assert entries(csms) == 2
    assert sum(1 for line in sim.seclog() if "ReconfigurationOfSecurityParameters" in line) == 2
    sim.send(op="reboot")  # kept in flash
    sim.wait_event(ev="boot", status="Accepted", n=2)
    assert sorted(installed(csms)[1], key=lambda x: x[0]) == sorted(want.items())


def test_TC_M_07_CS_invalid_certificates_rejected(csms, sim):
    root, root_key = make_cert("Root")
    leaf, _ = make_cert("Not a CA", issuer=root, issuer_key=root_key, ca=False)
    expired, _ = make_cert("Old root", days=(-30, -1))
    future, _ = make_cert("Future root", days=(1, 30))
    der = bytearray(root.public_bytes(serialization.Encoding.DER))
    der[-10] ^= 1  # the self-signature no longer matches
    tampered = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % base64.b64encode(der).decode()
    huge = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % base64.b64encode(
        b"\x30\x84\xff\xff\xff\xff" + bytes(100)).decode()
    cases = [
        (CSMS_ROOT, "garbage", "InvalidCertificate"),
        (CSMS_ROOT, huge, "InvalidCertificate"),
        (CSMS_ROOT, pem(root) + pem(root), "InvalidCertificate"),  # one certificate per request
        (CSMS_ROOT, pem(leaf), "NotCACertificate"),
        (MF_ROOT, pem(expired), "CertificateExpired"),
        (MF_ROOT, pem(future), "NotYetValid"),
        (CSMS_ROOT, tampered, "InvalidSignature"),
        ("V2GRootCertificate", pem(root), "UnsupportedType"),
        ("MORootCertificate", pem(root), "UnsupportedType"),
    ]
    for kind, text, reason in cases:
        assert install(csms, kind, text) == ("Rejected", reason), reason
    assert installed(csms) == ("NotFound", [])
    assert entries(csms) == 0
    assert not sim.crashed()


def test_certificate_entries_bound_and_replacement(csms, sim):
    roots = [make_cert("Root %d" % i)[0] for i in range(5)]
    for r in roots[:4]:
        assert install(csms, MF_ROOT, pem(r)) == ("Accepted", None)
    assert install(csms, MF_ROOT, pem(roots[4])) == ("Rejected", "TooManyCertificates")  # M05.FR.06
    assert install(csms, CSMS_ROOT, pem(roots[1])) == ("Accepted", None)  # M05.FR.17: replaced
    assert entries(csms) == 4
    got = installed(csms)[1]
    assert (CSMS_ROOT, hash_data(roots[1])) in got and (MF_ROOT, hash_data(roots[1])) not in got


def test_TC_M_20_22_CS_delete(csms, sim):
    a, _ = make_cert("A", serial=0x1234AB)
    b, _ = make_cert("B", kind="rsa")
    install(csms, MF_ROOT, pem(a))
    install(csms, CSMS_ROOT, pem(b))
    hd = hash_data(a)
    upper = dict(hd, issuer_name_hash=hd["issuer_name_hash"].upper(), serial_number="00" + hd["serial_number"])
    assert delete(csms, upper) == "Accepted"  # hex without case, serial without leading zeros
    assert installed(csms) == ("Accepted", [(CSMS_ROOT, hash_data(b))])
    assert delete(csms, hd) == "NotFound"  # TC_M_22
    assert delete(csms, dict(hash_data(b), hash_algorithm="SHA384")) == "NotFound"
    assert delete(csms, hash_data(b)) == "Accepted"  # profile 1: the last CSMS root may go
    assert entries(csms) == 0
    assert sum(1 for line in sim.seclog() if "deleted" in line) == 2


@pytest.fixture
def tls_csms(pki, tmp_path):
    c = CsmsThread(ssl=server_ssl(*pki["server"], tmp_path / "srv"))
    yield c
    c.close()
    assert not c.violations


def test_installed_csms_root_is_what_wss_trusts(csms, tls_csms, sims, pki):
    """A05 with an OCPP-installed root: the profile-2 slot cannot go first without a CSMS root
    (A05.FR.02); once InstallCertificate has put the test CA in, the station connects to the
    TLS CSMS trusting it; there the last CSMS root cannot be deleted (it secures the link)."""
    s = sims(csms.url)
    s.wait_event(ev="boot", status="Accepted")
    prof = {"ocpp_version": "OCPP20", "ocpp_transport": "JSON", "ocpp_csms_url": "wss://localhost:%d/ocpp"
            % tls_csms.csms.port, "message_timeout": 10, "security_profile": 2, "ocpp_interface": "Wired0"}
    assert csms.call("CS001", call.SetNetworkProfile(configuration_slot=2, connection_data=prof)).status == "Accepted"
    prio = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "NetworkConfigurationPriority"},
             "attribute_value": "2,1"}]
    r = csms.call("CS001", call.SetVariables(set_variable_data=prio)).set_variable_result[0]
    assert (r["attribute_status"], r["attribute_status_info"]["reason_code"]) == ("Rejected", "NoCsmsRootCert")
    assert install(csms, CSMS_ROOT, pem(pki["ca"])) == ("Accepted", None)
    assert csms.call("CS001", call.SetVariables(set_variable_data=prio)).set_variable_result[0][
        "attribute_status"] == "Accepted"
    assert csms.call("CS001", call.Reset(type="Immediate")).status == "Accepted"
    tls_csms.wait_connected("CS001", timeout=20)
    wait_until(lambda: tls_csms.inbound("BootNotification"), 10, "boot over TLS")
    s.wait_event(ev="boot", status="Accepted", n=2)
    only = hash_data(pki["ca"])
    assert tls_csms.call("CS001", call.DeleteCertificate(certificate_hash_data=only)).status == "Failed"
    other, _ = make_cert("Second CSMS root")
    r = tls_csms.call("CS001", call.InstallCertificate(certificate_type=CSMS_ROOT, certificate=pem(other)))
    assert r.status == "Accepted"
    assert tls_csms.call("CS001", call.DeleteCertificate(certificate_hash_data=hash_data(other))).status == "Accepted"


# --- the firmware's X.509 and signature code against `cryptography` ------------------------
VERIFY = """
import sys, json, binascii, time
sys.path.insert(0, %r)
from ocpp_lite import x509, rsa
out = []
for case in json.load(open(%r)):
    c = x509.parse(binascii.a2b_base64(case["cert"]))
    issuer = x509.parse(binascii.a2b_base64(case["issuer"]))
    dg = binascii.unhexlify(case["digest"])
    t = time.ticks_us()
    ok = c.verify(dg, binascii.unhexlify(case["sig"]), case["pss"])
    us = time.ticks_diff(time.ticks_us(), t)
    out.append([ok, c.signed_by(issuer), issuer.signed_by(issuer), c.hash_data(issuer), us])
print(json.dumps(out))
"""


def test_signatures_and_hash_data_against_cryptography(tmp_path):
    """Fresh keys every run: ECDSA P-256 and RSA-PSS (salt 32 and maximal) firmware signatures,
    RSA PKCS#1 v1.5 and ECDSA certificate signatures, each also with a wrong digest; hash data
    of a certificate issued by another. Prints the verification times of the unix port."""
    import hashlib

    cases, expect = [], []
    for kind, pss_salt in (("ec", None), ("rsa", 32), ("rsa", padding.PSS.MAX_LENGTH)):
        root, root_key = make_cert("Root " + kind, kind=kind)
        cert, key = make_cert("Signer " + kind, issuer=root, issuer_key=root_key, ca=False, kind=kind)
        data = b"firmware image %s" % kind.encode() * 100
        if kind == "ec":
            sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
        else:
            sig = key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=pss_salt), hashes.SHA256())
        der = lambda c: base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()  # noqa: E731
        for good in (True, False):
            digest = hashlib.sha256(data if good else data + b"x").digest()
            cases.append({"cert": der(cert), "issuer": der(root), "digest": digest.hex(), "sig": sig.hex(),
                          "pss": kind == "rsa"})
            h = hash_data(cert, root)
            expect.append([good, True, True, {"hashAlgorithm": "SHA256", "issuerNameHash": h["issuer_name_hash"],
                                               "issuerKeyHash": h["issuer_key_hash"],
                                               "serialNumber": h["serial_number"]}])
    vectors = tmp_path / "vectors.json"
    vectors.write_text(json.dumps(cases))
    p = subprocess.run([MICROPYTHON, "-c", VERIFY % (str(ROOT / "firmware"), str(vectors))],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert [g[:4] for g in got] == expect
    print("verification on the unix port (us): ecdsa %d, rsa-pss %d" % (got[0][4], got[2][4]))
