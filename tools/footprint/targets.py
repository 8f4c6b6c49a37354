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
     "the costliest message parsed is the peak, about 12 kB over the live heap: the largest "
     "RequestStartTransaction padded with customData to MaxMessageBytes (4 kB text, 4.3 kB "
     "parsed alone: tools/footprint/parsecost.py) handled while a transaction runs, its 4 kB "
     "text needing a hole that size. The handler's module (remotecontrol) and the modules a "
     "transaction loads (lift, metering) are made in the heap then: making them static too "
     "would keep their globals for good, so a lever only with a way to let go of a static "
     "module. Then: a smaller bound on what a legal message builds (the weight of the "
     "heaviest legal request, 6.8 kB, instead of 7 kB), the schema check building no path "
     "strings. Not a smaller MaxMessageBytes: every build handles UpdateFirmware, whose "
     "signingCertificate is a PEM of up to 4 kB"),
    ("ram32.tls_boards.least_heap", "least heap over wss://, boards' TLS (2k out/16k in)", 50 * KB, 45 * KB,
     "within 50 kB since stop 29 (the static functions and class dicts); the 16 kB input "
     "record buffer is most of it (the 2 kB-input build where the CSMS honours "
     "max_fragment_length). MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH was tried: idle over wss:// "
     "fell 14 kB (the buffers shrink to the negotiated fragment length) but the least heap "
     "did not move (the handshake and a reconnection still need the 16 kB input buffer "
     "whole, and a resize fails in a tight heap). So the heap after boot and the costliest "
     "message move it: each kB there is a kB here"),
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
