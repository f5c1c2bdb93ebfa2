"""How long the exit report takes through the real extension, for 2^20 collections.

Starts a GCMonitor with a ring of 2^20 events, makes 2^20 real collections
(gc.collect(0), so each is short), then times stop_monitoring(), which copies
the snapshot and the ring and renders the report into a --log-file.  Once for
the text report, once for JSON Lines.  It prints the figures and asserts
nothing; benchmarks/report_render.c measures the renderer alone.

    python benchmarks/report_write.py [collections]    (after pip install .)
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import tempfile
import time

from gc_monitor import GCMonitor


def max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(label: str, collections: int, json_output: bool, directory: str) -> None:
    path = os.path.join(directory, f"report-{label}.log")
    monitor = GCMonitor(buffer_events=1 << 20, log_file=path, json_output=json_output)
    start = time.perf_counter()
    for _ in range(collections):
        gc.collect(0)
    collecting = time.perf_counter() - start
    rss = max_rss_kib()
    start = time.perf_counter()
    final = monitor.stop_monitoring()
    reporting = time.perf_counter() - start
    size = os.path.getsize(path)
    print(
        f"{label:5} {final['count']} collections in {collecting:.2f} s; "
        f"report {reporting:.3f} s, {size / 1e6:.1f} MB; "
        f"peak RSS {rss} -> {max_rss_kib()} KiB"
    )


def main() -> None:
    collections = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 20
    print(f"Python {sys.version.split()[0]}, {collections} collections per report")
    with tempfile.TemporaryDirectory() as directory:
        run("text", collections, False, directory)
        run("json", collections, True, directory)


if __name__ == "__main__":
    main()
