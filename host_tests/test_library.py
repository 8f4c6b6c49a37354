"""OCPP2.Lite as a library (docs/library.md): the mip package files are what tools/packages.py
makes of tools/profiles.py, mip installs a profile's package from a local HTTP server, and the
main.py of docs/library.md runs a station from it against the `ocpp` CSMS."""

import functools
import http.server
import os
import re
import subprocess
import threading

import pytest
from ocpp.v201 import call

from helpers import MICROPYTHON, ROOT
from tools import packages, profiles
from tools.footprint import rom

EXAMPLE_URL = "ws://csms.example.com:9000/ocpp"


def test_package_files_are_what_packages_py_makes():
    assert packages.main(["check"]) == 0, "run: python3 -m tools.packages write"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served():
    """firmware/ over HTTP on 127.0.0.1 (as a web server or a GitHub repository serves it)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(ROOT / "firmware")))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % srv.server_port
    srv.shutdown()
    srv.server_close()


DOC = ROOT / "docs" / "library.md"


def doc_main():
    """The first Python block of docs/library.md: the integrator's main.py."""
    return re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)


def test_mip_install_and_the_documented_main_run_a_station(csms, served, tmp_path):
    lib = tmp_path / "lib"
    r = subprocess.run([MICROPYTHON, "-m", "mip", "install", "--target", str(lib), served + "/package-core.json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "Done" in r.stdout, r.stdout + r.stderr
    got = sorted(str(p.relative_to(lib).with_suffix("")) for p in lib.rglob("*.py"))
    assert got == profiles.modules("core", rom.present())[0]
    main = doc_main()
    assert EXAMPLE_URL in main
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(main.replace(EXAMPLE_URL, csms.url))
    env = dict(os.environ, MICROPYPATH=".frozen:" + str(lib))  # only the installed library
    proc = subprocess.Popen([MICROPYTHON, "main.py"], cwd=tmp_path / "app", env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        boot = csms.wait_call("BootNotification", timeout=20).payload
        assert boot["chargingStation"]["model"] == "MyCharger", boot
        sn = csms.wait_call("StatusNotification").payload
        assert (sn["evseId"], sn["connectorStatus"]) == (1, "Available"), sn
        r = csms.call("CS001", call.GetVariables(get_variable_data=[
            {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "Identity"}}]))
        assert r.get_variable_result[0]["attribute_value"] == "CS001"
        assert (tmp_path / "app" / "state").is_dir()  # the station's flash
    finally:
        proc.kill()
        out = proc.communicate()[0]
    assert "Traceback" not in out, out
