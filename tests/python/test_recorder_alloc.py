"""Zero allocation: our callback costs the allocator exactly what an empty C callback costs.

CPython itself allocates for every callback it invokes (the info dict, the
argument tuple, in some versions the phase string), so the baseline is not zero: it
is an empty C callable with the same calling convention as ours, from the
test-only helper.  The helper counts allocations on the RAW, MEM and OBJ
domains while it runs N collections from C.
"""

from __future__ import annotations

import gc
from types import ModuleType
from typing import Callable

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
