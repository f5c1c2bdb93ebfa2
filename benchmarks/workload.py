"""A GC-heavy workload for benchmarks/run.py, under one chosen monitor.

Every iteration builds a two-list reference cycle that only the cycle
collector can free.  With the gen0 threshold at 200 (run.py passes
--threshold0 200) that is tens of thousands of collections a second.  One
cycle in 64 is kept in a rotating pool for a while, so objects survive into
generations 1 and 2 and later die there: the run has some gen1 and gen2
collections too, as real programs do.

The monitor is chosen on the command line so that every variant runs the very
same loop.  The script prints one JSON object on stdout: the loop's own wall
time and CPU time (start-up and the exit report excluded), the collections per generation
counted by gc.get_stats(), and the CLOCK_MONOTONIC time at which the loop
ended, which lets the parent time the work done at exit.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from typing import Any, Callable

POOL = 4096
KEEP_EVERY = 64
CHUNK = 1000


def churn(iterations: int, pool: list[Any], base: int) -> None:
    """Builds `iterations` two-list cycles (two containers each)."""
    for i in range(base, base + iterations):
        a: list[Any] = []
        b = [a]
        a.append(b)
        if i % KEEP_EVERY == 0:
            pool[(i // KEEP_EVERY) % POOL] = a


def churn_deep(depth: int, iterations: int, pool: list[Any], base: int) -> None:
    """churn() run `depth` frames below the caller, so that every collection
    fires that deep: the cost of --stacks grows with the stack it walks."""
    if depth <= 1:
        churn(iterations, pool, base)
    else:
        churn_deep(depth - 1, iterations, pool, base)


def collections() -> list[int]:
    return [int(s["collections"]) for s in gc.get_stats()]


def install(monitor: str, floor_dir: str, stacks: int) -> Callable[[], None] | None:
    """Starts the chosen monitor; returns how to stop it, if it has a stop."""
    if monitor == "none":
        return None
    if monitor == "floor":
        sys.path.insert(0, floor_dir)
        import _gcm_bench_floor  # type: ignore[import-not-found]

        gc.callbacks.append(_gcm_bench_floor.callback)
        return None
    if monitor == "pylist":
        # Roughly what pygcprofiler 0.3.6 does: a clock read per phase and one
        # tuple appended to a list per collection.
        starts = [0.0, 0.0, 0.0]
        events: list[tuple[float, int, float, int, int]] = []
        perf = time.perf_counter
        origin = perf()

        def callback(phase: str, info: dict[str, int]) -> None:
            generation = info.get("generation", 2)
            if phase == "start":
                starts[generation] = perf()
            else:
                end = perf()
                events.append((end - origin, generation, (end - starts[generation]) * 1000.0,
                               info.get("collected", 0), info.get("uncollectable", 0)))

        gc.callbacks.append(callback)
        return None
    if monitor == "lib":
        # Both pygcprofiler 0.3.6 and ours answer to this import and keyword,
        # so the interpreter's environment decides which one runs.
        from gc_monitor.monitor import GCMonitor  # type: ignore[import-not-found]

        if stacks > 0:
            m = GCMonitor(stats_only=True, stacks=True, stack_depth=stacks)
        else:
            m = GCMonitor(stats_only=True)
        return m.stop_monitoring  # type: ignore[no-any-return]
    raise SystemExit(f"workload: unknown monitor {monitor!r}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--monitor", default="none",
                   choices=["none", "floor", "pylist", "lib"])
    p.add_argument("--floor-dir", default="", help="where _gcm_bench_floor is built")
    p.add_argument("--iterations", type=int, default=0, help="fixed work: cycles to build")
    p.add_argument("--collections", type=int, default=0,
                   help="instead: run until this many collections happened")
    p.add_argument("--threshold0", type=int, default=0,
                   help="gen0 threshold of the workload (0 keeps the interpreter's)")
    p.add_argument("--depth", type=int, default=0,
                   help="build the cycles this many frames down (for --stacks)")
    p.add_argument("--stacks", type=int, default=0, metavar="DEPTH",
                   help="with --monitor lib: record trigger stacks of this depth")
    p.add_argument("--preload", action="append", default=[], metavar="MODULE",
                   help="import MODULE first without using it (to give variants equal heaps)")
    p.add_argument("--callgrind", action="store_true",
                   help="count instructions only inside the loop (needs --floor-dir)")
    p.add_argument("--wait-for", metavar="FILE", default="",
                   help="print 'waiting' and start the loop once FILE exists (a watcher "
                        "attaches first: benchmarks/remote.py)")
    p.add_argument("--stop", action="store_true",
                   help="stop the monitor (and write its report) inside the timed span")
    args = p.parse_args()

    for name in args.preload:
        __import__(name)
    if args.threshold0 > 0:
        _, t1, t2 = gc.get_threshold()
        gc.set_threshold(args.threshold0, t1, t2)
    stop = install(args.monitor, args.floor_dir, args.stacks)
    pool: list[Any] = [None] * POOL
    # A full collection zeroes every generation's count, so each variant's loop
    # starts in the same phase and meets the same collections: otherwise a
    # monitor's own start-up allocations shift the count by one, and at a few
    # hundred thousand instructions per collection that one would swamp the
    # callgrind comparison.
    gc.collect()

    start_counting = stop_counting = None
    if args.callgrind:
        sys.path.insert(0, args.floor_dir)
        import _gcm_bench_floor  # type: ignore[import-not-found]

        if not _gcm_bench_floor.HAVE_CALLGRIND:
            raise SystemExit("workload: the floor extension was built without callgrind.h")
        start_counting = _gcm_bench_floor.callgrind_start
        stop_counting = _gcm_bench_floor.callgrind_stop

    if args.wait_for:
        print("waiting", flush=True)
        while not os.path.exists(args.wait_for):
            time.sleep(0.001)

    before = collections()
    c0 = time.process_time()
    t0 = time.perf_counter()
    if start_counting is not None:
        start_counting()
    if args.collections > 0:
        done = 0
        target = sum(before) + args.collections
        while sum(collections()) < target:
            churn_deep(args.depth, CHUNK, pool, done)
            done += CHUNK
    else:
        churn_deep(args.depth, args.iterations, pool, 0)
    if stop_counting is not None:
        stop_counting()
    if args.stop and stop is not None:
        stop()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    end_monotonic = time.monotonic()
    after = collections()

    result = {
        "monitor": args.monitor,
        "elapsed_s": elapsed,
        "cpu_s": cpu,
        "collections": [a - b for a, b in zip(after, before)],
        "end_monotonic": end_monotonic,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
