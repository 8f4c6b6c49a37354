# ocpp_lite/metering/aligned.py - J01 clock-aligned meter values: MeterValues every
# AlignedDataCtrlr.Interval seconds on the clock (also during transactions, TC_J_02), samples
# of AlignedDataCtrlr.TxEndedMeasurands every TxEndedInterval for the Ended event (TC_J_03),
# and MeterValues on TriggerMessage (F06.FR.06). Builds without it answer MeterValues
# triggers NotImplemented and send no clock-aligned data.
from . import sample

_MEAS = "AlignedDataCtrlr.Measurands"


class Aligned:
    def __init__(self, st):
        self.st = st
        self.mv = None  # the clock interval of the last MeterValues (time // Interval), or None
        self.end = None  # the same for the TxEnded samples (time // TxEndedInterval)

    def tick(self, now):
        st = self.st
        dm = st.devmodel
        t = st.time(now)
        iv = dm.get("AlignedDataCtrlr.Interval")
        if iv and self.mv is not None and t // iv != self.mv:
            for ev in st.ev:
                self.send(ev, "Sample.Clock", t // iv * iv)
        ie = dm.get("AlignedDataCtrlr.TxEndedInterval")
        if ie and self.end is not None and t // ie != self.end:
            for ev in st.ev:
                if ev.tx:
                    st.transactions.add_sample(ev, sample(ev, dm.get("AlignedDataCtrlr.TxEndedMeasurands"),
                                                                  "Sample.Clock", t // ie * ie))
        self.mv = t // iv if iv else None
        self.end = t // ie if ie else None

    def deadline(self, now):
        """ms until the next clock boundary of either interval, or None."""
        st = self.st
        t = st.time(now)
        d = None
        for key in ("AlignedDataCtrlr.Interval", "AlignedDataCtrlr.TxEndedInterval"):
            iv = st.devmodel.get(key)
            if iv:
                x = (iv - t % iv) * 1000 - st.ms(now)
                d = x if d is None or x < d else d
        return d

    def send(self, ev, ctx, ts):
        s = sample(ev, self.st.devmodel.get(_MEAS), ctx, ts)
        if s:
            self.st.rpc.call("MeterValues", {"evseId": ev.id, "meterValue": [s]})

    def trigger(self, evses, now):
        for ev in evses:
            self.send(ev, "Trigger", self.st.time(now))
