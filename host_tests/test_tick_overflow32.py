"""Issue 12 finding 7 ("Tick overflow from CSMS values") on a 32-bit port: the MicroPython
unit tests of host_tests/mp/test_tick_overflow.py run by host_tests/mp/run.py on the 32-bit
unix port (tools/mp32.py with the core-sc profile frozen in, host_tests/frozen.py). There, as on
the ESP32 and the RP2040, small ints have 31 bits and time.ticks_add raises OverflowError from
2^29 ms (asyncio.sleep too); the 64-bit port that test_mp_units.py uses never raises.

What runs: the 32-bit interpreter runs run.py, which puts firmware/ first on sys.path, so the
code under test is the .py source of firmware/ compiled by that interpreter at run time; it
shadows the frozen copies (which the fixture builds from the same tree, so they are the same
code). The helpers (fakes.py, test_x509.py) exist only as source; asyncio is the port's frozen
one, as on the boards. What makes the run meaningful is the interpreter's word size, checked
first, not frozen against source."""

import ast
import json
import pathlib
import subprocess

import pytest

from frozen import build_or_skip

MP = pathlib.Path(__file__).parent / "mp"
MODULE = "test_tick_overflow"
PROFILE = "core-sc"  # smart charging is in


def _names():
    tree = ast.parse((MP / (MODULE + ".py")).read_text())
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    exe = build_or_skip(PROFILE, tmp_path_factory)
    p = subprocess.run([str(exe), "-c", "import sys, time; print(sys.maxsize, time.ticks_add(0, -1))"],
                       capture_output=True, text=True, timeout=30)
    # 31-bit small ints, 32-bit words: the tick period is 2^30 ms
    assert p.stdout.split() == [str(2**31 - 1), str(2**30 - 1)], p.stdout + p.stderr
    p = subprocess.run([str(exe), str(MP / "run.py"), MODULE], capture_output=True, text=True, timeout=600)
    res = {}
    for line in p.stdout.splitlines():
        parts = line.split(" ", 3)
        if len(parts) >= 3 and parts[0] in ("ok", "FAIL") and parts[1] == MODULE:
            res[parts[2]] = (parts[0], json.loads(parts[3]) if len(parts) > 3 else "")
    return res, p.stdout + p.stderr


@pytest.mark.parametrize("name", _names())
def test_on_32bit_port(results, name):
    res, output = results
    assert name in res, "test did not run on the 32-bit port:\n" + output
    status, trace = res[name]
    assert status == "ok", trace
