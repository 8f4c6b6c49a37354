"""The footprint tool (tools/footprint/, docs/footprint.md): its figures follow the code and
the session, the JSON keys are stable, compare computes deltas, a hard-budget breach fails."""

import asyncio
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from helpers import ROOT
from tools import budgets, mp32, profiles
from tools.footprint import cli as footprint
from tools.footprint import report, rom
from tools.footprint import session as fs
from tools.footprint import valgrind as vg


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    """The lite profile built: (ROM figures, image path)."""
    fig, _, image = rom.build("lite", tmp_path_factory.mktemp("rom"))
    return fig, image


_HAS = """
from ocpp_lite import dispatch
from ocpp_lite.station import Station
class Q:  # an empty flash queue
    def last(self): return 0
    def full(self, n): return False
    def of_tx(self): return []
    def __len__(self): return 0
st = Station({}, {}, 1, {}.get, lambda n, d: None, Q(), 0, None, bytes(8), "PowerUp", lambda s: None)
def has(a):
    try:
        dispatch.handler(st, a)
        return True
    except Exception:
        return False
print([has(a) for a in %r])
"""


def _has(image, actions):
    """Whether the station's dispatch handles each action, on MicroPython with image mounted as
    the only code."""
    out = footprint.on_micropython(image, _HAS % actions)
    return json.loads(out.replace("True", "true").replace("False", "false"))


def test_a_module_added_to_a_profile_grows_rom_and_adds_its_handlers(tmp_path, monkeypatch):
    full, _, image = rom.build("core", tmp_path / "core")
    optional = [m for m in profiles.PROFILES["core"] if m in full["modules"]]
    assert optional, "core has no optional module"
    m = [x for x in optional if "query" in x][0]  # the certificate queries: two handlers
    monkeypatch.setitem(profiles.PROFILES, "without", tuple(x for x in profiles.PROFILES["core"] if x != m))
    less, missing, less_image = rom.build("without", tmp_path)
    assert m not in less["modules"] and m not in missing
    assert full["total"] - less["total"] == full["modules"][m] > 0
    assert sum(full["blocks"].values()) == full["total"] and sum(less["blocks"].values()) == less["total"]
    assert full["romfs_image"] > less["romfs_image"] == less_image.stat().st_size
    gained = [a for a in footprint.handled(list(full["modules"])) if a not in footprint.handled(list(less["modules"]))]
    assert gained, "%s handles no action" % m
    # what the tool says the build handles is what the station's dispatch does
    assert _has(image, gained) == [True] * len(gained)
    assert _has(less_image, gained) == [False] * len(gained)


def test_session_figures_follow_the_steps(lite):
    image = lite[1]
    short = fs.Session(image)
    asyncio.run(short.run(fs.STEPS[:1]))
    longer = fs.Session(image)
    res = asyncio.run(longer.run([fs.STEPS[0], ("trigger_heartbeat", fs.trigger_heartbeat)]))
    assert list(res["mem"]) == ["boot", "trigger_heartbeat"] and res["steps"]["trigger_heartbeat"] == fs.OK
    a, b = footprint.wire.data_figures(short.relay), footprint.wire.data_figures(longer.relay)
    added = {k: v for k, v in b["messages"].items() if k not in a["messages"]}
    assert sorted(added) == ["Heartbeat", "TriggerMessage"]
    assert b["total"] - a["total"] == sum(v["call"] + v["reply"] for v in added.values())
    # the relay's parse of the wire matches what the CSMS sent and received, frame by frame
    texts = [f.text for f in longer.csms.frames]
    msgs = longer.relay.messages()
    assert [m["text"] for m in msgs] == texts
    for m in msgs:
        n = len(m["text"].encode())
        assert m["size"] == n + (2 if n < 126 else 4) + (4 if m["dir"] == "up" else 0)


def test_romfs_keeps_the_code_out_of_the_heap(lite):
    image = lite[1]
    from_rom = asyncio.run(fs.Session(image).run(fs.STEPS[:1]))["mem"]["boot"]["live"]
    from_source = asyncio.run(fs.Session(None).run(fs.STEPS[:1]))["mem"]["boot"]["live"]
    img = footprint.image_in_heap(image)
    assert img >= image.stat().st_size
    assert from_rom - img < from_source - lite[0]["total"] // 2


