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
    "ws": "transport", "wscodec": "transport", "wsopen": "transport", "wsupgrade": "transport", "link": "transport", "http": "transport", "backoff": "transport",
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
