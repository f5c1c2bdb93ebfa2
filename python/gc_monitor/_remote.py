"""The outside reader of ``pygcprofiler live PID`` and ``watch PID``.

The launcher runs this file with the watched program's own interpreter
(``python -I -S _remote.py PID POLL_MS``), never inside the program: CPython
3.15's ``_remote_debugging.GCMonitor`` reads the program's garbage-collector
statistics from its memory, and nothing runs in the program.  This module only
reads and writes: every poll, the entries of the interpreter's ring of recent
collections that are newer than those already written go to stdout as lines
of integers, and ``src/cli/remote.c`` computes every figure from them (counts,
totals, the pauses, the collections missed between two polls).

It is run by path with ``-I -S``, so it imports nothing of ``gc_monitor`` and
nothing outside the standard library, and it must parse on the older
interpreters it refuses, so that they can say their version.  Importing it
starts nothing.

The lines (docs/live.md, "Processes not started under pygcprofiler"):

    hello MAJOR MINOR MICRO             the interpreter, once, first
    refuse KIND TEXT                    instead of hello, then exit 2
    c GEN N START STOP COLLECTED UNCOLLECTABLE CANDIDATES DURATION_NS HEAP
                                        one entry of the ring: collection number
                                        N of generation GEN, its start and stop
                                        (CLOCK_MONOTONIC ns), and the running
                                        totals after it
    p                                   the end of one poll
    end                                 the program is gone
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO

# The kinds of refusal the launcher turns into its one-line errors.
REFUSE_VERSION = "version"
REFUSE_MODULE = "module"
REFUSE_PERMISSION = "permission"
REFUSE_MISMATCH = "mismatch"
REFUSE_GONE = "gone"
REFUSE_OTHER = "other"

# Reads failing for this long while the process lives end the watch with an
# error: an ending interpreter fails them only for its last moments.
_FAILING_S = 5.0


def _emit(out: TextIO, line: str) -> bool:
    """Writes one line; returns False once the launcher has gone away."""
    try:
        out.write(line + "\n")
        out.flush()
    except (BrokenPipeError, OSError):
        return False
    return True


def _alive(pid: int) -> bool:
    """Whether ``pid`` still names a process (a zombie counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[-1].split()
    except OSError:
        return False
    return bool(fields) and fields[0] not in (b"Z", b"X")


def _refusal(exc: BaseException, pid: int) -> str:
    """The kind of refusal a first failed read means."""
    if not _alive(pid):
        return REFUSE_GONE
    if isinstance(exc, PermissionError):
        return REFUSE_PERMISSION
    text = str(exc).lower()
    if "permission" in text or "not permitted" in text:
        return REFUSE_PERMISSION
    if "version" in text or "offset" in text or "layout" in text:
        return REFUSE_MISMATCH
    return REFUSE_OTHER


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def main(argv: Sequence[str], out: TextIO) -> int:
    """Polls ``argv[0]`` every ``argv[1]`` ms until it ends or stdout closes."""
    pid = int(argv[0])
    poll_s = max(int(argv[1]), 1) / 1000.0
    if sys.version_info < (3, 15):
        v = sys.version_info
        _emit(out, f"refuse {REFUSE_VERSION} {v[0]}.{v[1]}.{v[2]}")
        return 2
    try:
        import _remote_debugging  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        _emit(out, f"refuse {REFUSE_MODULE} {_one_line(str(exc))}")
        return 2
    try:
        monitor = _remote_debugging.GCMonitor(pid)
        entries = monitor.get_gc_stats()
    except Exception as exc:  # noqa: BLE001 - every failure is one refusal line
        _emit(out, f"refuse {_refusal(exc, pid)} {_one_line(str(exc))}")
        return 2
    v = sys.version_info
    if not _emit(out, f"hello {v[0]} {v[1]} {v[2]}"):
        return 0
    # The newest collection number written, per generation: the ring is
    # written again only from there on.
    written: dict[int, int] = {}
    while True:
        lines: list[str] = []
        for e in sorted(entries, key=lambda e: (e.ts_start, e.gen)):
            if e.collections <= written.get(e.gen, 0):
                continue
            written[e.gen] = e.collections
            lines.append(
                f"c {e.gen} {e.collections} {e.ts_start} {e.ts_stop} {e.collected}"
                f" {e.uncollectable} {e.candidates} {round(e.duration * 1e9)} {e.heap_size}"
            )
        lines.append("p")
        if not _emit(out, "\n".join(lines)):
            return 0
        time.sleep(poll_s)
        failing_since = 0.0
        while True:
            try:
                entries = monitor.get_gc_stats()
                break
            except Exception as exc:  # noqa: BLE001 - a program that ends ends the watch
                # An interpreter in finalization no longer has the state the
                # reader looks for, for the moments before the process goes.
                if not _alive(pid):
                    _emit(out, "end")
                    return 0
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > _FAILING_S:
                    _emit(out, f"fail {_one_line(str(exc))}")
                    return 1
                time.sleep(0.01)

if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:], sys.stdout))
    except KeyboardInterrupt:
        sys.exit(0)
    finally:
        # The launcher closing the pipe must not print a traceback at exit.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
