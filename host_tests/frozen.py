"""The simulated station on the 32-bit MicroPython port with a build profile frozen in
(tools/mp32.py): objects and pointers of a board's size and the code out of the heap, the port
the RAM budget is set on (tools/budgets.py). The fuzz and memory campaigns run the station here
at a given -X heapsize, so what they say about the heap holds for the budget."""

import os
import shutil
import subprocess
import threading

from helpers import Sim

from tools import mp32

_built = {}


def build(profile, directory, tls=None):
    """A private copy of the 32-bit port with profile frozen in (other tests may relink the
    shared one meanwhile), built with TLS configuration tls (tools/mp32.py: "boards", "in2k";
    None: MicroPython's), or raise mp32.Unavailable."""
    key = (profile, tls)
    if key not in _built:
        exe = directory / ("micropython32-" + profile + ("-tls-" + tls if tls else ""))
        shutil.copy2(mp32.build(profile, tls) if tls else mp32.build(profile), exe)
        _built[key] = exe
    return _built[key]


def build_or_skip(profile, tmp_path_factory, tls=None):
    """build() for a module fixture: the test is skipped, saying why, where the port cannot
    be built."""
    import pytest

    try:
        return build(profile, tmp_path_factory.mktemp("mp32"), tls)
    except mp32.Unavailable as e:
        pytest.skip("the 32-bit MicroPython port cannot be built here: %s" % e)


class FrozenSim(Sim):
    """Sim's contract (events, log, send, wait_event, quit, ...) with the frozen port: its main
    is boards/unix/main.py, run in the state directory (nothing there shadows the frozen code)."""

    def __init__(self, exe, state, csms_url, heap, ident="CS001", sets=None, extra=()):
        """extra: more simulator options, e.g. ("--ca", pem_path)."""
        state.mkdir(parents=True, exist_ok=True)
        args = [str(exe), "-X", "heapsize=%d" % heap, "-m", "main", "--state", str(state), "--id", ident]
        if csms_url:
            args += ["--csms", csms_url]
        args += list(extra)
        for k, v in (sets or {}).items():
            args += ["--set", "%s=%s" % (k, v)]
        self.state = state
        self.heap = heap
        self.events = []
        self.log = []
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, bufsize=1, cwd=str(state), env=dict(os.environ))
        self._threads = [threading.Thread(target=self._read, args=(self.p.stdout, True), daemon=True),
                         threading.Thread(target=self._read, args=(self.p.stderr, False), daemon=True)]
        for t in self._threads:
            t.start()

    def mem(self, timeout=10):
        """The simulator's heap probe: {"used", "live", "free", ...} in bytes."""
        n = len(self.find(ev="mem"))
        self.send(op="mem")
        return self.wait_event(timeout, n=n + 1, ev="mem")

    def memory_errors(self):
        return [line for line in self.log if "MemoryError" in line or "MemoryExhaustion" in line]
