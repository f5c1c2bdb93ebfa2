"""Zero allocation: our callback costs the allocator exactly what an empty C callback costs.

CPython itself allocates for every callback it invokes (the info dict, the
argument tuple, in some versions the phase string), so the baseline is not zero: it
is an empty C callable with the same calling convention as ours, from the
test-only helper.  The helper counts allocations on the RAW, MEM and OBJ
domains while it runs N collections from C.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pytest

from gc_monitor import GCMonitor

N = 20


def _allocations(allocount: ModuleType, callbacks: list[Callable[..., object]]) -> int:
    # PyGC_Collect does nothing while the collector is disabled.
    gc.enable()
    gc.callbacks[:] = callbacks
    try:
        # Warm-up: leave no garbage and let every lazy cache fill.
        allocount.count_collections(5)
        return int(allocount.count_collections(N))
    finally:
        gc.callbacks[:] = []
        gc.disable()


def test_our_callback_allocates_exactly_what_an_empty_one_does(allocount):
    gc.disable()
    monitor = GCMonitor()
    ours_cb = monitor._recorder.callback
    none = _allocations(allocount, [])
    empty = _allocations(allocount, [allocount.empty_callback])
    ours = _allocations(allocount, [ours_cb])
    empty_again = _allocations(allocount, [allocount.empty_callback])
    snap = monitor.stop_monitoring(write_report=False)

    assert empty == empty_again, "the baseline itself is not stable"
    assert ours == empty
    # The recorder really ran: 5 warm-up and N measured collections.
    assert snap["count"] == 5 + N
    # CPython's own per-callback cost is visible, so the counter works at all.
    assert empty > none


def test_the_comparison_detects_an_allocating_callback(allocount):
    gc.disable()
    empty = _allocations(allocount, [allocount.empty_callback])
    allocating = _allocations(allocount, [allocount.allocating_callback])
    # Two calls per collection, one allocation each.
    assert allocating - empty == 2 * N


def _call_allocations(
    allocount: ModuleType, fn: Callable[[], object], callbacks: list[Callable[..., object]]
) -> int:
    gc.callbacks[:] = callbacks
    try:
        allocount.count_calls(fn, 5)
        return int(allocount.count_calls(fn, N))
    finally:
        gc.callbacks[:] = []


def test_explicit_collections_through_the_wrapper_allocate_nothing_more(allocount):
    """gc.collect() through the monitor's wrapper, recorded as explicit (the
    callback then asks for its thread state), costs the allocator what the
    original gc.collect with an empty callback costs."""
    gc.disable()
    monitor = GCMonitor()
    wrapper = gc.collect
    original = wrapper.__self__
    empty = _call_allocations(allocount, original, [allocount.empty_callback])
    ours = _call_allocations(allocount, wrapper, [monitor._recorder.callback])
    empty_again = _call_allocations(allocount, original, [allocount.empty_callback])
    snap = monitor.stop_monitoring(write_report=False)

    assert empty == empty_again, "the baseline itself is not stable"
    assert ours == empty
    assert snap["causes"]["explicit"]["count"] == 5 + N


STACKS_SUPPORTED = sys.version_info < (3, 16)


@pytest.mark.skipif(not STACKS_SUPPORTED, reason="--stacks is refused on this version")
def test_stacks_on_allocate_exactly_what_an_empty_callback_does(allocount, tmp_path):
    """--stacks walks the collecting thread's frames and interns its stack at
    every "start": no frame object, no string, nothing.  The first measured
    collections find their stack already in the table (the warm-up added it),
    so a second test below measures the path that adds new stacks."""
    gc.disable()
    log = tmp_path / "report.jsonl"
    monitor = GCMonitor(stacks=True, json_output=True, stats_only=True, log_file=str(log))
    ours_cb = monitor._recorder.callback
    empty = _allocations(allocount, [allocount.empty_callback])
    ours = _allocations(allocount, [ours_cb])
    empty_again = _allocations(allocount, [allocount.empty_callback])
    snap = monitor.stop_monitoring()

    assert empty == empty_again, "the baseline itself is not stable"
    assert ours == empty
    assert snap["count"] == 5 + N
    # The stacks were really recorded: every collection under this test's frame.
    triggers = _triggers(log)
    assert sum(row["count"] for row in triggers["triggers"]) == 5 + N
    assert triggers["triggers"][0]["function"] == "_allocations"


@pytest.mark.skipif(not STACKS_SUPPORTED, reason="--stacks is refused on this version")
def test_stacks_that_are_new_allocate_nothing_either(allocount, tmp_path):
    """Every measured collection comes from a stack the table has not seen
    (a fresh code object each time): naming the code, copying its names and
    adding the stack allocate nothing."""
    gc.disable()
    fns = [_fresh_function(i) for i in range(2 * (5 + N))]
    log = tmp_path / "report.jsonl"
    monitor = GCMonitor(stacks=True, json_output=True, stats_only=True, log_file=str(log))
    calls = iter(fns)
    empty = _call_allocations(allocount, lambda: next(calls)(), [allocount.empty_callback])
    ours = _call_allocations(allocount, lambda: next(calls)(), [monitor._recorder.callback])
    monitor.stop_monitoring()

    assert ours == empty
    rows = {row["function"]: row["count"] for row in _triggers(log)["triggers"]}
    assert rows == {f"f\u00e9{i}": 1 for i in range(5 + N, 2 * (5 + N))}


def _triggers(log: Path) -> dict[str, Any]:
    for line in log.read_text().splitlines():
        obj = json.loads(line)
        if obj.get("type") == "triggers":
            return dict(obj)
    raise AssertionError(f"no triggers line in {log.read_text()}")


def _fresh_function(i: int) -> Callable[[], object]:
    # A function of its own code object, with a non-ASCII name to copy.
    namespace: dict[str, object] = {"collect": gc.collect}
    source = f"def f\u00e9{i}():\n    return collect(0)\n"
    exec(compile(source, "<fresh>", "exec"), namespace)
    fn = namespace[f"f\u00e9{i}"]
    assert callable(fn)
    return fn
