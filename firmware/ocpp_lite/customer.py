# ocpp_lite/customer.py - N09/N10 CustomerInformation. The station stores no customer data
# (no authorization cache, no local list), so there is nothing to clear, and a report is one
# NotifyCustomerInformation with empty data (N09.FR.06).
from micropython import const
from . import schema
from .auth import ID_TOKEN

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
BOOL = const(-3)
INT = const(-1)
REQ = const(1)

_HASH = const((("hashAlgorithm", ("SHA256", "SHA384", "SHA512"), REQ), ("issuerNameHash", 128, REQ),
               ("issuerKeyHash", 128, REQ), ("serialNumber", 40, REQ)))
_REQ = (("requestId", INT, REQ), ("report", BOOL, REQ), ("clear", BOOL, REQ), ("customerCertificate", _HASH, 0),
        ("idToken", ID_TOKEN, 0), ("customerIdentifier", 64, 0))


def CustomerInformation(st, p, now):
    schema.check(p, _REQ)
    if sum(1 for k in ("customerCertificate", "idToken", "customerIdentifier") if k in p) != 1:
        return {"status": "Invalid"}  # N09.FR.09: exactly one way to name the customer
    if p["report"]:
        st.rpc.call("NotifyCustomerInformation",
                    {"data": "", "seqNo": 0, "generatedAt": st.stamp(now), "requestId": p["requestId"]})
    return {"status": "Accepted"}
