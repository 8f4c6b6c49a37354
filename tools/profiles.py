"""tools/profiles.py - build profiles: which modules go on the device (the list a freeze manifest
or ROMFS image takes), and the functional block each module counts towards, both read from the
layout of firmware/ rather than listed here.

A module is named by its path under firmware/ without ".py" ("ocpp_lite/station"). The OCPP
client is the packages in CLIENT; every module in them goes into every profile except the
OPTIONAL ones: the parts of blocks that firmware/ocpp_lite/station.py imports under
`try: ... except ImportError` (a build without them answers their actions NotSupported).
A profile names the optional modules it takes. The block of a module is the module or package
under ocpp_lite/ it lives in (ocpp_lite/provisioning/boot -> "B provisioning"); runtime
modules count towards the block they serve (RUNTIME_BLOCKS).
"""
import re
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
CLIENT = ("ocpp_lite", "runtime")


def _optional():
    """ocpp_lite modules that station.py imports under try/except ImportError."""
    src = (FIRMWARE / "ocpp_lite" / "station.py").read_text()
    found = re.findall(r"try:.*\n +from \.([\w.]+) import \w+", src)
    return tuple("ocpp_lite/" + m.replace(".", "/") for m in found)


OPTIONAL = _optional()
_ALIGNED = "ocpp_lite/metering/aligned"  # J01 clock-aligned meter values
_CERTQUERY = "ocpp_lite/certificates/query"  # M03/M04 GetInstalledCertificateIds, DeleteCertificate
_SMART = "ocpp_lite/smartcharging"  # K01, K08-K10, bounded

# lite: the seed's minimal set (digest section 1.1) leaves out clock-aligned meter values and the
# certificate queries; core has every Core block; core-sc adds smart charging.
PROFILES = {
    "lite": (),
    "core": (_ALIGNED, _CERTQUERY),
    "core-sc": (_ALIGNED, _CERTQUERY, _SMART),
}

# Board code, counted apart from the client: the simulator's board module (in the ROMFS image
# of the reference session, so its code is not in the heap either) and the packages the ESP32
# and RP2040 builds add (measured for ROM only).
SIM_BOARD = "simboard"
SIM_SHARED = ("hw/__init__", "hw/inputs")  # the shared board modules the simulator board uses too
DEVICE_BOARD = ("hw", "drivers")

# The modules a station imports at start and never lets go of (the rest are loaded on use and
# let go of: ocpp_lite/station.py's release()): frozen with their function objects and class
# dicts in ROM and
# their module object in static RAM (boards/common/frozen-static-functions.patch, mpy-tool.py's
# MICROPY_FROZEN_STATIC). host_tests/test_footprint.py checks the list against the modules the
# simulated station of every profile has loaded after boot. A module listed that a build lets go
# of keeps its globals until it is imported again; one left out has its functions and class
# dicts in the heap.
RESIDENT = (
    "ocpp_lite/__init__", "ocpp_lite/availability", "ocpp_lite/dispatch", "ocpp_lite/security",
    "ocpp_lite/station", "ocpp_lite/transactions", "ocpp_lite/smartcharging",
    "ocpp_lite/engine/__init__", "ocpp_lite/engine/clock", "ocpp_lite/engine/jsonsyntax",
    "ocpp_lite/engine/rpc", "ocpp_lite/engine/schema", "ocpp_lite/engine/session",
    "ocpp_lite/metering/__init__", "ocpp_lite/metering/aligned",
    "ocpp_lite/provisioning/__init__", "ocpp_lite/provisioning/devmodel", "ocpp_lite/provisioning/dmtable",
    "runtime/__init__", "runtime/app", "runtime/link", "runtime/queue", "runtime/store", "runtime/ws",
    "runtime/wscodec", "hw/__init__", "hw/inputs",
)
# what each board adds: its own modules imported at start (boards/<board>/ and firmware/hw,
# firmware/drivers), and MicroPython's asyncio (frozen on every board)
_DEVICE_RESIDENT = ("main", "board", "pins", "hw/appdir", "hw/main", "hw/board", "hw/evse", "hw/wifi",
                    "runtime/bundle", "drivers/__init__", "drivers/cp", "drivers/mfrc522", "drivers/modbus",
                    "drivers/relay", "drivers/s0", "drivers/sdm", "drivers/watchdog")
BOARD_RESIDENT = {
    "sim": ("simboard", "main"),
    "esp32": _DEVICE_RESIDENT + ("hw/ota",),  # the ESP32's board.py imports the OTA partition writer
    "rp2040": _DEVICE_RESIDENT,
}
_ASYNCIO = ("asyncio/__init__", "asyncio/core")


def resident_files(board):
    """MICROPY_FROZEN_STATIC for board: the frozen file names of the resident modules."""
    return ",".join(m + ".py" for m in RESIDENT + BOARD_RESIDENT[board] + _ASYNCIO)


# Functional blocks (OCPP 2.0.1 Part 2 letters, as in MicroOcpp's table, digest section 6.2):
# the module or package under ocpp_lite/ named after the block.
OCPP_BLOCKS = {
    "security": "A security",
    "provisioning": "B provisioning",
    "authorization": "C authorization",
    "transactions": "E transactions",
    "remotecontrol": "F remote control",
    "availability": "G availability",
    "metering": "J meter values",
    "smartcharging": "K smart charging",
    "firmware": "L firmware",
    "certificates": "M certificates",
    "diagnostics": "N diagnostics",
    "datatransfer": "P data transfer",
    "engine": "general",  # the protocol engine
    "station": "general",
    "dispatch": "general",
    "__init__": "general",
    "crypto": "crypto",
}
# runtime/ (the I/O shell): the block each module serves.
RUNTIME_BLOCKS = {
    "ws": "transport", "wscodec": "transport", "wsopen": "transport", "wsupgrade": "transport",
    "wsdeflate": "transport", "link": "transport", "http": "transport", "backoff": "transport",
    "__init__": "runtime", "app": "runtime", "store": "runtime", "config": "runtime",
    "queue": "E transactions",
    "fwupdate": "L firmware", "bundle": "L firmware",
    "certstore": "M certificates",
    "logupload": "N diagnostics",
}


def block_of(module):
    """The functional block module counts towards, or "unassigned"."""
    top, _, rest = module.partition("/")
    first = rest.split("/")[0]
    if top == "ocpp_lite":
        return OCPP_BLOCKS.get(first, "unassigned")
    if top == "runtime":
        return RUNTIME_BLOCKS.get(first, "unassigned")
    return "unassigned"


def modules(profile, present):
    """The modules of profile among present (all module names under firmware/), and the ones it
    names that do not exist."""
    named = PROFILES[profile]
    have = sorted(m for m in present if m not in OPTIONAL or m in named)
    return have, sorted(m for m in named if m not in present)


if __name__ == "__main__":  # python -m tools.profiles resident BOARD: MICROPY_FROZEN_STATIC for a firmware build
    import sys

    if sys.argv[1:2] != ["resident"] or len(sys.argv) != 3 or sys.argv[2] not in BOARD_RESIDENT:
        sys.exit("usage: python -m tools.profiles resident {%s}" % ",".join(BOARD_RESIDENT))
    print(resident_files(sys.argv[2]))
