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


def _heavy(b):
    """check() takes b as JSON but finds it heavier than its bound (bit 2)."""
    return bool(check(b) & 2)


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
    # heavy over 7168: an array or object weighs 40, a string 8 + 16 + its length in the text (quotes
    # included) + 14 rounded down to 16 bytes (+ 160 over 64 bytes; a key 16 for its slot
    # instead of 8), a float or long integer 32, others 8; the text is read to its end first
    assert not _heavy(b"[" + b",".join([b"[]"] * 178) + b"]")  # 40 + 178 x 40 = 7160
    assert _heavy(b"[" + b",".join([b"[]"] * 179) + b"]")
    assert not _heavy(b"[" + b",".join([b'""'] * 178) + b"]")  # 40 + 178 x (8 + 16 + 16)
    assert _heavy(b"[" + b",".join([b'""'] * 179) + b"]")
    assert not _heavy(b"[" + b",".join([b'"' + b"x" * 17 + b'"'] * 127) + b"]")  # 40 + 127 x (8 + 16 + 32) = 7152
    assert _heavy(b"[" + b",".join([b'"' + b"x" * 17 + b'"'] * 128) + b"]")
    assert not _heavy(b"[" + b",".join([b"0"] * 891) + b"]")  # 40 + 891 x 8 = 7168
    assert _heavy(b"[" + b",".join([b"0"] * 892) + b"]")
    assert not _heavy(b"[" + b",".join([b"1.5"] * 222) + b"]")  # 40 + 222 x 32 = 7144
    assert _heavy(b"[" + b",".join([b"1.5"] * 223) + b"]")
    assert _heavy(b"[" + b",".join([b"1234567890"] * 223) + b"]")  # not a small int on 32 bits
    assert not _heavy(b'{"a":' + b'"' + b"x" * 6895 + b'"}')  # 40 + (16 + 16 + 16) + (8 + 16 + 6896 + 160)
    assert _heavy(b'{"a":' + b'"' + b"x" * 6896 + b'"}')
    k = b'"' + b"k" * 70 + b'"'  # a long key: 16 + 16 + 80 + 160
    assert not _heavy(b"{" + b",".join([k + b":0"] * 25) + b"}")  # 40 + 25 x (272 + 8) = 7040
    assert _heavy(b"{" + b",".join([k + b":0"] * 26) + b"}")
    assert _refused(b"[" + b",".join([b"[]"] * 179) + b",]")  # heavy, then broken: a syntax error


def test_shaped_like_a_call():
    """check() says whether the value is an array of 4 elements, the last an object (bit 1)."""
    for t in (b'[2,"a","B",{}]', b' [ 2 , "a" , "B" , { "x" : [1, {}] } ] ', b'[[1,2],{},[],{"k":[{}]}]'):
        assert check(t) == 1, t
    for t in (b'[2,"a","B",[]]', b'[2,"a","B",{},{}]', b'[2,"a","B"]', b'[2,"a",{},"B"]', b'{"a":1,"b":2,"c":3,"d":{}}',
              b'[]', b'[[2,"a","B",{}]]', b'"x"', b'[1,2,3,4]'):
        assert check(t) == 0, t


def _marked(text):
    """check() with longs, as engine/rpc.py calls it: (bits, the text after, longs)."""
    b = bytearray(text)
    longs = []
    bits = check(b, longs)
    return bits, bytes(b), longs


def test_a_legal_custom_data_is_blanked_in_place_and_weighs_as_little():
    """A customData object with exactly one vendorId, a string of at most 255 bytes, at any
    depth: overwritten with {"vendorId":""} and blanks (the text keeps its length and stays the
    same JSON for every other value), its long strings not listed but its blanks when there are
    more than 64 (engine/lift.py leaves them out of a copy), weighed as that short object (128)
    however heavy it was: a CALL of MaxMessageBytes padded with customData costs only its own
    fields."""
    pad = b'{"x":[' + b",".join([b'"ab"'] * 400) + b'],"vendorId":"com.example","long":"' + b"y" * 300 + b'"}'
    text = b'[2,"m","DataTransfer",{"vendorId":"v","customData":' + pad + b',"evse":{"customData":' + pad + b'}}]'
    assert len(text) > 4000 and check(text) & 2  # without longs: weighed whole, too heavy
    bits, after, longs = _marked(text)
    a = text.find(pad)
    b = text.find(pad, a + 1)
    assert bits == 1 and longs == [a + 15, -1 - (a + len(pad)), b + 15, -1 - (b + len(pad))], (bits, longs)
    blank = b'{"vendorId":""}' + b" " * (len(pad) - 15)
    assert after == text.replace(pad, blank)
    for ok in (b'{"vendorId":"%s"}' % (b"v" * 255), b'{ "vendorId" : "" , "a": {"vendorId": 5} }',
               b'{"a":[{"vendorId":1,"vendorId":2}],"vendorId":"\\u00e9"}'):
        t = b'{"customData":%s}' % ok
        assert _marked(t)[1] == b'{"customData":{"vendorId":""}%s}' % (b" " * (len(ok) - 15)), ok


def test_a_custom_data_that_is_not_legal_is_left_for_the_schema_check():
    """No vendorId, two, one that is not a string or is longer than 255 bytes, or a customData
    that is no object: untouched and weighed whole (engine/schema.py answers it), its long
    strings kept as bytes (listed as -1 - start)."""
    long = b'"' + b"z" * 100 + b'"'
    for bad in (b'{"x":%s}' % long, b'{"vendorId":"a","vendorId":"b","x":%s}' % long, b'{"vendorId":5,"x":%s}' % long,
                b'{"vendorId":"%s","x":%s}' % (b"v" * 256, long), b'{"vendorId":null,"x":%s}' % long):
        t = b'{"customData":%s}' % bad
        bits, after, longs = _marked(t)
        assert after == t and -1 - t.find(long) in longs, bad
    t = b'{"customData":[%s]}' % long
    assert _marked(t)[1] == t


def test_data_transfer_data_is_listed_as_its_text_and_not_weighed():
    """DataTransfer's data (a payload key: depth 2), of any type: its start and end listed as
    -1 - start, -1 - end (engine/lift.py keeps its text), none of its strings listed, weighed
    as a short string (40); bit 4 says whether the message would be too heavy with it built.
    A "data" key deeper down is an ordinary value."""
    heavy = b"[" + b",".join([b'"s%03d"' % i for i in range(400)]) + b"]"
    for data in (heavy, b'"' + b"x" * 100 + b'"', b"5", b"{}", b"[]", b"null", b'{"customData":{"vendorId":"v"}}'):
        text = b'[2,"m","DataTransfer",{"vendorId":"v","data":%s}]' % data
        bits, after, longs = _marked(text)
        s = text.find(b'"data":') + 7
        assert after == text and longs == [-1 - s, -1 - (s + len(data))], (data, longs)
        assert bits & 3 == 1 and bool(bits & 4) == (data == heavy), (data, bits)
    text = b'[2,"m","X",{"evse":{"data":%s}}]' % heavy
    assert _marked(text)[0] & 2 and not _marked(text)[2]
