"""GCMonitor: the library API, compatible with the original pygcprofiler's.

The work happens in C (gc_monitor._core): this module only turns keyword values
into the option strings the core's parser validates, appends the recorder's C
callable to gc.callbacks, and walks the report's state machine (the C half in
Recorder.report_begin/report_end, signals held by _exitpath) so that the
report is written exactly once, whichever way in comes first.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys

from gc_monitor import _core, _exitpath

# Importing typing, collections.abc or threading at run time would cost every
# monitored program several milliseconds of start-up, and importing threading
# early changes what programs such as gevent see; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from types import TracebackType
    from typing import Any

__all__ = ["GCMonitor"]

_DUMP_GARBAGE_FLAGS = gc.DEBUG_SAVEALL | gc.DEBUG_UNCOLLECTABLE

# The monitor started last in this process, for GCMonitor.running(): the
# metrics collectors find the launcher's monitor through it.  The atexit hook
# holds every monitor anyway, so this reference keeps nothing alive longer.
_latest: GCMonitor | None = None

# What Recorder.report_begin() answers (src/ext/recorder.c): write the report
# now, this thread is already writing it (a signal handler or a finalizer
# interrupted it), or it is written.
_WRITE, _REENTERED, _DONE = 0, 1, 2


def _option_text(value: object) -> str:
    """Spells one keyword value the way the core's parser reads it.

    A bool becomes "True"/"False", which the parser accepts for flags and
    refuses (naming the keyword) where a number is expected.  A path may be
    str, bytes or os.PathLike: paths are bytes on Linux, so bytes become a
    str by os.fsdecode and the core encodes it back by os.fsencode, which
    gives any bytes back unchanged.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    if isinstance(value, (bytes, os.PathLike)):
        return os.fsdecode(value)
    if isinstance(value, (list, tuple)):
        items: Iterable[object] = value
        return ",".join(_option_text(item) for item in items)
    raise TypeError(f"unsupported option value of type {type(value).__name__}: {value!r}")


def _encode_options(options: dict[str, Any]) -> dict[str, str]:
    # None means "the default", as it did for the original's log_file=None.
    return {name: _option_text(value) for name, value in options.items() if value is not None}


# The keywords of the command line's options that GCMonitor takes under the
# original tool's name: the spelling the core's option table knows them by.
_ORIGINAL_NAMES = {"json": "json_output", "prompt": "enable_prompt"}

# Options of `pygcprofiler run` that have no meaning for a monitor started
# inside a running program, and what to use instead.
_LAUNCHER_ONLY = {
    "output": "record into a capture file with 'pygcprofiler run -o FILE'",
    "fail_on": (
        "check a budget with 'pygcprofiler run --fail-on RULE', or the pytest "
        "plugin's gc_budget marker"
    ),
    "follow_children": "monitor child interpreters with 'pygcprofiler run --follow-children'",
    "python": "the monitor runs in this interpreter; 'pygcprofiler run --python' picks another",
}


