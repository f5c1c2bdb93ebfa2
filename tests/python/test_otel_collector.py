"""gc_monitor.otel.GCInstruments: one monitor's figures in OpenTelemetry.

Each test runs a real program in a subprocess: it starts a GCMonitor (or runs
under the launcher), creates the instruments on a real opentelemetry-sdk
MeterProvider read by the SDK's InMemoryMetricReader, collects, and prints
the data points as JSON with the monitor's exact final figures
(GCMonitor.metrics() once stopped) and an independent count of the
collections.  opentelemetry-sdk is in tests/requirements.txt for every
interpreter CI runs (3.9 to 3.15 and 3.13t; pure Python); a venv without it
skips these tests, except the one that needs it absent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from gcm_testing import JSON, WAIT, clean_env, launcher_path, summaries, write_script

PRELUDE = textwrap.dedent(
    """
    import gc, json, sys, threading
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from gc_monitor import GCMonitor
    from gc_monitor.otel import GCInstruments

    # An independent count of the collections, started with the monitor while
    # no collection can run: a gc.collect() that finds another collection
    # running returns at once, so the calls made do not say how many ran.
    seen = [0]
    def count_stops(phase, info):
        if phase == "stop":
            seen[0] += 1

    def cycles(n):
        for i in range(n):
            a = [[] for _ in range(20)]
            a.append(a)
            if i % 100 == 0:
                gc.collect(i % 3)

    def points(reader):
        out = {}
        for rm in reader.get_metrics_data().resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    for p in metric.data.data_points:
                        row = {"attrs": dict(p.attributes), "unit": metric.unit}
                        for key in ("value", "count", "sum"):
                            if hasattr(p, key):
                                row[key] = getattr(p, key)
                        for key in ("bucket_counts", "explicit_bounds"):
                            if hasattr(p, key):
                                row[key] = list(getattr(p, key))
                        out.setdefault(metric.name, []).append(row)
        return out
    """
)

START = """
gc.disable()
gc.callbacks.append(count_stops)
monitor = GCMonitor(stats_only=True{options})
gc.enable()
reader = InMemoryMetricReader()
other = InMemoryMetricReader()
GCInstruments(monitor, MeterProvider(metric_readers=[reader{other}]))
"""

FINISH = """
monitor.stop_monitoring(write_report=False)
gc.callbacks.remove(count_stops)
print(json.dumps({"points": got, "final": monitor.metrics(), "seen": seen[0]}))
"""


def otel_program(
    tmp_path: Path, body: str, options: str = "", two_readers: bool = False, args: tuple = ()
) -> dict:
    pytest.importorskip("opentelemetry.sdk.metrics", reason="opentelemetry-sdk is not installed")
    start = START.format(options=options, other=", other" if two_readers else "")
    source = PRELUDE + start + textwrap.dedent(body) + FINISH
    proc = subprocess.run(
        [sys.executable, str(write_script(tmp_path, source)), *args],
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    count = sum(g["count"] for g in out["final"]["generations"])
    assert count == out["seen"], out
    return out


def by_generation(points: dict, name: str, every: bool = True) -> dict[int, dict]:
    """The points of `name` by generation: every generation for the
    asynchronous instruments, those that had pauses for the histogram."""
    rows = points[name]
    found = {row["attrs"]["cpython.gc.generation"]: row for row in rows}
    assert len(found) == len(rows), rows
    assert len(found) == 3 or not every, rows
    return found


def check_equal(points: dict, final: dict, lost: int = 0) -> None:
    """Every instrument against the monitor's exact final figures."""
    gens = final["generations"]
    # The histogram has a point for each generation that had a pause, and
    # threads that collect together can leave a generation with none: a
    # gc.collect() that finds a collection running returns without one, and
    # on a loaded machine one slow collection can turn away every call (four
    # threads on 3.14 once ran 3 collections, all of generation 0).  Pauses
    # that left the ring may leave out more.
    paused = {g for g, fig in enumerate(gens) if fig["count"]}
    hist = by_generation(points, "cpython.gc.pause.duration", every=False)
    assert set(hist) <= paused if lost else set(hist) == paused, (sorted(hist), paused)
    assert points["cpython.gc.pause.missed"] == [{"attrs": {}, "unit": "{pause}", "value": lost}]
    assert sum(row["count"] for row in hist.values()) + lost == sum(g["count"] for g in gens)
    bounds = [b / 1e9 for b in final["bounds_ns"]]
    for name, key, unit in [
        ("cpython.gc.collections", "count", "{collection}"),
        ("cpython.gc.collected_objects", "collected", "{object}"),
        ("cpython.gc.uncollectable_objects", "uncollectable", "{object}"),
    ]:
        rows = by_generation(points, name)
        for g, fig in enumerate(gens):
            assert rows[g]["unit"] == unit
            assert rows[g]["value"] == fig[key], (name, g)
    time = by_generation(points, "cpython.gc.pause.time")
    longest = by_generation(points, "cpython.gc.pause.max")
    for g, fig in enumerate(gens):
        assert time[g]["value"] == fig["total_ns"] / 1e9 and time[g]["unit"] == "s"
        assert longest[g]["value"] == fig["max_ns"] / 1e9
        if lost or g not in paused:
            continue
        row = hist[g]
        assert row["unit"] == "s"
        assert row["count"] == fig["count"] == fig["pauses"]
        # The SDK adds the seconds as floats: equal to well under a nanosecond.
        assert abs(row["sum"] - fig["total_ns"] / 1e9) < 1e-9, (row["sum"], fig["total_ns"])
        # Bounds on the block histogram's edges: every cumulative count exact.
        assert row["explicit_bounds"] == bounds
        cumulative = [sum(row["bucket_counts"][: i + 1]) for i in range(len(bounds))]
        assert cumulative == fig["buckets"], (g, cumulative, fig["buckets"])
        assert sum(row["bucket_counts"]) == fig["count"]
    causes = points["cpython.gc.collections_by_cause"]
    for g, fig in enumerate(gens):
        mine = [r["value"] for r in causes if r["attrs"]["cpython.gc.generation"] == g]
        assert sum(mine) == fig["count"]
    for cause, counts in final["causes"].items():
        for g, n in enumerate(counts):
            row = [
                r
                for r in causes
                if r["attrs"] == {"cpython.gc.generation": g, "cpython.gc.cause": cause}
            ]
            assert len(row) == 1 and row[0]["value"] == n, (cause, g, causes)


