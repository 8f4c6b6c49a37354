# boards/unix/main.py - the simulated charging station on the MicroPython unix port.
# Started by tools/sim; see docs/simulator.md for the options and the stdin/stdout contract.
# Every start (and every reboot, which restarts in-process) chooses the code to run: an
# installed application bundle (runtime/bundle.py: a ROMFS image from a firmware update, on
# trial until the CSMS accepts its boot) or the deployed code: the source tree, or --romfs IMAGE
# (a build profile's code, as frozen on a board).
import os
import sys

_USAGE = (
    "usage: sim --csms URL --id STATION_ID --state DIR [--password P] [--ca PEM]"
    " [--evses N] [--flash BYTES] [--set Component.Variable=VALUE ...] [--frames 1] [--romfs IMAGE]"
)
_HERE = sys.argv[0].rpartition("/")[0] or "."
_SOURCE = (_HERE, _HERE + "/../../firmware")
_FIRMWARE = ("ocpp_lite", "runtime")  # packages a reboot imports afresh
_images = []  # every image mounted: bytecode runs in place, so none may be freed
_loaded = [False]  # what the code comes from: (image, size, mtime), or None: the source tree


def _load(image):
    """Make the code importable: only from ROMFS image (mounted at /rom and run in place, as
    frozen code on a board), or from the source tree. Firmware modules of an earlier run are
    dropped, so a reboot onto another bundle imports its code; the simulated board stays."""
    import gc
    import vfs

    which = (image, os.stat(image)[6], os.stat(image)[8]) if image else None  # a rollback reuses the name
    if _loaded[0] == which:
        return
    _loaded[0] = which
    for name in list(sys.modules):
        if name.split(".")[0] in _FIRMWARE:
            del sys.modules[name]
    try:
        vfs.umount("/rom")
    except OSError:
        pass
    for p in _SOURCE + ("/rom",):
        while p in sys.path:
            sys.path.remove(p)
    if image:
        img = bytearray(os.stat(image)[6])  # on a board: memory-mapped flash, not heap
        with open(image, "rb") as f:
            f.readinto(img)
        _images.append(img)
        vfs.mount(vfs.VfsRom(memoryview(img)), "/rom")
        sys.path.insert(0, "/rom")
    else:
        sys.path.extend(_SOURCE)
    gc.collect()


def _bundled(state):
    """A firmware update has installed an application bundle here (runtime/bundle.py)."""
    return any(n.startswith("app.") and n != "app.stage" for n in os.listdir(state))


def _args(argv):
    opts = {"sets": {}}
    i = 0
    while i < len(argv):
        k = argv[i]
        if not k.startswith("--") or i + 1 >= len(argv):
            raise ValueError(k)
        v = argv[i + 1]
        if k == "--set":
            name, eq, value = v.partition("=")
            if not eq:
                raise ValueError(v)
            opts["sets"][name] = value
        else:
            opts[k[2:]] = v
        i += 2
    return opts


def _provision(store, o):
    from runtime import config

    try:
        config.provision(store, o["sets"], o.get("csms"), o.get("id"), o.get("password"))
        if "ca" in o:
            with open(o["ca"]) as f:
                config.install_ca(store, f.read())
    except (ValueError, OSError) as e:
        print("provisioning failed: %s" % e, file=sys.stderr)
        sys.exit(2)
    if not config.provisioned(store):
        print("no CSMS URL or station id provisioned\n" + _USAGE, file=sys.stderr)
        sys.exit(2)


def main():
    import asyncio
    import gc

    try:
        o = _args(sys.argv[1:])
        state = o["state"]
        flash = int(o["flash"]) if "flash" in o else None
    except (ValueError, KeyError):
        print(_USAGE, file=sys.stderr)
        sys.exit(2)
    _load(o.get("romfs"))  # the code that provisions and decides what runs
    from runtime.app import App  # compiled first, on a heap not yet fragmented
    from runtime.store import Store
    from simboard import SimBoard

    store = Store(state)
    _provision(store, o)
    gc.collect()  # the board lives for good: placed low, not above provisioning's garbage
    board = SimBoard(int(o.get("evses", 1)), store.load("vars")["SecurityCtrlr.Identity"], state, flash)
    if o.get("stalls"):  # tools.footprint stalls: the mem probe also gives the longest loop stall
        board.stalls = 0
    if o.get("frames", "0") != "0":  # every OCPP message both ways as an event
        board.frames = True
    romfs = o.get("romfs")
    o = store = None  # not kept for the run: each run opens the store with its own code
    while True:  # the simulated board stays as it is over reboots and firmware updates
        bundles = board.installer if _bundled(state) else None
        if bundles:
            _load(bundles.select() or romfs)
        try:
            from ocpp_lite import __version__
            from runtime.app import App
            from runtime.store import Store

            board.info["firmwareVersion"] = __version__
            gc.collect()  # so is the station: App and Store low in the heap, below the free block
            why = asyncio.run(App(board, Store(state)).main())
        except Exception as e:
            if not (bundles and bundles.on_trial()):
                raise
            sys.print_exception(e)  # the new bundle fails: like a watchdog reset, roll back
            print("bundle on trial failed: restarting", file=sys.stderr)
            why = "reboot"
        asyncio.new_event_loop()
        if why != "reboot":
            board.close()
            break


if __name__ == "__main__":  # (boards/unix/fleet.py imports its option parser)
    main()
