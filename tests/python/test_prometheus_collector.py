"""gc_monitor.prometheus.GCCollector: one monitor's figures in prometheus_client.

Each test runs a real program in a subprocess: it starts a GCMonitor,
registers the collector on prometheus_client's default registry (beside
prometheus_client's own GC collector), collects, and prints what
prometheus_client's exposition writes (or serves it over HTTP on loopback).
The test parses that text with prometheus_client's parser and compares the
figures with the monitor's final snapshot, which the program prints as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

from gcm_testing import WAIT, Started, clean_env, write_script
from prometheus_client.parser import text_string_to_metric_families

PRELUDE = textwrap.dedent(
    """
    import gc, json, sys, threading
    from prometheus_client import REGISTRY, generate_latest
    from gc_monitor import GCMonitor
    from gc_monitor.prometheus import GCCollector

    # An independent count of the collections, started with the monitor while
    # no collection can run: a gc.collect() that finds another collection
    # running returns at once, so the calls made do not say how many ran.
    seen = [0]
    def count_stops(phase, info):
        if phase == "stop":
            seen[0] += 1
    gc.disable()
    gc.callbacks.append(count_stops)
    monitor = GCMonitor(stats_only=True)
    gc.enable()
    GCCollector(monitor)

    def cycles(n):
        for i in range(n):
            a = [[] for _ in range(20)]
            a.append(a)
            if i % 100 == 0:
                gc.collect(i % 3)

    def finish(text):
        final = monitor.stop_monitoring(write_report=False)
        gc.callbacks.remove(count_stops)
        print(json.dumps({"text": text, "final": final, "seen": seen[0]}))
    """
)


def run_program(tmp_path: Path, body: str) -> tuple[dict[str, list], dict]:
    script = write_script(tmp_path, PRELUDE + textwrap.dedent(body))
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["final"]["count"] == out["seen"], out
    return parse(out["text"]), out["final"]


def parse(text: str) -> dict[str, list]:
    samples: dict[str, list] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            samples.setdefault(s.name, []).append(s)
    return samples


def value(samples: dict[str, list], name: str, **labels: str) -> float:
    found = [
        s for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (name, labels, found)
    return found[0].value


def check_equal(samples: dict[str, list], final: dict) -> None:
    for g in range(3):
        gen = final[f"gen{g}"]
        lab = {"generation": str(g)}
        assert value(samples, "pygcprofiler_gc_collections_total", **lab) == gen["count"]
        assert value(samples, "pygcprofiler_gc_pause_seconds_count", **lab) == gen["count"]
        assert value(samples, "pygcprofiler_gc_collected_objects_total", **lab) == gen["collected"]
        assert (
            value(samples, "pygcprofiler_gc_uncollectable_objects_total", **lab)
            == gen["uncollectable"]
        )
        total = value(samples, "pygcprofiler_gc_pause_time_seconds_total", **lab)
        assert abs(total * 1e3 - gen["total_ms"]) <= 0.0006
        assert value(samples, "pygcprofiler_gc_pause_seconds_sum", **lab) == total
        longest = value(samples, "pygcprofiler_gc_pause_max_seconds", **lab)
        assert abs(longest * 1e3 - gen["max_ms"]) <= 0.0006
        buckets = sorted(
            (float(s.labels["le"]), s.value)
            for s in samples["pygcprofiler_gc_pause_seconds_bucket"]
            if s.labels["generation"] == str(g)
        )
        assert len(buckets) == 20 and buckets[-1] == (float("inf"), gen["count"])
        for le, count in buckets:
            if le >= longest:
                assert count == gen["count"], (le, buckets)


def test_figures_equal_the_monitors_and_coexist_with_the_default_collector(
    tmp_path: Path,
) -> None:
    samples, final = run_program(
        tmp_path,
        """
        cycles(3000)
        gc.disable()  # no automatic collection between the scrape and the stop
        monitor_text = generate_latest(REGISTRY).decode()
        finish(monitor_text)
        """,
    )
    # prometheus_client's own GC metrics are there too, under their names.
    assert "python_gc_collections_total" in samples
    assert final["count"] >= 30
    check_equal(samples, final)
    # By cause, as the exporter serves them: cycles() calls gc.collect() 30
    # times, the rest the collector chose.
    for g in range(3):
        lab = {"generation": str(g)}
        by_cause = {
            s.labels["cause"]: s.value
            for s in samples["pygcprofiler_gc_collections_by_cause_total"]
            if s.labels["generation"] == str(g)
        }
        assert set(by_cause) == {"automatic", "explicit", "shutdown"}
        assert sum(by_cause.values()) == value(samples, "pygcprofiler_gc_collections_total", **lab)
        assert by_cause["explicit"] == 10
        assert by_cause["shutdown"] == 0


def test_no_deadlock_no_lost_update_under_load(tmp_path: Path) -> None:
    """Eight threads make cycles and collect while another scrapes 1,000
    times as fast as it can; the run ends, and the last scrape equals the
    monitor's final figures."""
    samples, final = run_program(
        tmp_path,
        """
        workers = [threading.Thread(target=cycles, args=(5000,)) for _ in range(8)]
        for t in workers:
            t.start()
        for _ in range(1000):
            generate_latest(REGISTRY)
        for t in workers:
            t.join()
        # Nothing runs between the last collection and this scrape but this
        # thread, and the monitor stops right after it: the figures must match.
        gc.disable()
        text = generate_latest(REGISTRY).decode()
        finish(text)
        """,
    )
    # A gc.collect() that finds a collection running returns at once (while
    # a Python callback runs, another thread can take the GIL), so the floor
    # only says the threads did collect; run_program checked the exact count.
    assert final["count"] >= 8
    check_equal(samples, final)