class GCMonitor:
    """Monitors every garbage collection of this process from construction on.

    Every option of ``pygcprofiler run`` that applies inside a program is a
    keyword here, spelled as the option with ``_`` for ``-`` (``--stats-only``
    is ``stats_only``); docs/api.md maps them all.  ``json_output`` and
    ``enable_prompt`` are the original tool's names of ``json`` and
    ``prompt``, and both spellings work.  A keyword left at None keeps the
    option's default.

    ``output``, ``fail_on``, ``follow_children`` and ``python`` belong to the
    launcher only: they are in the signature so that passing one raises a
    TypeError saying what to do instead.  A bad value raises ValueError
    naming the keyword; a value of an unsupported type, TypeError.
    """

    _recorder: _core.Recorder
    _final: dict[str, Any] | None
    _added_debug: int
    _after_report: Callable[[], None] | None
    _atexit_hook: Callable[[], None]

    def __init__(
        self,
        *,
        interval: float | None = None,
        json: bool | None = None,
        stats_only: bool | None = None,
        dump_objects: bool | None = None,
        dump_garbage: bool | None = None,
        log_file: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
        alert_threshold_ms: float | None = None,
        slo_ms: float | None = None,
        flamegraph_file: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
        html_file: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
        speedscope_file: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
        flamegraph_bucket: float | None = None,
        terminal_flamegraph: bool | None = None,
        terminal_flamegraph_width: int | None = None,
        terminal_flamegraph_color: bool | None = None,
        duration_buckets: Sequence[float] | None = None,
        prompt: bool | None = None,
        buffer_events: int | None = None,
        stacks: bool | None = None,
        stack_depth: int | None = None,
        stacks_file: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
        json_output: bool | None = None,
        enable_prompt: bool | None = None,
        output: None = None,
        fail_on: None = None,
        follow_children: None = None,
        python: None = None,
    ) -> None:
        given = dict(locals())
        del given["self"]
        for name, instead in _LAUNCHER_ONLY.items():
            if given.pop(name) is not None:
                raise TypeError(f"GCMonitor() takes no {name!r} (a launcher option): {instead}")
        for name, original in _ORIGINAL_NAMES.items():
            value = given.pop(name)
            if value is None:
                continue
            if given[original] is not None and given[original] != value:
                raise TypeError(
                    f"GCMonitor() got both {name!r} and {original!r}, its original name: give one"
                )
            given[original] = value
        self._start(_core.Recorder(_encode_options(given)))

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

    @staticmethod
    def running() -> GCMonitor | None:
        """Returns the monitor started last in this process, while it records.

        Under ``pygcprofiler run`` that is the launcher's monitor; None when
        no monitor was started or the last one has stopped.
        """
        latest = _latest
        if latest is None or latest._final is not None or latest._recorder.stopped:
            return None
        return latest

    def _start(self, recorder: _core.Recorder) -> None:
        global _latest
        self._recorder = recorder
        self._final = None
        self._added_debug = 0
        # The bootstrap hands its signals back here once the report is out.
        self._after_report = None
        if recorder.dump_garbage:
            # The one change to the collector's behaviour, and only on request.
            # Remember which flags we added, to take back exactly those.
            debug = gc.get_debug()
            self._added_debug = _DUMP_GARBAGE_FLAGS & ~debug
            gc.set_debug(debug | _DUMP_GARBAGE_FLAGS)
        # gc.collect through a C wrapper that marks the collections it
        # starts as explicit (src/ext/causes.c); it stays for good, calling
        # the original, since the program may keep a reference to it.
        _core.wrap_gc_collect()
        gc.callbacks.append(recorder.callback)
        # From here on, the report can say how many collections the callable
        # missed if the program takes it out of gc.callbacks.
        recorder.watch_gc_stats()
        # A C callable: what it raises shows no frame of ours (_at_exit).
        self._atexit_hook = _core.reraising(self._at_exit)
        atexit.register(self._atexit_hook)
        _latest = self

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

    def metrics(self) -> dict[str, Any]:
        """Returns the exact figures the metrics collectors export, without stopping.

        Counts, nanosecond totals and maxima, and the pause histogram's
        cumulative counts at the fixed bounds ``bounds_ns``, per generation
        (docs/metrics.md); one seqlock copy of the block, no lock.
        """
        return self._recorder.metrics()

    def pauses_since(self, record: int) -> tuple[int, int, list[tuple[int, int]]]:
        """Drains the retained pauses in order, from record number ``record`` on.

        Returns ``(lost, next, pauses)``: ``pauses`` are ``(generation,
        duration_ns)`` of the records from ``record`` on, oldest first;
        ``lost`` of those records had already left the ring (it keeps the
        newest ``buffer_events``); ``next`` is the record to drain from next
        time.  Records are numbered from 0 in each process (a fork child's
        start again).  No lock: the ring is copied as the report copies it.
        """
        return self._recorder.pauses_since(record)

    def stop_monitoring(self, write_report: bool = True) -> dict[str, Any]:
        """Stops monitoring, writes the report once, and returns the final snapshot.

        Calling it again returns the same snapshot and writes nothing.  It works
        even if the program already removed our callable from gc.callbacks, and
        never registers any callback again.  A signal that arrives while the
        report is being written takes effect once it is written: an exception
        its handler raises comes out of this call.
        """
        _turn, final, raised = self._stop(write_report)
        if raised is not None:
            # As if the signal had come just after this call returned.
            raise _exitpath.without_own_frames(raised)
        return final

    def _stop(
        self, write_report: bool = True, deliver: bool = True
    ) -> tuple[int, dict[str, Any], BaseException | None]:
        """The one way into the report, for every entry point.

        Returns what report_begin() answered, the final snapshot (a live one
        when this thread re-entered its own report before the snapshot was
        taken), and the exception a signal handler raised while the report was
        written, which the caller raises where python would have.  With
        `deliver` false, signals that arrive meanwhile are dropped (the caller
        dies by an earlier one).  Raises only when the recorder itself fails.
        """
        recorder = self._recorder
        # Signals are held before the report is claimed: a handler that runs
        # in between finds the report unclaimed and writes it itself.
        held = _exitpath.hold()
        failure: BaseException | None = None
        final = None
        try:
            turn = recorder.report_begin()
        except BaseException as exc:
            turn, failure = _DONE, exc
        if turn == _WRITE:
            try:
                if write_report:
                    self._flush_python_streams()
                final = self._finish(write_report)
            except BaseException as exc:  # kept: the state machine must reach its end
                failure = exc
            recorder.report_end()
        raised = _exitpath.release(held, deliver) if held is not None else None
        if turn != _WRITE and failure is None:
            final = self._final
            return turn, dict(final) if final is not None else recorder.snapshot(), raised
        after = self._after_report
        if after is not None:
            after()
        if failure is not None and raised is None:
            raise failure
        return _WRITE, dict(final) if final is not None else recorder.snapshot(), raised

    def _finish(self, write_report: bool) -> dict[str, Any]:
        """Stops the recorder, takes the final snapshot and writes the report."""
        recorder = self._recorder
        recorder.stop()
        try:
            gc.callbacks.remove(recorder.callback)
        except ValueError:
            pass
        atexit.unregister(self._atexit_hook)
        if self._added_debug:
            gc.set_debug(gc.get_debug() & ~self._added_debug)
            self._added_debug = 0
        final = recorder.snapshot()
        self._final = final
        if write_report:
            recorder.write_report()
        return final

    @staticmethod
    def _flush_python_streams() -> None:
        # The report goes to the file descriptor directly: whatever Python
        # still buffers for stderr must come out first.  A broken stream is
        # not the monitor's business.  Done after the signals are held and
        # before the report: a stream's flush() may run any code.
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:
                pass

    def _at_exit(self) -> BaseException | None:
        """The atexit hook's body (called through _atexit_hook, which raises
        what it returns): what a signal handler raised while the report was
        written, which python shows as it shows any from an atexit hook."""
        # Interpreter finalisation: what collects from here on is shutdown.
        _core.mark_shutdown()
        _turn, _final, raised = self._stop()
        return None if raised is None else _exitpath.without_own_frames(raised)

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
