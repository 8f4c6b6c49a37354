# ocpp_lite/smartcharging.py - bounded smart charging (K01, K08-K10), only in the core-sc build:
# SetChargingProfile, ClearChargingProfile, GetChargingProfiles -> ReportChargingProfiles,
# GetCompositeSchedule, and the composite limit applied to each EVSE as the current the
# control pilot offers (effect ("limit", evse, amps); None = the EVSE's rating).
#
# Bounds (SmartChargingCtrlr, read-only): at most Entries[ChargingProfiles] profiles, stack
# levels 0..ProfileStackLevel, PeriodsPerSchedule periods, one schedule per profile, rate unit
# A. Profiles are stored ("profiles" document: [{"e": evseId, "p": profile}]) and survive
# reboots (K01.FR.27); a TxProfile goes when its transaction ends. The SmartCharging service
# owns the profiles and the limit applied to each EVSE.
from time import ticks_diff
from micropython import const
from .engine import clock, schema
from .provisioning import devmodel

# schema.py's field types and flags, as constants here: with them every schema below is a
# constant the compiler folds (frozen: in flash, not built in the heap at import).
_ANY = const(-5)
_INT = const(-1)
_LIST = const(2)
_NUM = const(-2)
_REQ = const(1)
_TIME = const(-4)

MAX = "SmartChargingCtrlr.Entries[ChargingProfiles]"
_PURPOSES = const(("ChargingStationExternalConstraints", "ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"))
_PERIOD = const((("startPeriod", _INT, _REQ), ("limit", _NUM, _REQ), ("numberPhases", _INT, 0), ("phaseToUse", _INT, 0)))
_SCHEDULE = const((("id", _INT, _REQ), ("startSchedule", _TIME, 0), ("duration", _INT, 0),
                   ("chargingRateUnit", ("W", "A"), _REQ),
                   ("chargingSchedulePeriod", _PERIOD, _REQ | _LIST, 1, 1024), ("minChargingRate", _NUM, 0),
                   ("salesTariff", _ANY, 0)))
PROFILE = const((("id", _INT, _REQ), ("stackLevel", _INT, _REQ), ("chargingProfilePurpose", _PURPOSES, _REQ),
                 ("chargingProfileKind", ("Absolute", "Recurring", "Relative"), _REQ),
                 ("recurrencyKind", ("Daily", "Weekly"), 0), ("validFrom", _TIME, 0), ("validTo", _TIME, 0),
                 ("chargingSchedule", _SCHEDULE, _REQ | _LIST, 1, 3), ("transactionId", 36, 0)))
_SET = const((("evseId", _INT, _REQ), ("chargingProfile", PROFILE, _REQ)))
_CRITERIA = const((("evseId", _INT, 0), ("chargingProfilePurpose", _PURPOSES, 0), ("stackLevel", _INT, 0)))
_CLEAR = const((("chargingProfileId", _INT, 0), ("chargingProfileCriteria", _CRITERIA, 0)))
_CRITERION = const((("chargingProfilePurpose", _PURPOSES, 0), ("stackLevel", _INT, 0),
                    ("chargingProfileId", _INT, _LIST, 1, 0),
                    ("chargingLimitSource", ("EMS", "Other", "SO", "CSO"), _LIST, 1, 4)))
_GET = const((("requestId", _INT, _REQ), ("evseId", _INT, 0), ("chargingProfile", _CRITERION, _REQ)))
_COMPOSITE = const((("duration", _INT, _REQ), ("chargingRateUnit", ("W", "A"), 0), ("evseId", _INT, _REQ)))
_MOST_PERIODS = const(32)  # periods in a composite schedule
_HORIZON = const(86400)  # limits are looked ahead at most a day (clock.MAX_WAIT_S)
_RECUR = {"Daily": 86400, "Weekly": 604800}


