# runtime/certstore.py - the installed root certificates in flash, one DER file each, named by
# type: csms_root_N.der (CSMSRootCertificate: what wss:// trusts) and mf_root_N.der
# (ManufacturerRootCertificate: what firmware signing certificates must lead to). Files are
# written atomically (Store.write); the core (ocpp_lite/certificates/) checks what it installs.
# The station creates a CertStore when a block first needs one and lets it go, with this module,
# once the block is done (ocpp_lite/station.py): the count of changes lives in the Store.
from micropython import const

_PREFIX = const((("CSMSRootCertificate", "csms_root_"), ("ManufacturerRootCertificate", "mf_root_")))
CSMS = "CSMSRootCertificate"


class CertStore:
    def __init__(self, store):
        self.s = store

    def names(self, kind=None):
        """Files of the certificates of type kind (of every type if None), oldest first."""
        out = []
        for k, prefix in _PREFIX:
            if kind is None or kind == k:
                out += sorted(self.s.names(prefix), key=_number)
        return out

    @staticmethod
    def kind(name):
        for k, prefix in _PREFIX:
            if name.startswith(prefix):
                return k
        return None

    def read(self, name):
        return self.s.read(name)

    def ders(self, kind):
        """DER of the certificates of type kind (CSMS: what wss:// trusts)."""
        return [self.read(n) for n in self.names(kind)]

    def add(self, kind, der):
        """Store a certificate of type kind; its file name. Raises OSError (flash) or
        ValueError (a type without a prefix)."""
        prefix = [p for k, p in _PREFIX if k == kind]
        if not prefix:
            raise ValueError("no store for " + kind)
        n = max([_number(x) for x in self.s.names(prefix[0])] + [-1]) + 1
        name = "%s%d.der" % (prefix[0], n)
        self.s.write(name, der)
        self.s.certs += 1
        return name

    def remove(self, name):
        self.s.remove(name)
        self.s.certs += 1

    def replace(self, kind, ders):
        """Make ders (DER bytes) the only certificates of type kind (local provisioning)."""
        for n in self.names(kind):
            self.remove(n)
        for d in ders:
            self.add(kind, d)


def _number(name):
    digits = name[name.rfind("_") + 1 : name.find(".")]
    return int(digits) if digits.isdigit() else 0
