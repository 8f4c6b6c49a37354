"""runtime/store.py saves a document in a heap that has no free piece of its size (a month of
uptime cuts the heap up; the soak found a 3 kB transactions document failing to save on day
30): the JSON text goes to the file through a small buffer, never whole. host_tests/mp/
store_fragmented.py on the unix port at a small heap, the firmware from source."""

import os
import pathlib
import subprocess

from helpers import MICROPYTHON

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_a_document_larger_than_any_free_piece_is_saved(tmp_path):
    p = subprocess.run([MICROPYTHON, "-X", "heapsize=96k", str(ROOT / "host_tests" / "mp" / "store_fragmented.py"),
                        str(tmp_path / "flash")], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MICROPYPATH=str(ROOT / "firmware")))
    out = p.stdout.split("\n")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "dumps MemoryError" in out, p.stdout  # the heap has no piece the whole text would need
    assert "save ok" in out and "loaded True" in out, p.stdout
