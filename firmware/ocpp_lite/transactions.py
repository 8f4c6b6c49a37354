# ocpp_lite/transactions.py - E Transactions with TxStartPoint = TxStopPoint = PowerPathClosed: a
# transaction starts when the EV is connected AND authorized and ends when it disconnects OR
# the authorization ends (E01-E09, E05 deauthorization), with TransactionEvent and its meter
# values (J02), and E14 GetTransactionStatus. The Transactions service owns the per-EVSE state
# (ev: an Evse each; Station.ev is the same list) and the "tx" flash document (doc):
#   {"p": id prefix, "n": transactions so far, "e": {evse: open transaction}}
# which is written before every TransactionEvent, so a power cut ends the transaction after
# the reboot with stoppedReason PowerLoss and the last stored energy reading.
from time import ticks_add, ticks_diff
from micropython import const
from .engine import clock, schema

# chargingState hysteresis (issue 12 finding 6): an EV at the end of a charge, or keeping its
# 12 V battery and electronics up, draws some tens of W with the contactor closed, so one
# threshold flips Charging/SuspendedEV at every sample (a TransactionEvent and flash writes
# each time). Charging above _CHARGING_W; back to SuspendedEV only when the power stays below
# _IDLE_W for _IDLE_MS; in between nothing changes. 100/50 W: far below the least real
# charging power (6 A on one phase, about 1.4 kW) and a 2:1 band above a class-1 meter's
# noise and an S0 meter's coarse low-power estimate; 60 s: longer than an EV's short pauses
# (balancing, phase changes) and several meter readings.
_CHARGING_W = const(100)
_IDLE_W = const(50)
_IDLE_MS = const(60000)
_OFFERED = const(("Charging", "EVConnected"))  # energy offered; SuspendedEV when the EV takes none
_ENDED_SAMPLES = const(8)  # TxEnded samples kept per transaction (thinned when full)

_ENERGY = const("Energy.Active.Import.Register")

# The transaction state table of an EVSE (E01-E09 with TxStartPoint = TxStopPoint =
# PowerPathClosed, Part 2 figure "Transaction flow"): in state, event -> the next state and the
# action. The state follows from the EVSE's facts (state()): "Transaction" a transaction is open,
# "Authorized" an authorization waits for the cable, "Plugged" the cable is in, else "Idle".
# Events: plug, unplug; authorize (an accepted idToken: local Authorize or RequestStart);
# timeout (EVConnectionTimeOut); cancel (the same card again, the EVSE unavailable or faulted);
# stop (a stop card, RequestStopTransaction, Reset, deauthorization, a fault). Actions: wait
# (for the cable), start (relay closed, Started), lapse (the authorization is dropped; nothing
# sent), end (relay open, Ended). An event with no row changes nothing but the facts.
TX_TABLE = const((
    # state          event        next           action
    ("Idle", "plug", "Plugged", None),
    ("Idle", "authorize", "Authorized", "wait"),  # E03, F02: EVConnectionTimeOut for the cable
    ("Authorized", "authorize", "Authorized", "wait"),  # a newer authorization replaces it
    ("Authorized", "plug", "Transaction", "start"),  # E03.FR.01: CablePluggedIn (RemoteStart)
    ("Authorized", "timeout", "Idle", "lapse"),  # E03.FR.05: no cable came
    ("Authorized", "cancel", "Idle", "lapse"),
    ("Plugged", "authorize", "Transaction", "start"),  # E02: Authorized (RemoteStart)
    ("Plugged", "unplug", "Idle", None),
    ("Transaction", "unplug", "Idle", "end"),  # E06/E09: EVDisconnected (StopTxOnEVSideDisconnect)
    ("Transaction", "stop", "Plugged", "end"),  # E06/E07/E05/F03/B12: the cable is still in
))
_STATUS_REQ = const((("transactionId", 36, 0),))
_STOPPED = const((("GroundFault", "GroundFault"), ("Overcurrent", "OvercurrentFault"), ("EmergencyStop", "EmergencyStop")))


def state(ev):
    """The transaction state of ev (TX_TABLE) from its facts."""
    if ev.tx:
        return "Transaction"
    if ev.auth:
        return "Authorized"
    return "Plugged" if ev.plugged else "Idle"


