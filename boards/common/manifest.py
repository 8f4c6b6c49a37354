# boards/common/manifest.py - the OCPP2.Lite application for a MicroPython freeze manifest,
# included by boards/<board>/manifest.py with board=<its directory name>. The client
# modules come from the build profile named by the OCPP_PROFILE environment variable (default
# "lite") as tools/profiles.py lists them; drivers and hw go in whole. Frozen at opt level 3
# (no asserts, no line numbers). Runs in CPython, in the build; paths are relative to this
# file while it runs.
import os
import sys

_root = os.path.abspath(os.path.join(os.getcwd(), "..", ".."))
_fw = os.path.join(_root, "firmware")
sys.path.insert(0, os.path.join(_root, "tools"))
import profiles  # noqa: E402

del sys.path[0]
_present = [p + "/" + f[:-3] for p in profiles.CLIENT for f in sorted(os.listdir(os.path.join(_fw, p))) if f.endswith(".py")]
_have, _missing = profiles.modules(os.environ.get("OCPP_PROFILE", "lite"), _present)
for _pkg in profiles.CLIENT:
    package(_pkg, files=[m[len(_pkg) + 1 :] + ".py" for m in _have if m.startswith(_pkg + "/")], base_path=_fw, opt=3)
for _pkg in profiles.DEVICE_BOARD:
    package(_pkg, base_path=_fw, opt=3)
for _m in ("pins.py", "board.py", "main.py"):
    module(_m, base_path=os.path.join(os.getcwd(), "..", options.board), opt=3)
