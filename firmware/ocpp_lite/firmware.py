# ocpp_lite/firmware.py - L01 secure firmware update, the core's side. UpdateFirmware checks
# the request and the signing certificate (its chain must lead to an installed
# ManufacturerRootCertificate), keeps the job in the "fw" document, which survives the reboot
# of the installation, and every new state goes to the CSMS in a FirmwareStatusNotification
# with the requestId. The runtime (runtime/fwupdate.py) waits, downloads, installs and
# reboots; it calls retrieve_wait, verified, install_wait, report and booted.
#   job: {"id": requestId, "url", "get": retrieve time, "put": install time or None (seconds
#         since 2000), "tries": download attempts, "wait": s between them (as the CSMS sent
#         it, any size: the runtime waits it in steps of a day, clock.MAX_WAIT_S), "cert": signing
#         certificate PEM, "sig": signature (base64), "status": the last status sent, "done":
#         that status ends the update}
import binascii
from micropython import const
from . import certs, clock, pem, schema, secevents, tx, x509

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
INT = const(-1)
REQ = const(1)
TIME = const(-4)

_FIRMWARE = const((("location", 512, REQ), ("retrieveDateTime", TIME, REQ), ("installDateTime", TIME, 0),
                   ("signingCertificate", 5500, 0), ("signature", 800, 0)))
_REQ = const((("retries", INT, 0), ("retryInterval", INT, 0), ("requestId", INT, REQ), ("firmware", _FIRMWARE, REQ)))
_RETRIES = const(2)  # when the CSMS gives none
_INTERVAL = const(30)
_POLL_MS = const(1000)  # how often the end of transactions is checked before installing
_MAX_WAIT_MS = const(60000)  # waits are cut in pieces: the clock may be set meanwhile (and
# a date-time years ahead stays far below the 2^29 ms that ticks_add takes on 32-bit boards)
_CHAIN = const(3)  # signing certificate and intermediates
LATE = const(("Installing", "InstallRebooting"))  # too late to cancel (L01.FR.27)
DONE = const(("Installed", "DownloadFailed", "InvalidSignature", "InstallVerificationFailed", "InstallationFailed"))


def _chain_problem(st, text, now):
    """Why the signing certificate (PEM, maybe with intermediates) is not acceptable, or None."""
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
        if i and not (chain[i].signs_certs() and chain[i - 1].signed_by(chain[i])):
            return "certificate %d does not sign certificate %d" % (i, i - 1)
    if chain[0].key_alg is None:
        return "unsupported key"
    for _, _, root in certs.installed(st, certs.MANUFACTURER):
        if root.valid_at(s) and chain[-1].signed_by(root):
            return None
    return "no installed ManufacturerRootCertificate signed it"


def UpdateFirmware(st, p, now):
    schema.check(p, _REQ)
    fw = p["firmware"]
    old = st.fw if st.fw and not st.fw.get("done") else None  # an update going on
    if old and old["status"] in LATE:
        return {"status": "Rejected", "statusInfo": {"reasonCode": "InstallInProgress"}}
    if "signingCertificate" not in fw or "signature" not in fw:
        return {"status": "Rejected", "statusInfo": {"reasonCode": "MissingSignature"}}  # TC_L_18
    why = _chain_problem(st, fw["signingCertificate"], now)
    if why:  # L01.FR.21/22, L01.FR.02
        secevents.record(st, "InvalidFirmwareSigningCertificate", why, now, True)
        return {"status": "InvalidCertificate"}
    install = fw.get("installDateTime")
    job = {"id": p["requestId"], "url": fw["location"], "get": clock.parse(fw["retrieveDateTime"]),
           "put": clock.parse(install) if install else None,
           "tries": max(p.get("retries", _RETRIES), 0) + 1, "wait": max(p.get("retryInterval", _INTERVAL), 0),
           "cert": fw["signingCertificate"], "sig": fw["signature"], "status": None}
    try:
        st.save("fw", job)
    except OSError:
        return {"status": "Rejected", "statusInfo": {"reasonCode": "StorageFailed"}}
    st.fw = job
    _hold(st, False, now)
    st.effects.append(("firmware",))
    return {"status": "AcceptedCanceled" if old else "Accepted"}  # L01.FR.24


def report(st, status, now):
    """The update entered status: keep it and tell the CSMS (L01.FR.01, L01.FR.10)."""
    job = st.fw
    job["status"] = status
    job["done"] = status in DONE  # nothing left for the runtime after a reboot
    try:
        st.save("fw", job)
    except OSError as e:
        st.log("firmware status not saved: %r" % e)
    st.rpc.call("FirmwareStatusNotification", {"status": status, "requestId": job["id"]})
    if status in DONE:
        _hold(st, False, now)
    elif status == "Installing":
        _hold(st, True, now)


def _hold(st, on, now):
    """Keep new transactions from starting (L01.FR.07) or let them again."""
    if st.updating != on:
        st.updating = on
        for ev in st.ev:
            tx.refresh(st, ev, now)


def _until(st, s, status, now):
    """ms until time s (seconds since 2000), reporting status once while it is ahead."""
    ms = (s - st.time(now)) * 1000 if s is not None else 0
    if ms > 0 and st.fw["status"] != status:
        report(st, status, now)
    return min(ms, _MAX_WAIT_MS)


def retrieve_wait(st, now):
    """ms until the download may start (DownloadScheduled while ahead, L01.FR.13)."""
    return _until(st, st.fw["get"], "DownloadScheduled", now)


def install_wait(st, now):
    """ms until the installation may start: after installDateTime (InstallScheduled,
    L01.FR.16) and once no transaction runs (L01.FR.06/07: no new ones meanwhile)."""
    ms = _until(st, st.fw["put"], "InstallScheduled", now)
    if ms > 0:
        return ms
    if any(ev.tx for ev in st.ev):
        _hold(st, True, now)
        if st.fw["status"] != "InstallScheduled":
            report(st, "InstallScheduled", now)  # L01.FR.34
        return _POLL_MS
    return 0


def verified(st, digest, now):
    """The download is complete (SHA-256 digest): check its signature with the signing
    certificate, whose chain is checked again (L01.FR.04/12). True when it is good."""
    job = st.fw
    report(st, "Downloaded", now)
    ok = False
    if not _chain_problem(st, job["cert"], now):
        try:
            cert = x509.parse(pem.to_der(job["cert"])[0])
            ok = cert.verify(digest, binascii.a2b_base64(job["sig"]), True)
        except ValueError:
            pass
    if not ok:  # L01.FR.03
        secevents.record(st, "InvalidFirmwareSignature", "request %d" % job["id"], now, True)
    report(st, "SignatureVerified" if ok else "InvalidSignature", now)
    return ok


def booted(st, ok, now):
    """Started again after InstallRebooting: ok when the new firmware runs (L01.FR.28/31)."""
    report(st, "Installed" if ok else "InstallationFailed", now)
    if ok:
        secevents.record(st, "FirmwareUpdated", "request %d" % st.fw["id"], now)


def trigger(st, flags):
    """The FirmwareStatusNotification of a TriggerMessage: Idle when no update is going on or
    the last one was Installed, else the last status (F06.FR.16, L01.FR.25/26)."""
    status = st.fw.get("status") if st.fw else None
    p = {"status": "Idle"}
    if status is not None and status != "Installed":
        p = {"status": status, "requestId": st.fw["id"]}
    st.rpc.call("FirmwareStatusNotification", p, None, flags)
