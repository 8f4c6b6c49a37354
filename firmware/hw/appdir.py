# hw/appdir.py - application bundles on a board (runtime/bundle.py: the ROMFS image of a build
# profile, installed by UpdateFirmware). A board cannot mount an image that is a file, so at
# every start the selected bundle (app.run) is unpacked into a directory, /app, that goes first
# on sys.path, ahead of the frozen modules, /rom and /lib (the deployed code). /app is only a
# cache of app.run, marked with app.run's SHA-256 (.stamp): unpacked into /app.new, stamp last,
# then renamed to /app (the /app before is renamed away and removed first: its room is
# needed). A power cut at any point leaves /app complete or absent; the next start unpacks
# what is missing. No app.run (never updated, rolled back): no /app, the deployed code runs.
import gc
import os
import sys
from micropython import const
from runtime.bundle import Bundles
from .main import STATE

APP = "/app"
_STAMP = "/.stamp"
_CODE = ("ocpp_lite", "runtime", "hw", "drivers", "board", "pins")  # what a bundle may hold
_RESERVE = const(32768)  # bytes of the file system a download leaves to the store


def boot(reset, esp32=None, root=STATE, app=APP, wrap=None):
    """A board's main.py: at every start choose the code (start()), build the board
    (board.make_board, through wrap(make_board) if given) and run the station from it
    (hw.main.run). A reboot and a crash end in reset() (a crashed bundle on trial is rolled
    back at the next start); where reset returns (tests) the next start runs in-process.
    esp32: the esp32 module on the ESP32 (firmware images, hw/ota.py). Returns "quit"."""
    while True:
        start(root, app, esp32)
        try:
            from board import make_board
            from hw.main import run

            why = run(wrap(make_board) if wrap else make_board, root)
        except Exception as e:
            sys.print_exception(e, sys.stderr)
            why = "reboot"  # like a watchdog reset
        if why != "reboot":
            return why
        reset()


def start(root=STATE, app=APP, esp32=None):
    """Choose the code of this start and make it importable: Bundles.select() (the trial of
    an installed bundle, or the rollback of one that never confirmed), then its directory
    (cache()) first on sys.path, or none. Drops the modules of the code imported so far, so
    the chosen copies load. A bundle on trial that cannot be unpacked is rolled back at once;
    while a new firmware image runs on trial it runs its own code. Returns the directory."""
    while app in sys.path:  # what this imports is deployed code (after a reset it is anyway)
        sys.path.remove(app)
    b = Bundles(root)
    run = b.select()
    d = None
    skip = False
    if esp32 is not None:
        from .ota import image_on_trial

        skip = image_on_trial(esp32, root)  # it runs its own code; /app stays for a rollback
    while not skip:
        try:
            d = cache(run, app)
            break
        except (OSError, ValueError) as e:
            print("application bundle %s: %r" % (run, e), file=sys.stderr)
            if not b.on_trial():
                break
            run = b.select()  # back to the bundle before
    if d:
        sys.path.insert(0, d)
    for name in list(sys.modules):
        if name.split(".")[0] in _CODE:
            del sys.modules[name]
    gc.collect()
    return d


def cache(image, app=APP):
    """app holding the files of the ROMFS image file (unpacked unless its stamp shows it has
    them already), or None for no image (app removed). Raises OSError, ValueError."""
    new = app + ".new"
    rmtree(new)  # an unpack cut short
    rmtree(app + ".old")  # a removal cut short
    if image is None:
        _drop(app)
        return None
    stamp = _digest(image)
    if _read(app + _STAMP) == stamp:
        return app
    _drop(app)
    from .romfs import unpack

    try:
        unpack(image, new)
        with open(new + _STAMP, "wb") as f:
            f.write(stamp)
    except Exception:
        rmtree(new)
        raise
    os.rename(new, app)
    return app


class Installer(Bundles):
    """The board's bundle installer: runtime.bundle.Bundles in the state directory, whose
    download leaves _RESERVE bytes to the store, and whose install() refuses (OSError 28) a
    bundle that would not fit unpacked in what is free then (the /app of the bundle running
    now is removed before the unpack)."""

    def room(self):
        return Bundles.room(self) - _RESERVE

    def install(self):
        s = os.statvfs(self.root)
        more = _need(self.path("stage"), s[0]) - _need(self.path("run"), s[0])
        if more > s[0] * s[4] - _RESERVE:
            os.remove(self.path("stage"))
            raise OSError(28)  # ENOSPC
        Bundles.install(self)


def _need(image, bs):
    """At most the bytes the files of image take unpacked on a littlefs of bs-byte blocks: a
    block pair per directory, per file its blocks and one more; 0 without image. Raises
    ValueError for a file that is no ROMFS image."""
    from .romfs import Romfs

    try:
        f = open(image, "rb")
    except OSError:
        return 0
    n = 3 * bs  # the directory itself and the stamp
    with f:
        for _, off, size in Romfs(f, os.stat(image)[6]).entries():
            n += 2 * bs if off is None else (size // bs + 1) * bs
    return n


def _digest(path):
    import binascii
    import hashlib

    h = hashlib.sha256()
    buf = bytearray(512)
    mv = memoryview(buf)
    with open(path, "rb") as f:
        n = f.readinto(buf)
        while n:
            h.update(mv[:n])
            n = f.readinto(buf)
    return binascii.hexlify(h.digest())


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _drop(d):
    """Remove directory d: renamed away first, so d is whole or gone."""
    try:
        os.rename(d, d + ".old")
    except OSError:
        return  # there is none
    rmtree(d + ".old")


def rmtree(d):
    """Remove directory d and all it holds (nothing when there is none)."""
    try:
        names = [(e[0], e[1]) for e in os.ilistdir(d)]
    except OSError:
        return
    for name, kind in names:
        p = d + "/" + name
        if kind == 0x4000:
            rmtree(p)
        else:
            os.remove(p)
    os.rmdir(d)
