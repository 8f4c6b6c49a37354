# Unit tests of ocpp_lite.engine.jsonsyntax (strict JSON check) on the unix port.
from ocpp_lite.engine.jsonsyntax import check

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


def _refused(b):
    try:
        check(b)
    except ValueError:
        return True
    return False


def test_utf8_must_be_well_formed():
    for ok in (b'"\xc3\xa9"', b'"\xe2\x82\xac"', b'"\xf0\x9f\x98\x80"', b'"\xef\xbb\xbf"', b'"\xed\x9f\xbf"',
               b'"\xf4\x8f\xbf\xbf"', b'{"\xc3\xa9":"a\\n\xe4\xb8\xad"}'):
        check(ok)
    for bad in (b'"\xff"', b'"\x80"', b'"\xbf"', b'"\xc0\x80"', b'"\xc1\xbf"', b'"\xe0\x80\xaf"', b'"\xed\xa0\x80"',
                b'"\xed\xbf\xbf"', b'"\xf0\x8f\xbf\xbf"', b'"\xf4\x90\x80\x80"', b'"\xf5\x80\x80\x80"',
                b'"\xf8\x88\x80\x80\x80"', b'"\xe2\x82"', b'"\xe2\x28\xa1"', b'"\xf0\x9f\x98"', b'"\xc3"',
                b'"a\\n\xc3"', b'{"\xff":1}'):
        assert _refused(bad), bad


def test_surrogate_escapes_are_refused():
    for bad in (b'"\\ud800"', b'"\\uDFFF"', b'"\\ud83d\\ude00"', b'"a\\\\\\uDbff"'):
        assert _refused(bad), bad
    for ok in (b'"\\ud7ff"', b'"\\ue000"', b'"\\\\ud800"', b'"\\u00e9"'):
        check(ok)


def test_parse_weight_is_bounded():
    # 6144: an array or object weighs 56, a string 40, a float or long integer 24, others 8
    check(b"[" + b",".join([b"[]"] * 108) + b"]")  # 109 x 56 = 6104
    assert _refused(b"[" + b",".join([b"[]"] * 109) + b"]")
    check(b"[" + b",".join([b'""'] * 152) + b"]")  # 56 + 152 x 40 = 6136
    assert _refused(b"[" + b",".join([b'""'] * 153) + b"]")
    check(b"[" + b",".join([b"0"] * 761) + b"]")  # 56 + 761 x 8 = 6144
    assert _refused(b"[" + b",".join([b"0"] * 762) + b"]")
    check(b"[" + b",".join([b"1.5"] * 253) + b"]")  # 56 + 253 x 24 = 6128
    assert _refused(b"[" + b",".join([b"1.5"] * 254) + b"]")
    assert _refused(b"[" + b",".join([b"1234567890"] * 254) + b"]")  # not a small int on 32 bits
    check(b'{"a":' + b'"' + b"x" * 7000 + b'"}')  # the text of a string is not weighed


def test_shaped_like_a_call():
    """check() says whether the value is an array of 4 elements, the last an object."""
    for t in (b'[2,"a","B",{}]', b' [ 2 , "a" , "B" , { "x" : [1, {}] } ] ', b'[[1,2],{},[],{"k":[{}]}]'):
        assert check(t) is True, t
    for t in (b'[2,"a","B",[]]', b'[2,"a","B",{},{}]', b'[2,"a","B"]', b'[2,"a",{},"B"]', b'{"a":1,"b":2,"c":3,"d":{}}',
              b'[]', b'[[2,"a","B",{}]]', b'"x"', b'[1,2,3,4]'):
        assert check(t) is False, t
