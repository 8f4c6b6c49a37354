# host_tests/mp/tls_room.py URL CA_DER HOLD SIZE [WS_URL] - on the 32-bit port with the boards' TLS build
# (test_tls_room.py): connect over wss://, drop the connection, leave the heap as long uptime
# may (full of long-lived SIZE-byte objects, every other one freed: no free piece larger but what
# runtime/ws.py holds), connect again; then, with WS_URL, over ws://. HOLD "0": runtime/ws.py
# holds nothing.
import asyncio
import gc
import sys
from runtime import link, ws, wsopen

url, ca, hold, size = sys.argv[1:5]
size = int(size)
with open(ca, "rb") as f:
    ctx = link.tls_context([f.read()])
if hold == "0":
    ws._hold = lambda freed: None


async def connect():
    return await wsopen.connect(url, "CS001", None, ctx, 10000, 4096)


async def main():
    w = await connect()
    w.abort()
    print("held", [len(b) for b in ws._room[0]])
    keep = [None] * (gc.mem_free() // size)
    try:
        for i in range(len(keep)):
            keep[i] = bytearray(size)
    except MemoryError:
        pass
    for i in range(0, len(keep), 2):
        keep[i] = None
    gc.collect()
    print("free", gc.mem_free())
    try:
        w = await connect()
    except OSError as e:
        print("failed", repr(e))
        return
    print("reconnected")
    w.abort()
    if len(sys.argv) > 5:  # a ws:// connection (a fallback profile) lets the room go
        w = await wsopen.connect(sys.argv[5], "CS001", None, None, 10000, 4096)
        print("ws://", [len(b) for b in ws._room[0]])
        w.abort()


asyncio.run(main())
