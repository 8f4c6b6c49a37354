"""tools/budgets.py - footprint budgets, by figure path below a profile in build/footprint.json
(the same for every profile). A figure over its HARD budget fails `make footprint` and CI, and so
does a hard-budgeted figure that could not be measured; one over its SOFT budget (our own,
tighter target) is marked in the report.

RAM is budgeted on the 32-bit port with the code frozen in ("ram32", tools/mp32.py): objects and
pointers of a board's size and the code out of the heap as a board's freeze manifest puts it.
The 64-bit PyPI port's figures ("ram") are reported, not budgeted: its pointers are twice the
size and a ROMFS import still puts names, function descriptors and constant tables in the heap.
"least_heap" is the smallest -X heapsize with which the reference session completes: what the
GC heap must be given, fragmentation included, not just what is live.

With TLS the budget holds for the boards' mbedTLS configuration (boards/rp2040/
mbedtls_config_board.h, 2 kB out, 16 kB in, max_fragment_length asked), on the 32-bit port whose
mbedTLS allocates from the GC heap as on the RP2040: "ram32.tls_boards", and for the same header
with a 2 kB input buffer (a CSMS that honours max_fragment_length): "ram32.tls_in2k", whose hard
budget is the whitepaper's headline, the station within 50 kB of RAM with 2 kB TLS buffers;
"ram32.tls" (MicroPython's default 16 kB in, 4 kB out: a stock firmware) has none.
"""

KB = 1024

HARD = {
    "rom.total": 200 * KB,  # whitepaper: 200 kB ROM for the OCPP client
    "ram32.least_heap": 50 * KB,  # whitepaper: 50 kB RAM for the OCPP client
    # The same over wss://, mbedTLS in the GC heap (RP2040). The whitepaper's 50 kB is not
    # reached (the heap diet of issue 15 goes on); until it is, the hard budget is a ratchet just
    # over today's figures and their spread, lowered with every cut; 50 kB is the soft budget
    # (and "done at" in tools/footprint/targets.py). Re-based once, upwards, when the reference
    # session gained the largest legal message (a DataTransfer of MaxMessageBytes, 4 kB): from
    # 60-62 kB to 71-79 kB in quick reports (lite / core / core-sc); with a 16 kB TLS input
    # buffer in the heap the figure depends on where the message's text and strings find room,
    # so runs spread by up to 5 kB. 50 kB over ws:// (above) holds with that message. Lowered
    # from 85 kB when ws.py stopped importing asyncio.stream at the first connection: 66.9 /
    # 67.0 / 71.5 kB. Not lowered with the parse bound's cut (quick reports of 66.0 / 65.6 /
    # 66.1 kB, lite 64.6-67.0 over three runs) since CI's run of d450358 gave lite 73.2 kB: the
    # spread of this figure is up to 9 kB. Lowered to 72 kB once the spread was found to be the
    # reset step's reconnection failing with ENOMEM in a cut-up heap (runtime/ws.py now holds
    # the room mbedTLS's buffers leave: d3ae476): 66.0 / 66.1 / 66.6 kB in the full report of
    # 9172628, lite 66.7 and 67.1 in quick ones. Lowered to 68 kB with stop 27's cuts (512-byte
    # send buffer, handshake code loaded to connect, no asyncio Event, Lock or funcs): 62.1 /
    # 62.5 / 63.6 kB in a quick report of 099aa4d. Lowered to 66 kB with stop 28's (the
    # costliest message parsed no longer a DataTransfer built whole): 60.2 / 60.1 / 61.6 kB in
    # the full report of 238e3a2, lite 61.5-62.1 in quick ones. Lowered to 56 kB with stop 29's
    # (frozen-static-functions.patch: the resident modules' function objects and class dicts in
    # ROM): 51.6 / 50.6 / 51.1 kB in the full report of 340c71e, lite 49.6 in a quick one.
    # Stop 30 (the text of a message let go of before its handler runs, its code loaded after
    # the parse): 49.7 / 49.2 / 49.7 kB in the full report of da0848c, within 50 kB, but quick
    # reports spread 50.3-52.3 kB and at 50 kB 3 of 18 runs side by side failed (the reset
    # step's reconnection): not yet hard; the ratchet stays at 56 kB until the spread is known
    # to be under it with room.
    "ram32.tls_boards.least_heap": 56 * KB,
    # The whitepaper's 50 kB with TLS, 2 kB records both ways: 47.6 / 48.0 / 48.6 kB at 099aa4d
    # (52.3 kB for lite before stop 27's cuts).
    "ram32.tls_in2k.least_heap": 50 * KB,
}

SOFT = {  # issue 15's "done at" where it set one (tools/footprint/targets.py)
    "rom.total": 64 * KB,
    "ram32.least_heap": 24 * KB,
    "ram32.after_boot": 16 * KB,
    "ram32.tls_boards.least_heap": 50 * KB,
    "ram32.tls_in2k.least_heap": 40 * KB,
}
