# ocpp_lite/engine/clock.py - RFC 3339 date-times <-> seconds since 2000-01-01 UTC.
# The stack counts wall time from 2000 (as the ESP32 RTC does) so that values stay
# small ints on 32-bit boards until 2034; no datetime, no time.gmtime epoch differences.
# It also bounds every timer: later() is the one way to turn a duration that comes from the
# CSMS, the device model or flash into a tick deadline.
from time import ticks_add
from micropython import const

UNIX_2000 = const(946684800)  # seconds from 1970-01-01 to 2000-01-01
# A timer is at most a day away. time.ticks_add(t, ms) raises OverflowError for |ms| >= 2^29
# (6.2 days: half the tick period, 2^30 ms, of the ESP32, the RP2040 and every 32-bit port;
# a delta past 2^31 - 1 does not even convert) and asyncio.sleep / sleep_ms (and runtime/ws.within) go
# through it; the 64-bit port never raises. A caller whose wait may be longer wakes after a
# day and checks again (the firmware job, smart charging); the runtime sleeps long waits in
# steps (runtime/link.py sleep_s).
MAX_WAIT_S = const(86400)
_MAX_WAIT_MS = const(86400000)
_SHIFT = const(730425)  # days from 0000-03-01 to 2000-01-01


def _days(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - _SHIFT


def _civil(z):
    z += _SHIFT
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def iso(s):
    """Seconds since 2000 -> 'YYYY-MM-DDTHH:MM:SSZ'."""
    days, r = divmod(int(s), 86400)
    y, m, d = _civil(days)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, r // 3600, r // 60 % 60, r % 60)


def _num(t, a, b):
    s = t[a:b]
    if not s.isdigit():
        raise ValueError
    return int(s)


def parse(t):
    """RFC 3339 date-time -> seconds since 2000 (fraction dropped), or None if malformed."""
    try:
        if t[4] != "-" or t[7] != "-" or t[10] not in "Tt" or t[13] != ":" or t[16] != ":":
            return None
        y, mo, d = _num(t, 0, 4), _num(t, 5, 7), _num(t, 8, 10)
        h, mi, s = _num(t, 11, 13), _num(t, 14, 16), _num(t, 17, 19)
        i = 19
        if t[i] == ".":
            i += 1
            j = i
            while i < len(t) and t[i].isdigit():
                i += 1
            if i == j:
                return None
        z = t[i:]
        if z == "Z" or z == "z":
            off = 0
        elif len(z) == 6 and z[0] in "+-" and z[3] == ":":
            off = (_num(z, 1, 3) * 60 + _num(z, 4, 6)) * 60
            if z[0] == "-":
                off = -off
        else:
            return None
        if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 61):
            return None
        return _days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off
    except (ValueError, IndexError):
        return None


def later(now, ms):
    """ticks_add(now, ms) with ms clamped to 0..MAX_WAIT_S * 1000 (ms may be a long int):
    never raises OverflowError."""
    return ticks_add(now, 0 if ms < 0 else min(ms, _MAX_WAIT_MS))
