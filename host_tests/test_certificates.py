"""Certificate management (M03-M05) against the `ocpp` CSMS: InstallCertificate checks,
GetInstalledCertificateIds hash data cross-checked with `cryptography` (the OCSP CertID of
RFC 6960 is the same hash data), DeleteCertificate, the CertificateEntries bound, and that an
installed CSMSRootCertificate is what wss:// trusts. Also the X.509 and signature code of the
firmware against `cryptography` with fresh keys on every run.

The OCTT Core cases of block M are played as Part 6 describes them, with its reusable states
CertificateInstalled (InstallCertificateRequest, Accepted) and GetInstalledCertificates
(GetInstalledCertificateIdsRequest, Accepted, the hash data of the installed certificates)."""

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


def by_type(chain):
    return sorted(chain, key=lambda x: x[0])


def hash_data(cert, issuer=None):
    """certificateHashData as `cryptography` computes an OCSP CertID (SHA-256)."""
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer or cert, hashes.SHA256()).build()
    return {"hash_algorithm": "SHA256", "issuer_name_hash": req.issuer_name_hash.hex(),
            "issuer_key_hash": req.issuer_key_hash.hex(), "serial_number": "%x" % req.serial_number}


def delete(csms, hd):
    return csms.call("CS001", call.DeleteCertificate(certificate_hash_data=hd)).status


def certificate_installed(csms, kind, cert):
    """Reusable state CertificateInstalled."""
    assert install(csms, kind, pem(cert)) == ("Accepted", None)


def get_installed_certificates(csms, types, certs):
    """Reusable state GetInstalledCertificates: Accepted, and the chain holds the hash data of
    certs ([(type, certificate)]) as the OCTT computes it. Returns the chain."""
    status, chain = installed(csms, types)
    assert status == "Accepted", (status, chain)
    for kind, cert in certs:
        assert (kind, hash_data(cert)) in chain, (kind, chain)
    return chain


def entries(csms):
    r = csms.call("CS001", call.GetVariables(get_variable_data=[
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "CertificateEntries"}}]))
    return int(r.get_variable_result[0]["attribute_value"])


# --- M05 InstallCertificate: TC_M_01, M_02, M_07 ------------------------------------------
@pytest.mark.octt("TC_M_01_CS")
def test_TC_M_01_CS_install_csms_root_certificate(csms, sim):
    root, _ = make_cert("Csms root")
    certificate_installed(csms, CSMS_ROOT, root)
    assert get_installed_certificates(csms, [CSMS_ROOT], [(CSMS_ROOT, root)]) == [(CSMS_ROOT, hash_data(root))]


@pytest.mark.octt("TC_M_02_CS")
def test_TC_M_02_CS_install_manufacturer_root_certificate(csms, sim):
    root, _ = make_cert("Manufacturer root", kind="rsa")
    certificate_installed(csms, MF_ROOT, root)
    assert get_installed_certificates(csms, [MF_ROOT], [(MF_ROOT, root)]) == [(MF_ROOT, hash_data(root))]


def test_a_certificate_beside_a_long_custom_data_is_installed(csms, sim):
    """A long customData string next to the PEM: both kept as bytes, as views of the received
    buffer (engine/lift.py); the PEM is installed all the same and listed."""
    root, _ = make_cert("Csms root with custom data")
    custom = {"vendorId": "org.example", "note": "n" * 900}
    r = csms.raw_call("CS001", "cd1", "InstallCertificate",
                      {"certificateType": CSMS_ROOT, "certificate": pem(root), "customData": custom})
    assert r.kind == 3 and r.payload["status"] == "Accepted", r.msg
    get_installed_certificates(csms, [CSMS_ROOT], [(CSMS_ROOT, root)])


@pytest.mark.octt("TC_M_07_CS")
def test_TC_M_07_CS_expired_certificate_rejected(csms, sim):
    have, _ = make_cert("Csms root in use")  # GetInstalledCertificateIds must answer Accepted
    certificate_installed(csms, CSMS_ROOT, have)
    expired, _ = make_cert("Expired root", days=(-30, -1))
    status, reason = install(csms, CSMS_ROOT, pem(expired))
    assert status == "Rejected", (status, reason)
    chain = get_installed_certificates(csms, [CSMS_ROOT], [(CSMS_ROOT, have)])
    assert (CSMS_ROOT, hash_data(expired)) not in chain


def test_install_certificate_rejects_invalid(csms, sim):
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


