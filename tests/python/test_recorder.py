"""The recording path: what the C callable in gc.callbacks records, and what it refuses."""

from __future__ import annotations

import gc
import itertools
import sys

import pytest

from gc_monitor import GCMonitor, _core


def _collections() -> list[int]:
    return [s["collections"] for s in gc.get_stats()]


def _make_cycles(n: int) -> None:
    for _ in range(n):
        a: list[object] = []
        b: list[object] = [a]
        a.append(b)


def test_records_equal_gc_get_stats_per_generation():
    gc.disable()
    monitor = GCMonitor(stats_only=True)
    before = _collections()
    for generation, times in ((0, 7), (1, 4), (2, 3)):
        for _ in range(times):
            _make_cycles(50)
            gc.collect(generation)
    # Let the collector trigger on its own too, with tiny thresholds.
    gc.set_threshold(50, 2, 2)
    gc.enable()
    _make_cycles(20000)
    gc.disable()
    after = _collections()
    snap = monitor.stop_monitoring(write_report=False)

    expected = [a - b for a, b in zip(after, before)]
    got = [snap[f"gen{g}"]["count"] for g in range(3)]
    assert got == expected
    assert snap["count"] == sum(expected)
    assert snap["count"] > 14
    assert snap["dropped_stops"] == 0
    assert snap["unusable_info"] == 0


def test_collected_counts_match_the_info_dicts():
    seen: list[tuple[int, int, int]] = []

    def spy(phase: str, info: dict) -> None:
        if phase == "stop":
            seen.append((info["generation"], info["collected"], info["uncollectable"]))

    gc.disable()
    monitor = GCMonitor()
    gc.callbacks.append(spy)
    for _ in range(5):
        _make_cycles(100)
        gc.collect()
    gc.callbacks.remove(spy)
    snap = monitor.stop_monitoring(write_report=False)
    assert snap["count"] == len(seen) == 5
    assert snap["collected"] == sum(c for _, c, _ in seen)
    assert snap["collected"] >= 5 * 200
    for g in range(3):
        assert snap[f"gen{g}"]["collected"] == sum(c for gen, c, _ in seen if gen == g)


def test_durations_are_sane():
    gc.disable()
    monitor = GCMonitor()
    for _ in range(10):
        gc.collect()
    snap = monitor.stop_monitoring(write_report=False)
    assert snap["count"] == 10
    assert 0 < snap["min_ms"] <= snap["p50_ms"] <= snap["max_ms"]
    # A full collection of a test process takes well under ten seconds.
    assert snap["max_ms"] < 10_000
    assert snap["total_ms"] == pytest.approx(snap["mean_ms"] * 10, rel=0.01)


def test_native_duration_is_used_when_present():
    rec = _core.Recorder()
    cb = rec.callback
    cb("start", {"generation": 1, "collected": 0, "uncollectable": 0})
    result = cb(
        "stop",
        {"generation": 1, "collected": 7, "uncollectable": 2, "candidates": 11, "duration": 0.25},
    )
    assert result is None
    snap = rec.snapshot()
    assert snap["gen1"]["count"] == 1
    assert snap["gen1"]["total_ms"] == pytest.approx(250.0)
    assert snap["gen1"]["collected"] == 7
    assert snap["gen1"]["uncollectable"] == 2
    assert snap["gen1"]["candidates"] == 11
    assert snap["gen1"]["efficiency"] == round(100 * 7 / 11, 3)
    assert snap["gen0"]["candidates"] == 0
    assert snap["gen0"]["efficiency"] is None
    assert snap["duration_source"] == "interpreter"
    assert snap["unusable_info"] == 0


FIVE = {"generation": 2, "collected": 3, "uncollectable": 1, "candidates": 40, "duration": 0.5}


@pytest.mark.parametrize(
    "order", [list(FIVE), list(reversed(FIVE)), ["candidates", *list(FIVE)[:3], "duration"]]
)
def test_the_five_keys_are_read_in_any_order(order: list[str]) -> None:
    # CPython 3.15's order is read entry by entry, any other by the general
    # loop: the same event either way.
    rec = _core.Recorder()
    cb = rec.callback
    cb("start", {})
    cb("stop", {k: FIVE[k] for k in order})
    snap = rec.snapshot()
    assert snap["gen2"]["count"] == 1
    assert snap["gen2"]["total_ms"] == pytest.approx(500.0)
    assert (snap["gen2"]["collected"], snap["gen2"]["uncollectable"]) == (3, 1)
    assert snap["gen2"]["candidates"] == 40
    assert snap["gen2"]["efficiency"] == 7.5
    assert snap["unusable_info"] == 0


