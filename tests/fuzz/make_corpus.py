"""Makes the seed corpus of the capture-reader fuzz target (tests/fuzz/corpus/).

    python tests/fuzz/make_corpus.py PYGCPROFILER OUT_DIR

Real captures come from the real launcher (`PYGCPROFILER run -o ...`): one
that exited, one killed by SIGKILL.  The rest are those two damaged on
purpose, one way each, at the offsets docs/capture-format.md gives: a writer
that died mid-record, truncations, a bad magic, a newer version, the other
byte order, a contradicting capacity, a hostile ring, aggregates and
metadata, plus an empty file and random bytes.  Random parts use a fixed
seed, so a rerun differs only in what the real runs recorded.

The committed seeds were recorded by a layout version 1 writer (before the
cause aggregates), so they also keep the reader's version 1 path fuzzed; only
newer-version.gcm was patched since, to version 5, and exited-v2.gcm (the
same workload, recorded by a version 2 writer), exited-v3.gcm (recorded by
a version 3 writer, with requests through the WSGI middleware) and the
version 4 seeds with a --stacks table (exited-v4-stacks.gcm, the table
overwritten with random bytes, and a header naming a table past the file's
end) added.  A
rerun records the current layout: keep the old seeds beside the new ones.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HEADER_SIZE = 8560
OFF_VERSION = 8
OFF_BYTE_ORDER = 12
OFF_CAPACITY = 24
OFF_STATE = 352
OFF_META = 368
OFF_SEQ = HEADER_SIZE
OFF_STACKS_SIZE = 92
AGG_SIZE = 79128  # layout versions 3 and 4 (version 2: 59600, version 1: 59440)
RING = HEADER_SIZE + AGG_SIZE

# Forty collections, and since layout version 3 twenty requests through the
# WSGI middleware, so that the request aggregates are not all zero.
WORKLOAD = (
    "import gc\n"
    "from gc_monitor.wsgi import GCTimingMiddleware\n"
    "def app(environ, start_response):\n"
    "    gc.collect(environ['n'] % 3)\n"
    "    start_response('200 OK', [])\n"
    "    return [b'']\n"
    "timed = GCTimingMiddleware(app)\n"
    "for i in range(40):\n"
    "    if i % 2:\n"
    "        timed({'n': i}, lambda *a: None).close()\n"
    "    else:\n"
    "        gc.collect(i % 3)\n"
)


def record(launcher: str, path: Path, tail: str, *options: str) -> bytes:
    subprocess.run(
        [launcher, "run", "-o", str(path), "--buffer-events", "16", *options, "-c",
         WORKLOAD + tail],
        capture_output=True,
        check=False,
        timeout=60,
    )
    return path.read_bytes()


def patched(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


def main() -> None:
    launcher, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261128)
    with tempfile.TemporaryDirectory() as tmp:
        exited = record(launcher, Path(tmp) / "a.gcm", "")
        killed = record(
            launcher,
            Path(tmp) / "b.gcm",
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
        )
        stacks = record(launcher, Path(tmp) / "c.gcm", "", "--stacks", "--stack-depth", "4")
    seq = struct.unpack_from("<Q", exited, OFF_SEQ)[0]
    # The table follows the ring, whose 16 slots are 48 bytes each.
    table = RING + 16 * 48
    files = {
        "exited.gcm": exited,
        "killed.gcm": killed,
        "died-mid-record.gcm": patched(
            patched(exited, OFF_SEQ, struct.pack("<Q", seq | 1)), OFF_STATE, b"\0\0\0\0"
        ),
        "truncated-ring.gcm": exited[: RING + 100],
        "header-only.gcm": exited[:HEADER_SIZE],
        "half-magic.gcm": exited[:5],
        "empty.gcm": b"",
        "bad-magic.gcm": patched(exited, 0, b"GCMBLOCX"),
        "newer-version.gcm": patched(exited, OFF_VERSION, struct.pack("<I", 5)),
        "exited-v4-stacks.gcm": stacks,
        "hostile-stacks.gcm": stacks[:table]
        + bytes(rng.getrandbits(8) for _ in range(65536))
        + stacks[table + 65536 :],
        "stacks-past-the-end.gcm": patched(stacks, OFF_STACKS_SIZE, struct.pack("<I", 1 << 30)),
        "other-byte-order.gcm": patched(exited, OFF_BYTE_ORDER, struct.pack(">I", 0x01020304)),
        "bad-capacity.gcm": patched(exited, OFF_CAPACITY, struct.pack("<Q", 17)),
        "hostile-ring.gcm": exited[:RING]
        + bytes(rng.getrandbits(8) for _ in range(len(exited) - RING)),
        "hostile-aggregates.gcm": exited[: OFF_SEQ + 8]
        + bytes(rng.getrandbits(8) for _ in range(AGG_SIZE - 8))
        + exited[RING:],
        "hostile-meta.gcm": patched(
            exited, OFF_META, bytes(rng.getrandbits(8) | 1 for _ in range(8192))
        ),
        "hostile-state.gcm": patched(exited, OFF_STATE, struct.pack("<I", 7)),
        "random.bin": bytes(rng.getrandbits(8) for _ in range(4096)),
    }
    for name, data in files.items():
        (out / name).write_bytes(data)
        os.chmod(out / name, 0o644)


if __name__ == "__main__":
    main()
