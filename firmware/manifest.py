# firmware/manifest.py - OCPP2.Lite as a library for a MicroPython firmware build: a board's
# freeze manifest includes it (docs/library.md):
#     include("<checkout>/firmware/manifest.py", profile="core", boards=True)
# profile: the build profile (tools/profiles.py: lite, core or core-sc; default: the
# OCPP_PROFILE environment variable, else lite), whose client modules (ocpp_lite, runtime) are
# frozen; boards=True adds the shared board logic and drivers (hw, drivers) that the ESP32 and
# RP2040 packages use. Frozen at opt level 3 (no asserts, no line numbers). The port must
# freeze asyncio and ssl (every port that runs OCPP2.Lite has them). Runs in CPython during the
# build, with this file's directory as the working directory.
import os
import sys

options.defaults(profile=os.environ.get("OCPP_PROFILE", "lite"), boards=False)
_fw = os.getcwd()
sys.path.insert(0, os.path.join(_fw, "..", "tools"))
import profiles  # noqa: E402

del sys.path[0]
_present = sorted(os.path.relpath(os.path.join(d, f), _fw)[:-3].replace(os.sep, "/") for p in profiles.CLIENT
                  for d, _, fs in os.walk(os.path.join(_fw, p)) for f in fs if f.endswith(".py"))
_have, _missing = profiles.modules(options.profile, _present)
for _pkg in profiles.CLIENT:
    package(_pkg, files=[m[len(_pkg) + 1 :] + ".py" for m in _have if m.startswith(_pkg + "/")], base_path=_fw, opt=3)
if options.boards:
    for _pkg in profiles.DEVICE_BOARD:
        package(_pkg, base_path=_fw, opt=3)