@pytest.mark.parametrize(
    "info",
    [
        # A fourth and fifth key that are not 3.15's: measured, no candidates.
        {"generation": 0, "collected": 1, "uncollectable": 0, "extra": 5, "other": 0.5},
        # 3.15's keys with a duration that is not a float: unusable.
        {**FIVE, "duration": 1},
        # ... or candidates that are not a count.
        {**FIVE, "candidates": -1},
    ],
)
def test_five_keys_that_are_not_315s(info: dict) -> None:
    rec = _core.Recorder()
    cb = rec.callback
    cb("start", {})
    cb("stop", info)
    snap = rec.snapshot()
    if "extra" in info:
        assert snap["gen0"]["count"] == 1
        assert snap["gen0"]["total_ms"] < 1000
        assert "candidates" not in snap["gen0"]
        assert "duration_source" not in snap
    else:
        assert snap["unusable_info"] == 1
        assert snap["count"] == 0


def test_info_dicts_are_read_in_place_from_311() -> None:
    # The self-check passes on every interpreter tested from 3.11 on: a
    # mirror that stopped matching CPython's dict layout would show here,
    # not only as a slower callback.
    assert _core._info_in_place() is (sys.version_info >= (3, 11))


def dict_with_hole(info: dict) -> dict:
    """`info`'s entries in its order, in a table that keeps a deleted entry."""
    d = {"gone": 0, **info}
    del d["gone"]
    return d


def dict_of_general_kind(info: dict) -> dict:
    """The same entries in a table whose keys are not all strs (once)."""
    d: dict = {0: 0}
    d.update(info)
    del d[0]
    return d


def dict_split(info: dict) -> dict:
    """The same entries in an instance __dict__ (a split table, where CPython
    allows one)."""

    class Obj:
        def __init__(self) -> None:
            for k, v in info.items():
                setattr(self, k, v)

    Obj()
    return vars(Obj())


@pytest.mark.parametrize("make", [dict_with_hole, dict_of_general_kind, dict_split])
@pytest.mark.parametrize("info", [FIVE, {"generation": 1, "collected": 6, "uncollectable": 2}])
def test_any_dict_layout_gives_the_same_event(make, info: dict) -> None:
    # Entries read in place where the layout allows it, through PyDict_Next
    # where it does not: the same figures either way.
    rec = _core.Recorder()
    plain = _core.Recorder()
    for r, d in ((rec, make(info)), (plain, dict(info))):
        assert list(d.items()) == list(info.items())
        r.callback("start", {})
        r.callback("stop", d)
    got, want = rec.snapshot(), plain.snapshot()
    g = f"gen{info['generation']}"
    assert got["unusable_info"] == want["unusable_info"] == 0
    assert got[g]["count"] == want[g]["count"] == 1
    for key in ("collected", "uncollectable", "candidates"):
        assert got[g].get(key) == want[g].get(key)
    if "duration" in info:
        assert got[g]["total_ms"] == want[g]["total_ms"] == pytest.approx(500.0)


def test_measured_duration_without_native_one():
    rec = _core.Recorder()
    cb = rec.callback
    cb("start", {"generation": 0})
    cb("stop", {"generation": 0, "collected": 1, "uncollectable": 0})
    snap = rec.snapshot()
    assert snap["gen0"]["count"] == 1
    # Two clock readings a few microseconds apart: nothing like the 0.25 s above.
    assert 0 <= snap["gen0"]["total_ms"] < 1000


@pytest.mark.parametrize(
    "args",
    [
        ("stop", {"generation": "0", "collected": 0, "uncollectable": 0}),
        ("stop", {"generation": 3, "collected": 0, "uncollectable": 0}),
        ("stop", {"generation": -1, "collected": 0, "uncollectable": 0}),
        ("stop", {"generation": 0, "collected": -5, "uncollectable": 0}),
        ("stop", {"generation": 0, "collected": 2**70, "uncollectable": 0}),
        ("stop", {"generation": 0, "uncollectable": 0}),
        ("stop", {"generation": 0, "collected": 0, "uncollectable": 0, "duration": "1"}),
        ("stop", {"generation": 0, "collected": 0, "uncollectable": 0, "duration": -1.0}),
        ("stop", {"generation": 0, "collected": 0, "uncollectable": 0, "duration": float("nan")}),
        ("stop", ["not", "a", "dict"]),
    ],
)
def test_unusable_info_is_counted_never_raised(args):
    rec = _core.Recorder()
    cb = rec.callback
    cb("start", {})
    assert cb(*args) is None
    assert sys.exc_info() == (None, None, None)
    snap = rec.snapshot()
    assert snap["unusable_info"] == 1
    assert snap["count"] == 0


