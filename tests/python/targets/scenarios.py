"""Workloads whose right GC advice is known, for tests/python/test_advice_scenarios.py.

Each scenario is one function; the test runs it under the real launcher
(`pygcprofiler run ... scenarios.py NAME [options]`) and checks the advice an
expert would and would not give (docs/recommendations.md lists them):

- server: a large long-lived heap built at start-up, then many small
  requests whose short-lived records are promoted and dropped, so full
  collections keep rescanning the start-up heap -> gc.freeze() after
  start-up; `--freeze` applies that advice.
- collect-loop: a loop that calls gc.collect() every iteration.
- churn: short-lived reference cycles -> break them, or raise threshold 0 by
  a bounded step; `--threshold0 N` applies the step.
- short: a few collections in milliseconds -> NOT ENOUGH DATA.
- quiet: a program GC does not hurt -> FINE, no advice.
- growing: a heap that keeps growing while full collections free nothing
  (the networkx case) -> the wasted collections are named, no gc.freeze().

Runs that must reach the evidence minimum (1 s of wall time) sleep out the
rest of it after their work, so a fast machine still gives a judged run;
nothing here measures time for a test to assert on.
"""

from __future__ import annotations

import argparse
import collections
import gc
import time

# The evidence minimum of the verdict is 1 s; a little more keeps clear of it.
MIN_WALL_S = 1.3


class Node:
    """Two nodes pointing at each other form a cycle only the collector frees."""

    __slots__ = ("peer", "payload")

    def __init__(self, payload: object) -> None:
        self.payload = payload
        self.peer: Node | None = None


def cycle(i: int) -> Node:
    a = Node([i])
    b = Node([i + 1])
    a.peer, b.peer = b, a
    return a


def pad(started: float) -> None:
    """Sleeps until the run has lasted MIN_WALL_S."""
    left = MIN_WALL_S - (time.monotonic() - started)
    if left > 0:
        time.sleep(left)


# What the program keeps until it exits, as a server keeps its start-up state.
KEPT: list[object] = []


def server(args: argparse.Namespace, started: float) -> None:
    # The classic thresholds on every version (3.13 raised the first to
    # 2000), so records are promoted the same way everywhere.
    gc.set_threshold(700, 10, 10)
    # Start-up: the long-lived heap (configuration, caches, loaded data),
    # built with the collector off, as servers often start.
    gc.disable()
    KEPT.extend([i] for i in range(args.heap))
    if args.freeze:
        # The advice of docs/recommendations.md.  Its gc.collect(2) first is
        # left out: the collector was off, so there is no start-up garbage,
        # and that one full collection would be a start-up pause of its own.
        gc.freeze()
    gc.enable()
    # Requests: each leaves reference cycles of scratch objects (which young
    # collections free) and a few records that live just long enough to be
    # promoted to the old generation (500 requests, over the 350 between two
    # generation 1 collections) before they are dropped, so full collections
    # keep coming, free almost nothing, and rescan the start-up heap.
    recent: collections.deque[list[int]] = collections.deque(maxlen=args.keep)
    for i in range(args.requests):
        for j in range(5):
            cycle(j)
        for j in range(10):
            recent.append([i, j])
    print("SERVER", len(KEPT), len(recent), gc.get_freeze_count(), flush=True)
    pad(started)


def collect_loop(args: argparse.Namespace, started: float) -> None:
    KEPT.extend([i] for i in range(2000))
    for _ in range(args.iterations):
        # A batch of work that leaves reference cycles behind (fewer objects
        # than threshold 0, so no automatic collection runs), then the
        # program's own full collection, as some batch jobs do.
        batch = [cycle(i) for i in range(100)]
        del batch
        gc.collect()
    print("COLLECT-LOOP", len(KEPT), flush=True)
    pad(started)


def churn(args: argparse.Namespace, started: float) -> None:
    if args.threshold0:
        gc.set_threshold(args.threshold0, *gc.get_threshold()[1:])
    for i in range(args.cycles):
        cycle(i)
    print("CHURN", gc.get_threshold()[0], flush=True)
    pad(started)


def short(args: argparse.Namespace, started: float) -> None:
    gc.disable()
    for _ in range(3):
        gc.collect()
    print("SHORT", flush=True)


def quiet(args: argparse.Namespace, started: float) -> None:
    # A little long-lived data now and then, between long waits: enough
    # collections of a small heap to judge (a dozen on a free-threaded build,
    # whose collections walk everything), each a small part of the run.  The
    # waits are long so that GC stays far under the verdict's share (2%) and
    # worst-second (10%) limits even when a loaded machine stretches every
    # pause tenfold, as a CI run beside three others did (2.7% over 4 s).
    for _ in range(15):
        KEPT.extend([j] for j in range(4000))
        time.sleep(0.5)
    print("QUIET", len(KEPT), flush=True)
    pad(started)


def growing(args: argparse.Namespace, started: float) -> None:
    # Every object stays: the heap grows to the end, and no collection can
    # free anything (like a graph built and then copied by an algorithm).
    # The classic thresholds, so full collections come as often on 3.13+.
    gc.set_threshold(700, 10, 10)
    for i in range(args.objects):
        KEPT.append([i])
    print("GROWING", len(KEPT), flush=True)
    pad(started)


SCENARIOS = {
    "server": server,
    "collect-loop": collect_loop,
    "churn": churn,
    "short": short,
    "quiet": quiet,
    "growing": growing,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--heap", type=int, default=1_000_000, help="server: start-up objects")
    parser.add_argument("--keep", type=int, default=5_000, help="server: records kept")
    parser.add_argument("--requests", type=int, default=170_000, help="server: requests")
    parser.add_argument("--freeze", action="store_true", help="server: gc.freeze() after start-up")
    parser.add_argument("--iterations", type=int, default=300, help="collect-loop: iterations")
    parser.add_argument("--cycles", type=int, default=1_500_000, help="churn: cycles made")
    parser.add_argument("--threshold0", type=int, default=0, help="churn: gc.set_threshold()[0]")
    parser.add_argument("--objects", type=int, default=1_500_000, help="growing: objects kept")
    args = parser.parse_args()
    started = time.monotonic()
    SCENARIOS[args.scenario](args, started)


if __name__ == "__main__":
    main()
