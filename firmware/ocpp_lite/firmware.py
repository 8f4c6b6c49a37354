# ocpp_lite/firmware.py - L Firmware management: L01 secure firmware update, the core's side. UpdateFirmware checks
# the request and the signing certificate (its chain must lead to an installed
# ManufacturerRootCertificate), keeps the job in the "fw" document, which survives the reboot
# of the installation, and every new state goes to the CSMS in a FirmwareStatusNotification
# with the requestId. The runtime (runtime/fwupdate.py) waits, downloads, installs and
# reboots; it calls retrieve_wait, verifying (a stepper: the signature check in steps, with
# the loop given back in between), install_wait, report and booted.
#   job: {"id": requestId, "url", "get": retrieve time, "put": install time or None (seconds
#         since 2000), "tries": download attempts, "wait": s between them (as the CSMS sent
#         it, any size: the runtime waits it in steps of a day, clock.MAX_WAIT_S), "cert": signing
#         certificate PEM, "sig": signature (base64), "status": the last status sent, "done":
#         that status ends the update}
import binascii
from micropython import const
from .crypto import pem, x509
from .engine import clock, schema

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_INT = const(-1)
_REQ = const(1)
_TIME = const(-4)

_FIRMWARE = const((("location", 512, _REQ), ("retrieveDateTime", _TIME, _REQ), ("installDateTime", _TIME, 0),
                   ("signingCertificate", 5500, 0), ("signature", 800, 0)))
_REQUEST = const((("retries", _INT, 0), ("retryInterval", _INT, 0), ("requestId", _INT, _REQ), ("firmware", _FIRMWARE, _REQ)))
_RETRIES = const(2)  # when the CSMS gives none
_INTERVAL = const(30)
_POLL_MS = const(1000)  # how often the end of transactions is checked before installing
_MAX_WAIT_MS = const(60000)  # waits are cut in pieces: the clock may be set meanwhile (and
# a date-time years ahead stays far below the 2^29 ms that ticks_add takes on 32-bit boards)
_CHAIN = const(3)  # signing certificate and intermediates
_MANUFACTURER = const("ManufacturerRootCertificate")

# The firmware job state table (L01, FirmwareStatusEnumType, Part 2 figure "Secure firmware
# update"): what each status the job enters means for it. The runtime (runtime/fwupdate.py)
# moves the job on: DownloadScheduled while retrieveDateTime is ahead, Downloading, Downloaded,
# SignatureVerified or InvalidSignature, InstallScheduled while installDateTime is ahead or
# transactions run, Installing, InstallRebooting, and after the reboot Installed or
# InstallationFailed.
#   ends: the job is over (nothing left for the runtime after a reboot; a new job is Accepted);
#   late: too late to cancel: a new UpdateFirmware is Rejected (L01.FR.27);
#   hold: new transactions are held back (True, L01.FR.07), let again (False), or as before (None).
FIRMWARE_TABLE = const((
    # status                    ends   late   hold
    ("DownloadScheduled", False, False, None),
    ("Downloading", False, False, None),
    ("Downloaded", False, False, None),
    ("SignatureVerified", False, False, None),
    ("InstallScheduled", False, False, None),
    ("Installing", False, True, True),
    ("InstallRebooting", False, True, None),
    ("Installed", True, False, False),
    ("DownloadFailed", True, False, False),
    ("InvalidSignature", True, False, False),
    ("InstallVerificationFailed", True, False, False),
    ("InstallationFailed", True, False, False),
))


def entered(status):
    """(ends, late, hold) of status (FIRMWARE_TABLE); None (no status yet): (False, False, None)."""
    for s, ends, late, hold in FIRMWARE_TABLE:
        if s == status:
            return ends, late, hold
    return False, False, None


def ended(status):
    return entered(status)[0]


def late(status):
    return entered(status)[1]


