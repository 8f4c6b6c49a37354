"""Runs the unit tests in host_tests/mp/ on the MicroPython unix port (not CPython): each
module once, each test function reported as its own pytest test."""

import ast
import json
import pathlib
import subprocess

import pytest

from helpers import MICROPYTHON

MP = pathlib.Path(__file__).parent / "mp"
_results = {}


def _cases():
    for path in sorted(MP.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                yield path.stem, node.name


def _run(module):
    if module not in _results:
        p = subprocess.run([MICROPYTHON, str(MP / "run.py"), module], capture_output=True,
                           text=True, timeout=120)
        res = {}
        for line in p.stdout.splitlines():
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[0] in ("ok", "FAIL"):
                res[parts[2]] = (parts[0], json.loads(parts[3]) if len(parts) > 3 else "")
        _results[module] = (res, p.stdout + p.stderr)
    return _results[module]


@pytest.mark.parametrize("module,name", list(_cases()), ids=lambda v: v)
def test_mp(module, name):
    res, output = _run(module)
    assert name in res, "test did not run on MicroPython:\n" + output
    status, trace = res[name]
    assert status == "ok", trace
