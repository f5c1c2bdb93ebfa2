"""What one OpenTelemetry metric collection costs with gc_monitor.otel.

Starts a GCMonitor, creates GCInstruments on an opentelemetry-sdk
MeterProvider read by an InMemoryMetricReader, then for several numbers N of
new pauses makes N real collections (gc.collect(0), short) and times the next
metric collection, which drains those N pauses into the histogram and reads
the counters.  It also times GCMonitor.pauses_since() alone on the same
number of records.  It prints the figures and asserts nothing.

    python benchmarks/otel_collect.py    (after pip install . opentelemetry-sdk)
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from gc_monitor import GCMonitor
from gc_monitor.otel import GCInstruments

REPEATS = 5


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn()
        best = min(best, time.perf_counter_ns() - start)
    return best / 1e6


def main() -> None:
    monitor = GCMonitor(stats_only=True, buffer_events=1 << 17)
    reader = InMemoryMetricReader()
    GCInstruments(monitor, MeterProvider(metric_readers=[reader]))
    reader.get_metrics_data()
    gc.disable()
    print(f"{'new pauses':>10} {'collection ms':>14} {'pauses_since ms':>16}")
    for n in (0, 1, 100, 1000, 10000, 65536):
        times = []
        for _ in range(REPEATS):
            for _ in range(n):
                gc.collect(0)
            start = time.perf_counter_ns()
            reader.get_metrics_data()
            times.append(time.perf_counter_ns() - start)
        # pauses_since alone, on the last n records (they stay in the ring).
        written = sum(g["count"] for g in monitor.metrics()["generations"])
        record = max(written - n, 0)
        drain = best_of(lambda record=record: monitor.pauses_since(record))
        print(f"{n:>10} {min(times) / 1e6:>14.3f} {drain:>16.3f}")
    monitor.stop_monitoring(write_report=False)


if __name__ == "__main__":
    main()