class SmartCharging:
    def __init__(self, st, doc):
        self.st = st
        self.profiles = doc or ()  # (replaced whole when it changes: none is no list's 64 bytes)
        self.limits = [None] * len(st.ev)  # the limit applied to each EVSE (None: its rating)
        self.limit_due = None  # ticks of the next change of any limit

    def _save(self, profiles):
        st = self.st
        st.save("profiles", profiles)
        self.profiles = profiles

    def check_profile(self, profile):
        """Raise CallError when profile (a RequestStartTransaction's chargingProfile) is malformed."""
        schema.value(profile, PROFILE, "", "chargingProfile")

    def problem(self, e, p):
        """Why profile p for EVSE e cannot be installed (K01), or None."""
        st = self.st
        sch = p["chargingSchedule"]
        kind = p["chargingProfileKind"]
        purpose = p["chargingProfilePurpose"]
        periods = sch[0]["chargingSchedulePeriod"]
        if not 0 <= e <= len(st.ev):
            return "UnknownEvse"
        if purpose == "ChargingStationExternalConstraints":
            return "NotFromCsms"  # K01.FR.22
        if purpose == "ChargingStationMaxProfile" and (e != 0 or kind == "Relative"):
            return "InvalidProfile"  # K01.FR.38
        if purpose == "TxProfile" and e == 0:
            return "InvalidEvse"
        if len(sch) != 1:
            return "OneSchedule"  # K01.FR.34 (no ISO 15118)
        if sch[0]["chargingRateUnit"] != "A":
            return "UnsupportedRateUnit"  # K01.FR.26: RateUnit is A
        if not 0 <= p["stackLevel"] <= st.devmodel.get("SmartChargingCtrlr.ProfileStackLevel"):
            return "InvalidStackLevel"
        if len(periods) > st.devmodel.get("SmartChargingCtrlr.PeriodsPerSchedule"):
            return "TooManyPeriods"
        if periods[0]["startPeriod"] != 0 or any(
                periods[i]["startPeriod"] <= periods[i - 1]["startPeriod"] for i in range(1, len(periods))):
            return "InvalidSchedule"  # K01.FR.31/35
        if any(x["limit"] < 0 for x in periods):
            return "InvalidSchedule"
        if kind == "Recurring" and ("recurrencyKind" not in p or "startSchedule" not in sch[0]):
            return "InvalidSchedule"
        if kind == "Absolute" and "startSchedule" not in sch[0]:
            return "InvalidSchedule"
        return None

    def SetChargingProfile(self, req, now):
        st = self.st
        schema.check(req, _SET)
        e = req["evseId"]
        p = req["chargingProfile"]
        why = self.problem(e, p)
        if not why and p["chargingProfilePurpose"] == "TxProfile":
            ev = st.ev[e - 1]
            if not ev.tx or p.get("transactionId", ev.tx["id"]) != ev.tx["id"]:
                why = "NoTransaction"  # K01.FR.03/09/16/33
            else:
                p["transactionId"] = ev.tx["id"]
        keep = [x for x in self.profiles if x["p"]["id"] != p["id"]]  # the same id is replaced (K01.FR.05)
        for x in keep:
            q = x["p"]
            if (x["e"] == e and q["stackLevel"] == p["stackLevel"]
                    and q["chargingProfilePurpose"] == p["chargingProfilePurpose"]
                    and q.get("transactionId") == p.get("transactionId")):
                why = why or "DuplicateStackLevel"  # K01.FR.06: one per purpose, level and EVSE
        if not why and len(keep) >= devmodel.row(MAX)[6]:
            why = "TooManyProfiles"
        if why:
            return st.rejected(why)
        try:
            self._save(keep + [{"e": e, "p": p}])
        except OSError:
            return st.rejected("StorageFailed")
        self.apply(now)
        return {"status": "Accepted"}

    def ClearChargingProfile(self, req, now):
        schema.check(req, _CLEAR)
        pid = req.get("chargingProfileId")
        c = req.get("chargingProfileCriteria") or {}
        keep = []
        for x in self.profiles:
            p = x["p"]
            hit = (pid is None or p["id"] == pid) and (pid is not None or c) and \
                c.get("evseId", x["e"]) == x["e"] and \
                c.get("chargingProfilePurpose", p["chargingProfilePurpose"]) == p["chargingProfilePurpose"] and \
                c.get("stackLevel", p["stackLevel"]) == p["stackLevel"]
            if not hit:
                keep.append(x)
        if len(keep) == len(self.profiles):
            return {"status": "Unknown"}  # K10.FR.08
        try:
            self._save(keep)
        except OSError:
            return {"status": "Unknown", "statusInfo": {"reasonCode": "StorageFailed"}}
        self.apply(now)
        return {"status": "Accepted"}

    def GetChargingProfiles(self, req, now):
        st = self.st
        schema.check(req, _GET)
        c = req["chargingProfile"]
        e = req.get("evseId")
        found = {}
        for x in self.profiles:
            p = x["p"]
            if ((e is None or x["e"] == e)
                    and c.get("chargingProfilePurpose", p["chargingProfilePurpose"]) == p["chargingProfilePurpose"]
                    and c.get("stackLevel", p["stackLevel"]) == p["stackLevel"]
                    and p["id"] in c.get("chargingProfileId", (p["id"],))
                    and "CSO" in c.get("chargingLimitSource", ("CSO",))):
                found.setdefault(x["e"], []).append(p)
        if not found:
            return {"status": "NoProfiles"}
        keys = sorted(found)
        for i in range(len(keys)):  # one report per EVSE, tbc on all but the last (K09)
            r = {"requestId": req["requestId"], "chargingLimitSource": "CSO", "evseId": keys[i],
                 "chargingProfile": found[keys[i]]}
            if i < len(keys) - 1:
                r["tbc"] = True
            st.rpc.call("ReportChargingProfiles", r)
        return {"status": "Accepted"}

    def GetCompositeSchedule(self, req, now):
        st = self.st
        schema.check(req, _COMPOSITE)
        e = req["evseId"]
        if not 0 <= e <= len(st.ev) or req.get("chargingRateUnit", "A") != "A" or req["duration"] < 1:
            return st.rejected("Unsupported")  # K08.FR.05/07
        t0 = st.time(now)
        periods = self.composite(e, t0, req["duration"])
        return {"status": "Accepted", "schedule": {
            "evseId": e, "duration": req["duration"], "scheduleStart": clock.iso(t0), "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": s, "limit": lim} for s, lim in periods]}}

    # --- the composite limit ---------------------------------------------------------------
    def _starts(self, x, e, t0, t1):
        """Schedule start times of stored profile x that matter in [t0, t1)."""
        st = self.st
        p = x["p"]
        sch = p["chargingSchedule"][0]
        kind = p["chargingProfileKind"]
        if kind == "Relative":  # from the start of the transaction, else as if one started at t0
            ev = st.ev[e - 1] if e else None
            return [ev.tx["t0"] if ev and ev.tx else t0]
        s = clock.parse(sch["startSchedule"])
        if kind == "Absolute":
            return [s]
        n = _RECUR[p["recurrencyKind"]]
        k = max(0, (t0 - s) // n)
        return [s + i * n for i in range(k, k + 1 + (t1 - t0) // n + 1)]

    def _applies(self, x, e, purpose):
        st = self.st
        p = x["p"]
        if p["chargingProfilePurpose"] != purpose:
            return False
        if purpose == "TxProfile":
            ev = st.ev[e - 1] if e else None
            return ev is not None and ev.tx is not None and x["e"] == e and p.get("transactionId") == ev.tx["id"]
        return x["e"] == 0 or x["e"] == e

    def _limit(self, x, starts, t):
        """Limit of profile x at time t, or None when it has no period then."""
        p = x["p"]
        if "validFrom" in p and t < clock.parse(p["validFrom"]) or "validTo" in p and t >= clock.parse(p["validTo"]):
            return None
        sch = p["chargingSchedule"][0]
        lim = None
        for s in starts:
            off = t - s
            if off < 0 or ("duration" in sch and off >= sch["duration"]):
                continue
            for per in sch["chargingSchedulePeriod"]:
                if per["startPeriod"] <= off:
                    lim = per["limit"]
        return lim

    def _leading(self, e, purpose, t, cache):
        """The limit of the highest stack level of purpose with a period at t (Part 2 K 3.4)."""
        best = None
        for x in self.profiles:
            if self._applies(x, e, purpose):
                lim = self._limit(x, cache[id(x)], t)
                if lim is not None and (best is None or x["p"]["stackLevel"] > best[0]):
                    best = (x["p"]["stackLevel"], lim)
        return best[1] if best else None

    def limit_at(self, e, t, cache):
        """Composite limit of EVSE e at t: the lower of the station maximum and the TxProfile (or,
        without one, the TxDefaultProfile) (K08.FR.04); None: no profile limits it."""
        lims = [self._leading(e, "ChargingStationMaxProfile", t, cache)]
        tx_lim = self._leading(e, "TxProfile", t, cache)
        lims.append(tx_lim if tx_lim is not None else self._leading(e, "TxDefaultProfile", t, cache))
        lims = [x for x in lims if x is not None]
        return min(lims) if lims else None

    def _points(self, e, t0, t1):
        """(times in [t0, t1) where a limit may change, start cache)."""
        cache = {}
        pts = {t0}
        for x in self.profiles:
            starts = self._starts(x, e, t0, t1)
            cache[id(x)] = starts
            p = x["p"]
            sch = p["chargingSchedule"][0]
            for s in starts:
                for per in sch["chargingSchedulePeriod"]:
                    pts.add(s + per["startPeriod"])
                if "duration" in sch:
                    pts.add(s + sch["duration"])
            for k in ("validFrom", "validTo"):
                if k in p:
                    pts.add(clock.parse(p[k]))
        return sorted(t for t in pts if t0 <= t < t1), cache

    def composite(self, e, t0, duration):
        """[(startPeriod, limit A)] from t0 for duration s; where no profile limits, the rating."""
        st = self.st
        pts, cache = self._points(e, t0, t0 + duration)
        rating = st.hw.get("amps", 32)
        out = []
        for t in pts:
            lim = self.limit_at(e, t, cache)
            lim = rating if lim is None else lim
            if not out or out[-1][1] != lim:
                out.append((t - t0, lim))
                if len(out) >= _MOST_PERIODS:
                    break
        return out

    def apply(self, now):
        """Set every EVSE's limit for now and find when one changes next."""
        st = self.st
        t = st.time(now)
        due = None
        for ev in st.ev:
            pts, cache = self._points(ev.id, t, t + _HORIZON)
            lim = self.limit_at(ev.id, t, cache)
            if lim != self.limits[ev.id - 1]:
                self.limits[ev.id - 1] = lim
                st.effect(("limit", ev.id, lim))
            nxt = [x for x in pts if x > t]
            if nxt and (due is None or nxt[0] - t < due):
                due = nxt[0] - t
        # No change within the horizon: look again in a day (clock.MAX_WAIT_S, the longest a timer
        # may be), or a profile that starts later than that would never be applied.
        self.limit_due = clock.later(now, due * 1000 - st.ms(now) if due is not None else _HORIZON * 1000) \
            if self.profiles else None

    def tick(self, now):
        if self.limit_due is not None and ticks_diff(now, self.limit_due) >= 0:
            self.apply(now)

    def deadline(self, now):
        return None if self.limit_due is None else ticks_diff(self.limit_due, now)

    # --- transactions ----------------------------------------------------------------------
    def check_remote(self, ev, p):
        """Reason a RequestStartTransaction profile (checked against PROFILE) cannot be used
        (F01/F02), or None."""
        if p["chargingProfilePurpose"] != "TxProfile" or "transactionId" in p:
            return "InvalidProfile"  # F02.FR.17/19
        return self.problem(ev.id, p)

    def started(self, ev, profile, now):
        """A transaction started; profile: the one that came with RequestStartTransaction."""
        st = self.st
        if profile:
            profile["transactionId"] = ev.tx["id"]
            keep = [x for x in self.profiles if x["p"]["id"] != profile["id"]]
            try:
                self._save(keep + [{"e": ev.id, "p": profile}])
            except OSError as e:
                st.log("profile not stored: %r" % e)
        self.apply(now)

    def ended(self, ev, tx_id, now):
        """A transaction ended: its TxProfiles go (a TxProfile is for one transaction)."""
        st = self.st
        keep = [x for x in self.profiles if x["p"].get("transactionId") != tx_id]
        if len(keep) != len(self.profiles):
            try:
                self._save(keep)
            except OSError as e:
                st.log("profiles not stored: %r" % e)
        self.apply(now)
