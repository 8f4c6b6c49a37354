"""The custom-firmware build files of boards/esp32 and boards/rp2040, checked without a MicroPython
checkout: the freeze manifests (run with a stand-in for MicroPython's manifest API) freeze the
build profile's modules, drivers, hw and the board's modules; the TLS settings give a 2 kB
output buffer and 16 kB input buffer; the max_fragment_length patch applies to the code it
targets."""

import os
import re
import subprocess
import sys

import pytest

from helpers import ROOT
from tools import profiles


class Options:
    """options of an included manifest, as MicroPython's IncludeOptions: the include()
    keywords, then the manifest's defaults(), else None."""

    def __init__(self, **kwargs):
        self._kwargs, self._defaults = kwargs, {}

    def defaults(self, **kwargs):
        self._defaults = kwargs

    def __getattr__(self, name):
        return self._kwargs.get(name, self._defaults.get(name))


class Manifest:
    """The part of MicroPython's manifest API (tools/manifestfile.py) the boards use: paths are
    relative to the manifest being run; include() of the port's manifest is only recorded."""

    def __init__(self):
        self.frozen = {}  # target path -> (source path, opt)
        self.port_includes = []

    def include(self, path, **options):
        if path.startswith("$(PORT_DIR)"):
            self.port_includes.append(path)
            return
        path = os.path.abspath(path)
        prev = os.getcwd()
        os.chdir(os.path.dirname(path))
        try:
            with open(path) as f:
                exec(f.read(), {"include": self.include, "package": self.package, "module": self.module,
                                "options": Options(**options)})
        finally:
            os.chdir(prev)

    def package(self, name, files=None, base_path=".", opt=None):
        base = os.path.abspath(base_path)
        if files is None:
            files = sorted(f for f in os.listdir(os.path.join(base, name)) if f.endswith(".py"))
        for f in files:
            self._add(os.path.join(base, name, f), name + "/" + f, opt)

    def module(self, name, base_path=".", opt=None):
        self._add(os.path.join(os.path.abspath(base_path), name), name, opt)

    def _add(self, src, target, opt):
        assert os.path.isfile(src), src
        self.frozen[target] = (os.path.normpath(src), opt)


def _expected(profile, board):
    fw = ROOT / "firmware"
    client = [str(f.relative_to(fw).with_suffix("")) for p in profiles.CLIENT for f in (fw / p).rglob("*.py")]
    mods = profiles.modules(profile, client)[0]
    mods += [str(f.relative_to(fw).with_suffix("")) for p in profiles.DEVICE_BOARD for f in (fw / p).rglob("*.py")]
    files = {m + ".py": str(fw / (m + ".py")) for m in mods}
    files.update({f: str(ROOT / "boards" / board / f) for f in ("pins.py", "board.py", "main.py")})
    return files


@pytest.mark.parametrize("board", ["esp32", "rp2040"])
@pytest.mark.parametrize("profile", [None, "core-sc"])
def test_manifest_freezes_the_profile_and_the_board(board, profile, monkeypatch):
    if profile:
        monkeypatch.setenv("OCPP_PROFILE", profile)
    else:
        monkeypatch.delenv("OCPP_PROFILE", raising=False)
    m = Manifest()
    m.include(str(ROOT / "boards" / board / "manifest.py"))
    assert m.port_includes == ["$(PORT_DIR)/boards/manifest.py"]
    assert {t: s for t, (s, opt) in m.frozen.items()} == _expected(profile or "lite", board)
    assert {opt for s, opt in m.frozen.values()} == {3}


def test_esp32_sdkconfig_tls_buffers():
    text = (ROOT / "boards" / "esp32" / "sdkconfig.board").read_text()
    conf = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert conf == {"CONFIG_MBEDTLS_ASYMMETRIC_CONTENT_LEN": "y", "CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN": "16384",
                    "CONFIG_MBEDTLS_SSL_OUT_CONTENT_LEN": "2048", "CONFIG_MBEDTLS_DYNAMIC_BUFFER": "y"}
    cmake = (ROOT / "boards" / "esp32" / "mpconfigboard.cmake").read_text()
    assert "${MICROPY_BOARD_DIR}/sdkconfig.board" in cmake and "${MICROPY_BOARD_DIR}/manifest.py" in cmake


