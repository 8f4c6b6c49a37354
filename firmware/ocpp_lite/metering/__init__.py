# ocpp_lite/metering - J Meter values: samples of an EVSE's readings (samples) and the
# clock-aligned MeterValues (aligned, left out of the lite build).
