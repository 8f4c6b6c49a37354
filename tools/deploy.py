"""tools/deploy.py - `make deploy BOARD=esp32|rp2040 PORT=/dev/ttyUSB0 DEPLOY_ARGS="..."`: install
the station on a board running stock MicroPython (>= 1.23; ROMFS needs >= 1.25) with mpremote,
and provision it.

1. Build, under build/deploy/<board>/ (--out): the application of a build profile (tools/profiles.py)
   compiled to .mpy (mpy/lib/...), a ROMFS image of it (app.romfs, also what a signed
   UpdateFirmware installs as an application bundle: boards/README.md), and provision.py, the
   script that writes the CSMS URL, identity, password, settings, CSMS root certificates and
   Wi-Fi network into the board's store (it is run on the unix port first, so a bad setting
   stops the deployment before the board is touched).
2. On the board: `mpremote romfs query`; where the firmware has a ROMFS partition the image
   goes there (mounted at /rom, run in place from flash), else the .mpy files are copied to
   /lib. Then provision.py runs on the board (it also drops application bundles installed by
   firmware updates, so the code deployed now runs), main.py is copied and the board is reset.

--dry-run builds everything and prints the mpremote commands instead of running them.
"""

import argparse
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import tempfile

from tools import profiles

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent

BOARDS = ("esp32", "rp2040")
BOARD_MODULES = ("pins.py", "board.py")  # main.py goes to the filesystem, outside /lib and /rom


def app_files(board, profile):
    """(source path, path on the board without extension) of every module to install."""
    fw = ROOT / "firmware"
    present = [str(f.relative_to(fw).with_suffix("")) for p in profiles.CLIENT for f in sorted((fw / p).rglob("*.py"))]
    have, _ = profiles.modules(profile, present)
    have += [str(f.relative_to(fw).with_suffix("")) for p in profiles.DEVICE_BOARD for f in sorted((fw / p).rglob("*.py"))]
    files = [(fw / (m + ".py"), m) for m in have]
    return files + [(ROOT / "boards" / board / f, f[:-3]) for f in BOARD_MODULES]


def build_app(board, profile, out):
    """Compile the application into out/mpy/lib and a ROMFS image out/app.romfs of it."""
    lib = out / "mpy" / "lib"
    shutil.rmtree(out / "mpy", ignore_errors=True)
    for src, name in app_files(board, profile):
        dst = lib / (name + ".mpy")
        dst.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(BIN / "mpy-cross"), "-O3", "-s", name + ".py", "-o", str(dst), str(src)], check=True)
    img = out / "app.romfs"
    subprocess.run([str(BIN / "mpremote"), "romfs", "--no-mpy", "-o", str(img), "build", str(lib)],
                   check=True, stdout=subprocess.DEVNULL)
    return lib, img


def provision_script(a):
    """The text of provision.py: runs hw.provision.apply() on the board."""
    sets = dict(s.split("=", 1) for s in a.set)
    wifi = (a.wifi, a.wifi_key) if a.wifi else None
    ca = pathlib.Path(a.ca).read_text() if a.ca else None
    return ("# provision.py - written by tools/deploy.py: the station's settings, run once on the board.\n"
            "from hw import provision\n\n"
            "provision.apply(%r, %r, %r, %r, %r, %r)\n"
            "print('provisioned')\n" % (a.csms, a.id, a.password, sets, wifi, ca))


def check_provisioning(script):
    """Run provision.py on the unix port against a scratch store; raises SystemExit on error."""
    mp = os.environ.get("MICROPYTHON") or str(BIN / "micropython")
    with tempfile.TemporaryDirectory() as d:
        code = ("import sys; sys.path.insert(0, %r); import hw.main; hw.main.STATE = %r; exec(open(%r).read())"
                % (str(ROOT / "firmware"), d + "/state", str(script)))
        p = subprocess.run([mp, "-c", code], capture_output=True, text=True)
        if p.returncode != 0 or "provisioned" not in p.stdout:
            sys.exit("provisioning refused: %s" % (p.stderr.strip().splitlines() or [p.stdout])[-1])


def commands(a, lib, img, script):
    """The mpremote commands: (query, ROMFS install, .mpy install, common tail)."""
    mpr = [str(BIN / "mpremote"), "connect", a.port]
    query = mpr + ["romfs", "query"]
    romfs = [mpr + ["romfs", "deploy", str(img)]]
    mpy = [mpr + ["fs", "cp", "-r", str(lib), ":"]]
    tail = [mpr + ["run", str(script)],
            mpr + ["fs", "cp", str(ROOT / "boards" / a.board / "main.py"), ":main.py"],
            mpr + ["reset"]]
    return query, romfs, mpy, tail


def has_romfs(query):
    p = subprocess.run(query, capture_output=True, text=True)
    return p.returncode == 0 and "ROMFS0 partition" in p.stdout


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", required=True, choices=BOARDS)
    ap.add_argument("--port", required=True, help="serial port of the board, e.g. /dev/ttyUSB0")
    ap.add_argument("--csms", required=True, help="CSMS endpoint without the station id (ws:// or wss://)")
    ap.add_argument("--id", required=True, help="station identity")
    ap.add_argument("--password", help="HTTP Basic auth password")
    ap.add_argument("--ca", help="PEM file of the CSMS root certificate(s), for wss://")
    ap.add_argument("--wifi", help="Wi-Fi network name")
    ap.add_argument("--wifi-key", default="", help="Wi-Fi password")
    ap.add_argument("--set", action="append", default=[], metavar="Component.Variable=VALUE")
    ap.add_argument("--profile", default="lite", choices=sorted(profiles.PROFILES))
    ap.add_argument("--out", help="build directory (default build/deploy/<board>)")
    ap.add_argument("--dry-run", action="store_true", help="build, and print the commands instead of running them")
    a = ap.parse_args(argv)
    if any("=" not in s for s in a.set):
        ap.error("--set takes Component.Variable=VALUE")
    out = pathlib.Path(a.out).resolve() if a.out else ROOT / "build" / "deploy" / a.board
    out.mkdir(parents=True, exist_ok=True)
    lib, img = build_app(a.board, a.profile, out)
    script = out / "provision.py"
    script.write_text(provision_script(a))
    check_provisioning(script)
    query, romfs, mpy, tail = commands(a, lib, img, script)
    if a.dry_run:
        print("built %s (%d bytes) and %s" % (img, img.stat().st_size, lib))
        print("would run:\n  " + shlex.join(query))
        print("with a ROMFS partition:\n  " + "\n  ".join(shlex.join(c) for c in romfs))
        print("without one:\n  " + "\n  ".join(shlex.join(c) for c in mpy))
        print("then:\n  " + "\n  ".join(shlex.join(c) for c in tail))
        return 0
    for c in (romfs if has_romfs(query) else mpy) + tail:
        print("+ " + shlex.join(c), flush=True)
        subprocess.run(c, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