KEYS = {
    "": {"format", "port", "source", "quick", "left_out", "profiles", "seconds", "stalls", "idle_day"},
    "port": {"micropython", "bits", "machine", "mpy_opt"},
    "profile": {"modules", "missing", "handled", "session", "rom", "ram", "ram32", "flash", "data", "cpu", "runs"},
    "rom": {"modules", "blocks", "total", "romfs_image", "board"},
    "rom.board": {"unix", "device"},
    "ram": {"image_in_heap", "imports", "imports_qstr", "after_boot", "least_heap", "steps", "tls"},
    "ram.step": {"live", "allocated", "least_heap"},
    "ram.tls": {"after_boot", "least_heap", "mbedtls_peak", "mbedtls_sites"},
    "ram32": {"imports", "after_boot", "least_heap", "steps", "tls", "tls_boards", "tls_in2k", "micropython", "blocks", "static_rom", "static_ram",
              "deflate"},
    "ram32.step": {"live", "allocated", "least_heap"},
    "ram32.tls": {"after_boot", "least_heap"},
    "flash": {"bytes", "files", "writes", "steps"},
    "data": {"messages", "upgrade", "control", "up", "down", "total", "tls", "tls_boards", "tls_in2k", "bill", "deflate"},
    "data.bill": {"ws", "wss"},
    "data.message": {"from", "n", "call", "reply"},
    "data.tls": {"up", "down", "total", "connections"},
    "cpu": {"ready_ms", "boot_ms", "response_us", "instructions", "stalls_ms", "deflate"},
    "cpu.instructions": {"start", "steps"},
}


def test_report_keys_table_chart_and_exit_status(tmp_path):
    out, svg = tmp_path / "f.json", tmp_path / "f.svg"
    p = subprocess.run([sys.executable, "-m", "tools.footprint", "report", "--quick", "--profiles",
                        "lite", "--json", str(out), "--svg", str(svg)], capture_output=True, text=True, timeout=300,
                       cwd=ROOT)
    d = json.loads(out.read_text())
    lite = d["profiles"]["lite"]
    got = {"": d, "port": d["port"], "profile": lite, "rom": lite["rom"], "rom.board": lite["rom"]["board"],
           "ram": lite["ram"], "ram.step": lite["ram"]["steps"]["boot"], "ram.tls": lite["ram"]["tls"],
           "ram32": lite["ram32"], "ram32.step": lite["ram32"]["steps"]["boot"], "ram32.tls": lite["ram32"]["tls"],
           "flash": lite["flash"], "data": lite["data"], "data.message": lite["data"]["messages"]["BootNotification"],
           "data.tls": lite["data"]["tls"], "data.bill": lite["data"]["bill"], "cpu": lite["cpu"], "cpu.instructions": lite["cpu"]["instructions"]}
    assert {k: set(v) for k, v in got.items()} == KEYS
    names = [n for n, _ in fs.STEPS]
    assert list(lite["session"]["steps"]) == names == list(lite["ram"]["steps"]) == list(lite["flash"]["steps"])
    # the lite build answers smart charging NotSupported and does everything else
    assert {k: v for k, v in lite["session"]["steps"].items() if v != fs.OK} == {"smart_charging": fs.SKIP}
    assert "SetChargingProfile" not in lite["handled"] and "GetInstalledCertificateIds" not in lite["handled"]
    assert lite["rom"]["total"] == sum(lite["rom"]["modules"].values())
    # --quick: the budgeted figure only, the 32-bit least heap for the whole session (no per step,
    # no 64-bit or TLS bisection)
    ram = lite["ram32"]
    assert ram["least_heap"] >= max(s["live"] for s in ram["steps"].values())
    assert [s["least_heap"] for s in ram["steps"].values()] == [None] * (len(names) - 1) + [ram["least_heap"]]
    assert lite["ram"]["least_heap"] is None and ram["tls"]["least_heap"] is None is lite["ram"]["tls"]["least_heap"]
    assert d["stalls"] is None is lite["cpu"]["stalls_ms"]  # timings: the full report's
    # ... and the sessions with permessage-deflate, the idle day
    assert d["idle_day"] is None is lite["data"]["deflate"] is lite["cpu"]["deflate"] is lite["ram32"]["deflate"]
    # the bill: the bytes on the wire and the headers of the packets that carry them
    for key, total in (("ws", lite["data"]["total"]), ("wss", lite["data"]["tls"]["total"])):
        b = lite["data"]["bill"][key]
        assert b["bytes"] == total and b["billed"] == total + 40 * b["packets"] + 8 * b["connections"]
    # mbedTLS allocates from the GC heap on the 32-bit port (as on the RP2040), not on the 64-bit one
    assert lite["ram32"]["tls"]["after_boot"] - lite["ram32"]["after_boot"] > 16 * 1024
    assert lite["ram"]["tls"]["after_boot"] - lite["ram"]["after_boot"] < 16 * 1024
    assert p.returncode == (1 if report.breaches(d) else 0), p.stderr
    assert "hard budgets: " in p.stdout and "RAM: least heap for the session [64-bit]" in p.stdout
    assert "RAM: least heap for the session [32-bit frozen]" in p.stdout
    assert "lite" in "".join(ET.parse(svg).getroot().itertext())


