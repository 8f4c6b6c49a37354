# host_tests/mp/run.py - runs the test_* functions of MicroPython test modules on the unix
# port:  micropython run.py test_module [...]. One line per test: "ok mod fn" or
# "FAIL mod fn <traceback as a JSON string>". Used by host_tests/test_mp_units.py.
import io
import json
import sys

_here = sys.argv[0].rpartition("/")[0] or "."
sys.path.insert(0, _here + "/../../firmware")
sys.path.insert(0, _here)

for name in sys.argv[1:]:
    m = __import__(name)
    for k in sorted(dir(m)):
        if k.startswith("test_"):
            try:
                getattr(m, k)()
                print("ok", name, k)
            except Exception as e:
                buf = io.StringIO()
                sys.print_exception(e, buf)
                print("FAIL", name, k, json.dumps(buf.getvalue()))
