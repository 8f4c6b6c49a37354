"""tools/packages.py - the mip packages of OCPP2.Lite (docs/library.md), generated from
tools/profiles.py: firmware/package-<profile>.json for each build profile (its client modules,
ocpp_lite and runtime) and firmware/package-boards.json (the shared board logic and drivers,
hw and drivers). URLs are relative to the file, so `mip install` takes them from wherever the
firmware/ directory is served (a GitHub repository, a web server, a local copy).

    packages.py write    write them
    packages.py check    exit 1 when the files in the repository are not what write makes
"""

import json
import pathlib
import re
import sys

from tools import profiles
from tools.footprint import rom

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"


def version():
    text = (FIRMWARE / "ocpp_lite" / "__init__.py").read_text()
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def package(modules):
    urls = ",\n".join("  " + json.dumps([m + ".py", m + ".py"]) for m in modules)
    return '{\n "urls": [\n%s\n ],\n "version": %s\n}\n' % (urls, json.dumps(version()))


def files():
    """{path: text} of every package file."""
    out = {}
    for name in profiles.PROFILES:
        have, _ = profiles.modules(name, rom.present(profiles.CLIENT))
        out[FIRMWARE / ("package-%s.json" % name)] = package(have)
    out[FIRMWARE / "package-boards.json"] = package(rom.present(profiles.DEVICE_BOARD))
    return out


def main(argv):
    if argv != ["write"] and argv != ["check"]:
        sys.exit(__doc__)
    stale = [p for p, text in files().items() if not p.exists() or p.read_text() != text]
    if argv == ["write"]:
        for p, text in files().items():
            p.write_text(text)
        return 0
    for p in stale:
        print("%s is not what tools/packages.py writes: run `python3 -m tools.packages write`" % p.relative_to(ROOT))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
