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
     "fewer function and class objects at boot: of the lite build's 24.9 kB (stop 27, heap map "
     "census: simulator board op mem with map), the imported modules' objects are about 13 kB "
     "(about 290 function objects, 5.2 kB with their dict slots more; module, class and instance "
     "dicts), asyncio's core 2.1 kB, the simulator board 2.5 kB (its module, hw/inputs, its "
     "reader thread), the services' state 2.0 kB (Session 0.4, one 8-byte slot per attribute), "
     "the running tasks and their frames 3 kB, the 512-byte send and receive buffers. Stop 28 "
     "took 0.6 kB: the back-off module let go of between reconnections, rpc's error codes as "
     "private const() strings, the simulator's meter in its input task, the idle ping in the "
     "timer (no timeout task beside the idle reader), RecordTooLarge as Closed(1015). The "
     "dict tables are most of what is left of the modules' share (a table grows only when "
     "full, by about a quarter: a module's globals, a class's methods, an instance's "
     "attributes; each imported name is a slot). Next: CertStore loaded with the first "
     "wss:// connection or certificate request (its module and instance, about 0.4 kB), cold "
     "methods of Session and Transactions in modules loaded on use, the reader in the link's "
     "own task (one task less), wscodec's ProtocolError as a code"),
    ("ram32.least_heap", "least heap, reference session (ws://)", 24 * KB, 21 * KB,
     "the costliest message parsed is the peak, about 11 kB over the live heap: since stop 28 "
     "DataTransfer's data and a legal customData are never built (their text only), so it is "
     "the largest RequestStartTransaction padded with customData to MaxMessageBytes (4 kB text, "
     "4.3 kB parsed alone: tools/footprint/parsecost.py), handled while a transaction runs. "
     "Every kB cut after boot counts here too. Then: a smaller bound on what a legal message "
     "builds (the weight of the heaviest legal request, 6.8 kB, instead of 7 kB), the schema "
     "check building no path strings, the handler's module imported before the message is "
     "read. Not a smaller MaxMessageBytes: every build handles UpdateFirmware, whose "
     "signingCertificate is a PEM of up to 4 kB"),
    ("ram32.tls_boards.least_heap", "least heap over wss://, boards' TLS (2k out/16k in)", 50 * KB, 45 * KB,
     "the 16 kB input record buffer is most of it (the 2 kB-input build where the CSMS honours "
     "max_fragment_length); the largest message then needs its 4 kB text in a heap the input "
     "buffer splits (11 kB over the live heap since nothing is imported at the first "
     "connection any more: asyncio.stream's objects, made then, split it further): a receive "
     "buffer taken at start-up next to the TLS buffers may keep it whole"),
    ("ram32.tls_in2k.least_heap", "least heap over wss://, 2 kB records both ways", 40 * KB, 32 * KB,
     "within the whitepaper's 50 kB since stop 27 (a hard budget now); follows the ws:// least "
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
