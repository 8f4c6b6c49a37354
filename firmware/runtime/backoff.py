# runtime/backoff.py - reconnection back-off of OCPP 2.0.1 Part 4 section 5.3 (digest 5.4).


def delay_s(failures, wait_min, rand_range, repeat, rnd):
    """Seconds to wait before the next connection attempt.

    failures: attempts that failed since the last good connection (0 = first reconnect);
    the wait doubles per failure up to RetryBackOffRepeatTimes doublings and then stays,
    plus a fresh random 0..RetryBackOffRandomRange taken from the integer rnd.
    """
    base = wait_min << min(failures, repeat)
    return base + (rnd % (rand_range + 1) if rand_range > 0 else 0)
