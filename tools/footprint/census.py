"""tools/footprint/census.py - what the heap holds after boot, by kind of block: the station
(32-bit port, a profile frozen in) boots against the bundled CSMS, then the simulator board's
{"op":"mem","map":1} prints micropython.mem_info(1), the GC's block map, whose letters say
what each allocation is: B function (bytecode), D dict, M module, L list, T tuple, S str,
A array or bytearray, h anything else (dict tables, type and instance objects, generators,
buffers). What the heap diet works from (tools/footprint/targets.py).

    .venv/bin/python -m tools.footprint.census [--profile lite]
"""

import argparse
import asyncio
import collections

from tools import mp32
from tools.footprint import session as fs

KINDS = {"B": "function objects", "D": "dicts", "M": "modules", "L": "lists", "T": "tuples",
         "S": "str and bytes", "A": "arrays and bytearrays", "h": "other: dict tables, types, instances, generators, buffers"}
BLOCK = 16  # bytes per GC block on the 32-bit port


def parse(lines):
    """{kind letter: (objects, bytes, {blocks: count})} of mem_info(1)'s block map lines."""
    cells = "".join(line[10:] for line in lines if len(line) > 10 and line[8:10] == ": ")
    objs = collections.Counter()
    blocks = collections.Counter()
    sizes = collections.defaultdict(collections.Counter)
    kind, n = None, 0
    for c in cells + ".":
        if c == "=":  # a tail block of the allocation before
            n += 1
            continue
        if kind:
            objs[kind] += 1
            blocks[kind] += n
            sizes[kind][n] += 1
        kind, n = (c, 1) if c not in ". " else (None, 0)
    return {k: (objs[k], blocks[k] * BLOCK, dict(sorted(sizes[k].items()))) for k in objs}


async def _run(exe):
    s = fs.Session(None, exe=exe)

    async def heap_map(s):
        n = len(s.station.find(ev="mem"))
        s.station.send(op="mem", map=1)
        await s.wait_event(n=n + 1, ev="mem")
        return fs.OK

    res = await s.run([("boot", fs.boot), ("map", heap_map)])
    lines = [line[len("stdout: "):] for line in s.station.log if line.startswith("stdout: ")]
    mods = [e["modules"] for e in s.station.find(ev="mem") if "modules" in e]
    return res["mem"]["map"]["live"], parse(lines), mods[-1]


def census(profile="lite"):
    """(live heap after boot, parse() of its block map, the modules loaded) of profile on the
    32-bit port."""
    return asyncio.run(_run(str(mp32.build(profile))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="lite")
    a = ap.parse_args()
    live, kinds, _ = census(a.profile)
    print("heap after boot, %s, 32-bit frozen: %d bytes live" % (a.profile, live))
    for k, (n, b, sizes) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
        print("  %s %-58s %4d objects %6d bytes  blocks: %s" % (k, KINDS.get(k, "?"), n, b, sizes))


if __name__ == "__main__":
    main()
