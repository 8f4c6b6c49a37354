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
"""

KB = 1024

HARD = {
    "rom.total": 200 * KB,  # whitepaper: 200 kB ROM for the OCPP client
    "ram32.least_heap": 50 * KB,  # whitepaper: 50 kB RAM for the OCPP client
}

SOFT = {
    "rom.total": 64 * KB,
    "ram32.least_heap": 40 * KB,
    "ram32.after_boot": 24 * KB,
}
