# runtime/bundle.py - application bundles: the ROMFS image of a build profile, installed by a
# firmware update without replacing the MicroPython firmware. In the state directory:
#   app.stage  being downloaded          app.next  verified and installed, not yet run
#   app.run    the bundle the station runs (none: the code it was deployed with)
#   app.prev   the bundle before app.run while it is on trial (empty: the deployed code)
#   app.try    marker: app.run is on trial; a start that finds it still there rolls back
#   app.back   marker: the last trial was rolled back
# Every step is a rename or a small file, so a power cut at any point leaves a bundle that
# runs. select() runs at start before any code of the bundle is imported; the station confirms
# the bundle once the CSMS accepted its boot (runtime/fwupdate.py). Only os is imported here.
import os

MAGIC = b"\xd2\xcd\x31"  # ROMFS image header


class Bundles:
    def __init__(self, root, size=None):
        """root: the state directory; size: bytes of flash the station may fill (None: what
        the file system has free)."""
        self.root = root.rstrip("/")
        self.size = size

    def path(self, name):
        return self.root + "/app." + name

    def _has(self, name):
        try:
            os.stat(self.path(name))
            return True
        except OSError:
            return False

    def _rm(self, name):
        try:
            os.remove(self.path(name))
        except OSError:
            pass

    def _mark(self, name):
        with open(self.path(name), "wb"):
            pass

    def room(self):
        """Bytes free for a staged download."""
        if self.size is None:
            s = os.statvfs(self.root)
            return s[0] * s[4]
        used = 0
        for entry in os.ilistdir(self.root):
            if entry[0] != "app.stage" and entry[1] == 0x8000:
                used += os.stat(self.root + "/" + entry[0])[6]
        return self.size - used

    # --- the installer interface (boards/README.md) --------------------------------------
    def stage(self, head, size):
        """A writer for a download of size bytes (None: unknown) that starts with head.
        Raises OSError(28) when it cannot fit."""
        self._rm("stage")
        return _Writer(self.path("stage"), self.room(), size)

    def install(self):
        """Install the staged bundle for the next start. Raises ValueError when it is not a
        ROMFS image."""
        with open(self.path("stage"), "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise ValueError("not a ROMFS image")
        os.rename(self.path("stage"), self.path("next"))

    def outcome(self):
        """After a start: True when the bundle installed last runs on trial, False when it was
        rolled back, None when no installation was pending."""
        if self.on_trial():
            return True
        if self._has("back"):
            self._rm("back")
            return False
        return None

    def on_trial(self):
        return self._has("try")

    def confirm(self):
        """The bundle on trial works: keep it."""
        self._rm("try")
        self._rm("prev")

    def clear(self):
        """Drop every bundle (the code was replaced otherwise): the deployed code runs from
        the next start."""
        for name in ("try", "next", "run", "prev", "back", "stage"):
            self._rm(name)

    # --- at start --------------------------------------------------------------------------
    def select(self):
        """Path of the bundle to run (None: the deployed code): start the trial of an installed
        bundle, or roll back one whose trial did not confirm."""
        if self._has("next"):
            self._mark("try")
            if self._has("run"):
                os.rename(self.path("run"), self.path("prev"))
            elif not self._has("prev"):
                self._mark("prev")
            os.rename(self.path("next"), self.path("run"))
        elif self._has("try"):
            if self._has("prev"):
                os.rename(self.path("prev"), self.path("run"))
            if self._has("run") and not os.stat(self.path("run"))[6]:
                self._rm("run")
            self._mark("back")
            self._rm("try")
        return self.path("run") if self._has("run") else None


class _Writer:
    def __init__(self, path, room, size):
        if size is not None and size > room:
            raise OSError(28)  # ENOSPC
        self.room = room
        self.f = open(path, "wb")

    def write(self, data):
        self.room -= len(data)
        if self.room < 0:
            raise OSError(28)
        self.f.write(data)

    def close(self):
        self.f.close()
