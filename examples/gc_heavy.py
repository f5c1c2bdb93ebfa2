"""A few seconds of reference-cycle churn that keeps all three GC generations busy.

Run it under the monitor:

    pygcprofiler run examples/gc_heavy.py
    pygcprofiler run --stats-only --terminal-flamegraph examples/gc_heavy.py --seconds 5

Every round builds short-lived cycles (garbage only the collector can free,
which drives generation 0), keeps a rotating share of them for a while (so
survivors are promoted and generation 1 has work), and keeps a slowly growing
long-lived cache of cyclic records (so the old generation grows enough for
CPython to run full collections).  Nothing here calls gc.collect(): every
collection in the report is one the interpreter decided to run.
"""

from __future__ import annotations

import argparse
import time


class Node:
    """A doubly linked node: two nodes pointing at each other form a cycle."""

    __slots__ = ("payload", "peer", "__weakref__")

    def __init__(self, payload: object) -> None:
        self.payload = payload
        self.peer: Node | None = None


def make_cycle(i: int) -> Node:
    a = Node({"id": i, "tags": [i, i + 1]})
    b = Node([a, i])
    a.peer, b.peer = b, a
    return a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to churn (default 3)")
    args = parser.parse_args()

    recent: list[Node] = []  # survives a few rounds: promoted out of generation 0
    cache: list[Node] = []  # long-lived: grows the oldest generation
    deadline = time.monotonic() + args.seconds
    rounds = 0
    while time.monotonic() < deadline:
        for i in range(5000):
            make_cycle(i)  # dropped at once: garbage in cycles
        recent.append(make_cycle(rounds))
        if len(recent) > 200:
            del recent[:100]
        if rounds % 3 == 0:
            cache.extend(make_cycle(rounds * 10 + k) for k in range(300))
        if len(cache) > 300_000:
            del cache[: len(cache) // 2]  # old garbage for a full collection to find
        rounds += 1
    print(f"gc_heavy: {rounds} rounds, {len(cache)} long-lived cycles kept")


if __name__ == "__main__":
    main()
