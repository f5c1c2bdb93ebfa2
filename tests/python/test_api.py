"""The library API: GCMonitor as users of the original tool call it."""

from __future__ import annotations

import gc
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import gc_monitor
from gc_monitor import GCMonitor, _core
from gc_monitor.monitor import GCMonitor as GCMonitorFromModule

ORIGINAL_KEYWORDS = {
    "interval": 2.5,
    "json_output": True,
    "stats_only": True,
    "dump_objects": False,
    "dump_garbage": False,
    "log_file": None,
    "alert_threshold_ms": 100.0,
    "flamegraph_file": None,
    "flamegraph_bucket": 10,
    "duration_buckets": [1, 5, 20, 50, 100],
    "terminal_flamegraph": False,
    "terminal_flamegraph_width": 100,
    "terminal_flamegraph_color": False,
    "enable_prompt": False,
    "buffer_events": 1000,
}

GEN_KEYS = {
    "count",
    "total_ms",
    "mean_ms",
    "min_ms",
    "max_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "p999_ms",
    "collected",
    "uncollectable",
}


def test_both_import_paths_name_the_same_class():
    assert GCMonitor is GCMonitorFromModule is gc_monitor.GCMonitor


def test_every_original_keyword_is_accepted():
    monitor = GCMonitor(**ORIGINAL_KEYWORDS)
    try:
        assert monitor._recorder.callback in gc.callbacks
        assert monitor._gc_callback is monitor._recorder.callback
    finally:
        monitor.stop_monitoring(write_report=False)
    assert monitor._recorder.callback not in gc.callbacks


@pytest.mark.parametrize("name", ["stats-only", "python", "verbose", "json-output"])
def test_unknown_keyword_raises_type_error(name):
    callbacks = list(gc.callbacks)
    with pytest.raises(TypeError, match=repr(name)):
        GCMonitor(**{name: "1"})
    assert gc.callbacks == callbacks


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("interval", 0),
        ("interval", -1.5),
        ("interval", True),
        ("interval", "soon"),
        ("alert_threshold_ms", float("nan")),
        ("alert_threshold_ms", False),
        ("terminal_flamegraph_width", 5),
        ("terminal_flamegraph_width", 80.5),
        ("duration_buckets", [5, 1]),
        ("duration_buckets", [1, True]),
        ("duration_buckets", []),
        ("buffer_events", 0),
        ("stats_only", "maybe"),
        ("stats_only", 2),
    ],
)
def test_bad_value_raises_value_error_naming_the_keyword(keyword, value):
    callbacks = list(gc.callbacks)
    with pytest.raises(ValueError, match=f"'{keyword}'"):
        GCMonitor(**{keyword: value})
    assert gc.callbacks == callbacks


def test_unsupported_value_type_raises_type_error():
    with pytest.raises(TypeError):
        GCMonitor(interval=object())


def test_snapshot_has_exactly_the_documented_keys():
    gc.disable()
    monitor = GCMonitor()
    gc.collect()
    snap = monitor.stop_monitoring(write_report=False)
    # CPython 3.15+ counts the candidates its collections examine, and
    # times them itself: docs/json.md lists the keys that adds.
    added = {"candidates", "efficiency"} if sys.version_info >= (3, 15) else set()
    for key in GEN_KEYS | added | {"share", "overwritten", "dropped_stops", "unusable_info", "pid"}:
        assert key in snap, key
    for g in range(3):
        assert set(snap[f"gen{g}"]) == GEN_KEYS | added
    assert ("duration_source" in snap) == (sys.version_info >= (3, 15))
    assert "type" not in snap and "schema_version" not in snap
    assert snap["pid"] == os.getpid()
    assert isinstance(snap["count"], int) and not isinstance(snap["count"], bool)
    assert isinstance(snap["total_ms"], float)
    assert isinstance(snap["gen2"]["min_ms"], float)


def test_snapshot_keys_equal_the_json_summary(tmp_path: Path):
    log = tmp_path / "report.jsonl"
    gc.disable()
    monitor = GCMonitor(json_output=True, log_file=str(log))
    for _ in range(3):
        gc.collect()
    snap = monitor.stop_monitoring()
    objects = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    summaries = [o for o in objects if o.get("type") == "summary"]
    assert len(summaries) == 1
    summary = summaries[0]
    assert summary["schema_version"] == _core.SCHEMA_VERSION
    del summary["type"], summary["schema_version"]
    assert set(summary) == set(snap)
    for key in ("count", "events", "dropped_stops", "unusable_info", "overwritten", "pid"):
        assert summary[key] == snap[key]
    assert summary["gen2"]["count"] == snap["gen2"]["count"] == 3
    assert summary["gen2"]["max_ms"] == snap["gen2"]["max_ms"]


def test_stop_is_idempotent_and_returns_the_final_snapshot():
    gc.disable()
    monitor = GCMonitor()
    gc.collect()
    first = monitor.stop_monitoring(write_report=False)
    gc.collect()
    second = monitor.stop_monitoring()
    assert first == second
    assert first["count"] == 1
    assert monitor.snapshot() == first