def test_installed_certificates_listed_and_kept(csms, sim):
    ec_root, _ = make_cert("Csms root EC")
    rsa_root, _ = make_cert("Manufacturer root RSA", kind="rsa", serial=0x00FF)  # serial 255: no leading 0 in hex
    certificate_installed(csms, CSMS_ROOT, ec_root)
    certificate_installed(csms, MF_ROOT, rsa_root)
    want = {CSMS_ROOT: hash_data(ec_root), MF_ROOT: hash_data(rsa_root)}
    assert want[MF_ROOT]["serial_number"] == "ff"
    status, got = installed(csms)
    assert status == "Accepted" and by_type(got) == by_type(want.items())
    assert entries(csms) == 2
    assert sum(1 for line in sim.seclog() if "ReconfigurationOfSecurityParameters" in line) == 2
    sim.send(op="reboot")  # kept in flash
    sim.wait_event(ev="boot", status="Accepted", n=2)
    assert by_type(installed(csms)[1]) == by_type(want.items())


def test_certificate_entries_bound_and_replacement(csms, sim):
    roots = [make_cert("Root %d" % i)[0] for i in range(5)]
    for r in roots[:4]:
        assert install(csms, MF_ROOT, pem(r)) == ("Accepted", None)
    assert install(csms, MF_ROOT, pem(roots[4])) == ("Rejected", "TooManyCertificates")  # M05.FR.06
    assert install(csms, CSMS_ROOT, pem(roots[1])) == ("Accepted", None)  # M05.FR.17: replaced
    assert entries(csms) == 4
    got = installed(csms)[1]
    assert (CSMS_ROOT, hash_data(roots[1])) in got and (MF_ROOT, hash_data(roots[1])) not in got


# --- M03 GetInstalledCertificateIds: TC_M_12, M_13, M_17, M_18, M_19 -------------------------
@pytest.fixture
def two_roots(csms, sim):
    """Memory state: CertificateInstalled for CSMSRootCertificate and ManufacturerRootCertificate."""
    roots = {CSMS_ROOT: make_cert("Csms root")[0], MF_ROOT: make_cert("Manufacturer root", kind="rsa")[0]}
    for kind, cert in roots.items():
        certificate_installed(csms, kind, cert)
    return roots


@pytest.mark.octt("TC_M_12_CS")
def test_TC_M_12_CS_get_csms_root_certificates(csms, two_roots):
    chain = get_installed_certificates(csms, [CSMS_ROOT], [(CSMS_ROOT, two_roots[CSMS_ROOT])])
    assert chain == [(CSMS_ROOT, hash_data(two_roots[CSMS_ROOT]))]  # only the type asked for


@pytest.mark.octt("TC_M_13_CS")
def test_TC_M_13_CS_get_manufacturer_root_certificates(csms, two_roots):
    chain = get_installed_certificates(csms, [MF_ROOT], [(MF_ROOT, two_roots[MF_ROOT])])
    assert chain == [(MF_ROOT, hash_data(two_roots[MF_ROOT]))]


@pytest.mark.octt("TC_M_17_CS")
def test_TC_M_17_CS_get_csms_and_manufacturer_root_certificates(csms, two_roots):
    chain = get_installed_certificates(csms, [CSMS_ROOT, MF_ROOT], two_roots.items())
    assert len(chain) == 2


@pytest.mark.octt("TC_M_18_CS")
def test_TC_M_18_CS_get_all_certificate_types(csms, two_roots):
    r = csms.call("CS001", call.GetInstalledCertificateIds())  # certificateType omitted
    assert r.status == "Accepted"
    got = [(c["certificate_type"], c["certificate_hash_data"]) for c in r.certificate_hash_data_chain]
    assert by_type(got) == by_type((k, hash_data(c)) for k, c in two_roots.items())  # order does not matter


@pytest.mark.octt("TC_M_19_CS")
def test_TC_M_19_CS_get_certificates_none_found(csms, sim):
    certificate_installed(csms, CSMS_ROOT, make_cert("Csms root")[0])  # there are certificates, not this type
    r = csms.call("CS001", call.GetInstalledCertificateIds(certificate_type=["MORootCertificate"]))
    assert r.status == "NotFound" and r.certificate_hash_data_chain is None, r  # M03.FR.02


# --- M04 DeleteCertificate: TC_M_20, M_22, M_23 --------------------------------------------
@pytest.mark.octt("TC_M_20_CS")
def test_TC_M_20_CS_delete_certificate(csms, sim):
    if installed(csms, [CSMS_ROOT])[0] == "NotFound":  # none yet: CertificateInstalled first
        certificate_installed(csms, CSMS_ROOT, make_cert("Csms root")[0])
    chain = get_installed_certificates(csms, [CSMS_ROOT], [])
    hd = chain[0][1]  # as the station returned it
    assert delete(csms, hd) == "Accepted"  # M04.FR.02
    assert (CSMS_ROOT, hd) not in installed(csms, [CSMS_ROOT])[1]
    assert any("deleted" in line for line in sim.seclog())


