"""tools/footprint/blocks.py - the RAM table per functional block (as the OCPP2.Lite whitepaper's
Table 6 gives it for OpenOCPP), measured on the 32-bit port with the profile frozen in.

For each block (tools/profiles.py: the module or package under ocpp_lite/ named after it, and
the runtime modules that serve it):
- code: the heap its modules take once imported (module and class dicts, function objects; the
  bytecode and names stay in the frozen image; a resident module's globals, functions and
  classes are in ROM, boards/common/frozen-static-functions.patch: next to nothing but what it
  computes at import). The modules are imported in ORDER, so what a
  block imports from an earlier one is counted there: the protocol engine and the shared
  runtime first, then the blocks;
- boot: whether the station imports it at boot (else it is imported when first used and let go
  of afterwards, Station.release);
- state: the heap a fresh instance of its service takes on a booted station (the simulator
  board's App with a provisioned store; the documents as the store gives them at boot), for the
  services Station.__init__ creates; those created on first use have little state of their own
  (their code is what they cost).
The rows add up to the "heap the imported modules take" figure only roughly: a module's globals
dict grows in steps. Two rows are not the station's: ASYNCIO, MicroPython's asyncio package (its
import, before everything else), and BOARD, the simulator board (hw/inputs.py and
boards/unix/simboard.py imported after the station's modules, and a SimBoard's state), which a
charger maker's board code replaces (hw/board.py and its drivers). And REST: the heap after boot
that no row holds: the tasks and their coroutines' frames, the connection (its WebSocket and
receive buffer) and what the boot exchange left, the simulator's own start-up module; the
report derives it (rest()).
"""

import ast
import json
import tempfile

from tools import profiles

# Import order: what everything needs first, then each block in the letter order, crypto before
# the blocks that use it.
ORDER = ("general", "transport", "runtime", "A security", "B provisioning", "C authorization",
         "E transactions", "F remote control", "G availability", "J meter values", "K smart charging",
         "crypto", "L firmware", "M certificates", "N diagnostics", "P data transfer")
# The engine part of "general" goes before the blocks; station.py (which imports the eager
# blocks) after them.
_LAST = ("ocpp_lite/station", "runtime/app")
ASYNCIO = "~ asyncio (MicroPython's)"
BOARD = "~ board: the simulator's"
REST = "~ rest of after boot"
_BOARD_MODULES = ("hw/inputs", "simboard")  # imported after the station's modules

# Runs on the port: prints one JSON line per measurement.
_CODE = """
import gc, json, sys
sys.path[:] = ['.frozen']
gc.collect()
a = gc.mem_alloc()
import asyncio
gc.collect()
print(json.dumps(["code", "asyncio", gc.mem_alloc() - a]))
for block, mods in %r:
    for m in mods:
        gc.collect()
        a = gc.mem_alloc()
        __import__(m.replace('/', '.'))
        gc.collect()
        print(json.dumps(["code", m, gc.mem_alloc() - a]))
"""

_STATE = """
import gc, json, os, sys
sys.path[:] = ['.frozen']
from time import ticks_ms
from runtime import config
from runtime.app import App
from runtime.store import Store
from simboard import SimBoard
state = %r
store = Store(state)
config.provision(store, {}, "ws://127.0.0.1:9/ocpp", "FP001", None)
board = SimBoard(1, "FP001", state, None)
app = App(board, Store(state))
st = app.st
st.boot._booted(st, {"currentTime": "2026-01-01T00:00:00Z", "interval": 300, "status": "Accepted"}, ticks_ms())
st.release()  # as after boot: the Boot service is let go of once Accepted
print(json.dumps(["boot", sorted(sys.modules)]))
docs = {n: store.load(n) for n in ("vars", "net", "tx", "avail", "profiles")}
now = ticks_ms()
def cost(block, make):
    gc.collect()
    a = gc.mem_alloc()
    obj = make()
    gc.collect()
    print(json.dumps(["state", block, gc.mem_alloc() - a]))
    return obj
from ocpp_lite import security
from ocpp_lite.availability import Availability
from ocpp_lite.engine.session import Session
from ocpp_lite.provisioning.devmodel import DeviceModel
from ocpp_lite.transactions import Transactions
cost("general", lambda: Session("x-", 30, app.log, 0, st, None))
cost("A security", lambda: security.Security(st))
x = cost("B provisioning", lambda: DeviceModel(st, docs["vars"], st.smartcharging is not None, st.aligned is not None))
cost("G availability", lambda: Availability(st, 1, docs["avail"]))
cost(%r, lambda: SimBoard(1, "FP001", state, None))
cost("E transactions", lambda: Transactions(st, docs["tx"], 1, now, bytes(8)))
if st.aligned:
    cost("J meter values", lambda: type(st.aligned)(st))
if st.smartcharging:
    cost("K smart charging", lambda: type(st.smartcharging)(st, docs["profiles"]))
"""


