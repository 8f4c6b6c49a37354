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
     "within 12 kB (the aim) since stop 34: the resident modules' function objects, class "
     "dicts (stop 29), type objects (stop 31) and globals (stop 34: 3.3 kB) are in ROM "
     "(boards/common/frozen-static-functions.patch); what they bind at run time is left (49 "
     "names: the package bindings of submodules and what modules compute). What is left "
     "besides: the simulator board (0.4 kB of code, 0.8 kB of state), the services' state "
     "(1.7 kB), the tasks with their frames, the link and session objects and the 512-byte "
     "send buffer. Next: the classes the patch leaves in the heap (Store and SimBoard: "
     "decorated methods), fewer instance attributes at start, the reader's chain of "
     "coroutines (0.7 kB)"),
    ("ram32.least_heap", "least heap, reference session (ws://)", 24 * KB, 21 * KB,
     "within 21 kB (the aim) since stop 34 (the globals in ROM: 3.5 kB; within 24 since stop "
     "30). The peak is the costliest message's parse: the live heap while a transaction runs "
     "(about 9 kB), its 4 kB text and its 4 kB parsed value at once. With permessage-deflate "
     "(DeflateWindowBits 11, the boards' C path) within 24 kB since stop 34: its windows and "
     "buffers (3.6 kB after boot) stand beside that. Next: the reader's chain of coroutines (0.7 kB), a "
     "smaller bound on what a legal message builds (the heaviest legal request weighs 6.8 kB, "
     "the bound is 7 kB). Not a smaller MaxMessageBytes: every build handles UpdateFirmware, "
     "whose signingCertificate is a PEM of up to 4 kB"),
    ("ram32.tls_boards.least_heap", "least heap over wss://, boards' TLS (2k out/16k in)", 50 * KB, 45 * KB,
     "within 45 kB (the aim) since stop 34 (the globals in ROM: about 4 kB; runs of one tree "
     "spread by about 1 kB); a hard budget since stop 31 (mbedTLS without CBC, 0.6 kB; type "
     "objects in ROM, 1.3 kB; the tls module's context instead of the ssl module's wrapper, "
     "0.4 kB). The peak is the costliest message's 4 kB text on top of a station charging "
     "over wss:// (16.4 kB input record buffer, 2.1 kB output, 4.4 kB of mbedTLS's contexts, "
     "1.4 kB of SSL context with the parsed CSMS root), or a reconnection's handshake, which "
     "needs the 16 kB input buffer whole. Next: where the text goes (a heap cut by a few "
     "lasting objects a transaction makes has room but no 4 kB piece). Tried before: "
     "mbedTLS's record buffers from the top of the GC heap (no gain), "
     "MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH (idle fell 14 kB, the least heap did not move)"),
    ("ram32.tls_in2k.least_heap", "least heap over wss://, 2 kB records both ways", 40 * KB, 32 * KB,
     "within 32 kB (the aim) since stop 34 (the globals in ROM); within the whitepaper's 50 "
     "kB since stop 27 (a hard budget); follows the ws:// least heap; mbedTLS's handshake "
     "peak (certificate parsing) next"),
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
