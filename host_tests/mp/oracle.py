# host_tests/mp/oracle.py - answers batches of questions with the firmware code on the unix
# port, for comparison with reference implementations on CPython (test_reference.py).
#   micropython oracle.py json FILE    lines of hex bytes -> "1" valid / "0" invalid
#   micropython oracle.py weight FILE  lines of hex bytes (strict JSON) -> check()'s bits as
#                                      engine/rpc.py calls it (a bytearray, with longs)
#   micropython oracle.py clock FILE   lines of seconds since 2000 -> "<iso> <parse(iso)>"
#   micropython oracle.py parse FILE   lines of date-time text -> seconds or "None"
#   micropython oracle.py schema FILE  lines of [action, payload] -> "ok" or the error code
import binascii
import json
import sys

_here = sys.argv[0].rpartition("/")[0] or "."
sys.path.insert(0, _here + "/../../firmware")
from ocpp_lite.engine import clock, jsonsyntax, rpc, schema  # noqa: E402

_SPECS = {"TriggerMessage": ("remotecontrol", "TRIGGER"), "DataTransfer": ("datatransfer", "DATA_TRANSFER")}

mode = sys.argv[1]
with open(sys.argv[2]) as f:
    for line in f:
        line = line.rstrip("\n")
        if mode == "json":
            try:
                jsonsyntax.check(binascii.unhexlify(line))
                print("1")
            except ValueError:
                print("0")
        elif mode == "weight":
            print(jsonsyntax.check(bytearray(binascii.unhexlify(line)), []))
        elif mode == "clock":
            s = int(line)
            t = clock.iso(s)
            print(t, clock.parse(t))
        elif mode == "parse":
            print(clock.parse(json.loads(line)))
        elif mode == "schema":
            action, payload = json.loads(line)
            mod, name = _SPECS[action]
            spec = getattr(__import__("ocpp_lite." + mod, None, None, (name,)), name)
            try:
                schema.check(payload, spec)
                print("ok")
            except rpc.CallError as e:
                print(e.args[0])
