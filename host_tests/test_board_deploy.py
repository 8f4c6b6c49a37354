"""`make deploy` (tools/deploy.py) without a board: the files it installs, the ROMFS image (mounted
and imported from on the unix port), the provisioning it writes, and the mpremote commands
it runs, for a board with and without a ROMFS partition."""

import json
import os
import subprocess

import pytest

from helpers import MICROPYTHON, ROOT
from tools import deploy, profiles

MPR = str(ROOT / ".venv" / "bin" / "mpremote")
ARGS = ["--csms", "ws://csms.example.com:8180/ocpp", "--id", "CP-0042", "--password", "a-16-char-or-longer-secret",
        "--wifi", "lab", "--wifi-key", "s3cret", "--set", "OCPPCommCtrlr.HeartbeatInterval=120"]


def _make(board, out, extra):
    return subprocess.run(["make", "-s", "deploy", "BOARD=" + board, "PORT=/dev/ttyUSB0",
                           "DEPLOY_ARGS=" + " ".join(ARGS + ["--out", str(out)] + extra)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, MICROPYTHON=MICROPYTHON))


@pytest.mark.parametrize("board", deploy.BOARDS)
def test_dry_run_builds_and_prints_the_mpremote_commands(board, tmp_path):
    out = tmp_path / board
    p = _make(board, out, ["--dry-run"])
    assert p.returncode == 0, p.stdout + p.stderr
    pre = "  %s connect /dev/ttyUSB0 " % MPR
    assert p.stdout.splitlines()[1:] == [
        "would run:", pre + "romfs query",
        "with a ROMFS partition:", pre + "romfs deploy %s/app.romfs" % out,
        "without one:", pre + "fs cp -r %s/mpy/lib :" % out,
        "then:", pre + "run %s/provision.py" % out,
        pre + "fs cp %s/boards/%s/main.py :main.py" % (ROOT, board),
        pre + "reset",
    ]
    # the .mpy tree: the lite profile's client modules, drivers, hw, the board's modules
    lib = out / "mpy" / "lib"
    got = sorted(str(f.relative_to(lib)) for f in lib.rglob("*.mpy"))
    fw = ROOT / "firmware"
    client = [str(f.relative_to(fw).with_suffix("")) for p_ in profiles.CLIENT for f in (fw / p_).rglob("*.py")]
    want = profiles.modules("lite", client)[0]
    want += [str(f.relative_to(fw).with_suffix("")) for d in ("drivers", "hw") for f in (fw / d).rglob("*.py")]
    assert got == sorted(m + ".mpy" for m in want + ["pins", "board"])
    assert "main.mpy" not in got


@pytest.mark.parametrize("board", deploy.BOARDS)
def test_romfs_image_mounts_and_the_app_imports_from_it(board, tmp_path):
    assert _make(board, tmp_path, ["--dry-run"]).returncode == 0
    img = tmp_path / "app.romfs"
    code = (
        "import os, sys, vfs\n"
        "data = open(%r, 'rb').read()\n"
        "vfs.mount(vfs.VfsRom(data), '/rom')\n"
        "sys.path[:] = ['.frozen', '/rom', %r]\n"  # the fake machine stands in for the board's
        "import ocpp_lite.station, runtime.app, hw.board, hw.main, drivers.mfrc522, pins, board\n"
        "print(sorted(os.listdir('/rom')))\n"
        "print(hw.board.__file__, pins.MODEL)\n"
    ) % (str(img), str(ROOT / "host_tests" / "mp" / "fake_machine"))
    p = subprocess.run([MICROPYTHON, "-c", code], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert json.loads(lines[0].replace("'", '"')) == ["board.mpy", "drivers", "hw", "ocpp_lite", "pins.mpy", "runtime"]
    assert lines[1].startswith("/rom/hw/board.mpy ")


def test_provision_script_writes_the_store(tmp_path):
    assert _make("esp32", tmp_path / "out", ["--dry-run"]).returncode == 0
    script = tmp_path / "out" / "provision.py"
    code = ("import sys; sys.path.insert(0, %r); import hw.main; hw.main.STATE = %r; exec(open(%r).read())\n"
            "from runtime.store import Store\n"
            "import json\n"
            "s = Store(%r)\n"
            "print(json.dumps([s.load('net'), s.load('vars'), s.load('wifi')]))\n"
            % (str(ROOT / "firmware"), str(tmp_path / "st"), str(script), str(tmp_path / "st")))
    p = subprocess.run([MICROPYTHON, "-c", code], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == "provisioned"
    net, dm, wifi = json.loads(p.stdout.splitlines()[1])
    assert net["profiles"]["1"]["ocppCsmsUrl"] == "ws://csms.example.com:8180/ocpp"
    assert dm["SecurityCtrlr.Identity"] == "CP-0042"
    assert dm["OCPPCommCtrlr.HeartbeatInterval"] == 120
    assert wifi == {"ssid": "lab", "key": "s3cret"}


def test_bad_setting_stops_before_the_board_is_touched(tmp_path):
    p = _make("rp2040", tmp_path, ["--set", "Nope.Nothing=1"])
    assert p.returncode != 0
    assert "provisioning refused" in p.stderr and "unknown setting" in p.stderr
    assert "mpremote" not in p.stdout


@pytest.mark.parametrize("romfs", [True, False])
def test_commands_run_on_the_board(monkeypatch, tmp_path, romfs):
    ran = []
    real = subprocess.run

    def run(cmd, *a, **kw):
        if cmd[:2] == [MPR, "connect"]:
            ran.append(cmd[3:])
            out = "ROMFS0 partition has size 131072 bytes (32 blocks of 4096 bytes each)\n" if romfs else ""
            return subprocess.CompletedProcess(cmd, 0 if romfs or cmd[3] != "romfs" else 1, out, "")
        return real(cmd, *a, **kw)

    monkeypatch.setattr(deploy.subprocess, "run", run)
    monkeypatch.setenv("MICROPYTHON", MICROPYTHON)
    out = tmp_path
    assert deploy.main(["--board", "esp32", "--port", "/dev/ttyACM0", "--out", str(out)] + ARGS) == 0
    install = ["romfs", "deploy", str(out / "app.romfs")] if romfs else ["fs", "cp", "-r", str(out / "mpy" / "lib"), ":"]
    assert ran == [["romfs", "query"], install, ["run", str(out / "provision.py")],
                   ["fs", "cp", str(ROOT / "boards" / "esp32" / "main.py"), ":main.py"], ["reset"]]