def action(ev, event):
    """The action of event in ev's state (TX_TABLE), or None when the event has no row."""
    s = state(ev)
    for row in TX_TABLE:
        if row[0] == s and row[1] == event:
            return row[3]
    return None


class Evse:
    """What the station knows about one EVSE (in RAM)."""

    def __init__(self, i):
        self.id = i
        self.plugged = False
        self.wh = 0  # energy register, Wh
        self.w = 0  # power, W
        self.v = None  # volts, if measured
        self.a = None  # amps, if measured
        self.relay = False
        self.auth = None  # waiting for the cable: (idToken, group, remoteStartId, until, chargingProfile)
        self.tx = None  # the open transaction (as stored)
        self.next_upd = None  # ticks of the next periodic Updated
        self.next_end = None  # ticks of the next TxEnded sample
        self.fault = None  # what is broken (a board's fault input), or None
        self.ready = None  # the EV asks for energy (control pilot C/D); None: no pilot reading
        self.idle_until = None  # ticks: Charging becomes SuspendedEV then (power below _IDLE_W
        #                         since _IDLE_MS before); None: no such hold running


class Transactions:
    """The transactions of the station's EVSEs (ev: one Evse each) and their flash document."""

    def __init__(self, st, doc, evses, now, seed):
        """seed: the station's 8 random bytes (the first document's transaction id prefix)."""
        self.st = st
        self.ev = [Evse(i + 1) for i in range(evses)]
        self.doc = doc or {"p": "%02x%02x%02x%02x" % tuple(seed[4:8]), "n": 0, "e": {}}
        queued = {}  # transactionId: (highest seqNo queued, Ended queued), of the flash queue
        for k, tid in st.q.of_tx():
            m = st.q.get(k)
            if m is not None and m["a"] == "TransactionEvent":
                seq, ended = queued.get(tid, (-1, False))
                queued[tid] = (max(seq, m["p"]["seqNo"]), ended or m["p"]["eventType"] == "Ended")
        if doc and not doc["e"] and not queued:
            return  # nothing to recover, nothing to write
        # A TransactionEvent is queued in flash before the state that counts it is saved, and sent
        # only after both. Power lost in between leaves the queue ahead of the state: a transaction
        # the state never recorded (its messages were never sent: drop them), or one whose Ended is
        # already queued, or a seqNo already taken.
        open_ids = [t["id"] for t in self.doc["e"].values()]
        for k, tid in st.q.of_tx():
            if tid not in open_ids and not queued[tid][1]:
                st.q.remove(k)
        for key in list(self.doc["e"]):  # open before the power went: end them (E06, PowerLoss)
            t = self.doc["e"][key]
            seq, ended = queued.get(t["id"], (-1, False))
            if not ended:
                ev = self.ev[int(key) - 1] if int(key) <= evses else Evse(int(key))
                ev.tx = t
                ev.wh = t["wh"]
                t["seq"] = max(t["seq"], seq + 1)
                self._event(ev, "Ended", "AbnormalCondition", now, stopped="PowerLoss", cs="Idle", at=t["t"],
                       ctx="Transaction.End", measurands=_ENERGY)
                ev.tx = None
            del self.doc["e"][key]
        self._save()

    def _save(self):
        st = self.st
        try:
            st.save("tx", self.doc)
        except OSError as e:
            st.log("transaction state not saved: %r" % e)

    def running(self, evse=0):
        """A transaction runs on evse (0: on any)."""
        for ev in self.ev:
            if ev.tx and evse in (0, ev.id):
                return True
        return False

    def find(self, tx_id):
        for ev in self.ev:
            if ev.tx and ev.tx["id"] == tx_id:
                return ev
        return None

    # --- inputs ------------------------------------------------------------------------------
    def plug(self, evse, now):
        """A cable is in (control pilot left state A)."""
        ev = self.ev[evse - 1]
        act = action(ev, "plug")
        ev.plugged = True
        self.st.availability.update(ev, now)
        if act == "start":
            self.start(ev, ev.auth, "CablePluggedIn", now)

    def unplug(self, evse, now):
        """The cable is out (control pilot back in state A)."""
        st = self.st
        ev = self.ev[evse - 1]
        act = action(ev, "unplug")
        ev.plugged = False
        if act == "end":  # E06/E09: the EV left, the transaction ends (StopTxOnEVSideDisconnect)
            self.stop(ev, "EVCommunicationLost", "EVDisconnected", now, cs="Idle")
            unlock = st.hw.get("unlock")
            if unlock and st.devmodel.get("OCPPCommCtrlr.UnlockOnEVSideDisconnect"):
                unlock(ev.id)  # E09.FR.02: the cable can leave the socket too
        st.availability.update(ev, now)

    def fault(self, evse, reason, now):
        """The board found a fault (welded or stuck contactor, silent meter, pilot error): the
        transaction stops (E06.FR.16), the connector is Faulted until it clears."""
        ev = self.ev[evse - 1]
        ev.fault = reason
        self.cancel(ev, None, now)
        stopped = "Other"
        for r, s in _STOPPED:
            if r == reason:
                stopped = s
        self.stop(ev, "AbnormalCondition", stopped, now)
        self._relay(ev, False)
        self.st.availability.update(ev, now)

    def fault_cleared(self, evse, now):
        ev = self.ev[evse - 1]
        ev.fault = None
        self.st.availability.update(ev, now)

    def authorized(self, ev, tok, grp, rid, now, profile=None):
        """An accepted authorization for ev: start at once if the EV is there, else wait
        EVConnectionTimeOut for it (E03, F02). profile: a TxProfile from RequestStartTransaction."""
        st = self.st
        act = action(ev, "authorize")
        auth = (tok, grp, rid, ticks_add(now, st.devmodel.get("TxCtrlr.EVConnectionTimeOut") * 1000), profile)
        if act == "start":
            self.start(ev, auth, "Authorized", now)
        elif act == "wait":
            ev.auth = auth
            st.show({"ev": "auth", "evse": ev.id, "status": "WaitingForCable"})

    def cancel(self, ev, why, now, event="cancel"):
        """A waiting authorization lapses (event cancel or timeout); why: what a person is
        shown (None: nothing)."""
        if action(ev, event) == "lapse":
            ev.auth = None
            if why:
                self.st.show({"ev": "auth", "evse": ev.id, "status": why})

    def ev_ready(self, evse, ready, now):
        """The EV asks for energy (control pilot state C/D) or stops asking (B): a charging EV
        that stops asking is SuspendedEV at once, without waiting for the meter."""
        ev = self.ev[evse - 1]
        ev.ready = ready
        self._charging(ev, now)

    def meter(self, evse, wh, w, now, v=None, a=None):
        """A meter reading: energy register (integer Wh), power (W), volts and amps if known."""
        ev = self.ev[evse - 1]
        if wh < ev.wh:
            self.st.log("EVSE %d meter went back from %d to %d Wh: ignored" % (ev.id, ev.wh, wh))  # J02.FR.16
        else:
            ev.wh = wh
        ev.w, ev.v, ev.a = w, v, a
        self._charging(ev, now)

    def _charging(self, ev, now):
        """chargingState from the pilot and the power, with hysteresis: Charging above _CHARGING_W
        unless the pilot says the EV does not ask; from Charging, or from EVConnected (the power
        path closed but the EV not ready, E_38), SuspendedEV at once on pilot state B, or when
        the power has stayed below _IDLE_W for _IDLE_MS (the hold ev.idle_until, which tick()
        completes without another reading). Any other reading ends the hold."""
        hold = None
        if ev.tx and ev.relay:
            cs = ev.tx["cs"]
            new = cs
            if ev.ready is not False and ev.w > _CHARGING_W:
                new = "Charging"
            elif cs in _OFFERED and ev.ready is False:
                new = "SuspendedEV"
            elif cs in _OFFERED and ev.w < _IDLE_W:
                hold = ev.idle_until if ev.idle_until is not None else ticks_add(now, _IDLE_MS)
            if new != cs:
                ev.tx["cs"] = new
                self._event(ev, "Updated", "ChargingStateChanged", now)
        ev.idle_until = hold

    # --- transaction -------------------------------------------------------------------------
    def start(self, ev, auth, trigger, now):
        """Start a transaction on ev for authorization auth (as Evse.auth holds it); trigger:
        why, unless the CSMS asked for it (RemoteStart)."""
        st = self.st
        tok, grp, rid, _, profile = auth
        if rid is not None:
            trigger = "RemoteStart"
        ev.auth = None
        self.doc["n"] += 1
        t0 = st.time(now)
        t = {"id": "%s-%d" % (self.doc["p"], self.doc["n"]), "seq": 0, "tok": tok, "grp": grp, "cs": "EVConnected",
             "t": t0, "t0": t0, "wh": ev.wh, "smp": []}
        ev.tx = t
        self.doc["e"][str(ev.id)] = t
        self._event(ev, "Started", trigger, now, tok=tok, rid=rid, ctx="Transaction.Begin")
        self._relay(ev, True)
        st.availability.update(ev, now)
        self._timers(ev, now)
        if st.smartcharging:
            st.smartcharging.started(ev, profile, now)

    def stop(self, ev, trigger, stopped, now, tok=None, cs="EVConnected"):
        """End ev's transaction, if one is open (E06): contactor open first, then Ended. With
        the cable still in: a stop card, RequestStopTransaction, Reset, a deauthorization, a
        fault; cs "Idle": the EV left (unplug)."""
        if action(ev, "stop") != "end":
            return
        st = self.st
        self._relay(ev, False)
        t = ev.tx
        t["cs"] = cs
        self._event(ev, "Ended", trigger, now, tok=tok, stopped=stopped, ctx="Transaction.End")
        ev.tx = None
        ev.next_upd = ev.next_end = ev.idle_until = None
        self.doc["e"].pop(str(ev.id), None)
        self._save()
        st.availability.update(ev, now)
        st.availability.ended(now)  # what waited for the transaction's end
        reset = st.loaded("reset")
        if reset:
            reset.ended(now)
        if st.smartcharging:
            st.smartcharging.ended(ev, t["id"], now)

    def _event(self, ev, etype, trigger, now, tok=None, stopped=None, rid=None, cs=None, at=None,
               ctx=None, measurands=None):
        """Build, store and queue a TransactionEvent for the open transaction of ev; with a
        reading context ctx, a sample of the measurands (by default those of the event type:
        SampledDataCtrlr.TxStartedMeasurands, TxUpdatedMeasurands, TxEndedMeasurands)."""
        st = self.st
        t = ev.tx
        ts = st.time(now) if at is None else at
        info = {"transactionId": t["id"], "chargingState": cs or t["cs"]}
        if stopped:
            info["stoppedReason"] = stopped
        if rid is not None:
            info["remoteStartId"] = rid
        p = {"eventType": etype, "timestamp": clock.iso(ts), "triggerReason": trigger, "seqNo": t["seq"],
             "transactionInfo": info}
        if tok:
            p["idToken"] = tok
        if etype == "Started":
            p["evse"] = {"id": ev.id, "connectorId": 1}
        if not st.rpc.online or not st.rpc.accepted:
            p["offline"] = True  # E11/E12: it happened while the CSMS could not hear it
        mv = []
        if etype == "Ended":
            mv = t["smp"]
        if ctx:
            from .metering import sample  # imported with the first transaction

            s = sample(ev, measurands or st.devmodel.get("SampledDataCtrlr.Tx%sMeasurands" % etype), ctx, ts)
            if s:
                mv = mv + [s]
        if mv:
            p["meterValue"] = mv
        t["seq"] += 1
        t["t"] = ts
        t["wh"] = ev.wh
        try:  # queued before the state is saved (init() relies on this order)
            st.rpc.keep(st, "TransactionEvent", p, t["id"], etype == "Updated")
        except OSError as e:
            st.log("TransactionEvent not stored: %r" % e)
        if etype != "Ended":
            self._save()
        st.show({"ev": "tx", "evse": ev.id, "event": etype, "trigger": trigger, "id": t["id"], "seq": p["seqNo"]})

    def triggered(self, ev, now):
        """F06.FR.07: TriggerMessage(TransactionEvent)."""
        self._event(ev, "Updated", "Trigger", now, ctx="Trigger")

    def answered(self, m, res, now):
        """The CSMS answered a TransactionEvent: an idTokenInfo other than Accepted ends or
        suspends the authorization (E05)."""
        info = res.get("idTokenInfo") if res else None
        if not info or info.get("status", "Accepted") == "Accepted":
            return
        ev = self.find(m["tx"])
        if not ev or not ev.relay:
            return
        if self.st.devmodel.get("TxCtrlr.StopTxOnInvalidId"):
            self.stop(ev, "Deauthorized", "DeAuthorized", now)
        else:  # E05.FR.02: no more energy, the transaction goes on
            self._relay(ev, False)
            ev.idle_until = None
            ev.tx["cs"] = "SuspendedEVSE"
            self._event(ev, "Updated", "ChargingStateChanged", now)

    # --- timers ------------------------------------------------------------------------------
    def _next(self, key, now):
        """ticks of the next sample for interval variable key (read now: a change applies at once)."""
        s = self.st.devmodel.get(key)
        return ticks_add(now, s * 1000) if s else None

    def _timers(self, ev, now):
        ev.next_upd = self._next("SampledDataCtrlr.TxUpdatedInterval", now)
        ev.next_end = self._next("SampledDataCtrlr.TxEndedInterval", now)

    def retime(self, now):
        """SampledDataCtrlr intervals changed: they apply at once to running transactions."""
        for ev in self.ev:
            if ev.tx:
                self._timers(ev, now)

    def tick(self, now):
        st = self.st
        for ev in self.ev:
            if ev.auth and ticks_diff(now, ev.auth[3]) >= 0:  # EVConnectionTimeOut: no cable came
                self.cancel(ev, "Timeout", now, "timeout")
            if ev.idle_until is not None and ticks_diff(now, ev.idle_until) >= 0:  # the power stayed low
                ev.idle_until = None
                if ev.tx and ev.relay and ev.tx["cs"] in _OFFERED:
                    ev.tx["cs"] = "SuspendedEV"
                    self._event(ev, "Updated", "ChargingStateChanged", now)
            if ev.tx and ev.next_upd is not None and ticks_diff(now, ev.next_upd) >= 0:
                self._event(ev, "Updated", "MeterValuePeriodic", now, ctx="Sample.Periodic")
                ev.next_upd = self._next("SampledDataCtrlr.TxUpdatedInterval", now)
            if ev.tx and ev.next_end is not None and ticks_diff(now, ev.next_end) >= 0:
                from .metering import sample

                self.add_sample(ev, sample(ev, st.devmodel.get("SampledDataCtrlr.TxEndedMeasurands"),
                                                  "Sample.Periodic", st.time(now)))
                ev.next_end = self._next("SampledDataCtrlr.TxEndedInterval", now)

    def add_sample(self, ev, s):
        """Keep a meter sample for the Ended event; when full drop every second one, never the
        first or the newest (E06.FR.12/13)."""
        if not s:
            return
        smp = ev.tx["smp"]
        if len(smp) >= _ENDED_SAMPLES:
            smp[:] = smp[::2]
        smp.append(s)
        self._save()

    def deadline(self, now):
        d = None
        for ev in self.ev:
            for t in (ev.auth[3] if ev.auth else None, ev.next_upd if ev.tx else None, ev.next_end if ev.tx else None,
                      ev.idle_until):
                if t is not None:
                    x = ticks_diff(t, now)
                    if d is None or x < d:
                        d = x
        return d

    # --- outputs -----------------------------------------------------------------------------
    def _relay(self, ev, closed):
        if ev.relay != closed:
            ev.relay = closed
            self.st.effect(("relay", ev.id, closed))

    def refresh(self, now):
        """Availability changed: show the connectors' status again; a waiting authorization on an
        EVSE that became unavailable lapses."""
        st = self.st
        for ev in self.ev:
            if ev.auth and st.inoperative(ev.id):
                self.cancel(ev, None, now)
            st.availability.update(ev, now)

    # --- E14 GetTransactionStatus ----------------------------------------------------------
    def GetTransactionStatus(self, p, now):
        """Is the transaction still going, and are messages of it (or of any transaction)
        waiting in the flash queue."""
        schema.check(p, _STATUS_REQ)
        tid = p.get("transactionId")
        res = {"messagesInQueue": self.st.q.count_tx(tid) > 0}
        if tid is not None:
            res["ongoingIndicator"] = self.find(tid) is not None
        return res