def test_figures_equal_the_monitors(tmp_path: Path) -> None:
    out = otel_program(
        tmp_path,
        """
        cycles(3000)
        points(reader)  # a collection in the middle: the next drains from there
        cycles(1000)
        gc.disable()  # no automatic collection between this collection and the stop
        got = points(reader)
        """,
    )
    final = out["final"]
    assert sum(g["count"] for g in final["generations"]) >= 40
    assert final["causes"]["explicit"][2] >= 10
    check_equal(out["points"], final)


def test_pauses_that_left_the_ring_are_counted_missed(tmp_path: Path) -> None:
    """A 16-record ring and 40 explicit collections (and whatever ran while
    the meter provider was made) before the first metric collection: the
    histogram gets the 16 newest pauses, the others are missed."""
    out = otel_program(
        tmp_path,
        """
        gc.disable()
        for i in range(40):
            gc.collect(0)
        got = points(reader)
        """,
        options=", buffer_events=16",
    )
    final = out["final"]
    total = sum(g["count"] for g in final["generations"])
    assert final["generations"][0]["count"] >= 40
    check_equal(out["points"], final, lost=total - 16)
    hist = by_generation(out["points"], "cpython.gc.pause.duration", every=False)
    assert sum(row["count"] for row in hist.values()) == 16
    assert hist[0]["count"] >= 15


def test_no_deadlock_no_lost_update_under_load(tmp_path: Path) -> None:
    """Eight threads make cycles and collect while another thread collects
    the metrics as fast as it can; the run ends, and the last collection
    equals the monitor's final figures."""
    out = otel_program(
        tmp_path,
        """
        done = threading.Event()
        collections = [0]
        def collect_fast():
            while not done.is_set():
                points(reader)
                collections[0] += 1
        workers = [threading.Thread(target=cycles, args=(5000,)) for _ in range(8)]
        collector = threading.Thread(target=collect_fast)
        collector.start()
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        done.set()
        collector.join()
        assert collections[0] >= 1, collections
        # Nothing runs between the last collection and this one but this
        # thread, and the monitor stops right after it: the figures must match.
        gc.disable()
        got = points(reader)
        """,
    )
    # A gc.collect() that finds a collection running returns at once, so the
    # floor only says the threads did collect; otel_program checked the
    # exact count against an independent gc.callbacks counter.
    assert sum(g["count"] for g in out["final"]["generations"]) >= 8
    check_equal(out["points"], out["final"])


def test_two_readers_collecting_in_parallel_each_get_every_pause(tmp_path: Path) -> None:
    """Two metric readers on one provider, collected by two threads while
    four threads collect garbage: whichever collection drained a pause, both
    readers' histograms have it, and both end equal to the final figures."""
    out = otel_program(
        tmp_path,
        """
        done = threading.Event()
        def collect_fast(r):
            while not done.is_set():
                points(r)
        readers = [threading.Thread(target=collect_fast, args=(r,)) for r in (reader, other)]
        workers = [threading.Thread(target=cycles, args=(3000,)) for _ in range(4)]
        for t in readers + workers:
            t.start()
        for t in workers:
            t.join()
        done.set()
        for t in readers:
            t.join()
        gc.disable()
        got = {"reader": points(reader), "other": points(other)}
        """,
        two_readers=True,
    )
    check_equal(out["points"]["reader"], out["final"])
    check_equal(out["points"]["other"], out["final"])


