# ocpp_lite/aligned.py - J01 clock-aligned meter values: MeterValues every
# AlignedDataCtrlr.Interval seconds on the clock (also during transactions, TC_J_02), samples
# of AlignedDataCtrlr.TxEndedMeasurands every TxEndedInterval for the Ended event (TC_J_03),
# and MeterValues on TriggerMessage (F06.FR.06). Builds without it answer MeterValues
# triggers NotImplemented and send no clock-aligned data.
from . import devmodel, samples, tx

_MEAS = "AlignedDataCtrlr.Measurands"


def tick(st, now):
    t = st.time(now)
    iv = devmodel.get(st, "AlignedDataCtrlr.Interval")
    last = getattr(st, "aligned", None) or {}
    if iv and last.get("mv") is not None and t // iv != last["mv"]:
        for ev in st.ev:
            send(st, ev, "Sample.Clock", t // iv * iv)
    ie = devmodel.get(st, "AlignedDataCtrlr.TxEndedInterval")
    if ie and last.get("end") is not None and t // ie != last["end"]:
        for ev in st.ev:
            if ev.tx:
                tx.add_sample(st, ev, samples.sample(st, ev, devmodel.get(st, "AlignedDataCtrlr.TxEndedMeasurands"),
                                                     "Sample.Clock", t // ie * ie))
    st.aligned = {"mv": t // iv if iv else None, "end": t // ie if ie else None}


def deadline(st, now):
    """ms until the next clock boundary of either interval, or None."""
    t = st.time(now)
    d = None
    for key in ("AlignedDataCtrlr.Interval", "AlignedDataCtrlr.TxEndedInterval"):
        iv = devmodel.get(st, key)
        if iv:
            x = (iv - t % iv) * 1000 - st.ms(now)
            d = x if d is None or x < d else d
    return d


def send(st, ev, ctx, ts):
    s = samples.sample(st, ev, devmodel.get(st, _MEAS), ctx, ts)
    if s:
        st.rpc.call("MeterValues", {"evseId": ev.id, "meterValue": [s]})


def trigger(st, evses, now):
    for ev in evses:
        send(st, ev, "Trigger", st.time(now))
