"""A short monitored workload for valgrind's memcheck, run by .ci/run.

The recorder's C code runs inside every collection, from CPython's own collector, where a
bad read or write would corrupt the interpreter without crashing at once. Under memcheck
(with PYTHONMALLOC=malloc, so that every Python object is a malloc block it can see) such a
read or write fails the run instead. The script also checks its own results, so that a
recorder that silently recorded nothing fails too.
"""

from __future__ import annotations

import gc
import sys

from gc_monitor import GCMonitor

COLLECTIONS = 20


class Node:
    """One link of a reference cycle, so that each collection has something to free."""

    def __init__(self) -> None:
        self.other: Node | None = None


def make_cycles(n: int) -> None:
    for _ in range(n):
        a, b = Node(), Node()
        a.other, b.other = b, a


def main() -> int:
    monitor = GCMonitor(stats_only=True, buffer_events=64)
    for _ in range(COLLECTIONS):
        make_cycles(100)
        gc.collect()
    running = monitor.snapshot()
    final = monitor.stop_monitoring()
    # A second monitor in the same process, created after the first one stopped, must get
    # a block of its own.
    with GCMonitor(stats_only=True) as second:
        make_cycles(10)
        gc.collect()
        second_count = second.snapshot()["count"]
    if running["count"] < COLLECTIONS or final["count"] < running["count"]:
        counts = f"{running['count']} then {final['count']}"
        print(f"valgrind_workload: too few collections recorded: {counts}", file=sys.stderr)
        return 1
    if second_count < 1:
        print("valgrind_workload: the second monitor recorded nothing", file=sys.stderr)
        return 1
    print(f"valgrind_workload: {final['count']} collections recorded, then {second_count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
