# boards/unix/main.py - the simulated charging station on the MicroPython unix port.
# Started by tools/sim; see the README for the options and the stdin/stdout contract.
import sys

_USAGE = (
    "usage: sim --csms URL --id STATION_ID --state DIR [--password P] [--ca PEM]"
    " [--evses N] [--set Component.Variable=VALUE ...]"
)


def _paths():
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
    _paths()
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
    changes = o["sets"]
    for opt, name in (("csms", "CsmsUrl"), ("id", "Identity"), ("password", "BasicAuthPassword")):
        if opt in o:
            changes[name] = o[opt]
    try:
        config.provision(store, changes)
        if "ca" in o:
            with open(o["ca"]) as f:
                config.install_ca(store, f.read())
    except (ValueError, OSError) as e:
        print("provisioning failed: %s" % e, file=sys.stderr)
        sys.exit(2)
    cfg = config.load(store)
    if not cfg["CsmsUrl"] or not cfg["Identity"]:
        print("no CSMS URL or station id provisioned\n" + _USAGE, file=sys.stderr)
        sys.exit(2)
    board = SimBoard(int(o.get("evses", 1)), cfg["Identity"])
    while True:
        why = asyncio.run(App(board, store).main())
        asyncio.new_event_loop()
        if why != "reboot":
            break


main()
