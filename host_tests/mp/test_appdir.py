# Application bundles on the boards (hw/romfs.py, hw/appdir.py) on the unix port: the ROMFS
# reader against images made by `mpremote romfs build` (checked with vfs.VfsRom), the unpack
# into /app and its swap on littlefs with a power cut at every block write, the choice of the
# code at start (trial, confirmation, rollback, a bundle that cannot be unpacked), the room for
# a download and its unpack, and a firmware image next to a bundle on the ESP32 (hw/ota.py).
import os
import sys
import vfs
import hwfakes
import esp32
from flashsim import MOUNT, Flash, mount, power_cuts
from hw import appdir
from hw.ota import Ota
from hw.romfs import Romfs, unpack
from runtime.store import Store

ROOT = MOUNT + "/state"
APP = MOUNT + "/app"
_MPREMOTE = (__file__.rpartition("/")[0] or ".") + "/../../.venv/bin/mpremote"
TREE = {
    "a.txt": b"hello\n",
    "empty.py": b"",
    "big.bin": bytes(range(256)) * 70,  # lengths of three LEB128 groups
    "pkg/__init__.py": b"",
    "pkg/sub/deep.py": b"X = 42\n",
    "pkg/sub/more.txt": b"x" * 700,
    "nothing/": None,  # an empty directory
}
OLD = {"ver.py": b'V = "old"\n', "pkg/__init__.py": b"", "pkg/m.py": b"X = 1\n" * 60}
NEW = {"ver.py": b'V = "new"\n', "pkg/__init__.py": b"", "pkg/m.py": b"X = 2\n" * 60,
       "pkg/data.bin": bytes(1500), "empty/": None}


def _write_tree(d, tree):
    for path, data in tree.items():
        parts = path.split("/")
        for i in range(1, len(parts)):
            try:
                os.mkdir(d + "/" + "/".join(parts[:i]))
            except OSError:
                pass
        if data is not None:
            with open(d + "/" + path, "wb") as f:
                f.write(data)


def _image(tree):
    """The ROMFS image of tree ({path: bytes}; None: an empty directory) that
    `mpremote romfs build` makes."""
    d = hwfakes.tmpdir()
    _write_tree(d, {"src/" + p: v for p, v in tree.items()})
    if not tree:
        os.mkdir(d + "/src")
    rc = os.system("%s romfs --no-mpy -o %s/img build %s/src >/dev/null" % (_MPREMOTE, d, d))
    assert rc == 0, rc
    with open(d + "/img", "rb") as f:
        data = f.read()
    hwfakes.rmtree(d)
    return data


def _read_tree(d, prefix=""):
    """{path: bytes or None} of directory d (None when d does not exist), without the stamp."""
    try:
        items = list(os.ilistdir(d))
    except OSError:
        return None
    out = {}
    for e in items:
        p = prefix + e[0]
        if e[1] == 0x4000:
            sub = _read_tree(d + "/" + e[0], p + "/")
            out.update(sub if sub else {p + "/": None})
        elif p != ".stamp":
            with open(d + "/" + e[0], "rb") as f:
                out[p] = f.read()
    return out