def imports(m, mods):
    """The modules of mods that module m imports when it is imported (its top-level imports,
    also those under a top-level try)."""
    path = profiles.FIRMWARE / (m + ".py")
    pkg = m.split("/")[:-1] if not m.endswith("__init__") else m.split("/")[:-1]
    found = []
    body = list(ast.parse(path.read_text()).body)
    while body:
        n = body.pop(0)
        if isinstance(n, ast.Try):
            body[:0] = n.body
        elif isinstance(n, ast.ImportFrom):
            base = (pkg[:len(pkg) - n.level + 1] if n.level else []) + (n.module.split(".") if n.module else [])
            for a in n.names:  # "from . import x" names a module, "from .x import y" a name in x
                for cand in ("/".join(base + [a.name]), "/".join(base), "/".join(base + ["__init__"])):
                    if cand in mods:
                        found.append(cand)
                        break
        elif isinstance(n, ast.Import):
            found += [a.name.replace(".", "/") for a in n.names if a.name.replace(".", "/") in mods]
    return found


def groups(mods):
    """[(block, [module, ...])]: the modules of the profile in ORDER of their blocks, each after
    the modules it imports (so a module's row is its own cost), station.py and app last."""
    mods = set(mods)
    by = {}
    for m in mods:
        if m.endswith("__init__") or m in _LAST or not m.startswith(profiles.CLIENT):
            continue
        by.setdefault(profiles.block_of(m), []).append(m)
    seen = set()

    def after_deps(m, out):
        if m in seen:
            return
        seen.add(m)
        for d in imports(m, mods):
            after_deps(d, out)
        if not m.endswith("__init__"):
            out.append(m)

    out = []
    for b in [b for b in ORDER if b in by] + sorted(b for b in by if b not in ORDER):
        ms = []
        for m in sorted(by[b]):
            after_deps(m, ms)
        out.append((b, ms))
    last = []
    for m in _LAST:
        after_deps(m, last)
    out.append(("general", last))
    return out


def measure(exe, mods, run):
    """{block: {"boot": code bytes of the modules imported at boot, "used": of those imported
    when first used, "state": bytes of the boot-time services' state, "modules": {module: code
    bytes}}}. run is cli.on_micropython (run(None, body, exe): body's stdout on the port)."""
    code = {}
    for line in run(None, _CODE % (groups(mods) + [(BOARD, list(_BOARD_MODULES))]), exe).splitlines():
        _, m, n = json.loads(line)
        code[m] = n
    at_boot, state = set(), {}
    with tempfile.TemporaryDirectory() as d:
        for line in run(None, _STATE % (d, BOARD), exe).splitlines():
            if not line.startswith("["):
                continue  # the board's own output
            rec = json.loads(line)
            if rec[0] == "boot":
                at_boot = {m.replace(".", "/") for m in rec[1]}
            else:
                state[rec[1]] = state.get(rec[1], 0) + rec[2]
    out = {}
    for m, n in code.items():
        b = ASYNCIO if m == "asyncio" else BOARD if m in _BOARD_MODULES else profiles.block_of(m)
        row = out.setdefault(b, {"boot": 0, "used": 0, "state": 0, "modules": {}})
        row["boot" if m in at_boot or b == ASYNCIO else "used"] += n
        row["modules"][m] = n
    for b, n in state.items():
        out.setdefault(b, {"boot": 0, "used": 0, "state": 0, "modules": {}})["state"] += n
    return out


def rest(rows, after_boot):
    """The heap after boot that no row of rows (measure()) holds: what is booted beyond the
    modules imported at boot and the services' state (tasks, connection, buffers)."""
    return after_boot - sum(r["boot"] + r["state"] for r in rows.values())
