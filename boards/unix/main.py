# boards/unix/main.py - the simulated charging station on the MicroPython unix port.
# Started by tools/sim; see the README for the options and the stdin/stdout contract.
import sys

_USAGE = (
    "usage: sim --csms URL --id STATION_ID --state DIR [--password P] [--ca PEM]"
    " [--evses N] [--set Component.Variable=VALUE ...] [--romfs IMAGE]"
)


def _paths(argv):
    """Find the code: with --romfs IMAGE only in that image, mounted at /rom and run in
    place as frozen code on a board (tools/footprint.py); else in the source tree."""
    if "--romfs" in argv:
        import os
        import vfs

        path = argv[argv.index("--romfs") + 1]
        img = bytearray(os.stat(path)[6])  # on a board: memory-mapped flash, not heap
        with open(path, "rb") as f:
            f.readinto(img)
        vfs.mount(vfs.VfsRom(memoryview(img)), "/rom")
        sys.path.insert(0, "/rom")
        return
    here = sys.argv[0].rpartition("/")[0] or "."
    for p in (here, here + "/../../firmware"):
        if p not in sys.path:
            sys.path.append(p)


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


def main():
    _paths(sys.argv[1:])
    import asyncio
    from runtime import config
    from runtime.app import App
    from runtime.store import Store
    from simboard import SimBoard

    try:
        o = _args(sys.argv[1:])
        store = Store(o["state"])
    except (ValueError, KeyError) as e:
        print(_USAGE, file=sys.stderr)
        sys.exit(2)
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
    board = SimBoard(int(o.get("evses", 1)), store.load("vars")["SecurityCtrlr.Identity"], o["state"])
    while True:
        why = asyncio.run(App(board, store).main())
        asyncio.new_event_loop()
        if why != "reboot":
            break


main()
