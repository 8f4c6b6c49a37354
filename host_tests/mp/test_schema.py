# Unit tests of ocpp_lite.engine.schema on the unix port.
from ocpp_lite.engine import schema
from ocpp_lite.engine.rpc import CallError
from ocpp_lite.engine.schema import ANY, BOOL, INT, LIST, NUM, REQ, TIME

_SUB = (("id", INT, REQ), ("name", 5, 0))
SPEC = (
    ("n", INT, REQ),
    ("x", NUM, 0),
    ("flag", BOOL, 0),
    ("when", TIME, 0),
    ("kind", ("A", "B"), 0),
    ("sub", _SUB, 0),
    ("list", INT, LIST, 1, 3),
    ("subs", _SUB, LIST, 0, 0),
    ("any", ANY, 0),
)


def code(p):
    try:
        schema.check(p, SPEC)
    except CallError as e:
        return e.args[0]
    return None


def test_valid():
    assert code({"n": 1}) is None
    assert code({"n": -5, "x": 1.5, "flag": False, "when": "2024-02-29T23:59:59.123+01:00",
                 "kind": "B", "sub": {"id": 1, "name": "abcde"}, "list": [1, 2, 3],
                 "subs": [], "any": [None, {"k": 1}], "customData": {"vendorId": "v", "q": 1}}) is None


def test_occurrence():
    assert code({}) == "OccurrenceConstraintViolation"
    assert code({"n": 1, "sub": {}}) == "OccurrenceConstraintViolation"
    assert code({"n": 1, "list": []}) == "OccurrenceConstraintViolation"
    assert code({"n": 1, "list": [1, 2, 3, 4]}) == "OccurrenceConstraintViolation"
    assert code({"n": 1, "customData": {}}) == "OccurrenceConstraintViolation"


def test_type():
    assert code({"n": "1"}) == "TypeConstraintViolation"
    assert code({"n": True}) == "TypeConstraintViolation"
    assert code({"n": 1.5}) == "TypeConstraintViolation"
    assert code({"n": 1e999}) == "TypeConstraintViolation"
    assert code({"n": 1, "x": "1"}) == "TypeConstraintViolation"
    assert code({"n": 1, "flag": 1}) == "TypeConstraintViolation"
    assert code({"n": 1, "when": "yesterday"}) == "TypeConstraintViolation"
    assert code({"n": 1, "kind": 1}) == "TypeConstraintViolation"
    assert code({"n": 1, "sub": []}) == "TypeConstraintViolation"
    assert code({"n": 1, "list": 1}) == "TypeConstraintViolation"
    assert code({"n": 1, "list": ["1"]}) == "TypeConstraintViolation"
    assert code({"n": 1, "customData": "v"}) == "TypeConstraintViolation"


def test_property_and_format():
    assert code({"n": 1, "kind": "C"}) == "PropertyConstraintViolation"
    assert code({"n": 1, "sub": {"id": 1, "name": "abcdef"}}) == "PropertyConstraintViolation"
    assert code({"n": 1, "extra": 1}) == "FormatViolation"
    assert code({"n": 1, "sub": {"id": 1, "extra": 1}}) == "FormatViolation"


def test_error_names_the_field():
    try:
        schema.check({"n": 1, "subs": [{"id": "x"}]}, SPEC)
    except CallError as e:
        assert e.args[1] == "subs.id is not an integer", e.args
    else:
        raise AssertionError


def test_response_is_lenient_about_unknown_fields():
    logs = []
    assert schema.response({"n": 1, "new": 2}, SPEC, logs.append) == {"n": 1, "new": 2}
    assert schema.response({"n": "x"}, SPEC, logs.append) is None
    assert schema.response(None, SPEC, logs.append) is None
    assert logs == ["bad response: n is not an integer"]