SERVE = """
from prometheus_client import start_http_server
cycles(1000)
gc.disable()  # no automatic collection between the scrape and the stop
server, thread = start_http_server(0, addr="127.0.0.1")
print(f"port {server.server_port} ready", flush=True)
import os, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
finish("")
"""


def test_scraped_over_http(tmp_path: Path) -> None:
    script = write_script(tmp_path, PRELUDE + SERVE)
    stop = tmp_path / "stop"
    started = Started([sys.executable, str(script), str(stop)], tmp_path)
    try:
        started.wait_for(" ready")
        port = started.stdout.split("port ", 1)[1].split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=WAIT) as resp:
            samples = parse(resp.read().decode())
        stop.touch()
        assert started.finish() == 0, started.stderr
        final = json.loads(started.stdout.splitlines()[-1])["final"]
        check_equal(samples, final)
    finally:
        started.kill()


MULTIPROCESS = textwrap.dedent(
    """
    import json, os, sys
    from prometheus_client import CollectorRegistry, Counter, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector
    from gc_monitor import GCMonitor
    from gc_monitor.prometheus import GCCollector

    monitor = GCMonitor(stats_only=True)
    requests = Counter("app_requests", "requests served")
    requests.inc(int(sys.argv[1]))
    # What a server in multiprocess mode serves: the values every worker
    # wrote to the directory, summed ...
    shared = CollectorRegistry()
    MultiProcessCollector(shared)
    # ... and, when a worker also registers the monitor's collector there,
    # that worker's own collections.
    own = CollectorRegistry()
    MultiProcessCollector(own)
    GCCollector(monitor, registry=own)
    print(json.dumps({"pid": os.getpid(), "shared": generate_latest(shared).decode(),
                      "own": generate_latest(own).decode()}))
    monitor.stop_monitoring(write_report=False)
    """
)


def test_multiprocess_mode_serves_each_workers_gc_only_from_that_worker(tmp_path: Path) -> None:
    # docs/metrics.md: in prometheus_client's multiprocess mode the GC figures
    # are not summed across workers; a scrape shows those of the worker that
    # answers it, beside the summed application metrics.
    script = write_script(tmp_path, MULTIPROCESS)
    shared_dir = tmp_path / "prometheus"
    shared_dir.mkdir()
    env = dict(clean_env(), PROMETHEUS_MULTIPROC_DIR=str(shared_dir))
    outs = []
    for served in (3, 4):
        proc = subprocess.run(
            [sys.executable, str(script), str(served)],
            capture_output=True,
            text=True,
            timeout=WAIT * 2,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        outs.append(json.loads(proc.stdout.splitlines()[-1]))
    first, second = outs
    # The application counter is summed over both workers' files ...
    assert value(parse(second["shared"]), "app_requests_total") == 7
    # ... while no GC figure reaches the summed registry ...
    assert not any(name.startswith("pygcprofiler_") for name in parse(second["shared"]))
    # ... and a worker's own registry has its own pid's, and no other.
    for out in outs:
        samples = parse(out["own"])
        pids = {s.labels["pid"] for s in samples["pygcprofiler_gc_collections_total"]}
        assert pids == {str(out["pid"])}
    assert first["pid"] != second["pid"]
