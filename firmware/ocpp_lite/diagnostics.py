# ocpp_lite/diagnostics.py - N Diagnostics. N01 GetLog, the core's side: the diagnostics log
# or the security log, the lines of the time window, uploaded to remoteLocation over HTTP or
# HTTPS by the runtime (runtime/logupload.py), with LogStatusNotification and the requestId
# for every state (N01.FR.07-10). A new GetLog cancels the upload in progress (N01.FR.12/20).
# The job lives in RAM (upload): an upload cut by a reboot is not resumed. retries and
# retryInterval are kept as the CSMS sent them, any size: the runtime waits a retryInterval in
# steps of a day. N09/N10 CustomerInformation: the station stores no customer data (no
# authorization cache, no local list), so there is nothing to clear, and a report is one
# NotifyCustomerInformation with empty data (N09.FR.06).
#
# The log upload state table (N01, LogStatusEnumType): the status the runtime reports, and
# whether the job goes on after it.
from micropython import const
from .authorization import ID_TOKEN
from .engine import clock, schema

UPLOAD_TABLE = const((
    # status                    the job goes on
    ("Uploading", True),
    ("Uploaded", False),
    ("UploadFailure", False),
    ("BadMessage", False),
    ("NotSupportedOperation", False),
    ("PermissionDenied", False),
))

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_BOOL = const(-3)
_INT = const(-1)
_REQ = const(1)
_TIME = const(-4)

_LOG = const((("remoteLocation", 512, _REQ), ("oldestTimestamp", _TIME, 0), ("latestTimestamp", _TIME, 0)))
_GETLOG = const((("logType", ("DiagnosticsLog", "SecurityLog"), _REQ), ("requestId", _INT, _REQ),
                 ("retries", _INT, 0), ("retryInterval", _INT, 0), ("log", _LOG, _REQ)))
_RETRIES = const(2)  # when the CSMS gives none
_INTERVAL = const(30)
_HASH = const((("hashAlgorithm", ("SHA256", "SHA384", "SHA512"), _REQ), ("issuerNameHash", 128, _REQ),
               ("issuerKeyHash", 128, _REQ), ("serialNumber", 40, _REQ)))
_CUSTOMER = (("requestId", _INT, _REQ), ("report", _BOOL, _REQ), ("clear", _BOOL, _REQ),
             ("customerCertificate", _HASH, 0), ("idToken", ID_TOKEN, 0), ("customerIdentifier", 64, 0))


def goes_on(status):
    """The upload job goes on after status (UPLOAD_TABLE); unknown statuses end it."""
    for s, more in UPLOAD_TABLE:
        if s == status:
            return more
    return False


class Diagnostics:
    def __init__(self, st):
        self.st = st
        self.upload = None  # the log upload in progress: {"id", "type", "name", "url", "from", "to", "tries", "wait"}

    def busy(self):
        return self.upload is not None

    def GetLog(self, p, now):
        schema.check(p, _GETLOG)
        st = self.st
        log = p["log"]
        url = log["remoteLocation"]
        if not (url.startswith("http://") or url.startswith("https://")):  # FileTransferProtocols
            return st.rejected("UnsupportedProtocol")
        name = "%s-%d.log" % ("diagnostics" if p["logType"] == "DiagnosticsLog" else "security", p["requestId"])
        old = self.upload
        if old:  # N01.FR.12/20
            st.rpc.call("LogStatusNotification", {"status": "AcceptedCanceled", "requestId": old["id"]})
        first = log.get("oldestTimestamp")
        last = log.get("latestTimestamp")
        self.upload = {"id": p["requestId"], "type": p["logType"], "name": name,
                       "url": url + name if url.endswith("/") else url,  # N01.FR.21
                       "from": clock.parse(first) if first else None, "to": clock.parse(last) if last else None,
                       "tries": max(p.get("retries", _RETRIES), 0) + 1,
                       "wait": max(p.get("retryInterval", _INTERVAL), 0)}
        st.effect(("upload",))
        return {"status": "AcceptedCanceled" if old else "Accepted", "filename": name}

    def report(self, job, status, now):
        """The upload of job entered status (Uploading, then Uploaded or a failure)."""
        if self.upload is not job:
            return  # canceled meanwhile: AcceptedCanceled was sent
        self.st.rpc.call("LogStatusNotification", {"status": status, "requestId": job["id"]})
        if not goes_on(status):
            self.upload = None

    def trigger(self, flags):
        """The LogStatusNotification of a TriggerMessage (F06.FR.14/15, N01.FR.13)."""
        p = {"status": "Uploading", "requestId": self.upload["id"]} if self.upload else {"status": "Idle"}
        self.st.rpc.call("LogStatusNotification", p, None, flags)

    def CustomerInformation(self, p, now):
        schema.check(p, _CUSTOMER)
        if ("customerCertificate" in p) + ("idToken" in p) + ("customerIdentifier" in p) != 1:
            return {"status": "Invalid"}  # N09.FR.09: exactly one way to name the customer
        if p["report"]:
            self.st.rpc.call("NotifyCustomerInformation",
                             {"data": "", "seqNo": 0, "generatedAt": self.st.stamp(now), "requestId": p["requestId"]})
        return {"status": "Accepted"}
