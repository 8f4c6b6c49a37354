"""tools/footprint/parsecost.py - what parsing a message costs the station, measured alone: the
least heap in which the 32-bit port with a profile frozen in parses the text (engine/rpc.py
parse of a bytearray, as the WebSocket hands it over), less the least heap of the same run
without the parse (the interpreter and the text), found by bisection in 64-byte steps.

The footprint's reference session sends one message at the parse bound (session.py
largest_text) so that its least heap covers every message the station parses: this tool says
which message is the costliest (host_tests/test_footprint.py checks session.py's choice).

    .venv/bin/python -m tools.footprint.parsecost [--exe build/footprint/mp32/micropython-lite]
"""

import argparse
import json
import pathlib
import subprocess
import tempfile

from tools import jsonweight, largest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXE = ROOT / "build" / "footprint" / "mp32" / "micropython-lite"
STEP = 64

# Runs on the port: the text read into a bytearray of its size, the heap collected, parsed.
_CODE = """
import gc, sys
sys.path[:] = ['.frozen']
from ocpp_lite.engine import rpc, lift
f = open(%r, 'rb')
b = bytearray(%d)
f.readinto(b)
f.close()
f = None
gc.collect()
if %r:
    m = rpc.parse(b)
print('parsed')
"""


def _fits(exe, script, heap):
    r = subprocess.run([str(exe), "-X", "heapsize=%d" % heap, script], capture_output=True, text=True, timeout=30)
    return r.returncode == 0 and r.stdout.strip().endswith("parsed")


def _least(exe, script, lo=2048, hi=65536):
    if not _fits(exe, script, hi):
        raise RuntimeError("does not run in %d bytes: %s" % (hi, script))
    while hi - lo > STEP:
        mid = (lo + hi) // 2 // STEP * STEP
        if _fits(exe, script, mid):
            hi = mid
        else:
            lo = mid
    return hi


def cost(text, exe=EXE):
    """Least heap to parse text beyond the interpreter and the text (bytes, STEP steps)."""
    data = text.encode()
    with tempfile.TemporaryDirectory() as d:
        msg = pathlib.Path(d) / "msg.json"
        msg.write_bytes(data)
        out = []
        for parse in (False, True):
            script = pathlib.Path(d) / ("parse%d.py" % parse)
            script.write_text(_CODE % (str(msg), len(data), parse))
            out.append(_least(exe, str(script)))
    return out[1] - out[0]


def heavy_start(mid="heavy"):
    """A RequestStartTransaction whose idToken has as many additionalInfo as the parse bound
    lets it have (the schema sets no limit), padded with customData to MaxMessageBytes."""
    def text(n):
        info = [{"additionalIdToken": "a%03d" % i + "x" * 32, "type": "t%03d" % i + "y" * 46} for i in range(n)]
        return json.dumps([2, mid, "RequestStartTransaction", {"remoteStartId": 1, "evseId": 99, "idToken": {
            "idToken": "T", "type": "Central", "additionalInfo": info}}], separators=(",", ":"))

    n = 1
    while jsonweight.weight(largest.padded(text(n + 1))) <= jsonweight.WEIGHT and len(text(n + 1)) < largest.MAX_MSG:
        n += 1
    return largest.padded(text(n))


def candidates():
    """(name, text): the largest request of every handled action padded with customData to
    MaxMessageBytes where its BytesPerMessage lets it be, and heavy_start."""
    out = [(a, largest.padded(largest.largest_request(a), largest.BYTES.get(a, largest.MAX_MSG)))
           for a in largest.HANDLED]
    return out + [("RequestStartTransaction, additionalInfo to the bound", heavy_start())]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exe", default=str(EXE))
    a = ap.parse_args()
    rows = [(name, len(t), jsonweight.weight(t), cost(t, a.exe)) for name, t in candidates()]
    print("| message | text | weight | least heap beyond the text |\n| --- | --- | --- | --- |")
    for r in sorted(rows, key=lambda r: -(r[1] + r[3])):
        print("| %s | %d | %d | %d |" % r)


if __name__ == "__main__":
    main()
