# Unit tests of ocpp_lite.jsonsyntax (strict JSON check) on the unix port.
from ocpp_lite.jsonsyntax import check

GOOD = (b'{}', b'[]', b'0', b'-0.5e+10', b'"a\\"b\\\\\\u00e9"', b' [1, {"a": [true, false, null]}] ',
        b'"\xc3\xa9"', b'{"a":{"b":{"c":[[]]}}}', b'1E5', b'[-1,2.50]')
BAD = (b'', b' ', b'[1 2]', b'[1,]', b'{"a" 1}', b'{"a":1,}', b'[,1]', b'01', b'1.', b'.5', b'-',
       b'+1', b'[1]x', b'"abc', b'"a\x01b"', b'"\\x"', b'"\\u12g4"', b'nul', b'truex',
       b'{1:2}', b"['a']", b'[1}', b'{"a":1]', b'[' * 17 + b']' * 17, b'1' * 25, b'NaN',
       b'{"a":}', b'{"a"}', b'[:]', b'"\t"')


def test_good():
    for g in GOOD:
        check(g)


def test_bad():
    for b in BAD:
        try:
            check(b)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % b)


def test_depth_limit_is_sixteen():
    check(b'[' * 16 + b']' * 16)
