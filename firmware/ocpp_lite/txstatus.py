# ocpp_lite/txstatus.py - E14 GetTransactionStatus: is the transaction still going, and are
# messages of it (or of any transaction) waiting in the flash queue.
from . import schema, tx

_REQ = (("transactionId", 36, 0),)


def GetTransactionStatus(st, p, now):
    schema.check(p, _REQ)
    tid = p.get("transactionId")
    res = {"messagesInQueue": st.q.count_tx(tid) > 0}
    if tid is not None:
        res["ongoingIndicator"] = tx.find(st, tid) is not None
    return res
