# host_tests/mp/store_fragmented.py ROOT - runtime/store.py saves a document larger than any free
# piece of a cut-up heap (test_store_heap.py, at a small -X heapsize): json.dumps of it fails
# there, Store.save does not, and the copy it wrote loads back.
import gc
import json
import sys
from runtime.store import Store

root = sys.argv[1]
doc = {"tx": [{"id": "%036d" % i, "seq": i, "samples": [[i, i * 10, 230, 16]] * 6} for i in range(30)]}
s = Store(root)
s.save("tx", doc)
print("size", len(json.dumps(doc)))
# the heap as months of uptime may leave it: long-lived objects everywhere, the free memory in
# pieces of 512 bytes (every other of them freed), no larger piece
keep = [None] * (gc.mem_free() // 544)
try:
    for i in range(len(keep)):
        keep[i] = bytearray(512)
except MemoryError:
    pass
chain = None
try:  # what is left, in small objects
    while True:
        chain = (chain, bytearray(8))
except MemoryError:
    pass
for i in range(0, len(keep), 2):
    keep[i] = None
gc.collect()
print("free", gc.mem_free())
try:
    json.dumps(doc)
    print("dumps ok")
except MemoryError:
    print("dumps MemoryError")
try:
    s.save("tx", doc)
    print("save ok")
except MemoryError:
    print("save MemoryError")
keep = chain = None
gc.collect()
print("loaded", Store(root).load("tx") == doc)