@pytest.mark.parametrize("args", [(), ("start",), ("start", {}, 1), ("middle", {}), (1, {})])
def test_odd_calls_are_counted_never_raised(args):
    rec = _core.Recorder()
    assert rec.callback(*args) is None
    assert rec.snapshot()["unusable_info"] == 1


def test_keys_that_are_not_ascii_str_are_ignored():
    rec = _core.Recorder()
    cb = rec.callback
    cb("start", {})
    info = {1: 2, None: 0, "": 1, "générations": 9, "generation": 1, "collected": 3}
    info["uncollectable"] = 0
    cb("stop", info)
    snap = rec.snapshot()
    assert snap["gen1"]["count"] == 1
    assert snap["gen1"]["collected"] == 3
    assert snap["unusable_info"] == 0


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["generation", "collected", "uncollectable"]))
)
def test_the_three_keys_are_read_in_any_order(order: tuple[str, str, str]) -> None:
    # CPython passes them in one order, which the callback reads fastest; any
    # other order must still give the same event.
    values = {"generation": 2, "collected": 5, "uncollectable": 1}
    rec = _core.Recorder()
    cb = rec.callback
    cb("start", {})
    cb("stop", {k: values[k] for k in order})
    snap = rec.snapshot()
    assert snap["gen2"]["count"] == 1
    assert snap["gen2"]["collected"] == 5
    assert snap["gen2"]["uncollectable"] == 1
    assert snap["unusable_info"] == 0


def test_three_keys_without_uncollectable_are_unusable() -> None:
    rec = _core.Recorder()
    cb = rec.callback
    cb("start", {})
    cb("stop", {"generation": 0, "collected": 1, "candidates": 4})
    snap = rec.snapshot()
    assert snap["unusable_info"] == 1
    assert snap["count"] == 0


def test_stop_without_start_is_dropped_not_invented():
    rec = _core.Recorder()
    cb = rec.callback
    cb("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    snap = rec.snapshot()
    assert snap["dropped_stops"] == 1
    assert snap["count"] == 0
    # A start is consumed by its stop: a second stop is dropped too.
    cb("start", {})
    cb("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    cb("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    snap = rec.snapshot()
    assert snap["count"] == 1
    assert snap["dropped_stops"] == 2


def test_stopped_recorder_ignores_calls():
    rec = _core.Recorder()
    rec.stop()
    assert rec.stopped
    rec.callback("start", {})
    rec.callback("stop", {"generation": 0, "collected": 0, "uncollectable": 0})
    rec.callback("garbage", None)
    snap = rec.snapshot()
    assert snap["count"] == snap["dropped_stops"] == snap["unusable_info"] == 0


def test_each_recorder_has_its_own_callable():
    a = _core.Recorder()
    b = _core.Recorder()
    assert a.callback is a.callback
    assert a.callback is not b.callback
    a.callback("start", {})
    a.callback("stop", {"generation": 0, "collected": 0, "uncollectable": 0})
    assert a.snapshot()["count"] == 1
    assert b.snapshot()["count"] == 0


class _StartsAMonitorWhenFinalized:
    monitors: list[GCMonitor] = []

    def __init__(self) -> None:
        self.cycle = self

    def __del__(self) -> None:
        _StartsAMonitorWhenFinalized.monitors.append(GCMonitor())


def test_monitor_started_from_del_during_a_collection():
    gc.disable()
    _StartsAMonitorWhenFinalized()
    gc.collect()
    assert len(_StartsAMonitorWhenFinalized.monitors) == 1
    monitor = _StartsAMonitorWhenFinalized.monitors.pop()
    snap = monitor.snapshot()
    # It was appended after "start": the "stop" it saw is dropped, not a pause.
    assert snap["dropped_stops"] == 1
    assert snap["count"] == 0
    assert snap["max_ms"] == 0
    gc.collect()
    snap = monitor.stop_monitoring(write_report=False)
    assert snap["count"] == 1
    assert snap["max_ms"] < 10_000


def test_a_neighbour_callback_that_raises_does_not_break_us():
    raised: list[BaseException | None] = []

    def bad(phase: str, info: dict) -> None:
        raise RuntimeError("neighbour failure")

    old_hook = sys.unraisablehook
    sys.unraisablehook = lambda u: raised.append(u.exc_value)
    try:
        gc.disable()
        gc.callbacks.append(bad)
        monitor = GCMonitor()
        gc.callbacks.append(bad)
        for _ in range(4):
            gc.collect()
    finally:
        sys.unraisablehook = old_hook
    snap = monitor.stop_monitoring(write_report=False)
    assert snap["count"] == 4
    assert snap["unusable_info"] == 0
    assert len(raised) == 16
    assert all(isinstance(e, RuntimeError) for e in raised)
