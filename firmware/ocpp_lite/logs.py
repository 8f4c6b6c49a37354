# ocpp_lite/logs.py - N01 GetLog, the core's side: the diagnostics log or the security log,
# the lines of the time window, uploaded to remoteLocation over HTTP or HTTPS by the runtime
# (runtime/logupload.py), with LogStatusNotification and the requestId for every state
# (N01.FR.07-10). A new GetLog cancels the upload in progress (N01.FR.12/20). The job lives in
# RAM (st.upload): an upload cut by a reboot is not resumed. retries and retryInterval are kept
# as the CSMS sent them, any size: the runtime waits a retryInterval in steps of a day.
from micropython import const
from . import clock, schema

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
INT = const(-1)
REQ = const(1)
TIME = const(-4)

_LOG = const((("remoteLocation", 512, REQ), ("oldestTimestamp", TIME, 0), ("latestTimestamp", TIME, 0)))
_REQ = const((("logType", ("DiagnosticsLog", "SecurityLog"), REQ), ("requestId", INT, REQ), ("retries", INT, 0),
              ("retryInterval", INT, 0), ("log", _LOG, REQ)))
_RETRIES = const(2)  # when the CSMS gives none
_INTERVAL = const(30)


def GetLog(st, p, now):
    schema.check(p, _REQ)
    log = p["log"]
    url = log["remoteLocation"]
    if not (url.startswith("http://") or url.startswith("https://")):  # FileTransferProtocols
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnsupportedProtocol"}}
    name = "%s-%d.log" % ("diagnostics" if p["logType"] == "DiagnosticsLog" else "security", p["requestId"])
    old = st.upload
    if old:  # N01.FR.12/20
        st.rpc.call("LogStatusNotification", {"status": "AcceptedCanceled", "requestId": old["id"]})
    first = log.get("oldestTimestamp")
    last = log.get("latestTimestamp")
    st.upload = {"id": p["requestId"], "type": p["logType"], "name": name,
                 "url": url + name if url.endswith("/") else url,  # N01.FR.21
                 "from": clock.parse(first) if first else None, "to": clock.parse(last) if last else None,
                 "tries": max(p.get("retries", _RETRIES), 0) + 1, "wait": max(p.get("retryInterval", _INTERVAL), 0)}
    st.effects.append(("upload",))
    return {"status": "AcceptedCanceled" if old else "Accepted", "filename": name}


def report(st, job, status, now):
    """The upload of job entered status (Uploading, then Uploaded or a failure)."""
    if st.upload is not job:
        return  # canceled meanwhile: AcceptedCanceled was sent
    st.rpc.call("LogStatusNotification", {"status": status, "requestId": job["id"]})
    if status != "Uploading":
        st.upload = None


def trigger(st, flags):
    """The LogStatusNotification of a TriggerMessage (F06.FR.14/15, N01.FR.13)."""
    p = {"status": "Uploading", "requestId": st.upload["id"]} if st.upload else {"status": "Idle"}
    st.rpc.call("LogStatusNotification", p, None, flags)
