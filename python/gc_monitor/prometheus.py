"""A prometheus_client collector of one GCMonitor's figures.

``GCCollector(monitor)`` registers itself on prometheus_client's default
registry (or ``registry=``; ``None`` registers it nowhere) and, at each
scrape, reads the monitor's block with one seqlock copy: the GC callback
takes no lock and does no work for it, so a scrape that runs while a
collection runs neither waits nor deadlocks (the reason prometheus_client
dropped its own pause histogram).  The metrics are those of
``pygcprofiler export`` (docs/metrics.md) with the labels ``pid`` and
``generation``, and they coexist with prometheus_client's ``python_gc_*``.
Importing this module needs prometheus_client (``pip install
pygcprofiler[prometheus]``) and starts nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import (
    REGISTRY,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

if TYPE_CHECKING:
    from gc_monitor.monitor import GCMonitor

__all__ = ["GCCollector"]

_NS = 1e9


class GCCollector(Collector):
    """The pause histogram, counters and gauges of one GCMonitor."""

    def __init__(self, monitor: GCMonitor, registry: CollectorRegistry | None = REGISTRY) -> None:
        self._monitor = monitor
        # Pause and wall nanoseconds at the previous scrape, for the share.
        self._prev: tuple[int, int] | None = None
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterator[Metric]:
        m = self._monitor.metrics()
        pid = str(m["pid"])
        gens = m["generations"]
        labels = ["pid", "generation"]
        families = [
            ("pygcprofiler_gc_collections", "Garbage collections, per generation.", "count"),
            (
                "pygcprofiler_gc_collected_objects",
                "Objects the collections freed, per generation.",
                "collected",
            ),
            (
                "pygcprofiler_gc_uncollectable_objects",
                "Uncollectable objects the collections found, per generation.",
                "uncollectable",
            ),
        ]
        for name, doc, key in families:
            counter = CounterMetricFamily(name, doc, labels=labels)
            for g, fig in enumerate(gens):
                counter.add_metric([pid, str(g)], fig[key])
            yield counter
        total = CounterMetricFamily(
            "pygcprofiler_gc_pause_time_seconds",
            "Time spent in garbage collection pauses, per generation.",
            labels=labels,
        )
        longest = GaugeMetricFamily(
            "pygcprofiler_gc_pause_max_seconds",
            "The longest pause since the process started, per generation.",
            labels=labels,
        )
        hist = HistogramMetricFamily(
            "pygcprofiler_gc_pause_seconds",
            "Garbage collection pauses, per generation, from the exact histogram of every pause.",
            labels=labels,
        )
        bounds = [str(b / _NS) for b in m["bounds_ns"]]
        for g, fig in enumerate(gens):
            total.add_metric([pid, str(g)], fig["total_ns"] / _NS)
            longest.add_metric([pid, str(g)], fig["max_ns"] / _NS)
            buckets = [(le, float(n)) for le, n in zip(bounds, fig["buckets"])]
            buckets.append(("+Inf", float(fig["pauses"])))
            hist.add_metric([pid, str(g)], buckets, fig["total_ns"] / _NS)
        yield total
        yield longest
        yield hist
        causes = m.get("causes")
        if causes is not None:
            by_cause = CounterMetricFamily(
                "pygcprofiler_gc_collections_by_cause",
                "Garbage collections by cause (automatic, explicit, shutdown), per generation.",
                labels=["pid", "generation", "cause"],
            )
            for cause, counts in causes.items():
                for g, n in enumerate(counts):
                    by_cause.add_metric([pid, str(g), cause], n)
            yield by_cause
        share = GaugeMetricFamily(
            "pygcprofiler_gc_share_ratio",
            "Share of wall time spent in garbage collection since the previous scrape.",
            labels=["pid"],
        )
        gc_ns, wall_ns = m["gc_ns"], m["wall_ns"]
        prev = self._prev or (0, 0)
        self._prev = (gc_ns, wall_ns)
        ratio = (gc_ns - prev[0]) / (wall_ns - prev[1]) if wall_ns > prev[1] else 0.0
        share.add_metric([pid], ratio)
        yield share
        yield from self._requests(pid, bounds, m["requests"])

    @staticmethod
    def _requests(pid: str, bounds: list[str], req: dict[str, Any]) -> Iterator[Metric]:
        """The per-request figures of gc_monitor.asgi / gc_monitor.wsgi (zero without them)."""
        hist = HistogramMetricFamily(
            "pygcprofiler_request_gc_seconds",
            "GC pause time while each request was in flight (gc_monitor.asgi, gc_monitor.wsgi).",
            labels=["pid"],
        )
        buckets = [(le, float(n)) for le, n in zip(bounds, req["buckets"])]
        buckets.append(("+Inf", float(req["count"])))
        hist.add_metric([pid], buckets, req["gc_ns"] / _NS)
        yield hist
        full = CounterMetricFamily(
            "pygcprofiler_requests_full_collection",
            "Requests during which a full (generation 2) collection ran.",
            labels=["pid"],
        )
        full.add_metric([pid], req["full"])
        yield full
