# The interlock (hw/evse.py guard, run by hw/board.py from a soft machine.Timer) on the unix
# port with the ESP32 board package, the pilot and contactor models and the fake machine's
# soft Timer (a thread hands each expiry to micropython.schedule: the callback runs between
# two bytecodes of whatever runs on the main thread). The contactor must open within
# BUDGET_MS of the EV leaving state C or of its feedback failing, while the main thread is
# idle, inside real ECDSA P-256 verifications and a slow handler; while the flash blocks the
# CPU (a blocking C call, as a sector erase does on the boards) within the debounce and two
# erases.
import hwfakes
import micropython
import select
from time import sleep_ms, ticks_add, ticks_diff, ticks_ms
from hwapp import App, Core
from runtime.store import Store

BUDGET_MS = 100  # IEC 61851-1: the supply off within about 100 ms
STALL_MS = 45  # a typical 4 kB sector erase of the boards' SPI flash (W25Q, GD25Q)


class Rig:
    def __init__(self):
        self.m = hwfakes.fresh()
        board_mod = hwfakes.board_package("esp32")
        import pins

        self.pins = pins
        x = hwfakes.Models(pins)
        self.ev, self.k = x.ev, x.contactor
        self.d = hwfakes.tmpdir()
        store = Store(self.d)
        self.board = board_mod.make_board(store, lambda t: None)
        self.app = App(Core())

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.board.disarm()
        hwfakes.rmtree(self.d)

    def charging(self):
        """EV in state C, energy allowed, interlock armed: wait until the contactor closed."""
        self.ev.state = "C"
        self.board.arm(self.app)
        self.board.relay(1, True)
        idle(lambda: self.k.closed, 1000)
        assert self.k.closed and self.m.level(self.pins.EVSES[0]["relay"]) == 1

    def at(self, delay, fn):
        """fn happens delay ms from now (the models apply it when next looked at); returns
        that instant."""
        t = ticks_add(ticks_ms(), delay)
        self.ev.at(t, fn)
        return t

    def latency(self, t0):
        assert not self.k.closed and self.k.coil_off is not None, "the contactor did not open"
        return ticks_diff(self.k.coil_off, t0)


def idle(done, ms):
    """The main thread idle, as asyncio's wait is on the boards (its sleeps run scheduled
    callbacks; the unix port's poll(2) would not)."""
    t = ticks_ms()
    while not done() and ticks_diff(ticks_ms(), t) < ms:
        sleep_ms(1)


def ecdsa_handler(until):
    """A certificate check, as InstallCertificate runs it: real ECDSA P-256 verifications,
    one after another until ticks_ms() until; returns (verifications, end)."""
    from test_x509 import DIGEST, EC_SIG, ROOT
    from ocpp_lite.crypto import x509

    root = x509.parse(ROOT)
    n = 0
    while n == 0 or ticks_diff(ticks_ms(), until) < 0:
        if not root.verify(DIGEST, EC_SIG):
            raise AssertionError("verification failed")
        n += 1
    return n, ticks_ms()


def slow_handler(until):
    """A deliberately slow handler: a device model report built and encoded page by page."""
    import json

    pages = 0
    while pages == 0 or ticks_diff(ticks_ms(), until) < 0:
        page = [{"component": {"name": "C%d" % i}, "variable": {"name": "V%d" % i},
                 "variableAttribute": [{"value": str(i * pages)}]} for i in range(20)]
        json.dumps({"requestId": 1, "seqNo": pages, "reportData": page})
        pages += 1
    return pages, ticks_ms()


def test_contactor_opens_in_time_when_idle():
    with Rig() as r:
        r.charging()
        t0 = r.at(30, lambda: setattr(r.ev, "state", "B"))
        idle(lambda: not r.k.closed, 1000)
        assert r.latency(t0) <= BUDGET_MS, r.latency(t0)


def test_contactor_opens_during_ecdsa_verification():
    with Rig() as r:
        r.charging()
        t0 = r.at(100, lambda: setattr(r.ev, "state", "B"))
        n, end = ecdsa_handler(ticks_add(t0, 300))
        assert n >= 2  # real verifications ran, before and after the EV left C
        assert ticks_diff(end, r.k.coil_off) > 0  # opened while the check still ran
        assert r.latency(t0) <= BUDGET_MS, r.latency(t0)


def test_contactor_opens_during_a_slow_handler():
    with Rig() as r:
        r.charging()
        t0 = r.at(100, lambda: setattr(r.ev, "state", "B"))
        pages, end = slow_handler(ticks_add(t0, 300))
        assert ticks_diff(end, r.k.coil_off) > 0 and pages > 1
        assert r.latency(t0) <= BUDGET_MS, r.latency(t0)
        r.board.relay(1, False)


def test_feedback_fault_opens_during_ecdsa_verification():
    with Rig() as r:
        r.charging()
        sleep_ms(400)  # the contactor's settle time has passed: its feedback counts
        t0 = r.at(100, r.k.drop)  # the contacts fall open under the energised coil
        n, end = ecdsa_handler(ticks_add(t0, 300))
        assert ticks_diff(end, r.k.coil_off) > 0 and n >= 2
        assert r.latency(t0) <= BUDGET_MS, r.latency(t0)
        assert r.board.evse[0].faults == ["ContactorStuckOpen"]


