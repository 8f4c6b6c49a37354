# ocpp_lite/metering - J Meter values: one MeterValue of the measurands asked for, from an
# EVSE's last readings (sample(), here: every build has it), and the clock-aligned MeterValues
# (aligned.py, left out of the lite build). Energy is an integer Wh register; what the meter does not measure is
# left out.
from ..engine import clock

_UNITS = (("Energy.Active.Import.Register", "Wh"), ("Power.Active.Import", "W"), ("Current.Import", "A"),
          ("Voltage", "V"))


def _reading(ev, m):
    if m == "Energy.Active.Import.Register":
        return ev.wh
    if m == "Power.Active.Import":
        return ev.w
    if m == "Current.Import":
        return ev.a
    if m == "Voltage":
        return ev.v
    return None


def sample(ev, measurands, ctx, ts):
    """{"timestamp", "sampledValue"} for a comma list of measurands, or None if none is known."""
    out = []
    for m in measurands.split(",") if measurands else ():
        v = _reading(ev, m)
        if v is None:
            continue
        sv = {"value": v, "measurand": m, "context": ctx}
        for name, unit in _UNITS:
            if name == m and unit != "Wh":  # Wh is the default unit
                sv["unitOfMeasure"] = {"unit": unit}
        out.append(sv)
    return {"timestamp": clock.iso(ts), "sampledValue": out} if out else None
