# hw/ota.py against the esp32.Partition API (fake_machine/esp32.py: two app partitions, the
# bootloader's app rollback): an image streamed in odd pieces, booted on trial, confirmed or
# rolled back; images the bootloader refuses, images that do not fit, other files.
import os
import hwfakes  # noqa: F401  (fake_machine first on sys.path)
import esp32
from hw.ota import Ota
from runtime.bundle import Bundles
from runtime.store import Store


def _image(n):
    return b"\xe9" + bytes((i * 7) & 0xFF for i in range(n - 1))


def _stream(ota, data, piece=1000, size=-1):
    w = ota.stage(data[:piece], len(data) if size == -1 else size)
    for i in range(0, len(data), piece):
        w.write(memoryview(data)[i : i + piece])
    w.close()


def _ota(other=None):
    esp32.reset_all()
    d = hwfakes.tmpdir()
    return Ota(esp32, Store(d), other), d


def test_update_confirmed():
    ota, d = _ota()
    data = _image(10000)
    _stream(ota, data, 999)
    p = esp32.content("ota_1")
    assert p[: len(data)] == data and p[len(data) : 12288] == b"\xff" * (12288 - len(data))
    ota.install()
    esp32.reset()  # the new app boots on trial
    assert esp32.Partition(esp32.Partition.RUNNING).info()[4] == "ota_1"
    assert ota.outcome() is True
    ota.confirm()
    assert ota.outcome() is None
    esp32.reset()  # confirmed: it stays
    assert esp32.Partition(esp32.Partition.RUNNING).info()[4] == "ota_1"
    hwfakes.rmtree(d)


def test_unconfirmed_update_rolls_back():
    ota, d = _ota()
    _stream(ota, _image(5000))
    ota.install()
    esp32.reset()
    esp32.reset()  # the new firmware never confirmed (e.g. it crashed before the CSMS accepted it)
    assert esp32.Partition(esp32.Partition.RUNNING).info()[4] == "ota_0"
    assert ota.outcome() is False
    assert ota.outcome() is None  # reported once
    hwfakes.rmtree(d)


def test_refused_and_oversized_images():
    ota, d = _ota()
    _stream(ota, b"\xe9" + bytes(100))
    esp32._parts["ota_1"][0] = 0  # a corrupt image: the bootloader check refuses it
    try:
        ota.install()
    except ValueError:
        pass
    else:
        raise AssertionError("refused image installed")
    try:
        ota.stage(b"\xe9", esp32.SIZE + 1)  # announced too big
    except OSError as e:
        assert e.args[0] == 28
    else:
        raise AssertionError("oversized image staged")
    try:
        _stream(ota, _image(esp32.SIZE + 4096), 4096, None)  # no length: found out while writing
    except OSError as e:
        assert e.args[0] == 28
    else:
        raise AssertionError("oversized image written")
    hwfakes.rmtree(d)


def test_other_files_go_to_the_bundle_installer():
    d = hwfakes.tmpdir()
    ota, d2 = _ota(Bundles(d))
    _stream(ota, b"\xd2\xcd\x31" + bytes(100))  # a ROMFS image
    ota.install()
    assert "app.next" in os.listdir(d) and esp32.content("ota_1")[0] == 0xFF
    plain, d3 = _ota()
    try:
        plain.stage(b"x", 1)
    except ValueError:
        pass
    else:
        raise AssertionError("a file that is no image staged")
    for x in (d, d2, d3):
        hwfakes.rmtree(x)
