"""tools/profiles.py - build profiles: which modules go on the device (the list a freeze manifest
or ROMFS image takes), and the functional block each module counts towards.

A module is named by its path under firmware/ without ".py" ("ocpp_lite/station"). The OCPP
client is the packages in CLIENT; every module in them that is not in OPTIONAL goes into every
profile, so a new core module is never left out by accident. OPTIONAL modules go only into the profiles that name them; a module
that only an optional feature needs belongs in OPTIONAL with it. Names of modules not written
yet are fine: the footprint tool includes what exists and reports the rest as missing.
"""

# Handler modules of the dispatch table (firmware/ocpp_lite/actions.py) and other feature modules.
PROVISIONING = ("provisioning", "netprofile", "reset")  # B05-B09, B11/B12
REMOTE = ("remote", "unlock", "trigger")  # F01-F06
CORE_HANDLERS = PROVISIONING + REMOTE + (
    "availability",  # G03/G04 ChangeAvailability
    "txstatus",  # E14 GetTransactionStatus
    "certs",  # M05 InstallCertificate
    "firmware",  # L01 UpdateFirmware
    "logs",  # N01 GetLog
    "customer",  # N09/N10 CustomerInformation
    "fixed",  # P01 DataTransfer, C11 ClearCache: fixed rejections
)
# What the seed's minimal set leaves out (digest section 1.1): GetReport has no module at all.
NOT_LITE = (
    "certquery",  # M03/M04 GetInstalledCertificateIds, DeleteCertificate
    "aligned",  # J01 clock-aligned MeterValues
)
SMART_CHARGING = ("smartcharging",)  # K01, K08-K10, bounded

OPTIONAL = tuple("ocpp_lite/" + m for m in CORE_HANDLERS + NOT_LITE + SMART_CHARGING)

PROFILES = {
    "lite": tuple("ocpp_lite/" + m for m in CORE_HANDLERS),
    "core": tuple("ocpp_lite/" + m for m in CORE_HANDLERS + NOT_LITE),
    "core-sc": tuple("ocpp_lite/" + m for m in CORE_HANDLERS + NOT_LITE + SMART_CHARGING),
}

CLIENT = ("ocpp_lite", "runtime")

# Board code, counted apart from the client: the simulator's board module (in the ROMFS image
# of the reference session, so its code is not in the heap either) and the packages the ESP32
# and RP2040 builds add (measured for ROM only).
SIM_BOARD = "simboard"
SIM_SHARED = ("hw/__init__", "hw/inputs")  # the shared board modules the simulator board uses too
DEVICE_BOARD = ("hw", "drivers")

# Functional blocks (OCPP 2.0.1 Part 2 letters, as in MicroOcpp's table, digest section 6.2).
# Modules not listed count as "unassigned" in the report until someone lists them here.
BLOCKS = {
    "general": ("ocpp_lite/__init__", "ocpp_lite/station", "ocpp_lite/session", "ocpp_lite/rpc",
                "ocpp_lite/jsonsyntax", "ocpp_lite/schema", "ocpp_lite/actions", "ocpp_lite/clock"),
    "transport": ("ocpp_lite/wscodec", "ocpp_lite/backoff", "runtime/ws", "runtime/link", "runtime/http"),
    "runtime": ("runtime/__init__", "runtime/app", "runtime/store", "runtime/config"),
    "A security": ("ocpp_lite/pem", "ocpp_lite/secevents", "ocpp_lite/der", "ocpp_lite/x509", "ocpp_lite/rsa",
                   "ocpp_lite/ecdsa"),
    "B provisioning": ("ocpp_lite/boot", "ocpp_lite/provisioning", "ocpp_lite/netprofile",
                       "ocpp_lite/reset", "ocpp_lite/devmodel", "ocpp_lite/dmtable"),
    "C authorization": ("ocpp_lite/auth",),
    "E transactions": ("ocpp_lite/tx", "ocpp_lite/txstatus", "runtime/queue"),
    "F remote control": ("ocpp_lite/remote", "ocpp_lite/unlock", "ocpp_lite/trigger"),
    "G availability": ("ocpp_lite/status", "ocpp_lite/availability"),
    "J meter values": ("ocpp_lite/aligned", "ocpp_lite/samples"),
    "K smart charging": ("ocpp_lite/smartcharging",),
    "L firmware": ("ocpp_lite/firmware", "runtime/fwupdate", "runtime/bundle"),
    "M certificates": ("ocpp_lite/certs", "ocpp_lite/certquery", "runtime/certstore"),
    "N diagnostics": ("ocpp_lite/logs", "ocpp_lite/customer", "runtime/logupload"),
    "P data transfer": ("ocpp_lite/fixed",),
}


def block_of(module):
    for block, modules in BLOCKS.items():
        if module in modules:
            return block
    return "unassigned"


def modules(profile, present):
    """The modules of profile among present (all module names under firmware/), and the ones it
    names that do not exist yet."""
    named = PROFILES[profile]
    have = sorted(m for m in present if m not in OPTIONAL or m in named)
    return have, sorted(m for m in named if m not in present)
