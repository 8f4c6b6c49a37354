# runtime/app.py - runs the station on asyncio: builds the core from the store, keeps it
# connected (Link), wakes it at its deadlines, writes its frames and applies its effects
# to the board. The board object is the hardware interface (see boards/README.md).
# A MemoryError stops at the boundary of the task it happens in (a received message, the
# timer, a hardware event, a frame to write, an effect, a transfer): what it hit is dropped,
# the station records MemoryExhaustion and carries on; nothing in the flash queue is touched.
import asyncio
import gc
import os
import sys
from asyncio import core
from time import ticks_ms
from micropython import const
from ocpp_lite.engine import clock
from ocpp_lite.station import Station, forget
from .link import Link
from .queue import FlashQueue

_SECLOG = const(4096)  # bytes per security-log file (two files kept)
_GC_SHARE = const(8)  # a collection after every eighth of the heap allocated (gc.threshold)
_DIAGLOG = const(8192)  # bytes per diagnostics-log file (two files kept)
_TURN_MS = const(5)  # how often a write pass waiting for another to end looks again
_BOOT = const("boot")


def _settings(store):
    """The station settings (runtime/config.py), whose module is then let go of: it is needed
    again only to provision the flash, which a board's setup does before the station runs."""
    from . import config

    s = config.station(store)
    forget(config.__name__)
    return s