def test_stop_works_after_the_program_removed_our_callable():
    monitor = GCMonitor()
    gc.callbacks.clear()
    snap = monitor.stop_monitoring(write_report=False)
    assert gc.callbacks == []
    assert snap["pid"] == os.getpid()


@pytest.mark.parametrize("order", ["first-then-second", "second-then-first"])
def test_two_monitors_at_once(order):
    gc.disable()
    first = GCMonitor()
    second = GCMonitor()
    for _ in range(3):
        gc.collect()
    stop_first = order == "first-then-second"
    early, late = (first, second) if stop_first else (second, first)
    early_snap = early.stop_monitoring(write_report=False)
    assert early._recorder.callback not in gc.callbacks
    assert late._recorder.callback in gc.callbacks
    for _ in range(2):
        gc.collect()
    late_snap = late.stop_monitoring(write_report=False)
    assert early_snap["count"] == 3
    assert late_snap["count"] == 5
    # Stopping never re-registers anybody's callable.
    assert early._recorder.callback not in gc.callbacks
    assert late._recorder.callback not in gc.callbacks


def test_context_manager_stops_on_exit():
    gc.disable()
    with GCMonitor() as monitor:
        gc.collect()
        assert monitor._recorder.callback in gc.callbacks
    assert monitor._recorder.callback not in gc.callbacks
    assert monitor.snapshot()["count"] == 1


def test_monitor_changes_nothing_in_the_collector():
    gc.disable()
    gc.set_threshold(1234, 5, 6)
    before = (gc.get_threshold(), gc.get_debug(), [s["collections"] for s in gc.get_stats()])
    freeze = gc.get_freeze_count()
    monitor = GCMonitor()
    snap_running = monitor.snapshot()
    snap = monitor.stop_monitoring(write_report=False)
    after = (gc.get_threshold(), gc.get_debug(), [s["collections"] for s in gc.get_stats()])
    assert after == before
    assert gc.get_freeze_count() == freeze
    assert not gc.isenabled()
    assert snap["count"] == snap_running["count"] == 0


def test_dump_garbage_sets_saveall_and_restores_on_stop():
    gc.set_debug(0)
    monitor = GCMonitor(dump_garbage=True)
    assert gc.get_debug() & gc.DEBUG_SAVEALL
    assert gc.get_debug() & gc.DEBUG_UNCOLLECTABLE
    monitor.stop_monitoring(write_report=False)
    assert gc.get_debug() == 0
    # Flags the program had set itself stay set.
    gc.set_debug(gc.DEBUG_SAVEALL)
    monitor = GCMonitor(dump_garbage=True)
    gc.set_debug(gc.get_debug() | gc.DEBUG_STATS)
    monitor.stop_monitoring(write_report=False)
    assert gc.get_debug() == gc.DEBUG_SAVEALL | gc.DEBUG_STATS
    gc.set_debug(0)


def test_config_text_round_trips():
    monitor = GCMonitor(stats_only=True, alert_threshold_ms=12.5, duration_buckets=(2, 4))
    try:
        text = monitor.config_text
        clone = GCMonitor._from_config_text(text)
        try:
            assert clone.config_text == text
            assert clone._recorder.callback in gc.callbacks
        finally:
            clone.stop_monitoring(write_report=False)
    finally:
        monitor.stop_monitoring(write_report=False)
    default = GCMonitor()
    default.stop_monitoring(write_report=False)
    assert default.config_text != text


def test_bad_config_text_raises_value_error():
    callbacks = list(gc.callbacks)
    with pytest.raises(ValueError, match="interval"):
        GCMonitor._from_config_text("interval=0")
    assert gc.callbacks == callbacks


def test_render_start_writes_to_the_fd():
    monitor = GCMonitor(json_output=True)
    text = monitor.config_text
    monitor.stop_monitoring(write_report=False)
    r, w = os.pipe()
    try:
        _core.render_start(text, "python app.py", w)
    finally:
        os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines and lines[0]["type"] == "start"
    assert "python app.py" in out
    with pytest.raises(ValueError):
        _core.render_start("interval=-1", "x", 2)


def test_render_start_on_a_closed_fd_is_silent():
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    assert _core.render_start(_core.Recorder().config_text, "python x.py", w) is None


def test_report_at_exit_of_a_never_stopped_monitor(run_python):
    proc = run_python(
        """
        import gc
        from gc_monitor import GCMonitor
        gc.disable()
        monitor = GCMonitor(json_output=True)
        for _ in range(4):
            gc.collect()
        print("program done")
        """
    )
    assert proc.stdout == "program done\n"
    summaries = [
        json.loads(line)
        for line in proc.stderr.splitlines()
        if '"type": "summary"' in line or '"type":"summary"' in line
    ]
    assert len(summaries) == 1
    # Interpreter shutdown may collect once more after the program's four.
    assert summaries[0]["count"] >= 4


