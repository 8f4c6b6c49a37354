# ocpp_lite/datatransfer.py - P DataTransfer (P01): this firmware has no vendor extensions, so
# every DataTransfer is answered UnknownVendorId.
from micropython import const
from .engine import schema

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_ANY = const(-5)
_REQ = const(1)

DATA_TRANSFER = const((("vendorId", 255, _REQ), ("messageId", 50, 0), ("data", _ANY, 0)))


class DataTransfer:
    def __init__(self, st):
        self.st = st

    def DataTransfer(self, p, now):
        schema.check(p, DATA_TRANSFER)
        return {"status": "UnknownVendorId"}