class App:
    def __init__(self, board, store):
        # Collect often, not only when the heap is full: garbage then never piles up, so what
        # lives long is placed low, and the heap keeps a large free block for messages (with
        # collections only when full, a 50 kB heap had no free piece of 2 kB after boot). The
        # board's main collects before making the App (hw/main.py, boards/unix/main.py).
        gc.threshold((gc.mem_free() + gc.mem_alloc()) // _GC_SHARE)
        self.board = board
        self.store = store
        self.settings = _settings(store)
        reason = (store.load(_BOOT) or {}).get("reason", "PowerUp")
        self.st = None
        log = self.log  # (one bound method for the queue and the station)
        self.link = Link(self)
        self.st = Station(board.info, board.hw, board.evses, store.load, store.save, FlashQueue(store, log), ticks_ms(),
                          board.wall(), os.urandom(8), reason, log, self.certs, self.link.probe)
        if reason != "PowerUp":
            store.save(_BOOT, {})  # the reason is used once
        self._jobs = {}  # transfer tasks by effect: "firmware", "upload"
        for name in store.damaged:  # a copy failed its check: the last good one is in use
            self.st.security.record("StoreCorruptionRecovered", name, ticks_ms())
        self._reconnect = False
        self._relays = {}  # EVSE id: the contactor state last set on the board
        self._woken = False  # wake() was called: the timer's next pause is skipped
        self._sleeping = None  # the timer's task while it pauses
        self._writing = False  # a service() pass is writing the frames
        self.exit = None
        self.alive = ticks_ms()  # last pass of the main loop: a watchdog feeds only while it moves

    def certs(self, st):
        """The station's certificate store, made when a block needs it (ocpp_lite/station.py)."""
        from .certstore import CertStore

        return CertStore(self.store)

    # --- called by the link and the board --------------------------------------------
    def on_link(self, slot, why=None):
        """The link came up on network profile slot, or went down (None): why, (close code,
        reason), is shown with it."""
        now = ticks_ms()
        try:
            if slot:
                self.st.connected(slot, now)
            else:
                self.st.disconnected(now)
        except MemoryError:  # in the link's task: it must go on (the timer sends what is due)
            self.oom("link")
        ev = {"ev": "ws", "state": "connected" if slot else "closed"}
        if why:
            ev["code"], ev["reason"] = why
        self.board.show(ev)
        self.wake()

    def hw(self, fn, *args, **kw):
        """Feed a hardware event to the station: fn(*args, now, **kw); returns what fn does
        (None when it ran out of memory: the event is dropped, the board's task goes on)."""
        try:
            r = fn(*(args + (ticks_ms(),)), **kw)
        except MemoryError:
            r = None
            self.oom("hardware event")
        self.wake()
        return r

    def oom(self, where):
        """A MemoryError reached a task boundary: the station logs it and records the
        MemoryExhaustion security event (if that fails too, the board's output has it)."""
        gc.collect()
        try:
            self.st.out_of_memory(where, ticks_ms())
        except MemoryError:
            self.board.log("out of memory: %s (not recorded)" % where)
        self.wake()

    def wake(self):
        """Deadlines may have moved: the timer passes again at once. Its pause is a plain
        sleep (no asyncio.wait_for on an Event: a task, a closure and their garbage at every
        pass), brought forward as Task.cancel() brings a sleeping task forward, without the
        exception."""
        self._woken = True
        t = self._sleeping
        if t:
            self._sleeping = None
            core._task_queue.remove(t)
            core._task_queue.push(t)

    def log(self, text):
        """Diagnostics: the board's output, and the bounded log in flash that GetLog uploads
        (lines start with the time)."""
        self.board.log(text)
        try:
            t = self.st.time(ticks_ms()) if self.st else self.board.wall() or 0
            self.store.append("diag.log", "%s %s" % (clock.iso(t), text), _DIAGLOG)
        except (OSError, MemoryError):
            pass  # flash full or failing, or no memory: the board output still has it

    def security_event(self, kind, info):
        self.hw(self.st.security.record, kind, info)

    def stop(self, why, reason=None):
        """End the run: why is "quit" or "reboot" (the next boot reports reason)."""
        if reason:
            self.store.save(_BOOT, {"reason": reason})
        self.exit = why
        self.wake()  # the timer's loop ends (main)

    # --- the loop ----------------------------------------------------------------------
    async def service(self):
        """Apply pending effects, then write pending frames: one pass at a time, so they go in
        their order (another task's pass waits its turn, a few ms: no asyncio.Lock)."""
        st = self.st
        self._effects()
        while self._writing:
            await asyncio.sleep_ms(_TURN_MS)
        self._writing = True
        try:
            while st.rpc.out:
                w = self.link.ws
                if not w:
                    break
                try:
                    await w.send(st.rpc.out.popleft())
                except MemoryError:  # the frame is lost, maybe half written: a new connection
                    self.oom("send")
                    self.link.drop()  # (the outstanding CALL fails; flash messages go again)
                    break
                except Exception as e:
                    self.log("write failed: %r" % e)
                    self.link.drop()
                    break
        finally:
            self._writing = False
        if self._reconnect and not st.rpc.out:  # after the answer that asked for it
            self._reconnect = False
            await self.link.reconnect()

    def _effects(self):
        st = self.st
        while st.effects:
            e = st.effects.popleft()
            try:
                self._effect(e)
            except MemoryError:
                if e[0] != "show":  # not what a person would see: tried again next time
                    st.effects.appendleft(e)
                e = None
                self.oom("effect")
                break
        for ev in st.ev:  # a relay command that did not fit in the effects is not lost
            if self._relays.get(ev.id) != ev.relay:
                self.log("EVSE %d contactor set from its state" % ev.id)
                self._relay(ev.id, ev.relay)

    def _relay(self, evse, closed):
        self.board.relay(evse, closed)
        self._relays[evse] = closed

    def _effect(self, e):
        k = e[0]
        if k == "show":
            self.board.show(e[1])
        elif k == "seclog":
            try:
                self.store.append("security.log", e[1], _SECLOG)
            except OSError as x:  # flash full or failing: the board output has it
                self.board.log("security log not written (%r): %s" % (x, e[1]))
        elif k == "clock":
            self.board.set_wall(e[1])
        elif k == "relay":
            self._relay(e[1], e[2])
        elif k == "reconnect":
            self._reconnect = True
        elif k == "limit":
            self.board.limit(e[1], e[2])
        elif k == "reboot":
            asyncio.create_task(self._reboot(e[1]))
        elif k == "firmware" or k == "upload":
            self._job(k)

    def _job(self, kind):
        """Start the transfer task of kind for the station's job, ending the one before. Its
        code (the transfer module, runtime/http.py) is loaded for it and let go of when it ends,
        as a service loaded on use is (Station.release)."""
        old = self._jobs.get(kind)
        if old:
            old.cancel()
        had = set(sys.modules)
        if kind == "firmware":
            from .fwupdate import run
        else:
            from .logupload import run
        self._jobs[kind] = asyncio.create_task(self._guard(run(self), kind, [m for m in sys.modules if m not in had]))

    async def _guard(self, job, kind, code):
        try:
            await job
        except MemoryError:
            self.oom(kind)
        except Exception as e:
            self.log("%s task failed: %r" % (kind, e))
        finally:  # (cancelled too: a new job of the kind has loaded what it needs)
            if self._jobs.get(kind) is asyncio.current_task():
                del self._jobs[kind]
            for m in code:  # a job still running keeps the module objects it uses
                forget(m)

    async def _reboot(self, reason):
        """Reboot once the answer and the flash queue are out (Reset: the Ended events), or
        after MessageTimeout; what is still queued is sent after the reboot (B12.FR.05)."""
        for _ in range(self.st.rpc.timeout_ms // 100):
            if not len(self.st.q) and not self.st.rpc.out:
                break
            await asyncio.sleep_ms(100)
        self.stop("reboot", reason)

    async def main(self):
        """Run until stop(); returns "quit" or "reboot". The link and the board run in tasks of
        their own (a board whose run() returns None has none: boards/unix/fleet.py); this task
        is the station's clock (no frame of its own under this one): its tick, the frames to
        write and the effects, the link's idle check, then a pause until the next deadline of
        either or a wake()."""
        self._effects()  # the safe state (contactors open) before anything else
        tasks = [asyncio.create_task(t) for t in (self.link.run(), self.board.run(self)) if t]
        while self.exit is None:
            self.alive = ticks_ms()
            try:
                self.st.tick(ticks_ms())
                await self.service()
                now = ticks_ms()
                ms = self.st.next_deadline(now)
                left = self.link.idle(now)
                if left is not None and left < ms:
                    ms = left
            except MemoryError:
                self.oom("timer")
                self._woken = False  # oom() woke the timer: the second's pause must hold
                ms = 1000
            except Exception as e:  # keep the station alive; the error is in the log
                self.log("timer: %r" % e)
                ms = 1000
            if self.st.rpc.later is not None:  # a handler in steps: the next step after the others
                await asyncio.sleep_ms(0)
                continue
            if not self._woken:  # at least a few ms, so a late deadline cannot spin the loop
                self._sleeping = asyncio.current_task()
                try:
                    await asyncio.sleep_ms(max(ms, 5))
                finally:
                    self._sleeping = None
            self._woken = False
        await self.link.stop()
        for t in tasks + list(self._jobs.values()):
            t.cancel()
        return self.exit
