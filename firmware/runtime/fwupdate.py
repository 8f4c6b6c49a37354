# runtime/fwupdate.py - L01 on the runtime side: one task per firmware job (ocpp_lite/
# firmware.py). It waits for retrieveDateTime, downloads the file over HTTP(S) in small pieces
# into the board's staging area (board.installer, boards/README.md) while computing its
# SHA-256, has the core verify the signature, waits for installDateTime and for transactions
# to end, installs, and reboots. After the reboot it confirms the new firmware once the CSMS
# accepted the boot; a firmware that never gets there is rolled back at the next start.
import asyncio
import hashlib
from micropython import const
from ocpp_lite import firmware
from . import http
from .certstore import CSMS
from .link import sleep_s, tls_context

_PIECE = const(512)
_TIMEOUT_MS = const(30000)  # for every read and write of a transfer


def https_context(app, url):
    """The ssl context for url: the CSMS roots (N01.FR.15), or None for http://."""
    return tls_context(app.st.certstore.ders(CSMS)) if url.startswith("https:") else None


async def run(app):
    st = app.st
    inst = getattr(app.board, "installer", None)
    fw = st.firmware
    status = fw.job["status"]
    if firmware.ended(status):
        return
    if firmware.late(status):  # started again after installing: a trial, a rollback, or neither
        while not st.rpc.accepted:
            await asyncio.sleep_ms(200)
        ok = inst.outcome() if inst else None
        if ok is not None or status == "InstallRebooting":
            if ok:
                inst.confirm()
            app.hw(fw.booted, ok is not False)
            return
        # a power cut before the installation: do it all again
    await _until(app, fw.retrieve_wait)
    if inst is None:
        app.log("this board cannot install firmware")
        app.hw(fw.report, "InstallationFailed")
        return
    digest = await _attempts(app, fw.job, inst)
    if digest is None:
        app.hw(fw.report, "DownloadFailed")  # L01.FR.30
        return
    if not await _verify(app, fw, digest):
        return
    await _until(app, fw.install_wait)
    app.hw(fw.report, "Installing")
    try:
        inst.install()
    except ValueError as e:  # not an image this board can run
        app.log("firmware rejected: %s" % e)
        app.hw(fw.report, "InstallVerificationFailed")  # L01.FR.29
        return
    except OSError as e:
        app.log("firmware installation failed: %r" % e)
        app.hw(fw.report, "InstallationFailed")
        return
    app.hw(fw.report, "InstallRebooting")  # L01.FR.15
    for _ in range(st.rpc.timeout_ms // 100):  # the notification out first, if the link allows
        if st.rpc.idle() and not st.rpc.out:
            break
        await asyncio.sleep_ms(100)
    app.stop("reboot", "FirmwareUpdate")


async def _verify(app, fw, digest):
    """The core checks the signature in steps (fw.verifying); the loop runs between them, so
    the station keeps answering the CSMS meanwhile. True when the signature is good."""
    g = app.hw(fw.verifying, digest)
    r = app.hw(_step, g, True) if g else (None,)
    while r is None:
        await asyncio.sleep_ms(0)
        r = app.hw(_step, g, False)
    return r[0]


def _step(g, first, now):
    """One step of stepper g, sent the time; (its result,) once it has ended, else None. A
    MemoryError ends it too: app.hw catches it, and the next step finds it ended."""
    try:
        g.send(None if first else now)
    except StopIteration as e:
        return (e.value,)
    return None


async def _until(app, wait):
    """Sleep while the core's wait(now) gives ms to wait (it gives at most a minute: the
    retrieve and install date-times are waited for in steps, as the clock may be set)."""
    ms = app.hw(wait)
    while ms > 0:
        await asyncio.sleep_ms(ms)
        ms = app.hw(wait)


async def _attempts(app, job, inst):
    """Download with the job's retries; the SHA-256 digest of the file, or None."""
    for attempt in range(job["tries"]):
        if attempt:  # the whole retryInterval, in steps of a day (L01: no retry before it)
            await sleep_s(job["wait"])
        else:
            app.hw(app.st.firmware.report, "Downloading")
        try:
            return await _download(app, job["url"], inst)
        except ValueError as e:  # a URL or a file the board cannot use: no use trying again
            app.log("firmware download refused: %s" % e)
            return None
        except Exception as e:  # network, TLS, HTTP status, no room: try again
            app.log("firmware download %d failed: %r" % (attempt + 1, e))
    return None


async def _download(app, url, inst):
    """Download url into the installer's staging area; the SHA-256 digest of the file."""
    resp = await http.request("GET", url, https_context(app, url), _TIMEOUT_MS)
    w = None
    try:
        if resp.status != 200:
            raise http.HttpError(resp.status, "GET answered %d" % resp.status)
        mv = memoryview(bytearray(_PIECE))
        h = hashlib.sha256()
        n = await resp.readinto(mv)
        if not n:
            raise http.HttpError(resp.status, "empty file")
        w = inst.stage(mv[:n], resp.length)
        while n:
            h.update(mv[:n])
            w.write(mv[:n])
            n = await resp.readinto(mv)
        return h.digest()
    finally:
        if w:
            w.close()
        resp.close()
