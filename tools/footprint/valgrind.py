"""tools/footprint/valgrind.py - instruction counts (callgrind) and mbedTLS heap (massif) of the
station process. The unix port runs inside a CPython wrapper, so both tools see the whole
process; the figures here keep only what the station does (callgrind: the span between two
{"op":"mem"} probes; massif: allocations with an mbedtls_ function on their call stack)."""

import pathlib
import re
import shutil
import subprocess

# The {"op":"mem"} probe calls gc.mem_alloc(), gc.collect(), gc.mem_alloc(), gc.mem_free();
# callgrind starts a new part before each gc.mem_alloc and after gc.mem_free (each part says
# which), so a probe is two parts: one ended before gc.mem_alloc, then one ended after
# gc.mem_free, and a step is every part from the end of the previous probe to the start of
# this one (the runtime calls gc.mem_free and gc.mem_alloc too, when it sets gc.threshold at
# start). What a step still holds of the probe (printing its JSON line, reading the next op)
# is ~0.1 M.
_ALLOC = "--dump-before=gc_mem_alloc"
_FREE = "--dump-after=gc_mem_free"


def available():
    return shutil.which("valgrind") is not None


def callgrind_wrap(out):
    return ["valgrind", "--tool=callgrind", "--dump-before=gc_mem_alloc", "--dump-after=gc_mem_free",
            "--callgrind-out-file=%s" % out]


def parts(out):
    """The callgrind parts in order: [(Ir, what ended the part)]."""
    res = {}
    for p in pathlib.Path(out).parent.glob(pathlib.Path(out).name + "*"):
        text = p.read_text(errors="replace")
        part = re.search(r"^part: (\d+)", text, re.M)
        total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        trigger = re.search(r"^desc: Trigger: (.*)$", text, re.M)
        if part and total:
            res[int(part.group(1))] = (int(total.group(1)), trigger.group(1).strip() if trigger else "")
    return [res[k] for k in sorted(res)]


def step_instructions(out, names):
    """{step name: instructions from the end of the previous probe to this step's probe}."""
    ps = parts(out)
    steps = []
    n = 0  # instructions since the end of the last probe
    i = 0
    while i < len(ps):
        ir, why = ps[i]
        n += ir
        if why == _ALLOC and [w for _, w in ps[i + 1:i + 3]] == [_ALLOC, _FREE]:
            steps.append(n)
            n = 0
            i += 3
        else:
            i += 1
    return {name: steps[k] if k < len(steps) else None for k, name in enumerate(names)}


def start_instructions(micropython, out):
    """Instructions from process start to the first line of a script (wrapper and interpreter
    start), measured the same way."""
    subprocess.run(callgrind_wrap(out) + [micropython, "-c", "import gc; gc.mem_alloc()"],
                   check=True, capture_output=True)
    return parts(out)[0][0]


def massif_wrap(out):
    return ["valgrind", "--tool=massif", "--depth=2", "--threshold=0.0", "--massif-out-file=%s" % out]


def mbedtls_heap(out):
    """What mbedTLS holds at the process's heap peak (the station's other memory is the fixed
    GC heap, so the peak is where mbedTLS holds most): {"peak": bytes, "sites": {mbedtls_
    function that called malloc: bytes}}."""
    sites = {}
    peak = False
    for line in pathlib.Path(out).read_text(errors="replace").splitlines():
        if line.startswith("heap_tree="):
            peak = line == "heap_tree=peak"
        m = re.match(r"^ n\d+: (\d+) 0x[0-9A-Fa-f]+: (mbedtls_\w+)", line) if peak else None
        if m:
            sites[m.group(2)] = sites.get(m.group(2), 0) + int(m.group(1))
    sites = {k: v for k, v in sites.items() if v}
    return {"peak": sum(sites.values()), "sites": sites}