def _put(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _flash(blocks):
    f = Flash(blocks=blocks)
    vfs.VfsLfs2.mkfs(f)
    mount(f)
    os.mkdir(ROOT)
    return f


def _version(d):
    """V of module ver imported from directory d."""
    sys.path.insert(0, d)
    sys.modules.pop("ver", None)
    try:
        import ver

        return ver.V
    finally:
        sys.path.remove(d)
        sys.modules.pop("ver", None)


def _install(inst, data, piece=300):
    w = inst.stage(data[:piece], len(data))
    for i in range(0, len(data), piece):
        w.write(data[i : i + piece])
    w.close()
    inst.install()


def _raises(fn, exc, errno=None):
    try:
        fn()
    except exc as e:
        assert errno is None or e.args[0] == errno, e
        return
    raise AssertionError("no %s" % exc.__name__)


def test_reader_reads_what_mpremote_builds():
    data = _image(TREE)
    d = hwfakes.tmpdir()
    _put(d + "/img", data)
    with open(d + "/img", "rb") as f:
        got = list(Romfs(f, len(data)).entries())
    vfs.mount(vfs.VfsRom(data), "/romtest")  # the oracle: MicroPython's own ROMFS driver
    try:
        rom = _read_tree("/romtest")
    finally:
        vfs.umount("/romtest")
    assert rom == TREE, rom
    dirs = [p for p, off, n in got if off is None]
    assert sorted(dirs) == ["nothing", "pkg", "pkg/sub"] and dirs.index("pkg") < dirs.index("pkg/sub")
    files = dict((p, data[off : off + n]) for p, off, n in got if off is not None)
    assert files == dict((p, v) for p, v in TREE.items() if v is not None)
    unpack(d + "/img", d + "/out")
    assert _read_tree(d + "/out") == TREE
    _put(d + "/none", _image({}))
    unpack(d + "/none", d + "/out2")
    assert os.listdir(d + "/out2") == []
    hwfakes.rmtree(d)


def _uint(v):
    out = bytes([v & 0x7F])
    v >>= 7
    while v:
        out = bytes([0x80 | (v & 0x7F)]) + out
        v >>= 7
    return out


def _rec(kind, payload):
    return _uint(kind) + _uint(len(payload)) + payload


def test_reader_follows_data_pointers():
    """mpremote writes file data inline; the format also lets a file point at data elsewhere
    in the image (VfsWriter.mkdata): checked against vfs.VfsRom."""
    blob = b"data kept once, pointed at" * 10
    data = _rec(2, blob)
    at = len(data) - len(blob)  # offset of blob in the image's payload
    top = data + _rec(5, _uint(5) + b"p.txt" + _rec(3, _uint(len(blob)) + _uint(at)))
    img = b"\xd2\xcd\x31" + _uint(len(top)) + top
    vfs.mount(vfs.VfsRom(img), "/romtest")
    try:
        assert _read_tree("/romtest") == {"p.txt": blob}
    finally:
        vfs.umount("/romtest")
    d = hwfakes.tmpdir()
    _put(d + "/img", img)
    unpack(d + "/img", d + "/out")
    assert _read_tree(d + "/out") == {"p.txt": blob}
    hwfakes.rmtree(d)


def test_reader_refuses_what_is_no_whole_image():
    data = _image(TREE)
    d = hwfakes.tmpdir()
    bad = (
        b"\xe9" + bytes(300),  # an ESP32 app image
        data[: len(data) // 2],  # cut short
        b"\xd2\xcd\x31\x08\x05\x06\x02../x\x02\x00",  # a file named "../x"
        b"\xd2\xcd\x31\x08\x05\x06\x01a\x01\x00\x00",  # a file without data
    )
    for i in range(len(bad)):
        _put(d + "/bad", bad[i])
        _raises(lambda: unpack(d + "/bad", d + "/out%d" % i), ValueError)
    hwfakes.rmtree(d)


def test_unpack_and_swap_survive_a_power_cut_at_every_block_write():
    old, new = _image(OLD), _image(NEW)
    f = _flash(128)
    run = ROOT + "/app.run"
    _put(run, old)
    assert appdir.cache(run, APP) == APP and _read_tree(APP) == OLD
    _put(run, new)
    stamps = {appdir._digest(run): "new"}
    _put(ROOT + "/old", old)
    stamps[appdir._digest(ROOT + "/old")] = "old"
    seen = set()

    def action():
        appdir.cache(run, APP)

    def check(finished):
        tree = _read_tree(APP)
        which = None if tree is None else stamps[appdir._read(APP + "/.stamp")]  # a stamp, or no /app
        assert tree == {None: None, "old": OLD, "new": NEW}[which], tree
        assert which == "new" if finished else True
        if which:
            assert _version(APP) == which  # the code there runs
        seen.add(which)
        assert appdir.cache(run, APP) == APP  # the next start
        assert _read_tree(APP) == NEW and _version(APP) == "new"
        assert sorted(os.listdir(MOUNT)) == ["app", "state"]  # nothing left over

    n = power_cuts(bytes(f.data), action, check)
    assert n > 10 and seen == {"old", None, "new"}, (n, seen)
    appdir.cache(run, APP)
    assert appdir.cache(None, APP) is None and "app" not in os.listdir(MOUNT)  # no bundle: no /app


def _start():
    d = appdir.start(ROOT, APP)
    assert "hw.appdir" not in sys.modules and "runtime.bundle" not in sys.modules  # the chosen copies load
    assert [p for p in sys.path if p.startswith(MOUNT)] == ([d] if d else [])
    return _version(d) if d else None


def test_start_trial_confirmation_and_rollback():
    _flash(256)
    inst = appdir.Installer(ROOT)
    assert _start() is None and inst.outcome() is None  # never updated: the deployed code
    old, new = _image(OLD), _image(NEW)
    _install(inst, old)
    assert _start() == "old" and sys.path[0] == APP and inst.outcome() is True  # on trial
    inst.confirm()
    assert _start() == "old"  # confirmed: it stays
    _install(inst, new)
    assert _start() == "new" and inst.on_trial()
    assert _start() == "old" and inst.outcome() is False  # never confirmed (a crash): rolled back
    _install(inst, new)
    assert _start() == "new"
    inst.confirm()
    assert _start() == "new" and _read_tree(APP) == NEW
    inst.clear()  # a deployment
    assert _start() is None and "app" not in os.listdir(MOUNT)


def test_bundle_that_cannot_be_unpacked_is_rolled_back_at_once():
    _flash(256)
    inst = appdir.Installer(ROOT)
    _install(inst, _image(OLD))
    appdir.start(ROOT, APP)
    inst.confirm()
    new = _image(NEW)
    _install(inst, new)
    _put(ROOT + "/app.next", new[: len(new) - 200])  # damaged after the installation
    assert _start() == "old" and inst.outcome() is False and _read_tree(APP) == OLD
    _install(inst, _image(OLD))
    appdir.start(ROOT, APP)
    inst.confirm()
    _put(ROOT + "/app.run", b"\xd2\xcd\x31garbage")  # not on trial: the deployed code runs
    assert _start() is None


def test_room_for_the_download_and_the_unpack():
    _flash(256)
    inst = appdir.Installer(ROOT)
    room = inst.room()
    assert 0 < room < 256 * 512 - 32768
    _raises(lambda: inst.stage(b"\xd2\xcd\x31", room + 1), OSError, 28)  # announced too big
    w = inst.stage(b"\xd2\xcd\x31", None)  # no length: found out while writing
    _raises(lambda: w.write(bytes(room + 1)), OSError, 28)
    w.close()
    many = _image(dict(("f%03d.py" % i, b"# %d\n" % i) for i in range(200)))
    assert len(many) < room  # fits as a download, not unpacked into blocks of 512 bytes
    _raises(lambda: _install(inst, many), OSError, 28)
    assert not [n for n in os.listdir(ROOT) if n.startswith("app.")] and _start() is None
    _raises(lambda: _install(inst, b"not a ROMFS image" * 10), ValueError)
    _install(inst, _image(OLD))
    assert _start() == "old"


def test_firmware_image_next_to_a_bundle():
    """ESP32: a firmware image runs its own code on trial; confirmed, it drops the bundle;
    rolled back, the bundle runs again."""
    for confirm in (False, True):
        esp32.reset_all()
        _flash(256)
        ota = Ota(esp32, Store(ROOT), appdir.Installer(ROOT))
        _install(ota, _image(OLD))  # a bundle
        appdir.start(ROOT, APP, esp32)
        assert ota.outcome() is True
        ota.confirm()
        _install(ota, b"\xe9" + bytes(5000))  # then a firmware image
        esp32.reset()
        assert appdir.start(ROOT, APP, esp32) is None and _read_tree(APP) == OLD  # its own code
        if confirm:
            assert ota.outcome() is True
            ota.confirm()
            esp32.reset()
            assert appdir.start(ROOT, APP, esp32) is None and "app" not in os.listdir(MOUNT)
            assert not [n for n in os.listdir(ROOT) if n.startswith("app.")]
        else:
            esp32.reset()  # never confirmed: the bootloader goes back
            assert appdir.start(ROOT, APP, esp32) == APP and _version(APP) == "old"
            assert ota.outcome() is False
