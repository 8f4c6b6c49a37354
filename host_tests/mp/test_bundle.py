# runtime/bundle.py on the unix port: staging within the room of the flash, installation of
# ROMFS images only, the trial after the start, confirmation, rollback to the bundle before or
# to the deployed code, and a power cut between any two steps of a start.
import os
import hwfakes
from runtime.bundle import Bundles

IMG = b"\xd2\xcd\x31" + bytes(200)


def _install(b, data=IMG):
    w = b.stage(data[:10], len(data))
    w.write(data)
    w.close()
    b.install()


def _files(d):
    return sorted(n for n in os.listdir(d) if n.startswith("app."))


def test_trial_confirm_and_rollback():
    d = hwfakes.tmpdir()
    b = Bundles(d)
    assert b.select() is None and b.outcome() is None
    _install(b)
    assert b.select() == d + "/app.run" and b.outcome() is True  # the first bundle, on trial
    b.confirm()
    assert _files(d) == ["app.run"] and b.outcome() is None
    _install(b, IMG + b"2")
    assert b.select() == d + "/app.run" and b.on_trial()
    assert b.select() == d + "/app.run"  # not confirmed: back to the first bundle
    assert open(d + "/app.run", "rb").read() == IMG and b.outcome() is False and b.outcome() is None
    _install(b, IMG + b"3")
    b.select()
    b.select()
    assert b.select() == d + "/app.run" and open(d + "/app.run", "rb").read() == IMG
    hwfakes.rmtree(d)


def test_rollback_to_the_deployed_code():
    d = hwfakes.tmpdir()
    b = Bundles(d)
    _install(b)
    b.select()
    assert b.select() is None and _files(d) == ["app.back"]
    hwfakes.rmtree(d)


def test_only_romfs_images_and_room():
    d = hwfakes.tmpdir()
    b = Bundles(d, size=1000)
    w = b.stage(b"ELF", 50)
    w.write(b"ELF" + bytes(47))
    w.close()
    try:
        b.install()
    except ValueError:
        pass
    else:
        raise AssertionError("not a ROMFS image installed")
    for size in (2000, None):
        try:
            w = b.stage(IMG, size)
            w.write(bytes(2000))
        except OSError as e:
            assert e.args[0] == 28
        else:
            raise AssertionError("over the room")
        finally:
            if size is None:
                w.close()
    assert _files(d) == ["app.stage"] and b.select() is None
    hwfakes.rmtree(d)


def test_power_cut_during_a_start():
    """The steps of a start done by hand up to a cut, then a full start: the new bundle runs on
    trial (a cut after the last step is a start that did not confirm: a rollback)."""
    for cut in range(3):
        d = hwfakes.tmpdir()
        b = Bundles(d)
        _install(b)
        b.select()
        b.confirm()  # app.run = first bundle, confirmed
        _install(b, IMG + b"2")
        p = b.path
        steps = (lambda: open(p("try"), "wb").close(), lambda: os.rename(p("run"), p("prev")),
                 lambda: os.rename(p("next"), p("run")))
        for s in steps[:cut]:
            s()
        assert b.select() == p("run")
        assert open(p("run"), "rb").read() == IMG + b"2" and b.on_trial()  # the trial starts
        b.select()  # no confirmation: the first bundle again
        assert open(p("run"), "rb").read() == IMG and not b.on_trial()
        hwfakes.rmtree(d)
