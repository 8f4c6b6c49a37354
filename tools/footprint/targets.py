"""tools/footprint/targets.py - where the RAM figures are headed (issue 15, "A wss:// station
inside the whitepaper's 50 kB"): per figure path (below a profile in build/footprint.json) the
figure at which the work is done, the aim (MicroOcpp's C++ figures on an ESP32, beaten in
MicroPython), and the next lever to pull. The report prints, per profile, how far each figure is
from both. Budgets (tools/budgets.py) fail a build; targets only inform.
"""

KB = 1024

# (path, label, done at, aim, next lever)
TARGETS = (
    ("ram32.after_boot", "heap after boot, idle", 16 * KB, 12 * KB,
     "within 16 kB since stop 29: the resident modules' function objects and class dicts are "
     "in ROM (boards/common/frozen-static-functions.patch: 8.7 kB). Of the lite build's "
     "14.3 kB, the simulator board is 2.0 kB, the services' state 1.7 kB; the rest is the "
     "modules' globals tables and type objects, the tasks with their frames, the link and "
     "session objects and the 512-byte send and receive buffers. Next: the classes the patch "
     "leaves in the heap (Store and SimBoard, whose methods are decorated: a ROM staticmethod "
     "and property would do), the type objects themselves (80 bytes each, about 20), then "
     "fewer instance attributes at start"),
    ("ram32.least_heap", "least heap, reference session (ws://)", 24 * KB, 21 * KB,
     "within 24 kB since stop 30, within the spread of a quick report (+-2 kB): the board's "
     "lasting objects made low in the heap, no lifting for a blanked customData, the "
     "handler's code loaded after the parse and the text let go of before it runs. The peak "
     "is the costliest message's parse: the live heap while a transaction runs (about 15 kB), "
     "its 4 kB text and its 4 kB parsed value at once. Next: the modules' globals tables "
     "(about 4 kB over the resident modules, each grown by rehashing to the next table size: "
     "up to a quarter of it slack; sized once by mpy-tool.py for a static module), the "
     "reader's chain of coroutines (0.7 kB), a smaller bound on what a legal message builds "
     "(the heaviest legal request weighs 6.8 kB, the bound is 7 kB). Not a smaller "
     "MaxMessageBytes: every build handles UpdateFirmware, whose signingCertificate is a PEM "
     "of up to 4 kB"),
    ("ram32.tls_boards.least_heap", "least heap over wss://, boards' TLS (2k out/16k in)", 50 * KB, 45 * KB,
     "about 50 kB since stop 30, spread +-4 kB by timing in quick reports, so not yet a hard "
     "budget: at 50 kB, 3 of 18 runs side by side failed, at the reset step's reconnection "
     "(the handshake's ENOMEM with 25 kB free, 19 kB of it in one piece), none of 8 alone. "
     "Not fragmentation: the heap is full: 24 kB of TLS (16.7 kB input record buffer, "
     "2.4 kB output, 5 kB of contexts, all live from the handshake on) on top of the ws:// "
     "peak, or the handshake's own peak on top of a booted station. Tried in stop 30: mbedTLS's record buffers allocated from the top of the GC heap "
     "(a change to gc.c's allocator): no gain (alone, 49.9 kB without, 50.8 with). "
     "MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH was tried before: idle fell 14 kB but the least "
     "heap did not move (the handshake and a reconnection need the 16 kB input buffer whole). "
     "So each kB off the ws:// peak or the after-boot heap is a kB here"),
    ("ram32.tls_in2k.least_heap", "least heap over wss://, 2 kB records both ways", 40 * KB, 32 * KB,
     "within the whitepaper's 50 kB since stop 27 (a hard budget); follows the ws:// least "
     "heap; mbedTLS's handshake peak (certificate parsing) next"),
)


def lines(data):
    """The report's "targets" section: per figure and profile, the value, its distance to
    "done at" and to "aim" (positive: still to cut), and the next lever."""
    from tools.footprint.report import _get as get  # (report.py imports this module)

    names = list(data["profiles"])
    out = ["RAM targets [32-bit frozen] (tools/footprint/targets.py): now, to cut for done / for aim"]
    for path, label, done, aim, lever in TARGETS:
        cells = []
        for n in names:
            v = get(data["profiles"][n], path)
            cells.append("%s: -" % n if v is None else
                         "%s: %.1f kB, %+.1f / %+.1f" % (n, v / KB, (v - done) / KB, (v - aim) / KB))
        out.append("  %s (done at %.0f kB, aim %.0f kB): %s" % (label, done / KB, aim / KB, "; ".join(cells)))
        out.append("    next lever: " + lever)
    return out
