# ocpp_lite/metering - J Meter values: one MeterValue of the measurands asked for, from an
# EVSE's last readings (sample(), here: every build has it), and the clock-aligned MeterValues
# (aligned.py, left out of the lite build). Energy is an integer Wh register; what the meter does not measure is
# left out.
from micropython import const
from ..engine import clock

# measurand, its unit, the Evse attribute with the last reading (transactions.Evse)
_READINGS = const((("Energy.Active.Import.Register", "Wh", "wh"), ("Power.Active.Import", "W", "w"),
                   ("Current.Import", "A", "a"), ("Voltage", "V", "v")))


def sample(ev, measurands, ctx, ts):
    """{"timestamp", "sampledValue"} for a comma list of measurands, or None if none is known."""
    out = []
    for m in measurands.split(",") if measurands else ():
        for name, unit, attr in _READINGS:
            v = getattr(ev, attr) if name == m else None
            if v is not None:
                sv = {"value": v, "measurand": m, "context": ctx}
                if unit != "Wh":  # Wh is the default unit
                    sv["unitOfMeasure"] = {"unit": unit}
                out.append(sv)
    return {"timestamp": clock.iso(ts), "sampledValue": out} if out else None
