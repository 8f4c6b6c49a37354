# ocpp_lite/fixed.py - actions with a fixed answer: DataTransfer (P01: this firmware has no
# vendor extensions -> UnknownVendorId) and ClearCache (C11: no authorization cache -> Rejected).
from micropython import const
from . import schema

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
ANY = const(-5)
REQ = const(1)

DATA_TRANSFER = const((("vendorId", 255, REQ), ("messageId", 50, 0), ("data", ANY, 0)))


def DataTransfer(st, p, now):
    schema.check(p, DATA_TRANSFER)
    return {"status": "UnknownVendorId"}


def ClearCache(st, p, now):
    schema.check(p, ())
    return {"status": "Rejected"}
