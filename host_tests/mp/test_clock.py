# Unit tests of ocpp_lite.engine.clock on the unix port.
from ocpp_lite.engine import clock


def test_known_dates():
    assert clock.iso(0) == "2000-01-01T00:00:00Z"
    assert clock.parse("2000-01-01T00:00:00Z") == 0
    assert clock.parse("1970-01-01T00:00:00Z") == -clock.UNIX_2000
    assert clock.iso(clock.parse("2024-02-29T12:34:56Z")) == "2024-02-29T12:34:56Z"
    assert clock.parse("2024-02-29T12:34:56.999Z") == clock.parse("2024-02-29T12:34:56Z")
    assert clock.parse("2024-03-01T01:00:00+01:00") == clock.parse("2024-03-01T00:00:00Z")
    assert clock.parse("2024-03-01T00:00:00-02:30") == clock.parse("2024-03-01T02:30:00Z")
    assert clock.parse("2099-12-31t23:59:59z") == clock.parse("2099-12-31T23:59:59Z")


def test_malformed():
    for t in ("", "2024-02-29", "2024-02-29T12:34:56", "2024-02-29 12:34:56Z", "2024-13-01T00:00:00Z",
              "2024-02-29T24:00:00Z", "2024-02-29T12:34:56.Z", "+024-02-29T12:34:56Z",
              "2024-02-29T12:34:56+0100", "2024-02-29T12:34:56ZZ", "２０２４-02-29T12:34:56Z"):
        assert clock.parse(t) is None, t


def test_roundtrip_many():
    s = -clock.UNIX_2000
    while s < 4102444800 - clock.UNIX_2000:  # to 2100
        assert clock.parse(clock.iso(s)) == s
        s += 86400 * 37 + 3671