def test_a_fork_child_drains_its_own_recording(tmp_path: Path) -> None:
    """After os.fork the child's monitor records into a block of its own,
    numbered from 0: its counters are its own, and its histogram (the SDK's
    state, inherited) gains exactly the child's pauses."""
    out = otel_program(
        tmp_path,
        """
        import os
        cycles(1000)
        gc.disable()
        before = points(reader)
        pid = os.fork()
        if pid == 0:
            for i in range(30):
                gc.collect(i % 3)
            child = {"points": points(reader), "figures": monitor.metrics(), "before": before}
            with open(sys.argv[1], "w") as f:
                json.dump(child, f)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0, status
        got = points(reader)
        """,
        args=(str(tmp_path / "child.json"),),
    )
    check_equal(out["points"], out["final"])
    child = json.loads((tmp_path / "child.json").read_text())
    figures = child["figures"]
    assert figures["pid"] != out["final"]["pid"]
    assert [g["count"] for g in figures["generations"]] == [10, 10, 10]
    hist = by_generation(child["points"], "cpython.gc.pause.duration")
    before = by_generation(child["before"], "cpython.gc.pause.duration")
    collections = by_generation(child["points"], "cpython.gc.collections")
    for g in range(3):
        assert collections[g]["value"] == 10
        assert hist[g]["count"] == before[g]["count"] + 10


def test_the_running_monitor_under_the_launcher(tmp_path: Path) -> None:
    """`pygcprofiler run` on a program that only creates the instruments:
    they report the launcher's monitor, and equal its report."""
    pytest.importorskip("opentelemetry.sdk.metrics", reason="opentelemetry-sdk is not installed")
    script = write_script(
        tmp_path,
        """
        import gc, json
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from gc_monitor.otel import GCInstruments

        reader = InMemoryMetricReader()
        GCInstruments(meter_provider=MeterProvider(metric_readers=[reader]))
        for i in range(30):
            gc.collect(i % 3)
        gc.disable()
        counts = {}
        for rm in reader.get_metrics_data().resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == "cpython.gc.pause.duration":
                        for p in metric.data.data_points:
                            counts[p.attributes["cpython.gc.generation"]] = p.count
        print(json.dumps(counts))
        """,
    )
    proc = subprocess.run(
        [str(launcher_path()), "run", *JSON, str(script)],
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
        env=clean_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout.splitlines()[-1])
    (summary,) = summaries(proc.stderr).values()
    for g in range(3):
        assert counts[str(g)] == summary["gen" + str(g)]["count"] >= 10, (counts, summary)


def test_without_a_running_monitor(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.sdk.metrics", reason="opentelemetry-sdk is not installed")
    script = write_script(
        tmp_path,
        """
        from gc_monitor import GCMonitor
        from gc_monitor.otel import GCInstruments
        GCMonitor().stop_monitoring(write_report=False)
        try:
            GCInstruments()
        except RuntimeError as err:
            print(err)
        """,
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("no GCMonitor is running"), proc.stdout


def test_import_without_opentelemetry_names_the_extra(tmp_path: Path) -> None:
    """Blocked in sys.modules, as if not installed: a clear ImportError, and
    importing starts nothing either way."""
    script = write_script(
        tmp_path,
        """
        import gc, sys
        sys.modules["opentelemetry"] = None
        try:
            import gc_monitor.otel
        except ImportError as err:
            print("ImportError:", err)
        assert gc.callbacks == [], gc.callbacks
        assert "gc_monitor._core" not in sys.modules
        """,
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ImportError: gc_monitor.otel needs the OpenTelemetry API")
    assert "pip install 'pygcprofiler[otel]'" in proc.stdout


def test_importing_starts_nothing(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.metrics", reason="opentelemetry-api is not installed")
    script = write_script(
        tmp_path,
        """
        import gc, sys, threading
        before = threading.active_count()
        import gc_monitor.otel
        assert gc.callbacks == [], gc.callbacks
        assert "gc_monitor._core" not in sys.modules
        assert threading.active_count() == before
        print("ok")
        """,
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_extras_name_the_metrics_libraries_and_the_core_needs_none() -> None:
    """`pip install pygcprofiler[otel]` / `[prometheus]` bring the libraries;
    the installed package's metadata requires nothing outside an extra."""
    from importlib.metadata import requires

    reqs = requires("pygcprofiler") or []
    assert all("extra ==" in r for r in reqs), reqs
    assert any(r.startswith("opentelemetry-api") and 'extra == "otel"' in r for r in reqs), reqs
    assert any(r.startswith("prometheus_client") and 'extra == "prometheus"' in r for r in reqs), (
        reqs
    )