@pytest.mark.octt("TC_M_22_CS")
def test_TC_M_22_CS_delete_certificate_not_found(csms, sim):
    root, _ = make_cert("Csms root")
    certificate_installed(csms, CSMS_ROOT, root)
    get_installed_certificates(csms, [CSMS_ROOT], [(CSMS_ROOT, root)])
    unknown, _ = make_cert("Never installed")
    assert delete(csms, hash_data(unknown)) == "NotFound"  # M04.FR.04
    assert installed(csms, [CSMS_ROOT]) == ("Accepted", [(CSMS_ROOT, hash_data(root))])


@pytest.mark.octt("TC_M_23_CS")
def test_TC_M_23_CS_charging_station_certificate_not_deleted(csms, sim):
    # The station has no ChargingStationCertificate (security profile 3, A02, is not
    # implemented): the OCTT's generated one, issued by the CSMS root, is not on the station,
    # and GetInstalledCertificateIds cannot report one (no such GetCertificateIdUse type).
    root, root_key = make_cert("Csms root")
    certificate_installed(csms, CSMS_ROOT, root)
    station_cert, _ = make_cert("CS001", issuer=root, issuer_key=root_key, ca=False)
    chain = get_installed_certificates(csms, None, [(CSMS_ROOT, root)])
    assert (CSMS_ROOT, hash_data(station_cert, root)) not in chain
    assert delete(csms, hash_data(station_cert, root)) in ("NotFound", "Failed")  # M04.FR.06
    assert installed(csms) == ("Accepted", chain)  # nothing was deleted


def test_delete_matches_hash_data_loosely(csms, sim):
    a, _ = make_cert("A", serial=0x1234AB)
    b, _ = make_cert("B", kind="rsa")
    certificate_installed(csms, MF_ROOT, a)
    certificate_installed(csms, CSMS_ROOT, b)
    hd = hash_data(a)
    upper = dict(hd, issuer_name_hash=hd["issuer_name_hash"].upper(), serial_number="00" + hd["serial_number"])
    assert delete(csms, upper) == "Accepted"  # hex without case, serial without leading zeros
    assert installed(csms) == ("Accepted", [(CSMS_ROOT, hash_data(b))])
    assert delete(csms, hd) == "NotFound"
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



def test_a_deleted_csms_root_is_no_longer_trusted_at_the_next_connection(csms, tls_csms, sims, pki):
    """The link keeps its ssl context from one connection to the next (runtime/link.py): it
    must make a new one once the CSMS roots change. Connected over wss:// trusting the test CA,
    another root is installed and the test CA deleted; after the network drops, the next
    connection refuses the server's certificate (an InvalidCsmsCertificate security event)
    instead of trusting the root that is gone. The back-off is 1 s flat: the default 10-20 s
    would race the wait below on a loaded machine."""
    s = sims(csms.url, sets={"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
                             "OCPPCommCtrlr.RetryBackOffRandomRange": 0})
    s.wait_event(ev="boot", status="Accepted")
    prof = {"ocpp_version": "OCPP20", "ocpp_transport": "JSON", "ocpp_csms_url": "wss://localhost:%d/ocpp"
            % tls_csms.csms.port, "message_timeout": 10, "security_profile": 2, "ocpp_interface": "Wired0"}
    assert csms.call("CS001", call.SetNetworkProfile(configuration_slot=2, connection_data=prof)).status == "Accepted"
    assert install(csms, CSMS_ROOT, pem(pki["ca"])) == ("Accepted", None)
    prio = [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "NetworkConfigurationPriority"},
             "attribute_value": "2"}]
    assert csms.call("CS001", call.SetVariables(set_variable_data=prio)).set_variable_result[0][
        "attribute_status"] == "Accepted"
    assert csms.call("CS001", call.Reset(type="Immediate")).status == "Accepted"
    s.wait_event(ev="boot", status="Accepted", n=2)
    tls_csms.wait_connected("CS001", timeout=20)
    other, _ = make_cert("Second CSMS root")
    r = tls_csms.call("CS001", call.InstallCertificate(certificate_type=CSMS_ROOT, certificate=pem(other)))
    assert r.status == "Accepted"
    r = tls_csms.call("CS001", call.DeleteCertificate(certificate_hash_data=hash_data(pki["ca"])))
    assert r.status == "Accepted"
    refused = "CSMS certificate refused"
    assert not [line for line in s.log if refused in line]
    s.send(op="net", up=False)
    s.send(op="net", up=True)
    wait_until(lambda: [line for line in s.log if refused in line], 20, "the server's certificate refused")
    assert sum(1 for c in tls_csms.csms.connects if c[1] == "CS001" and c[2]) == 1  # no other got through


# --- the firmware's X.509 and signature code against `cryptography` ------------------------
VERIFY = """
import sys, json, binascii, time
sys.path.insert(0, %r)
from ocpp_lite.crypto import x509, rsa
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