def test_rp2040_mbedtls_config_overrides_the_port_config(tmp_path):
    # a stand-in for ports/rp2/mbedtls/mbedtls_config_port.h with the values of the common config
    port = tmp_path / "mbedtls"
    port.mkdir()
    (port / "mbedtls_config_port.h").write_text(
        "#define MBEDTLS_SSL_IN_CONTENT_LEN (16384)\n#define MBEDTLS_SSL_OUT_CONTENT_LEN (4096)\n")
    (tmp_path / "check.c").write_text(
        '#include "mbedtls_config_board.h"\n'
        "_Static_assert(MBEDTLS_SSL_OUT_CONTENT_LEN == 2048, \"out\");\n"
        "_Static_assert(MBEDTLS_SSL_IN_CONTENT_LEN == 16384, \"in\");\n"
        "#ifndef MBEDTLS_SSL_MAX_FRAGMENT_LENGTH\n#error no max_fragment_length\n#endif\n")
    p = subprocess.run(["cc", "-Werror", "-fsyntax-only", "-I", str(tmp_path), "-I", str(ROOT / "boards" / "rp2040"),
                        str(tmp_path / "check.c")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    cmake = (ROOT / "boards" / "rp2040" / "mpconfigboard.cmake").read_text()
    assert re.search(r"set\(MBEDTLS_CONFIG_FILE \$\{MICROPY_BOARD_DIR\}/mbedtls_config_board.h\)", cmake)
    for board in ("esp32", "rp2040"):
        h = (ROOT / "boards" / board / "mpconfigboard.h").read_text()
        assert "#define MICROPY_SSL_MFL_CODE (MBEDTLS_SSL_MAX_FRAG_LEN_2048)" in h
        assert "#define MICROPY_MODULE_FROZEN_STATIC (1)" in h


def test_the_resident_modules_of_every_board_exist():
    """MICROPY_FROZEN_STATIC (`python -m tools.profiles resident BOARD`, boards' READMEs) names
    modules that the board's build freezes: the firmware's, the board's own, asyncio's."""
    from tools import profiles

    for board in profiles.BOARD_RESIDENT:
        out = subprocess.run([sys.executable, "-m", "tools.profiles", "resident", board], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        for name in out.split(","):
            where = [ROOT / "firmware" / name, ROOT / "boards" / ("unix" if board == "sim" else board) / name]
            assert name.startswith("asyncio/") or any(w.exists() for w in where), (board, name)


def test_max_fragment_length_patch_applies(tmp_path):
    # the lines of extmod/modtls_mbedtls.c (MicroPython 1.2x) around the place the patch changes
    src = tmp_path / "extmod" / "modtls_mbedtls.c"
    src.parent.mkdir()
    before = "".join("// line %d\n" % i for i in range(300))
    src.write_text(before + (
        "    mbedtls_ssl_conf_authmode(&self->conf, self->authmode);\n"
        "    mbedtls_ssl_conf_verify(&self->conf, &ssl_sock_cert_verify, self);\n"
        "    mbedtls_ssl_conf_rng(&self->conf, mbedtls_ctr_drbg_random, &self->ctr_drbg);\n"
        "    #ifdef MBEDTLS_DEBUG_C\n"
        "    mbedtls_ssl_conf_dbg(&self->conf, mbedtls_debug, NULL);\n"
        "    #endif\n"))
    patch = ROOT / "boards" / "common" / "tls-max-fragment-length.patch"
    p = subprocess.run(["patch", "-p1", "-i", str(patch)], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "mbedtls_ssl_conf_max_frag_len(&self->conf, MICROPY_SSL_MFL_CODE);" in src.read_text()