def test_fault_input_opens_the_contactor():
    with Rig() as r:
        from hw.board import Board
        import network

        class Pins:  # the ESP32 pin map with a fault input (an emergency stop) on GPIO21
            pass

        for k in dir(r.pins):
            setattr(Pins, k, getattr(r.pins, k))
        Pins.EVSES = (dict(r.pins.EVSES[0], trip=(21, "EmergencyStop")),)
        r.board.disarm()
        r.board = Board(r.m, Pins, Store(r.d), network.WLAN(), lambda t: None)
        r.m.drive(21, 1)  # the pull-up: not tripped
        r.charging()
        t0 = r.at(100, lambda: r.m.drive(21, 0))
        ecdsa_handler(ticks_add(t0, 250))
        assert r.latency(t0) <= BUDGET_MS, r.latency(t0)
        assert r.board.evse[0].faults == ["EmergencyStop"]


class _StallingFlash:
    """Every block erase holds the CPU for STALL_MS in one C call (poll(2) with nothing to
    poll: scheduled callbacks wait for it, as they wait for a flash erase on the boards)."""

    def __init__(self):
        from flashsim import Flash

        self.f = Flash(blocks=64)
        self.p = select.poll()
        self.p.ipoll(0)
        self.stalls = 0

    def readblocks(self, n, buf, off=0):
        return self.f.readblocks(n, buf, off)

    def writeblocks(self, n, buf, off=None):
        return self.f.writeblocks(n, buf, off)

    def ioctl(self, op, arg):
        if op == 6:
            self.stalls += 1
            self.p.ipoll(STALL_MS)
        return self.f.ioctl(op, arg)


def test_contactor_opens_while_the_flash_blocks():
    import vfs
    import flashsim

    fl = _StallingFlash()
    vfs.VfsLfs2.mkfs(fl)
    try:
        vfs.umount(flashsim.MOUNT)
    except OSError:
        pass
    vfs.mount(vfs.VfsLfs2(fl), flashsim.MOUNT)
    try:
        st = Store(flashsim.MOUNT)
        with Rig() as r:
            r.charging()
            t0 = r.at(100, lambda: setattr(r.ev, "state", "B"))
            n = 0
            stalls = fl.stalls
            while n == 0 or ticks_diff(ticks_ms(), ticks_add(t0, 400)) < 0:
                st.save("vars", {"n": n, "pad": "x" * 300})  # two CRC-checked copies each
                n += 1
            end = ticks_ms()
            assert fl.stalls - stalls >= 4  # the flash did block, several times
            assert ticks_diff(end, r.k.coil_off) > 0  # opened between erases, saves going on
            # the debounce (3 reads, 60 ms) and at most two erases it could not run during:
            # a soft timer cannot beat a blocking C call (docs/boards.md "The interlock")
            assert r.latency(t0) <= 60 + 2 * STALL_MS, r.latency(t0)
    finally:
        vfs.umount(flashsim.MOUNT)


def test_guard_allocates_nothing():
    with Rig() as r:
        r.ev.state = "C"
        r.board.relay(1, True)
        b = r.board
        b.arm(r.app)
        b.disarm()  # the test calls the callback itself, under a locked heap
        for e in b.evse:
            e.armed = True
        micropython.heap_lock()
        try:
            for state in ("C", "C", "C", "B", "B", "B", "E", "E", "E", "A", "A", "A"):
                r.ev.state = state
                b._guard(None)
        finally:
            micropython.heap_unlock()
        assert not b.failed, "the guard raised"
        assert (b.evse[0].trip, r.k.closed, r.k.switches) == (0, False, 2), (b.evse[0].trip, r.k.closed, r.k.switches)


def test_a_failing_guard_opens_everything_and_starves_the_watchdog():
    with Rig() as r:
        r.charging()
        fed = r.m.wdts[0].fed
        assert fed > 0

        def broken():
            raise OSError(5)

        r.m.devices[("adc", r.pins.EVSES[0]["adc"])].sample = broken
        idle(lambda: r.board.failed, 500)
        assert r.board.failed and not r.k.closed and r.m.pwms[25].duty_u16() == 65535
        fed = r.m.wdts[0].fed
        sleep_ms(100)
        assert r.m.wdts[0].fed == fed  # the watchdog will reset the board


def test_watchdog_fed_only_while_both_loops_pass():
    with Rig() as r:
        r.charging()
        w = r.m.wdts[0]
        fed = w.fed
        sleep_ms(100)
        assert w.fed > fed  # the guard feeds it
        r.app.alive = ticks_add(ticks_ms(), -100000)  # the App's loop hung
        sleep_ms(40)
        fed = w.fed
        sleep_ms(100)
        assert w.fed == fed and r.k.closed  # starved; the interlock itself still runs
        r.app.alive = ticks_ms()
        r.board._pass = ticks_add(ticks_ms(), -100000)  # the hardware loop hung
        sleep_ms(40)
        fed = w.fed
        sleep_ms(100)
        assert w.fed == fed