class Firmware:
    def __init__(self, st, job):
        self.st = st
        self.job = job  # the update job (above), kept over reboots in the "fw" document, or None
        self.holding = False  # a firmware installation waits for transactions to end (L01.FR.07)

    def busy(self):
        """An update is going on, or holds new transactions back."""
        return self.holding or (self.job is not None and not self.job.get("done"))

    def _chain(self, text, now):
        """(stepper, crypto.run) Why the signing certificate (PEM, maybe with intermediates) is
        not acceptable, or None."""
        st = self.st
        try:
            chain = [x509.parse(d) for d in pem.to_der(text)]
        except ValueError as e:
            return "unreadable: %s" % e
        s = st.time(now)
        if len(chain) > _CHAIN:
            return "chain too long"
        for i in range(len(chain)):
            if not chain[i].valid_at(s):
                return "certificate %d expired or not yet valid" % i
            if i and not (chain[i].signs_certs() and (yield from chain[i - 1].signing(chain[i]))):
                return "certificate %d does not sign certificate %d" % (i, i - 1)
        if chain[0].key_alg is None:
            return "unsupported key"
        for _, _, root in st.certificates.installed(_MANUFACTURER):
            if root.valid_at(s) and (yield from chain[-1].signing(root)):
                return None
        return "no installed ManufacturerRootCertificate signed it"

    def UpdateFirmware(self, p, now):
        st = self.st
        schema.check(p, _REQUEST)
        fw = p["firmware"]
        old = self.job if self.job and not self.job.get("done") else None  # an update going on
        if old and late(old["status"]):
            return st.rejected("InstallInProgress")
        if "signingCertificate" not in fw or "signature" not in fw:
            return st.rejected("MissingSignature")  # TC_L_18
        why = yield from self._chain(fw["signingCertificate"], now)  # in steps: session.py answers at the end
        if why:  # L01.FR.21/22, L01.FR.02
            st.security.record("InvalidFirmwareSigningCertificate", why, now, True)
            return {"status": "InvalidCertificate"}
        cert = fw["signingCertificate"]
        if type(cert) is not str:  # the received buffer (engine/lift.py): kept as JSON, a str
            cert = str(cert, "utf-8")
        install = fw.get("installDateTime")
        job = {"id": p["requestId"], "url": fw["location"], "get": clock.parse(fw["retrieveDateTime"]),
               "put": clock.parse(install) if install else None,
               "tries": max(p.get("retries", _RETRIES), 0) + 1, "wait": max(p.get("retryInterval", _INTERVAL), 0),
               "cert": cert, "sig": fw["signature"], "status": None}
        try:
            st.save("fw", job)
        except OSError:
            return st.rejected("StorageFailed")
        self.job = job
        self._hold(False, now)
        st.effect(("firmware",))
        return {"status": "AcceptedCanceled" if old else "Accepted"}  # L01.FR.24

    def report(self, status, now):
        """The update entered status: keep it and tell the CSMS (L01.FR.01, L01.FR.10)."""
        st = self.st
        job = self.job
        job["status"] = status
        ends, _, hold = entered(status)
        job["done"] = ends  # nothing left for the runtime after a reboot
        try:
            st.save("fw", job)
        except OSError as e:
            st.log("firmware status not saved: %r" % e)
        st.rpc.call("FirmwareStatusNotification", {"status": status, "requestId": job["id"]})
        if hold is not None:
            self._hold(hold, now)

    def _hold(self, on, now):
        """Keep new transactions from starting (L01.FR.07) or let them again."""
        if self.holding != on:
            self.holding = on
            self.st.transactions.refresh(now)

    def _until(self, s, status, now):
        """ms until time s (seconds since 2000), reporting status once while it is ahead."""
        ms = (s - self.st.time(now)) * 1000 if s is not None else 0
        if ms > 0 and self.job["status"] != status:
            self.report(status, now)
        return min(ms, _MAX_WAIT_MS)

    def retrieve_wait(self, now):
        """ms until the download may start (DownloadScheduled while ahead, L01.FR.13)."""
        return self._until(self.job["get"], "DownloadScheduled", now)

    def install_wait(self, now):
        """ms until the installation may start: after installDateTime (InstallScheduled,
        L01.FR.16) and once no transaction runs (L01.FR.06/07: no new ones meanwhile)."""
        ms = self._until(self.job["put"], "InstallScheduled", now)
        if ms > 0:
            return ms
        if self.st.transactions.running():
            self._hold(True, now)
            if self.job["status"] != "InstallScheduled":
                self.report("InstallScheduled", now)  # L01.FR.34
            return _POLL_MS
        return 0

    def verifying(self, digest, now):
        """The download is complete (SHA-256 digest): check its signature with the signing
        certificate, whose chain is checked again (L01.FR.04/12). A stepper: send it
        ticks_ms() at each step (next() keeps the time it has); it returns True when the
        signature is good."""
        job = self.job
        self.report("Downloaded", now)
        ok = False
        if not (yield from self._chain(job["cert"], now)):
            try:
                cert = x509.parse(pem.to_der(job["cert"])[0])
                ok = yield from cert.verifying(digest, binascii.a2b_base64(job["sig"]), True)
            except ValueError:
                pass
        now = (yield) or now  # the time at the end of the check
        if not ok:  # L01.FR.03
            self.st.security.record("InvalidFirmwareSignature", "request %d" % job["id"], now, True)
        self.report("SignatureVerified" if ok else "InvalidSignature", now)
        return ok

    def booted(self, ok, now):
        """Started again after InstallRebooting: ok when the new firmware runs (L01.FR.28/31)."""
        self.report("Installed" if ok else "InstallationFailed", now)
        if ok:
            self.st.security.record("FirmwareUpdated", "request %d" % self.job["id"], now)

    def trigger(self, flags):
        """The FirmwareStatusNotification of a TriggerMessage: Idle when no update is going on or
        the last one was Installed, else the last status (F06.FR.16, L01.FR.25/26)."""
        status = self.job.get("status") if self.job else None
        p = {"status": "Idle"}
        if status is not None and status != "Installed":
            p = {"status": status, "requestId": self.job["id"]}
        self.st.rpc.call("FirmwareStatusNotification", p, None, flags)
