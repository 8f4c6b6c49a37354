"""Import rules of the board code, checked on the sources: the OCPP stack (ocpp_lite, runtime)
and the shared board code (drivers, hw) never import machine, network or a port module, not
even inside a function; drivers import nothing but micropython, time and asyncio (their buses
come in as arguments). Everything the boards run compiles with mpy-cross."""

import ast
import pathlib
import subprocess

import pytest

from helpers import ROOT

PORT_MODULES = {"machine", "network", "rp2", "esp", "esp32", "bluetooth"}
DRIVER_IMPORTS = {"micropython", "time", "asyncio"}


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0], node.lineno


def _sources(*packages):
    for p in packages:
        yield from sorted((ROOT / "firmware" / p).glob("*.py"))


@pytest.mark.parametrize("path", list(_sources("ocpp_lite", "runtime", "drivers", "hw")), ids=lambda p: p.parent.name + "/" + p.name)
def test_stack_never_imports_machine(path):
    bad = [(m, line) for m, line in _imports(path) if m in PORT_MODULES]
    assert not bad, "%s imports %s" % (path, bad)


@pytest.mark.parametrize("path", list(_sources("drivers")), ids=lambda p: p.name)
def test_drivers_take_their_buses_as_arguments(path):
    bad = [(m, line) for m, line in _imports(path) if m not in DRIVER_IMPORTS]
    assert not bad, "%s imports %s" % (path, bad)


def test_board_code_compiles_for_micropython(tmp_path):
    mpy_cross = ROOT / ".venv" / "bin" / "mpy-cross"
    files = list(_sources("drivers", "hw"))
    for board in ("esp32", "rp2040"):
        files += sorted((ROOT / "boards" / board).glob("*.py"))
    assert len(files) > 15
    for f in files:
        p = subprocess.run([str(mpy_cross), "-o", str(tmp_path / "x.mpy"), str(f)], capture_output=True, text=True)
        assert p.returncode == 0, "%s: %s" % (f, p.stderr)
