# ocpp_lite/engine/schema.py - compact payload checks, mapped to the OCPP-J error codes.
#
# A schema is a tuple of fields; a field is (name, type, flags[, min_items, max_items]).
# type: INT, NUM, BOOL, TIME (RFC 3339 date-time), ANY, LATER (a value its handler checks
# against a schema of its own afterwards: taken as it is, customData included), a positive int n (string of at most
# n characters; a str, or a bytearray or memoryview of UTF-8 where engine/lift.py kept one), a tuple of strings (enumeration) or a tuple of fields (nested object).
# flags: REQ (required) and LIST (array of that type, with min/max items; max 0 = no limit).
# Schemas are constant tuples, so frozen code keeps them in flash: a module that writes schemas
# defines the types and flags it uses itself (INT = const(-1) ...; const() does not cross
# modules) and wraps its schemas in const(), or they are built in the heap at import.
#
# Error mapping (documented in docs/behaviour.md): missing field or wrong array size ->
# OccurrenceConstraintViolation; wrong JSON type or malformed date-time ->
# TypeConstraintViolation; value outside an enumeration or over a length ->
# PropertyConstraintViolation; a field the schema does not know -> FormatViolation.
# customData is accepted on every object (TC_P_03), checked (vendorId) and dropped: the station has
# no vendor extensions, and long values in it are bytearrays or memoryviews (engine/lift.py) that must never be
# stored or sent. Values of type ANY lose their customData too.
from micropython import const
from .rpc import CallError
from . import clock

INT = const(-1)
NUM = const(-2)
BOOL = const(-3)
TIME = const(-4)
ANY = const(-5)
LATER = const(-6)
_FORMAT = const("FormatViolation")
_OCCURRENCE = const("OccurrenceConstraintViolation")
_PROPERTY = const("PropertyConstraintViolation")
_TYPE = const("TypeConstraintViolation")
REQ = const(1)
LIST = const(2)

_CUSTOM = const((("vendorId", 255, REQ),))
_MISSING = object()


def check(obj, spec, where="", lenient=False):
    """Raise CallError unless dict obj matches spec; returns obj. lenient: unknown fields
    are ignored (used for responses, which are never answered)."""
    known = 0
    for f in spec:
        name = f[0]
        v = obj.get(name, _MISSING)
        if v is _MISSING:
            if f[2] & REQ:
                raise CallError(_OCCURRENCE, where + name + " missing")
            continue
        known += 1
        if f[2] & LIST:
            if type(v) is not list:
                raise CallError(_TYPE, where + name + " is not an array")
            if len(v) < f[3] or (f[4] and len(v) > f[4]):
                raise CallError(_OCCURRENCE, where + name + " has a wrong number of items")
            for j in range(len(v)):
                v[j] = value(v[j], f[1], where, name, lenient)
        else:
            obj[name] = value(v, f[1], where, name, lenient)
    if len(obj) > known:
        c = obj.pop("customData", _MISSING)
        if not lenient:
            if c is not _MISSING:
                value(c, _CUSTOM, where, "customData", True)  # vendor fields are free
            for k in obj:
                if not _has(spec, k):
                    raise CallError(_FORMAT, where + k + " is not allowed")
    return obj


def _has(spec, k):
    for f in spec:
        if f[0] == k:
            return True
    return False


def _plain(v):
    """Drop the customData of every object in v (of type ANY: not checked otherwise)."""
    t = type(v)
    if t is dict:
        v.pop("customData", None)
        v = v.values()
    elif t is not list:
        return
    for x in v:
        _plain(x)


def value(v, t, where, name, lenient=False):
    """v checked against type t (as a field name of where): returns it (5.0 as 5 for an
    integer), raises CallError."""
    tv = type(v)
    err = None
    if type(t) is int:
        if t > 0:
            if tv is not str and tv is not bytearray and tv is not memoryview:  # (engine/lift.py: UTF-8 bytes)
                err = (_TYPE, " is not a string")
            elif len(v) > t and (tv is str or sum(1 for c in v if c & 0xC0 != 0x80) > t):
                err = (_PROPERTY, " is too long")
        elif t == INT:
            if tv is float:  # JSON Schema integers include 5.0
                try:
                    if v == int(v):
                        v = int(v)
                        tv = int
                except (OverflowError, ValueError):
                    pass
            if tv is not int:
                err = (_TYPE, " is not an integer")
        elif t == NUM:
            if tv is not int and tv is not float:
                err = (_TYPE, " is not a number")
        elif t == BOOL:
            if tv is not bool:
                err = (_TYPE, " is not a boolean")
        elif t == TIME:
            if tv is not str or clock.parse(v) is None:
                err = (_TYPE, " is not a date-time")
        elif t == ANY:
            _plain(v)
        # LATER: as it is (its customData is checked with it)
    elif type(t[0]) is str:
        if tv is not str:
            err = (_TYPE, " is not a string")
        elif v not in t:
            err = (_PROPERTY, " has a value not allowed")
    else:
        if tv is not dict:
            err = (_TYPE, " is not an object")
        else:
            check(v, t, where + name + ".", lenient)
    if err:
        raise CallError(err[0], where + name + err[1])
    return v


def response(obj, spec, log):
    """A CALLRESULT payload checked leniently against spec, or None (logged) if it fails."""
    if obj is None:
        return None
    try:
        return check(obj, spec, "", True)
    except CallError as e:
        log("bad response: " + e.args[1])
        return None
