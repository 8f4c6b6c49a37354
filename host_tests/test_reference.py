"""The firmware's parsers checked against reference implementations on CPython: the strict
JSON check against the json module, the date-time code against datetime, and the payload
validator against jsonschema with the official OCPP 2.0.1 schemas. Each batch runs on the
MicroPython unix port through host_tests/mp/oracle.py."""

import binascii
import datetime
import json
import pathlib
import random
import subprocess

from helpers import MICROPYTHON
from tools import csms as csms_mod

ORACLE = pathlib.Path(__file__).parent / "mp" / "oracle.py"
UTC = datetime.timezone.utc
EPOCH2000 = datetime.datetime(2000, 1, 1, tzinfo=UTC)


def oracle(mode, lines, tmp_path):
    f = tmp_path / (mode + ".txt")
    f.write_text("\n".join(lines) + "\n")
    p = subprocess.run([MICROPYTHON, str(ORACLE), mode, str(f)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert len(out) == len(lines)
    return out


FRAMES = [
    '[2,"19223201","TriggerMessage",{"requestedMessage":"Heartbeat","evse":{"id":1}}]',
    '[3,"abc-1",{"currentTime":"2024-01-01T00:00:00Z","interval":300,"status":"Accepted"}]',
    '[4,"x","NotImplemented","",{}]',
    '{"a":[1,-2.5e3,true,false,null,"s\\"\\\\\\u00e9"],"b":{}}',
    '[2,"id","DataTransfer",{"vendorId":"v","data":[[],{},[{"k":[0.5]}]]}]',
]


def _mutations(rng, text, n):
    alphabet = '[]{}",:0123456789-+.eEtruefalsn \\/u\x01'
    for _ in range(n):
        s = list(text)
        for _ in range(rng.randint(1, 3)):
            op = rng.random()
            i = rng.randrange(len(s) + 1)
            if op < 0.35 and s:
                del s[min(i, len(s) - 1)]
            elif op < 0.7:
                s.insert(i, rng.choice(alphabet))
            elif s:
                s[min(i, len(s) - 1)] = rng.choice(alphabet)
        yield "".join(s)


def _cpython_valid(b):
    def no_constant(c):
        raise ValueError(c)

    try:
        v = json.loads(b.decode("utf-8"), parse_constant=no_constant)
    except (ValueError, UnicodeDecodeError):
        return False

    def depth(x):
        if isinstance(x, list):
            return 1 + max((depth(i) for i in x), default=0)
        if isinstance(x, dict):
            return 1 + max((depth(i) for i in x.values()), default=0)
        return 0

    return depth(v) <= 16


def test_strict_json_check_agrees_with_cpython_json(tmp_path):
    rng = random.Random(2201)
    cases = set(FRAMES)
    for f in FRAMES:
        cases.update(_mutations(rng, f, 700))
    cases = sorted(cases)
    blobs = [c.encode("utf-8") for c in cases] + [b'["\xff"]', b'"\xc3"', b'["\xe2\x82\xac"]']
    got = oracle("json", [binascii.hexlify(b).decode() for b in blobs], tmp_path)
    bad = [(b, g) for b, g in zip(blobs, got) if (g == "1") != _cpython_valid(b)]
    # invalid UTF-8 inside strings passes the syntax check and is caught by json.loads
    bad = [(b, g) for b, g in bad if not (g == "1" and _utf8_only(b))]
    assert not bad, bad[:10]
    assert sum(g == "0" for g in got) > 1000 and sum(g == "1" for g in got) > 100


def test_parse_weight_agrees_with_its_host_mirror(tmp_path):
    """tools/jsonweight.py (the fuzz oracle's and the footprint's weight) says what check()
    says of a received message: too heavy to build (bit 2), or too heavy with its DataTransfer
    data built (bit 4: what a text with its own \\u0000 weighs), around the bound, with legal and
    illegal customData and data of every shape at several depths, with text beyond ASCII."""
    from tools import jsonweight

    rng = random.Random(15)
    customs = ('{"vendorId":"v","x":[%s]}', '{"x":[%s]}', '{"vendorId":"a","vendorId":"b","y":[%s]}',
               '{"vendorId":5,"z":[%s]}', '{"vendorId":"%s","w":[%%s]}' % ("v" * 256), '[%s]')
    items = ('"ab"', "0", "1.5", "[]", "{}", '"%s"' % ("q" * 70), "null", '{"customData":{"vendorId":"i"}}',
             '"%s"' % ("\u20ac" * 30), '"%s"' % ("\u00e9" * 7))  # check() weighs UTF-8 bytes, not characters
    texts = []
    for _ in range(400):
        item = rng.choice(items)
        k = rng.choice((1, 50, 100, 150, 170, 180, 200, 400))
        fill = ",".join([item] * k)
        where = rng.choice(('"data":[%s]', '"customData":' + rng.choice(customs), '"evse":{"customData":'
                            + rng.choice(customs) + '}', '"evse":{"data":[%s]}', '"x":[%s]'))
        body = where.replace("%%s", "%s") % fill if "%%s" in where else where % fill
        own = rng.random() < 0.2
        texts.append('[2,"m","DataTransfer",{"vendorId":"%s",%s}]' % ("\\u0000" if own else "v", body))
    got = oracle("weight", [binascii.hexlify(t.encode()).decode() for t in texts], tmp_path)
    heavy = [int(g) & 2 != 0 for g in got]
    mirror = []
    for t in texts:
        marked, built = jsonweight._marked(t)
        mirror.append(jsonweight.weight(marked, False) > jsonweight.WEIGHT)
    bad = [(t[:160], g) for t, g, m in zip(texts, heavy, mirror) if g != m]
    assert not bad, bad[:5]
    whole = [int(g) & 4 != 0 for g in got]
    for t, w, g in zip(texts, whole, got):
        marked, built = jsonweight._marked(t)
        assert w == (jsonweight.weight(built or marked, False) > jsonweight.WEIGHT), (t[:160], g)
        assert (w if "\\u0000" in t else int(g) & 2 != 0) == (jsonweight.weight(t) > jsonweight.WEIGHT), (t[:160], g)
    assert 50 < sum(heavy) < 350 and sum(whole) > sum(heavy) + 20


def _utf8_only(b):
    try:
        b.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def test_date_time_formatting_agrees_with_datetime(tmp_path):
    rng = random.Random(7)
    secs = [rng.randrange(-946684800, 3155760000) for _ in range(3000)] + [0, -1, 951782400]
    got = oracle("clock", [str(s) for s in secs], tmp_path)
    for s, line in zip(secs, got):
        iso, back = line.split()
        want = (EPOCH2000 + datetime.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (iso, int(back)) == (want, s)


def test_date_time_parsing_agrees_with_datetime(tmp_path):
    rng = random.Random(11)
    texts = []
    for _ in range(1500):
        d = EPOCH2000 + datetime.timedelta(seconds=rng.randrange(0, 2000000000))
        t = d.strftime("%Y-%m-%dT%H:%M:%S")
        if rng.random() < 0.3:
            t += "." + str(rng.randrange(1000)).zfill(3)
        off = rng.choice([None, 0, 60, -330, 840, -720])
        t += "Z" if off is None else "%+03d:%02d" % (int(off / 60), abs(off) % 60)
        texts.append(t)
    got = oracle("parse", [json.dumps(t) for t in texts], tmp_path)
    for t, g in zip(texts, got):
        want = int((datetime.datetime.fromisoformat(t.replace("Z", "+00:00")) - EPOCH2000)
                   .total_seconds() // 1)
        assert int(g) == want, t


VALUES = [1, 0, -3, 2.0, 2.5, "x", "", "Heartbeat", "StatusNotification", True, None, [], {},
          [1], {"id": 1}, {"id": 1, "connectorId": 2}, {"id": "1"}, {"connectorId": 1},
          {"vendorId": "v"}, {"vendorId": 5}, {"vendorId": "v", "more": [1]}, "v" * 255, "v" * 256,
          "m" * 50, "m" * 51, {"id": 1, "x": 0}, {"id": 2.0}]
BASES = {
    "TriggerMessage": ({"requestedMessage": "Heartbeat"},
                       {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}}),
    "DataTransfer": ({"vendorId": "com.example"}, {"vendorId": "v", "messageId": "m", "data": [1, {}]}),
}
KEYS = ["requestedMessage", "evse", "vendorId", "messageId", "data", "customData", "other"]


def _payloads(rng, action):
    """Valid payloads with zero to two random changes each."""
    for _ in range(1500):
        p = json.loads(json.dumps(rng.choice(BASES[action])))
        for _ in range(rng.choice((0, 1, 1, 2))):
            k = rng.choice(KEYS)
            if k in p and rng.random() < 0.3:
                del p[k]
            else:
                p[k] = rng.choice(VALUES)
        yield p


def test_payload_validator_agrees_with_official_schemas(tmp_path):
    rng = random.Random(5)
    cases = [(a, p) for a in BASES for p in _payloads(rng, a)]
    got = oracle("schema", [json.dumps(c) for c in cases], tmp_path)
    mismatch = []
    for (action, p), g in zip(cases, got):
        valid = not csms_mod.schema_errors(action + "Request", p)
        if valid != (g == "ok"):
            mismatch.append((action, p, g))
    assert not mismatch, mismatch[:10]
    assert 500 < sum(g == "ok" for g in got) < len(got) - 500
