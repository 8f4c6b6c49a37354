"""tools/footprint/rom.py - builds a profile's code as it goes on a device: every module compiled
with mpy-cross at the board build's optimisation level, and the ROMFS image of them."""

import pathlib
import shutil
import subprocess

from tools import profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
BIN = ROOT / ".venv" / "bin"
# The level the board manifests freeze at (opt=3, like MicroPython's asyncio and mip): no
# asserts, no line numbers.
OPT = 3


def present(packages=profiles.CLIENT):
    """Names of the modules of packages under firmware/ ("ocpp_lite/station")."""
    return sorted(str(p.relative_to(FIRMWARE).with_suffix("")) for pkg in packages
                  for p in (FIRMWARE / pkg).rglob("*.py"))


def build(profile, out):
    """Compile profile's modules and the simulator board into out/<profile>/ and build its
    ROMFS image. Returns the ROM figures, the modules named but not written yet, the image."""
    mods, missing = profiles.modules(profile, present())
    stage = pathlib.Path(out) / profile
    shutil.rmtree(stage, ignore_errors=True)
    sizes = {m: _compile(FIRMWARE, m, stage) for m in mods}
    unix = _compile(ROOT / "boards" / "unix", profiles.SIM_BOARD, stage)
    unix += sum(_compile(FIRMWARE, m, stage) for m in profiles.SIM_SHARED)
    image = pathlib.Path(out) / (profile + ".romfs")
    subprocess.run([str(BIN / "mpremote"), "romfs", "--no-mpy", "-o", str(image), "build", str(stage)],
                   check=True, capture_output=True)
    device = pathlib.Path(out) / "device-board"
    shutil.rmtree(device, ignore_errors=True)
    blocks = {}
    for m, n in sizes.items():
        b = profiles.block_of(m)
        blocks[b] = blocks.get(b, 0) + n
    rom = {"modules": sizes, "blocks": blocks, "total": sum(sizes.values()), "romfs_image": image.stat().st_size,
           "board": {"unix": unix,
                     "device": sum(_compile(FIRMWARE, m, device) for m in present(profiles.DEVICE_BOARD))}}
    return rom, missing, image


def _compile(base, module, stage):
    """mpy-cross base/module.py to stage/module.mpy; its size. The embedded source name is the
    module path, as when freezing (not where this checkout happens to be)."""
    dst = stage / (module + ".mpy")
    dst.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(BIN / "mpy-cross"), "-O%d" % OPT, "-s", module + ".py", "-o", str(dst),
                    str(base / (module + ".py"))], check=True, capture_output=True, text=True)
    return dst.stat().st_size
