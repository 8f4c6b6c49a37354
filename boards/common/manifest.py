# boards/common/manifest.py - the OCPP2.Lite application for a MicroPython freeze manifest,
# included by boards/<board>/manifest.py with board=<its directory name>: the library
# (firmware/manifest.py: the client modules of the build profile named by the OCPP_PROFILE
# environment variable, default "lite", with the shared board logic and drivers) and this
# board's modules, frozen at opt level 3. Runs in CPython, in the build, with this file's
# directory as the working directory.
import os

include("../../firmware/manifest.py", profile=os.environ.get("OCPP_PROFILE", "lite"), boards=True)
for _m in ("pins.py", "board.py", "main.py"):
    module(_m, base_path=os.path.join(os.getcwd(), "..", options.board), opt=3)
