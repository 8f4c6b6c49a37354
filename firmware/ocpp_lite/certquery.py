# ocpp_lite/certquery.py - M03 GetInstalledCertificateIds and M04 DeleteCertificate over the
# certificates of certs.py (left out of the lite build). certificateHashData is SHA256 only;
# hashes compare without case, serial numbers also without leading zeros. The last CSMS root
# cannot be deleted while the station uses security profile 2: it secures the connection
# (with several roots the ssl module cannot say which one verified the server).
from . import certs, schema, secevents
from .schema import LIST, REQ

_TYPES = ("V2GRootCertificate", "MORootCertificate", certs.CSMS, "V2GCertificateChain", certs.MANUFACTURER)
_LIST_REQ = (("certificateType", _TYPES, LIST, 1, 0),)
_DELETE_REQ = (("certificateHashData", certs.HASH_DATA, REQ),)


def GetInstalledCertificateIds(st, p, now):
    schema.check(p, _LIST_REQ)
    want = p.get("certificateType")
    have = certs.installed(st)
    chain = [{"certificateType": k, "certificateHashData": certs.hash_data(c, have)}
             for _, k, c in have if want is None or k in want]
    if not chain:
        return {"status": "NotFound"}  # M03.FR.02
    return {"status": "Accepted", "certificateHashDataChain": chain}


def _same(a, b):
    return (a["hashAlgorithm"] == b["hashAlgorithm"]
            and a["issuerNameHash"].lower() == b["issuerNameHash"].lower()
            and a["issuerKeyHash"].lower() == b["issuerKeyHash"].lower()
            and (a["serialNumber"].lower().lstrip("0") or "0") == (b["serialNumber"].lower().lstrip("0") or "0"))


def DeleteCertificate(st, p, now):
    schema.check(p, _DELETE_REQ)
    want = p["certificateHashData"]
    have = certs.installed(st)
    for name, kind, c in have:
        if not _same(certs.hash_data(c, have), want):
            continue
        if kind == certs.CSMS and st.net["sp"] > 1 and len([1 for x in have if x[1] == kind]) == 1:
            return {"status": "Failed", "statusInfo": {"reasonCode": "InUse"}}
        try:
            st.certstore.remove(name)
        except OSError:
            return {"status": "Failed"}
        st.certs = len(have) - 1
        secevents.record(st, "ReconfigurationOfSecurityParameters", "%s deleted" % kind, now)
        return {"status": "Accepted"}
    return {"status": "NotFound"}  # M04.FR.04