def test_stalls_gives_every_step_the_signature_checks_in_steps_and_the_contactor_latency(tmp_path):
    """`python -m tools.footprint stalls` (issue 16's figures, also in the full report): the
    simulator's --stalls 1 gives a stall for every reference-session step; the signature checks
    run in steps (the longest step a fraction of the total); the contactor's opening latency
    after C -> B and after a feedback fault, idle and during the checks (its budget is
    asserted by mp/test_drv_guard.py); callgrind's instructions where valgrind is installed."""
    out = tmp_path / "stalls.json"
    p = subprocess.run([sys.executable, "-m", "tools.footprint", "stalls", "--profile", "lite", "--runs", "1",
                        "--sessions", "1", "--json", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    d = json.loads(out.read_text())
    names = [n for n, _ in fs.STEPS]
    assert list(d["steps"]) == names and None not in d["steps"].values(), d["steps"]
    b = d["bench"]
    for k in ("install_certificate", "firmware_check"):
        assert 0 < b[k]["longest_step"] < b[k]["total"], b[k]  # (times: a preempted step may be long)
    assert set(b["contactor"]) == {"c_to_b.idle", "c_to_b.stall", "feedback.idle", "feedback.stall"}
    assert all(0 <= lo <= hi for lo, hi in b["contactor"].values()), b["contactor"]  # 0: at a guard pass
    if vg.available():
        assert d["instructions"]["install_certificate"] > 10 ** 6 < d["instructions"]["firmware_check"]
    assert "get_base_report" in p.stdout and "Contactor opening latency" in p.stdout


@pytest.mark.parametrize("live, need", [(110_000, 150_000), (20_000, 200_000), (40_000, 41_000)])
def test_least_heaps_bisects_from_any_first_guess(monkeypatch, live, need):
    """least_heaps (the heap bisection) against a station that completes its steps from a known
    heap on: the live heap above the first guess (the 64-bit port), far below it, just below
    the answer; the answer to within RESOLUTION, in few runs."""
    ref = {"a": fs.OK, "b": fs.OK}

    class Station:
        def __init__(self, image, tls=None, heap=None, exe=None, extra=()):
            assert live < heap <= footprint.MAX_HEAP, heap  # a guess that ran away fails here
            self.done, self.res = 0, {"steps": {}}
            self.heap = heap

        async def run(self):
            if self.heap >= need:
                self.done, self.res["steps"] = 2, dict(ref)

    monkeypatch.setattr(fs, "Session", Station)
    for whole in (True, False):
        least, runs = footprint.least_heaps(None, ref, None, live, whole=whole)
        assert need <= least["b"] <= need + footprint.RESOLUTION and len(runs) <= 12, (least, runs)


def test_a_hard_budget_breach_is_reported(monkeypatch):
    d = {"profiles": {"lite": {"rom": {"total": 1000}, "ram32": {"least_heap": 10}}}}
    monkeypatch.setattr(budgets, "HARD", {"rom.total": 1000, "ram32.least_heap": 10})
    assert report.breaches(d) == []  # at the budget is within it
    monkeypatch.setattr(budgets, "HARD", {"rom.total": 999})
    assert report.breaches(d) == [("lite", "rom.total", 1000, 999)]
    assert report.budget_state("rom.total", 1000).startswith("OVER HARD")


def test_a_hard_budget_not_measured_fails_unless_left_out_on_purpose(monkeypatch):
    monkeypatch.setattr(budgets, "HARD", {"ram32.least_heap": 50})
    d = {"profiles": {"lite": {"ram32": {"unavailable": "no gcc"}}}}
    assert report.breaches(d) == [("lite", "ram32.least_heap", None, 50)]
    assert "ram32.least_heap = not measured" in report.table_budget_line(d)
    d["left_out"] = ["ram32"]  # --no-mp32
    assert report.breaches(d) == []


def test_the_32bit_port_is_32bit_with_the_profile_frozen_in():
    """tools/mp32.py: what the RAM budget is checked on really is a 32-bit build whose code is
    frozen (importing it adds no bytecode to the heap) and runs the station."""
    mp32.build("core-sc")
    exe = str(mp32.build("lite"))  # after a larger profile: nothing of that one left in
    missing = subprocess.run([exe, "-c", "import ocpp_lite.smartcharging"], capture_output=True, text=True)
    assert "ImportError" in missing.stderr
    out = subprocess.run([exe, "-c", "import sys, gc\nprint(sys.maxsize)\ngc.collect()\na = gc.mem_alloc()\n"
                          "import ocpp_lite.station\ngc.collect()\nprint(gc.mem_alloc() - a)\n"
                          "print(ocpp_lite.station.__file__)"], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) == 2 ** 31 - 1
    assert out[2].startswith(".frozen") or "/" not in out[2] or out[2] == "ocpp_lite/station.py"
    frozen = int(out[1])
    res = asyncio.run(fs.Session(None, exe=exe).run(fs.STEPS[:1]))
    assert res["steps"]["boot"] == fs.OK
    # the same import from the source tree on the same port compiles the bytecode into the heap
    src = subprocess.run([exe, "-c", "import sys, gc\nsys.path[:] = [%r]\ngc.collect()\na = gc.mem_alloc()\n"
                          "import ocpp_lite.station\ngc.collect()\nprint(gc.mem_alloc() - a)" % str(ROOT / "firmware")],
                         capture_output=True, text=True, check=True).stdout
    assert int(src) > 2 * frozen


_STATIC = """
import gc, sys
heap = id(bytearray(64))
def far(o):  # not in the 64 kB heap: in the binary (ROM on a board)
    return abs(id(o) - heap) > 65536
from ocpp_lite.engine import clock, rpc, session
from runtime import store, ws
import ocpp_lite.remotecontrol as rc
print(far(clock.iso), far(session.Session.pump), far(rpc.error), far(rc.RemoteControl.__init__))
print(rpc.error("1", "X"), rpc.error("1", "X", "y"))
print(far(session.Session.__dict__), far(ws.Closed.__dict__), far(store.Store.__dict__), far(rc.RemoteControl.__dict__))
try:
    raise ws.Closed(1006, "x")
except ws.Closed as e:
    print(e.args[0], isinstance(e, Exception), session.Session.__module__, session.Session.__name__)
first = clock
for i in range(3000):  # garbage, collected while nothing but the static context holds the globals
    x = [i] * 8
gc.collect()
print(clock.iso(0))
sys.modules.pop("ocpp_lite.engine.clock")
del sys.modules["ocpp_lite.engine"].clock
gc.collect()
from ocpp_lite.engine import clock
print(clock is first, clock.iso(86400), sys.modules["ocpp_lite.engine.clock"] is clock)
print(far(session.Session), far(ws.Closed), far(store.Store), far(rc.RemoteControl))
class Sub(ws.Closed):  # a class made at run time on a type object in ROM
    pass
try:
    raise Sub(1000, "y")
except ws.Closed as e:
    print(type(e).__name__, e.args[0], isinstance(e, Exception), issubclass(Sub, ws.Closed), repr(session.Session))
"""


def test_resident_modules_have_their_function_objects_in_rom():
    """boards/common/frozen-static-functions.patch on the 32-bit port: a resident module's
    functions and methods are not in the heap, nor one whose defaults are constants (and it
    takes them: rpc.error's description ""); a resident class whose body only defines
    functions and constants has its dict and its type object in ROM (an exception class too,
    raised and caught as before; its __module__ and __name__ are right; a class made at run
    time on it works), one with a decorated method (Store's @staticmethod) has both in the heap;
    a module loaded on use has its functions and classes in the heap as before; a resident module's globals outlive collections with nothing but its
    static context holding them, and imported again after it was let go of it is the same
    module object and works."""
    exe = str(mp32.build("lite"))
    out = subprocess.run([exe, "-X", "heapsize=65536", "-c", _STATIC], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "True", "False", '[4,"1","X","",{}]', '[4,"1","X","y",{}]',
                   "True", "True", "False", "False", "1006", "True", "ocpp_lite.engine.session", "Session",
                   "2000-01-01T00:00:00Z", "True", "2000-01-02T00:00:00Z", "True",
                   "True", "True", "False", "False", "Sub", "1000", "True", "True", "<class", "'Session'>"], out


_GLOBALS = """
import sys
import ocpp_lite.station, runtime.app, simboard
from runtime import ws
from ocpp_lite.engine import rpc
import asyncio
heap = sum(len(m.__dict__) for m in sys.modules.values())  # what the modules hold in the heap
print(heap <= 64, sorted(ws.__dict__), "within" in ws.__dict__, ws.within.__name__)
print(rpc.CALL, rpc.MAX_ID, rpc.check.__name__, rpc.json.__name__, rpc.const(5), rpc.CallError.__name__)
orig = rpc.dumps
rpc.dumps = len  # another value: into the heap, looked up first
print(rpc.dumps is len, "dumps" in rpc.__dict__, rpc.result("ab", {"a": 1}))  # its functions see it
rpc.dumps = orig  # the ROM value again, while the heap holds the name: kept there
print(rpc.dumps is orig, "dumps" in rpc.__dict__)
del rpc.dumps  # out of the heap: the ROM value is seen again
print(rpc.dumps is orig, "dumps" in rpc.__dict__)
ns = {}
exec("from ocpp_lite.engine.rpc import *", ns)  # the ROM names too, not the private ones
print(ns["CALLERROR"], ns["parse"] is rpc.parse, "_lifts" in ns)
print(callable(asyncio.wait_for), asyncio.sleep_ms is asyncio.core.sleep_ms)  # asyncio's __getattr__ is in ROM
print(repr(ws), ws.__name__, ws.__file__)
print(rpc in list(sys.modules.values()), ocpp_lite.station.schema is sys.modules["ocpp_lite.engine.schema"])
"""


def test_resident_modules_have_their_globals_in_rom():
    """boards/common/frozen-static-functions.patch on the 32-bit port: a resident module's
    globals whose values mpy-tool.py knows (constants, its functions and classes, what it
    imports from the other resident modules and the builtin ones) are in ROM, not in its dict
    in the heap: the resident modules hold 64 names at most there after their import (about 380
    without it; what the import machinery binds in the packages, and what modules compute).
    Names in ROM are read as module attributes, as globals, by `from module import *` and by
    asyncio's C module (its tasks run); a store of another value goes to the heap and is read
    first, the ROM value stored again stays there, and once that is deleted the ROM value is
    read again; asyncio's lazy names (its __getattr__ in ROM) and a module's repr, __name__ and
    __file__ work."""
    exe = str(mp32.build("lite"))
    out = subprocess.run([exe, "-X", "heapsize=65536", "-c", _GLOBALS], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "True ['_TXBUF', '_room'] False within",
        "2 36 check json 5 CallError",
        "True True ['[3,2,', 1, ']']",
        "True True",
        "True False",
        "4 True False",
        "True True",
        "<module 'runtime.ws' from 'runtime/ws.py'> runtime.ws runtime/ws.py",
        "True True",
    ], out


@pytest.mark.parametrize("tls", [None, "boards"])
def test_the_lite_station_within_50_kB_over_wss_connects_and_charges(tls, tmp_path):
    """Issue 15's reproduction: the lite build frozen into the 32-bit port at -X heapsize=51200
    (the whitepaper's 50 kB) over wss:// never connected (OSError(12), ENOMEM, every attempt)
    with MicroPython's stock mbedTLS configuration (16 kB in, 4 kB out). It now connects, boots,
    answers the reference session's requests (all but its largest message, which the budgets
    cover) and runs a charging session with the stock configuration and with the boards' (2 kB
    out, 16 kB in), losing nothing to the heap (a run in which the station logs that it ran out
    of memory fails: session.py trouble())."""
    exe = str(mp32.build("lite", tls))
    pki = footprint.make_pki(tmp_path)
    names = [n for n, _ in fs.STEPS]
    steps = [(n, f) for n, f in fs.STEPS[:names.index("charging") + 1] if n != "largest_message"]
    res = asyncio.run(fs.Session(None, exe=exe, tls=pki, heap=51200).run(steps))
    assert res["steps"] == {n: fs.OK for n, _ in steps}, res["steps"]


def test_compare_shows_every_figure_with_deltas():
    a = {"source": {"rev": "aaa", "dirty": False}, "profiles": {"lite": {
        "rom": {"total": 1000, "modules": {"x": 10, "gone": 3}}, "handled": ["A"], "ram": {"least_heap": 0},
        "session": {"steps": {"boot": "ok"}}, "runs": {"seconds": 5}}}}
    b = {"source": {"rev": "bbb", "dirty": True}, "profiles": {"lite": {
        "rom": {"total": 1100, "modules": {"x": 5, "new": 7}}, "handled": ["A", "B"], "ram": {"least_heap": 64},
        "session": {"steps": {"boot": "ok"}}, "runs": {"seconds": 9}}}}
    rows = {r.split(" | ")[0][2:]: r.split(" | ")[1:] for r in report.compare(a, b).splitlines() if r.startswith("| lite")}
    assert rows == {
        "lite.handled.count": ["1", "2", "+1", "+100.0 % |"],
        "lite.ram.least_heap": ["0", "64", "+64", " |"],
        "lite.rom.modules.gone": ["3", "", "gone", " |"],
        "lite.rom.modules.new": ["", "7", "new", " |"],
        "lite.rom.modules.x": ["10", "5", "-5", "-50.0 % |"],
        "lite.rom.total": ["1000", "1100", "+100", "+10.0 % |"],
    }
    assert "aaa -> bbb+" in report.compare(a, b)


@pytest.mark.skipif(not vg.available(), reason="valgrind is not installed")
@pytest.mark.parametrize("port", ["unix64", "mp32"])
def test_callgrind_steps_are_the_spans_between_probes(tmp_path, port):
    # (mp32: the 32-bit build that keeps its symbols, which cpu.deflate is measured on: the
    # others are stripped, and callgrind's probes find gc_mem_alloc by name)
    # a script that sets gc.threshold as the runtime does (gc.mem_free, gc.mem_alloc) and then
    # probes as the simulator's {"op":"mem"} does around steps of known, different sizes
    script = """import gc
def probe():
    gc.mem_alloc(); gc.collect(); gc.mem_alloc(); gc.mem_free()
def work(n):
    x = 0
    for i in range(n):
        x = (x + i) & 0xFFFF  # (a small int on 32 bits too: every turn costs the same)
gc.threshold((gc.mem_free() + gc.mem_alloc()) // 8)
work(1000); probe()
work(200000); probe()
gc.threshold((gc.mem_free() + gc.mem_alloc()) // 8)
work(20000); probe()
"""
    out = tmp_path / "cg"
    if port == "mp32":
        try:
            exe = str(mp32.build("lite", symbols=True))
        except mp32.Unavailable as e:
            pytest.skip("the 32-bit MicroPython port cannot be built here: %s" % e)
    else:
        exe = fs.MICROPYTHON
    subprocess.run(vg.callgrind_wrap(out) + [exe, "-c", script], check=True, capture_output=True)
    per = vg.step_instructions(out, ["a", "b", "c", "d"])
    assert per["d"] is None  # three probes, three steps
    # b runs 10 times c's loop (the threshold calls before c belong to c's span, not a probe);
    # a holds the interpreter's start (the unix port's in its CPython wrapper: more than c)
    assert 5 * per["c"] < per["b"] < 15 * per["c"] and (port == "mp32" or per["a"] > per["c"]), per


def test_ram_per_block_orders_imports_and_measures_each_block_on_the_frozen_port():
    """tools/footprint/blocks.py: every module is imported after what it imports (its row is
    its own cost); every block of the profile has a row; the blocks Station.__init__ creates
    are marked as imported at boot with their state measured (their resident modules' imports
    cost next to nothing: globals, functions and classes in ROM), the handler-only ones as
    loaded when used."""
    from tools.footprint import blocks

    mods = sorted(profiles.modules("core-sc", rom.present())[0])
    order = [m for _, ms in blocks.groups(mods) for m in ms]
    assert len(order) == len(set(order))
    for i, m in enumerate(order):
        for dep in blocks.imports(m, set(mods)):
            assert dep.endswith("__init__") or order.index(dep) < i, (m, dep)
    assert order[-2:] == ["ocpp_lite/station", "runtime/app"]
    assert "ocpp_lite/engine/rpc" in blocks.imports("ocpp_lite/engine/schema", set(mods))

    exe = str(mp32.build("lite"))
    lite = sorted(profiles.modules("lite", rom.present())[0])
    rows = blocks.measure(exe, lite, footprint.on_micropython)
    assert {profiles.block_of(m) for m in lite if not m.endswith("__init__")} <= set(rows)
    for b in ("E transactions", "G availability", "A security"):
        assert rows[b]["used"] == 0 and rows[b]["state"] > 0, (b, rows[b])
    assert rows["B provisioning"]["state"] > 0
    for b, m in (("E transactions", "ocpp_lite/transactions"), ("G availability", "ocpp_lite/availability"),
                 ("A security", "ocpp_lite/security"), ("B provisioning", "ocpp_lite/provisioning/devmodel")):
        assert abs(rows[b]["modules"][m]) <= 64, (m, rows[b])  # resident: in ROM
    for b in ("C authorization", "L firmware", "N diagnostics", "P data transfer"):
        assert rows[b]["boot"] == 0 and rows[b]["used"] > 0, (b, rows[b])
    assert rows["B provisioning"]["modules"]["ocpp_lite/provisioning/variables"] > 0
    assert "K smart charging" not in rows  # not in the lite build
    # what is not the station's: asyncio (its import: the objects it makes, its submodule's
    # binding; its functions, classes and globals are in ROM), the simulator board (code and state)
    assert 0 < rows[blocks.ASYNCIO]["boot"] < 2048 and rows[blocks.BOARD]["boot"] > 0 < rows[blocks.BOARD]["state"]
    total = sum(r["boot"] + r["used"] for b, r in rows.items() if b not in (blocks.ASYNCIO, blocks.BOARD))
    assert 0.7 < total / footprint.import_heap(None, lite, exe)[0] < 1.3
    assert blocks.rest(rows, 30000) == 30000 - sum(r["boot"] + r["state"] for r in rows.values())


def test_the_reference_sessions_largest_message_is_the_costliest_to_parse():
    """tools/footprint/parsecost.py on the 32-bit lite port: no candidate (the largest request
    of every handled action, padded with customData to MaxMessageBytes where BytesPerMessage
    lets it be; a RequestStartTransaction with additionalInfo to the parse bound) needs more
    heap, text included, than session.py's largest_text, within two bisection steps (where a
    collection falls moves the least heap that much); and a free-form DataTransfer of 4 kB is
    far cheaper now that its data is never built."""
    from tools import largest
    from tools.footprint import parsecost

    exe = mp32.build("lite")
    chosen = fs.largest_text("x")
    top = len(chosen) + parsecost.cost(chosen, exe)
    costs = {name: len(t) + parsecost.cost(t, exe) for name, t in parsecost.candidates()}
    assert max(costs.values()) <= top + 2 * parsecost.STEP, (top, costs)
    data = json.dumps([2, "d", "DataTransfer", {"vendorId": "v", "data": ["s%03d" % i for i in range(500)]}])
    assert len(data) <= largest.MAX_MSG and parsecost.cost(data, exe) < (top - len(chosen)) // 4, costs


def test_census_tallies_the_heap_after_boot_by_kind():
    """tools/footprint/census.py: the block map of the lite station after boot (32-bit frozen)
    adds up to its live heap, and sees what is there: the resident modules' function objects
    are in ROM (boards/common/frozen-static-functions.patch): the heap has function objects only
    for the functions whose default arguments are computed at import (a few; some three hundred
    without the patch) and no module object for a resident module."""
    from tools.footprint import census

    assert census.parse(["00000000: MDhh=B.h==", "00000010: =T.."]) == {
        "M": (1, 16, {1: 1}), "D": (1, 16, {1: 1}), "h": (3, 112, {1: 1, 2: 1, 4: 1}), "B": (1, 16, {1: 1}),
        "T": (1, 16, {1: 1})}
    live, kinds, _ = census.census("lite")
    total = sum(b for _, b, _ in kinds.values())
    assert abs(total - live) <= 512, (total, live, kinds)
    assert kinds.get("B", (0,))[0] <= 10 and kinds["M"][0] <= 8, kinds


def test_every_module_kept_from_start_is_resident():
    """The modules every profile's station has loaded after boot are the resident ones
    (tools/profiles.py RESIDENT): a module that comes to be kept from start has its function
    objects in the heap until it is listed, and one listed that no profile keeps any more costs
    its globals for nothing."""
    from tools import profiles
    from tools.footprint import census

    resident = {m.replace("/__init__", "").replace("/", ".") for m in profiles.RESIDENT + profiles.BOARD_RESIDENT["sim"]}
    kept = set()
    for profile in profiles.PROFILES:
        _, _, modules = census.census(profile)
        loaded = set(modules) - {"__main__", "asyncio", "asyncio.core"}
        assert loaded <= resident, (profile, sorted(loaded - resident))
        kept |= loaded
    assert kept == resident, sorted(resident - kept)


def test_the_bill_counts_segments_and_acks_as_its_model_says():
    """tools/footprint/bill.py: a request answered at once (its ACK rides on the answer), the
    answer acknowledged alone after the delayed-ACK time, a message of three full segments
    (one ACK for two of them, one alone for the third), bursts of one side's writes joined."""
    from tools.footprint import bill

    call, answer = [(0.0, 100)], [(0.01, 50)]
    one = bill.connection(call, answer)
    assert one == {"bytes": 150, "packets": 1 + 1 + 1 + 7, "billed": 150 + 40 * 10 + 8}
    assert bill.connection(call, answer, ends=False)["packets"] == 3
    # the answer after the delayed-ACK time: the request's ACK goes alone
    assert bill.connection(call, [(0.5, 50)], ends=False)["packets"] == 4
    # 4000 bytes written in 512-byte pieces 1 ms apart: one burst, 3 segments, 2 ACKs
    big = [(i * 0.001, 512) for i in range(7)] + [(0.007, 4000 - 7 * 512)]
    assert bill.connection(big, [], ends=False) == {"bytes": 4000, "packets": 5, "billed": 4000 + 200}


def test_an_idle_day_is_the_idle_links_heartbeats_and_pings(monkeypatch):
    """bill.our_idle: the station idle with intervals 60 times shorter (Heartbeat every 5 s, a
    ping after 1 s of silence); every exchange in the window is a heartbeat or a ping, three
    packets each (the answer carries the ACK of the request, the answer's own ACK goes alone);
    idle_day scales the window's bill to 24 hours."""
    from tools.footprint import bill

    monkeypatch.setattr(bill, "IDLE_S", 7)
    relay, since, until = asyncio.run(bill.our_idle(None, None, 0))
    up, down = relay.conns[-1]
    frames = [f for f in up.frames if since < f["t1"] <= until]
    beats = [f for f in frames if f["op"] == 1]
    pings = [f for f in frames if f["op"] == 9]
    assert len(beats) >= 1 and len(pings) >= 4
    assert all('"Heartbeat"' in f["text"] for f in beats)
    got = bill.relay(relay, since, until)
    assert abs(got["packets"] - 3 * (len(beats) + len(pings))) <= 1  # (an exchange cut by the window's end)
    day = bill.idle_day(relay, since, until)
    assert day["billed"] == pytest.approx(got["billed"] * 86400 / ((until - since) * 60), rel=0.01)
