# ocpp_lite/certificates/query.py - M03 GetInstalledCertificateIds and M04 DeleteCertificate
# over the installed certificates (certificates/__init__.py; left out of the lite build). certificateHashData is SHA256 only;
# hashes compare without case, serial numbers also without leading zeros. The last CSMS root
# cannot be deleted while the station uses security profile 2: it secures the connection
# (with several roots the ssl module cannot say which one verified the server).
from micropython import const
from ..engine import schema
from .. import certificates as certs

# schema.py's flags, as constants here (folded by the compiler)
_REQ = const(1)
_LIST = const(2)

_TYPES = ("V2GRootCertificate", "MORootCertificate", certs.CSMS, "V2GCertificateChain", certs.MANUFACTURER)
_LIST_REQ = (("certificateType", _TYPES, _LIST, 1, 0),)
_HASH_DATA = const((("hashAlgorithm", ("SHA256", "SHA384", "SHA512"), _REQ), ("issuerNameHash", 128, _REQ),
                    ("issuerKeyHash", 128, _REQ), ("serialNumber", 40, _REQ)))
_DELETE_REQ = const((("certificateHashData", _HASH_DATA, _REQ),))


def hash_data(cert, have):
    """certificateHashData of cert: its issuer is itself when self-issued, else the installed
    certificate with the issuer's name (else itself: the issuer is not on the station)."""
    issuer = cert
    if not cert.self_issued():
        for _, _, c in have:
            if c.part(c.subject) == cert.part(cert.issuer):
                issuer = c
                break
    return cert.hash_data(issuer)


def _same(a, b):
    return (a["hashAlgorithm"] == b["hashAlgorithm"]
            and a["issuerNameHash"].lower() == b["issuerNameHash"].lower()
            and a["issuerKeyHash"].lower() == b["issuerKeyHash"].lower()
            and (a["serialNumber"].lower().lstrip("0") or "0") == (b["serialNumber"].lower().lstrip("0") or "0"))


class CertQuery:
    def __init__(self, st):
        self.st = st

    def GetInstalledCertificateIds(self, p, now):
        schema.check(p, _LIST_REQ)
        want = p.get("certificateType")
        have = self.st.certificates.installed()
        chain = [{"certificateType": k, "certificateHashData": hash_data(c, have)}
                 for _, k, c in have if want is None or k in want]
        if not chain:
            return {"status": "NotFound"}  # M03.FR.02
        return {"status": "Accepted", "certificateHashDataChain": chain}


    def DeleteCertificate(self, p, now):
        schema.check(p, _DELETE_REQ)
        st = self.st
        certificates = st.certificates
        want = p["certificateHashData"]
        have = certificates.installed()
        for name, kind, c in have:
            if not _same(hash_data(c, have), want):
                continue
            if kind == certs.CSMS and st.network.doc["sp"] > 1 and len([1 for x in have if x[1] == kind]) == 1:
                return {"status": "Failed", "statusInfo": {"reasonCode": "InUse"}}
            try:
                certificates.store.remove(name)
            except OSError:
                return {"status": "Failed"}
            st.security.record("ReconfigurationOfSecurityParameters", "%s deleted" % kind, now)
            return {"status": "Accepted"}
        return {"status": "NotFound"}  # M04.FR.04
