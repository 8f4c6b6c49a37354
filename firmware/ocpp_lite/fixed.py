# ocpp_lite/fixed.py - actions with a fixed answer: DataTransfer (P01: this firmware has no
# vendor extensions -> UnknownVendorId) and ClearCache (C11: no authorization cache -> Rejected).
from . import schema
from .schema import ANY, REQ

_DATA_TRANSFER = (("vendorId", 255, REQ), ("messageId", 50, 0), ("data", ANY, 0))


def DataTransfer(st, p, now):
    schema.check(p, _DATA_TRANSFER)
    return {"status": "UnknownVendorId"}


def ClearCache(st, p, now):
    schema.check(p, ())
    return {"status": "Rejected"}
