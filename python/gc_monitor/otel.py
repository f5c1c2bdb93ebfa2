"""OpenTelemetry instruments of one GCMonitor's figures.

``GCInstruments(monitor, meter_provider)`` creates, on a meter of the given
provider (or the global one), the CPython runtime semantic conventions'
``cpython.gc.collections``, ``cpython.gc.collected_objects`` and
``cpython.gc.uncollectable_objects`` with the attribute
``cpython.gc.generation``, the pause histogram ``cpython.gc.pause.duration``
(seconds) that the conventions do not define yet, and the other figures of
docs/metrics.md.  The counters and gauges are asynchronous: each collection
of a metric reader reads the monitor's block with one seqlock copy.
OpenTelemetry has no asynchronous histogram, so the same collection first
drains the pauses recorded since the previous one from the block's ring and
records each into the histogram; pauses that left the ring before a
collection came count in ``cpython.gc.pause.missed``.  The GC callback takes
no lock and does no work for any of it.  Importing this module needs the
OpenTelemetry API (``pip install pygcprofiler[otel]``) and starts nothing.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

try:
    from opentelemetry.metrics import (
        Asynchronous,
        CallbackOptions,
        MeterProvider,
        Observation,
        get_meter_provider,
    )
except ImportError as err:
    raise ImportError(
        "gc_monitor.otel needs the OpenTelemetry API, which is not installed: "
        "pip install 'pygcprofiler[otel]'",
        name=err.name,
    ) from err

from gc_monitor import __version__

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from gc_monitor.monitor import GCMonitor

    _Callback = Callable[[CallbackOptions], Iterable[Observation]]

__all__ = ["GCInstruments"]

_NS = 1e9
_GENERATION = "cpython.gc.generation"
_CAUSE = "cpython.gc.cause"


class GCInstruments:
    """The OpenTelemetry instruments of one GCMonitor (docs/metrics.md).

    ``monitor`` defaults to the one running (``GCMonitor.running()``: under
    ``pygcprofiler run``, the launcher's), ``meter_provider`` to the global
    one.  The instruments report from the moment the monitor started.
    """

    def __init__(
        self,
        monitor: GCMonitor | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        if monitor is None:
            from gc_monitor.monitor import GCMonitor

            monitor = GCMonitor.running()
            if monitor is None:
                raise RuntimeError(
                    "no GCMonitor is running: pass one, start one with GCMonitor(), "
                    "or run the program under 'pygcprofiler run'"
                )
        self._monitor = monitor
        # Metric readers may collect from several threads; this lock orders
        # the drain and the figures between them.  The GC callback never
        # takes it, so a collection that runs while it is held cannot wait.
        self._lock = threading.Lock()
        self._pid = monitor.pid
        self._cursor = 0  # the next record to drain
        self._lost = 0  # records that left the ring before a drain came
        self._figures: dict[str, Any] = {}
        # Which instruments have reported the current figures: the first one
        # to come back for more starts a new collection cycle (_current).
        self._reported: set[str] = set()
        self._prev_share = (0, 0)
        self._share = 0.0
        self._attrs = [{_GENERATION: g} for g in range(3)]

        provider = meter_provider if meter_provider is not None else get_meter_provider()
        meter = provider.get_meter("gc_monitor", __version__)
        bounds = [b / _NS for b in monitor.metrics()["bounds_ns"]]
        self.pause_duration = meter.create_histogram(
            "cpython.gc.pause.duration",
            unit="s",
            description="Garbage collection pauses, per generation.",
            explicit_bucket_boundaries_advisory=bounds,
        )
        counters = [
            ("cpython.gc.collections", "{collection}", "Garbage collections, per generation."),
            (
                "cpython.gc.collected_objects",
                "{object}",
                "Objects the collections freed, per generation.",
            ),
            (
                "cpython.gc.uncollectable_objects",
                "{object}",
                "Uncollectable objects the collections found, per generation.",
            ),
            ("cpython.gc.pause.time", "s", "Time spent in garbage collection pauses."),
            (
                "cpython.gc.collections_by_cause",
                "{collection}",
                "Garbage collections, per generation and cause.",
            ),
            (
                "cpython.gc.pause.missed",
                "{pause}",
                "Pauses counted in the counters that left the ring before a metric "
                "collection could put them in the histogram.",
            ),
        ]
        self.instruments: list[Asynchronous] = [
            meter.create_observable_counter(name, [self._callback(name)], unit, doc)
            for name, unit, doc in counters
        ]
        gauges = [
            ("cpython.gc.pause.max", "s", "The longest pause since monitoring began."),
            (
                "cpython.gc.pause.share",
                "1",
                "Share of wall time spent in garbage collection pauses since the "
                "previous metric collection.",
            ),
        ]
        self.instruments += [
            meter.create_observable_gauge(name, [self._callback(name)], unit, doc)
            for name, unit, doc in gauges
        ]

    def _callback(self, name: str) -> _Callback:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            with self._lock:
                return self._observe(name, self._current(name))

        return observe

    def _current(self, name: str) -> dict[str, Any]:
        """The figures of this collection cycle, read at its first callback.

        A metric reader's collection calls every instrument's callback once:
        an instrument that already reported the current figures is called
        again only by the next collection, which therefore refreshes them,
        whatever order the SDK calls the callbacks in.
        """
        if not self._figures or name in self._reported:
            self._refresh()
        self._reported.add(name)
        return self._figures

    def _refresh(self) -> None:
        monitor = self._monitor
        if monitor.pid != self._pid:
            # A fork child's monitor records into a new block, from record 0.
            self._pid, self._cursor = monitor.pid, 0
        # Drain first, then read the counters: every pause in the histogram
        # is then also in the counters, never the other way round.
        try:
            lost, self._cursor, pauses = monitor.pauses_since(self._cursor)
        except ValueError:
            # A child forked from C, where no at-fork hook ran, takes its new
            # block only now: its records are numbered from 0 again.
            lost, self._cursor, pauses = monitor.pauses_since(0)
        self._lost += lost
        record = self.pause_duration.record
        attrs = self._attrs
        for generation, duration_ns in pauses:
            record(duration_ns / _NS, attrs[generation])
        figures = monitor.metrics()
        gc_ns, wall_ns = figures["gc_ns"], figures["wall_ns"]
        prev_gc, prev_wall = self._prev_share
        self._share = (gc_ns - prev_gc) / (wall_ns - prev_wall) if wall_ns > prev_wall else 0.0
        self._prev_share = (gc_ns, wall_ns)
        self._figures = figures
        self._reported = set()

    def _observe(self, name: str, figures: dict[str, Any]) -> list[Observation]:
        gens = figures["generations"]
        attrs = self._attrs
        if name == "cpython.gc.pause.missed":
            return [Observation(self._lost)]
        if name == "cpython.gc.pause.share":
            return [Observation(self._share)]
        if name == "cpython.gc.collections_by_cause":
            return [
                Observation(n, {_GENERATION: g, _CAUSE: cause})
                for cause, counts in figures.get("causes", {}).items()
                for g, n in enumerate(counts)
            ]
        key, scale = {
            "cpython.gc.collections": ("count", 1.0),
            "cpython.gc.collected_objects": ("collected", 1.0),
            "cpython.gc.uncollectable_objects": ("uncollectable", 1.0),
            "cpython.gc.pause.time": ("total_ns", _NS),
            "cpython.gc.pause.max": ("max_ns", _NS),
        }[name]
        if scale == 1.0:
            return [Observation(fig[key], attrs[g]) for g, fig in enumerate(gens)]
        return [Observation(fig[key] / scale, attrs[g]) for g, fig in enumerate(gens)]
