# runtime/logupload.py - N01 on the runtime side: one task per GetLog (ocpp_lite/diagnostics.py).
# It copies the lines of the log in the time window (each line starts with its RFC 3339
# time) into a file, so the upload has a fixed length while the logs go on growing, then
# sends that file with PUT (POST when the server refuses PUT with 405; N01.FR.18/19) in small
# pieces, with the retries of the request.
from micropython import const
from ocpp_lite.engine import clock
from . import http
from .fwupdate import https_context
from .link import sleep_s

_FILES = {"DiagnosticsLog": "diag.log", "SecurityLog": "security.log"}  # and name.1, older
_OUT = "log.out"
_PIECE = const(512)
_TIMEOUT_MS = const(30000)


def _collect(store, job):
    """Copy the log lines of job's time window into the file _OUT; its length."""
    n = 0
    with open(store.path(_OUT), "wb") as out:
        for name in (_FILES[job["type"]] + ".1", _FILES[job["type"]]):
            try:
                f = open(store.path(name), "rb")
            except OSError:
                continue
            with f:
                for line in f:
                    try:
                        t = clock.parse(line[:20].decode())
                    except UnicodeError:
                        continue
                    if t is not None and (job["from"] is None or t >= job["from"]) and \
                            (job["to"] is None or t <= job["to"]):
                        n += out.write(line)
    return n


def _status(code):
    if 200 <= code < 300:
        return "Uploaded"
    if code in (401, 403):
        return "PermissionDenied"
    return "BadMessage" if 400 <= code < 500 else "UploadFailure"


async def _send(app, job, size):
    """Upload _OUT; the LogStatusNotification status it ends with."""
    path = app.store.path(_OUT)

    async def body(write):
        buf = bytearray(_PIECE)
        with open(path, "rb") as f:
            n = f.readinto(buf)
            while n:
                await write(memoryview(buf)[:n])
                n = f.readinto(buf)

    head = ("Content-Type: text/plain", 'Content-Disposition: attachment; filename="%s"' % job["name"])
    for method in ("PUT", "POST"):
        resp = await http.request(method, job["url"], https_context(app, job["url"]), _TIMEOUT_MS, size, body, head)
        resp.close()
        if resp.status != 405:
            break
    app.log("log upload: %s answered %d" % (method, resp.status))
    return _status(resp.status)


async def run(app):
    st = app.st
    job = st.diagnostics.upload
    app.hw(st.diagnostics.report, job, "Uploading")  # N01.FR.08
    status = "UploadFailure"
    try:
        size = _collect(app.store, job)
        for attempt in range(job["tries"]):
            if attempt:  # the whole retryInterval, in steps of a day (no retry before it)
                await sleep_s(job["wait"])
            try:
                status = await _send(app, job, size)
            except Exception as e:  # URL, network, TLS, timeout
                app.log("log upload %d failed: %r" % (attempt + 1, e))
                status = "BadMessage" if isinstance(e, ValueError) else "UploadFailure"
            if status != "UploadFailure":
                break  # done, or the server will not take it
    except OSError as e:  # no room for the copy
        app.log("log upload: %r" % e)
    finally:
        app.store.remove(_OUT)
    app.hw(st.diagnostics.report, job, status)
