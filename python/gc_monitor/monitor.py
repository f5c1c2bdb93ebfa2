"""GCMonitor: the library API, compatible with the original pygcprofiler's.

The work happens in C (gc_monitor._core): this module only turns keyword values
into the option strings the core's parser validates, appends the recorder's C
callable to gc.callbacks, and makes sure a report is written exactly once.
"""

from __future__ import annotations

import _thread
import atexit
import gc
import os
import sys

from gc_monitor import _core

# Importing typing, collections.abc or threading at run time would cost every
# monitored program several milliseconds of start-up, and importing threading
# early changes what programs such as gevent see; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType
    from typing import Any

__all__ = ["GCMonitor"]

_DUMP_GARBAGE_FLAGS = gc.DEBUG_SAVEALL | gc.DEBUG_UNCOLLECTABLE


def _option_text(value: object) -> str:
    """Spells one keyword value the way the core's parser reads it.

    A bool becomes "True"/"False", which the parser accepts for flags and
    refuses (naming the keyword) where a number is expected.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        return path if isinstance(path, str) else os.fsdecode(path)
    if isinstance(value, (list, tuple)):
        items: Iterable[object] = value
        return ",".join(_option_text(item) for item in items)
    raise TypeError(f"unsupported option value of type {type(value).__name__}: {value!r}")


def _encode_options(options: dict[str, Any]) -> dict[str, str]:
    # None means "the default", as it did for the original's log_file=None.
    return {name: _option_text(value) for name, value in options.items() if value is not None}


class GCMonitor:
    """Monitors every garbage collection of this process from construction on.

    Keywords are the original tool's (interval, json_output, stats_only,
    dump_objects, dump_garbage, log_file, alert_threshold_ms, flamegraph_file,
    flamegraph_bucket, duration_buckets, terminal_flamegraph,
    terminal_flamegraph_width, terminal_flamegraph_color, enable_prompt) plus
    buffer_events.  An unknown keyword raises TypeError, a bad value ValueError.
    """

    _recorder: _core.Recorder
    _final: dict[str, Any] | None
    _lock: _thread.LockType
    _added_debug: int

    def __init__(self, **options: Any) -> None:
        self._start(_core.Recorder(_encode_options(options)))

    @classmethod
    def _from_config_text(cls, text: str) -> GCMonitor:
        """Starts a monitor from PYGCPROFILER_CONFIG text (the launcher's bootstrap)."""
        self = cls.__new__(cls)
        self._start(_core.Recorder.from_config_text(text))
        return self

    @classmethod
    def _for_followed_child(cls, text: str) -> GCMonitor:
        """Starts the monitor of an interpreter --follow-children reached (_autostart)."""
        self = cls.__new__(cls)
        self._start(_core.Recorder.for_followed_child(text))
        return self

    def _start(self, recorder: _core.Recorder) -> None:
        self._recorder = recorder
        self._final = None
        self._lock = _thread.allocate_lock()
        self._added_debug = 0
        if recorder.dump_garbage:
            # The one change to the collector's behaviour, and only on request.
            # Remember which flags we added, to take back exactly those.
            debug = gc.get_debug()
            self._added_debug = _DUMP_GARBAGE_FLAGS & ~debug
            gc.set_debug(debug | _DUMP_GARBAGE_FLAGS)
        gc.callbacks.append(recorder.callback)
        atexit.register(self._at_exit)

    @property
    def config_text(self) -> str:
        """The configuration as PYGCPROFILER_CONFIG text, for child processes."""
        return self._recorder.config_text

    @property
    def _gc_callback(self) -> Callable[[str, dict[str, Any]], None]:
        """The C callable in gc.callbacks (the original tool's attribute name)."""
        return self._recorder.callback

    @property
    def pid(self) -> int:
        """The process whose collections this monitor currently records."""
        return self._recorder.pid

    def snapshot(self) -> dict[str, Any]:
        """Returns the figures of the JSON summary so far, without stopping."""
        final = self._final
        if final is not None:
            return dict(final)
        return self._recorder.snapshot()

    def stop_monitoring(self, write_report: bool = True) -> dict[str, Any]:
        """Stops monitoring, writes the report once, and returns the final snapshot.

        Calling it again returns the same snapshot and writes nothing.  It works
        even if the program already removed our callable from gc.callbacks, and
        never registers any callback again.
        """
        with self._lock:
            if self._final is not None:
                return dict(self._final)
            recorder = self._recorder
            recorder.stop()
            callback = recorder.callback
            try:
                gc.callbacks.remove(callback)
            except ValueError:
                pass
            atexit.unregister(self._at_exit)
            if self._added_debug:
                gc.set_debug(gc.get_debug() & ~self._added_debug)
                self._added_debug = 0
            final = recorder.snapshot()
            self._final = final
            if write_report:
                self._flush_python_streams()
                recorder.write_report()
        return dict(final)

    @staticmethod
    def _flush_python_streams() -> None:
        # The report goes to the file descriptor directly: whatever Python
        # still buffers for stderr must come out first.  A broken stream is
        # not the monitor's business.
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass

    def _at_exit(self) -> None:
        self.stop_monitoring()

    def __enter__(self) -> GCMonitor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_monitoring()

    def __repr__(self) -> str:
        state = "stopped" if self._final is not None else "running"
        return f"<GCMonitor pid={self.pid} {state}>"
