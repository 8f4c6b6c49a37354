# The stack (ocpp_lite, runtime) and the shared board code (drivers, hw) load and run on
# a MicroPython whose machine and network modules refuse to be imported: the boards alone
# import them and pass their objects in. (host_tests/test_board_imports.py also scans the
# sources for imports inside functions.)
import os
import sys

_here = __file__.rpartition("/")[0] or "."
_fw = _here + "/../../firmware"
sys.path.insert(0, _here + "/nomachine")


def _modules(pkg):
    return sorted(pkg + "." + n[:-3] for n in os.listdir(_fw + "/" + pkg) if n.endswith(".py") and n != "__init__.py")


def test_every_module_imports_without_machine():
    for pkg in ("ocpp_lite", "runtime", "drivers", "hw"):
        for name in [pkg] + _modules(pkg):
            __import__(name)
    for poisoned in ("machine", "network"):
        try:
            __import__(poisoned)
        except ImportError:
            continue
        raise AssertionError("the poisoned %s module was not in the way" % poisoned)
    assert "machine" not in sys.modules and "network" not in sys.modules
