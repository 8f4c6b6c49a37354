# ocpp_lite/certificates - M Certificate management. Here, in every build: M05
# InstallCertificate of CSMS and manufacturer root certificates (PEM), checked (one X.509
# certificate, a CA, valid at the station's time, self-signature verified), at most
# SecurityCtrlr.CertificateEntries in all; and the installed ones for the other blocks (the
# manufacturer roots, L01). query.py: M03/M04 GetInstalledCertificateIds and DeleteCertificate
# by certificateHashData (left out of the lite build).
# The DER files are kept by the station's certificate store (st.certstore: runtime/certstore.py,
# given by the runtime; None without a file system), the one record of what is installed.
# Every use of this service reads certificates: the crypto package is imported with it, so the
# station lets go of it with the service (Station.release).
from micropython import const
from ..crypto import pem, run, x509
from ..engine import schema
from ..provisioning import devmodel

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_REQ = const(1)

CSMS = const("CSMSRootCertificate")
MANUFACTURER = const("ManufacturerRootCertificate")
_ENTRIES = const("SecurityCtrlr.CertificateEntries")
_INSTALL = const((
    ("certificateType", ("V2GRootCertificate", "MORootCertificate", CSMS, MANUFACTURER), _REQ),
    ("certificate", 5500, _REQ),
))


def problem(cert, s):
    """Why cert cannot be a trusted root at time s (seconds since 2000), or None."""
    return run(checking(cert, s))


def checking(cert, s):
    """problem() as a stepper (crypto.run): the self-signature is checked in steps."""
    if not cert.signs_certs():
        return "NotCACertificate"
    if s < cert.not_before:
        return "NotYetValid"
    if s > cert.not_after:
        return "CertificateExpired"
    if cert.self_issued() and not (yield from cert.signing(cert)):
        return "InvalidSignature" if cert.key_alg else "UnsupportedAlgorithm"
    return None


class Certificates:
    def __init__(self, st):
        self.st = st
        self.store = st.certstore

    def installed(self, kind=None):
        """[(file name, type, Cert)] of the installed certificates of type kind (all if None);
        unreadable files are logged and left out."""
        out = []
        cs = self.store
        for name in cs.names(kind) if cs else ():
            try:
                out.append((name, cs.kind(name), x509.parse(cs.read(name))))
            except (ValueError, TypeError):
                self.st.log("certificate %s unreadable" % name)
        return out

    def InstallCertificate(self, p, now):
        schema.check(p, _INSTALL)
        st = self.st
        kind = p["certificateType"]
        if kind != CSMS and kind != MANUFACTURER:
            return st.rejected("UnsupportedType")  # no ISO 15118 on this station
        try:
            ders = pem.to_der(p["certificate"])
            if len(ders) != 1:
                raise ValueError("one certificate expected")
            cert = x509.parse(ders[0])
        except ValueError as e:
            st.log("InstallCertificate: %s" % e)
            return st.rejected("InvalidCertificate")
        why = yield from checking(cert, st.time(now))  # in steps: session.py answers at the end
        if why:
            return st.rejected(why)
        have = self.installed()
        mine = (cert.part(cert.issuer), cert.serial)
        same = [name for name, _, c in have if (c.part(c.issuer), c.serial) == mine]  # M05.FR.17
        if not same and len(have) >= devmodel.row(_ENTRIES)[6]:
            return st.rejected("TooManyCertificates")  # M05.FR.06
        if self.store is None:
            return {"status": "Failed"}
        try:
            self.store.add(kind, ders[0])
            for name in same:
                self.store.remove(name)
        except OSError:
            return {"status": "Failed"}
        st.security.record("ReconfigurationOfSecurityParameters", "%s installed" % kind, now)
        return {"status": "Accepted"}