def test_integral_float_is_an_integer():
    p = {"n": 5.0, "list": [1.0, 2]}
    schema.check(p, SPEC)
    assert p == {"n": 5, "list": [1, 2]} and type(p["n"]) is int and type(p["list"][0]) is int


def test_every_module_writing_schemas_has_schema_s_types_and_flags():
    """They are defined again in each such module (const() does not cross modules): the values
    must be schema's, or a field would be checked as another type."""
    import os

    names = ("INT", "NUM", "BOOL", "TIME", "ANY", "REQ", "LIST")
    seen = 0
    root = schema.__file__.rpartition("/")[0].rpartition("/")[0]  # ocpp_lite and its packages
    files = []
    for f in os.listdir(root):
        if f.endswith(".py"):
            files.append(f)
        elif "." not in f and f != "__pycache__":
            files.extend(f + "/" + g for g in os.listdir(root + "/" + f) if g.endswith(".py"))
    for f in files:
        if f in ("engine/schema.py", "__init__.py") or f.endswith("/__init__.py"):
            continue
        m = __import__("ocpp_lite." + f[:-3].replace("/", "."), None, None, ["x"])
        # A private const (_INT = const(-1)) is folded away, not a module attribute: read it
        # from the source.
        private = {}
        with open(root + "/" + f) as src:
            for line in src:
                if line.startswith("_") and " = const(" in line:
                    k, _, v = line.partition(" = const(")
                    v = v.strip()
                    if k[1:] in names and v.endswith(")") and v[:-1].lstrip("-").isdigit():
                        private[k[1:]] = int(v[:-1])  # (firmware.py's _REQ is its request schema)
        for n in names:
            if hasattr(m, n):
                assert getattr(m, n) == getattr(schema, n), (f, n)
                seen += 1
            if n in private:
                assert private[n] == getattr(schema, n), (f, "_" + n)
                seen += 1
    assert seen >= 30, seen


def test_a_bytearray_string_counts_characters():
    """A PEM kept in the received buffer (engine/lift.py) is a bytearray of UTF-8: checked as a
    string of that many characters, not bytes."""
    assert code({"n": 1, "sub": {"id": 1, "name": bytearray(b"abcde")}}) is None
    assert code({"n": 1, "sub": {"id": 1, "name": bytearray("ééééé".encode())}}) is None  # 10 bytes
    assert code({"n": 1, "sub": {"id": 1, "name": bytearray(b"abcdef")}}) == "PropertyConstraintViolation"
    assert code({"n": 1, "sub": {"id": 1, "name": bytearray("éééééé".encode())}}) == "PropertyConstraintViolation"
    assert code({"n": 1, "sub": {"id": 1, "name": b"abc"}}) == "TypeConstraintViolation"


def test_custom_data_is_checked_then_dropped_everywhere():
    """customData (TC_P_03) is accepted and dropped, on every object and inside ANY values, in
    requests and responses: its long values are bytearrays (engine/lift.py) that json.dumps
    would write as bytearray(b'...') into flash or onto the wire."""
    cd = {"vendorId": bytearray(b"v" * 80), "blob": bytearray(b"x" * 300)}
    p = {"n": 1, "customData": dict(cd), "sub": {"id": 1, "customData": dict(cd)},
         "subs": [{"id": 2, "customData": dict(cd)}],
         "any": [{"k": 1, "customData": dict(cd)}, {"deep": {"customData": dict(cd), "v": "s"}}]}
    assert schema.check(p, SPEC) is p
    assert p == {"n": 1, "sub": {"id": 1}, "subs": [{"id": 2}], "any": [{"k": 1}, {"deep": {"v": "s"}}]}
    r = schema.response({"n": 1, "customData": {"no": "vendorId"}, "sub": {"id": 1, "customData": 5}},
                        SPEC, print)
    assert r == {"n": 1, "sub": {"id": 1}}
    assert code({"n": 1, "customData": {"vendorId": bytearray(b"v" * 256)}}) == "PropertyConstraintViolation"