def test_report_is_written_once_when_stopped_twice(run_python):
    proc = run_python(
        """
        import gc
        from gc_monitor import GCMonitor
        gc.disable()
        monitor = GCMonitor()
        gc.collect()
        monitor.stop_monitoring()
        monitor.stop_monitoring()
        """
    )
    assert proc.stderr.count("GC MONITORING SUMMARY") == 1


def test_closed_stderr_does_not_fail_the_program(run_python):
    proc = run_python(
        """
        import gc, os
        from gc_monitor import GCMonitor
        monitor = GCMonitor()
        gc.collect()
        os.close(2)
        snap = monitor.stop_monitoring()
        print(snap["count"])
        """
    )
    assert proc.returncode == 0
    assert int(proc.stdout) >= 1


def test_log_file_is_private_appended_and_never_followed(tmp_path: Path):
    log = tmp_path / "gc.log"
    for _ in range(2):
        monitor = GCMonitor(log_file=str(log))
        monitor.stop_monitoring()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert log.read_text().count("GC MONITORING SUMMARY") == 2

    target = tmp_path / "target"
    target.write_text("untouched\n")
    link = tmp_path / "link.log"
    link.symlink_to(target)
    monitor = GCMonitor(log_file=str(link))
    monitor.stop_monitoring(write_report=False)
    assert monitor._recorder.write_report() is False
    assert target.read_text() == "untouched\n"


def test_library_works_in_a_fresh_interpreter():
    code = (
        "import gc_monitor, gc; m = gc_monitor.GCMonitor(stats_only=True); "
        "[gc.collect() for _ in range(10)]; print(m.snapshot()['count'])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(proc.stdout) >= 10


def test_log_file_accepts_a_path_object(tmp_path: Path):
    log = tmp_path / "gc.log"
    gc.disable()
    monitor = GCMonitor(log_file=log, stats_only=True)
    gc.collect()
    monitor.stop_monitoring()
    assert "Total GC collections: 1" in log.read_text()


def test_render_start_text_mode():
    text = _core.Recorder().config_text
    r, w = os.pipe()
    try:
        _core.render_start(text, "python app.py --port 8000", w)
    finally:
        os.close(w)
    with os.fdopen(r) as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("GMEM ")
    assert any("python app.py --port 8000" in line for line in lines)


def test_dump_objects_and_garbage_reach_the_report(run_python):
    proc = run_python(
        """
        import gc
        from gc_monitor import GCMonitor

        class LeakyThing:
            pass

        gc.disable()
        monitor = GCMonitor(stats_only=True, dump_objects=True, dump_garbage=True)
        for _ in range(3):
            thing = LeakyThing()
            thing.self = thing
        del thing
        gc.collect()
        monitor.stop_monitoring()
        """
    )
    # The census and the gc.garbage table both count the three saved cycles
    # (older interpreters save more start-up garbage too, so only this class
    # is checked).
    assert len(re.findall(r"\b3\s+__main__\.LeakyThing$", proc.stderr, re.M)) >= 1


def test_running_is_the_monitor_started_last_while_it_records():
    code = (
        "from gc_monitor import GCMonitor\n"
        "assert GCMonitor.running() is None\n"
        "a = GCMonitor(stats_only=True)\n"
        "assert GCMonitor.running() is a\n"
        "b = GCMonitor(stats_only=True)\n"
        "assert GCMonitor.running() is b\n"
        "b.stop_monitoring(write_report=False)\n"
        "assert GCMonitor.running() is None\n"
        "a.stop_monitoring(write_report=False)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_pauses_since_drains_in_order_and_counts_what_the_ring_lost():
    code = (
        "import gc, json\n"
        "from gc_monitor import GCMonitor\n"
        "gc.disable()\n"
        "m = GCMonitor(stats_only=True, buffer_events=16)\n"
        "for g in (0, 1, 2, 0):\n"
        "    gc.collect(g)\n"
        "first = m.pauses_since(0)\n"
        "again = m.pauses_since(first[1])\n"
        "for _ in range(20):\n"
        "    gc.collect(1)\n"
        "late = m.pauses_since(first[1])\n"
        "try:\n"
        "    m.pauses_since(10**6)\n"
        "except ValueError as err:\n"
        "    beyond = str(err)\n"
        "m.stop_monitoring(write_report=False)\n"
        "print(json.dumps([first, again, late, beyond]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    first, again, late, beyond = json.loads(proc.stdout)
    lost, nxt, pauses = first
    assert (lost, nxt) == (0, 4)
    assert [g for g, _ in pauses] == [0, 1, 2, 0]
    assert all(ns > 0 for _, ns in pauses)
    assert again == [0, 4, []]
    # Twenty more in a ring of sixteen: four of them were gone before the drain.
    lost, nxt, pauses = late
    assert (lost, nxt, len(pauses)) == (4, 24, 16)
    assert {g for g, _ in pauses} == {1}
    assert beyond == "record 1000000 is beyond this recorder's records"
