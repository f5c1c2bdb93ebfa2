"""What ``pygcprofiler attach`` and ``detach`` run inside the target.

The launcher writes a short script that imports this module and calls
``start`` or ``stop``; CPython 3.14's ``sys.remote_exec`` runs it in the
target at its next safe point, on the main thread.  Each call answers the
launcher in a result file it creates in the launcher's private directory
(0600, exclusively, never through a symlink), one line:

    ok PATH                     recording into (or stopped recording into) PATH
    refuse attached PATH        a monitor already records this process into PATH
    refuse detached             no monitor started by attach records this process
    refuse failed TEXT          the monitor could not start

An attached monitor writes no report, at detach or at exit: the target's own
output stays its own, and the capture is the report's source
(``pygcprofiler report PATH``).  Importing this module starts nothing.
"""

from __future__ import annotations

import atexit
import os

from gc_monitor import _core
from gc_monitor.monitor import GCMonitor

__all__ = ["start", "stop"]

# The monitor attach started in this process and the capture it writes.
_attached: GCMonitor | None = None
_capture = ""


def _answer(result: bytes, line: str) -> None:
    """Creates the result file with one line; the launcher waits for it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(result, flags, 0o600)
    try:
        os.write(fd, line.encode("utf-8", "surrogateescape") + b"\n")
    finally:
        os.close(fd)


def _at_exit() -> None:
    # The program ends while attached: recording stops, no report is written
    # (the capture then reads as gone, as a capture whose writer died does).
    monitor = _attached
    if monitor is not None:
        _core.mark_shutdown()
        monitor._stop(write_report=False)


def start(result: bytes, config_text: bytes, capture: bytes) -> None:
    """Starts recording this process into the capture the configuration names."""
    global _attached, _capture
    if _attached is not None:
        _answer(result, f"refuse attached {_capture}")
        return
    try:
        monitor = GCMonitor._from_config_text(config_text.decode("utf-8", "surrogateescape"))
    except Exception as exc:
        _answer(result, "refuse failed " + " ".join(f"{type(exc).__name__}: {exc}".split()))
        return
    # Its own atexit hook would write a report into the program's stderr.
    atexit.unregister(monitor._atexit_hook)
    atexit.register(_at_exit)
    _attached = monitor
    _capture = os.fsdecode(capture)
    _answer(result, f"ok {_capture}")


def stop(result: bytes) -> None:
    """Stops the attached monitor, takes its callable out of gc.callbacks and
    marks its capture detached; the program runs on untouched."""
    global _attached
    monitor = _attached
    if monitor is None:
        _answer(result, "refuse detached")
        return
    _attached = None
    atexit.unregister(_at_exit)
    monitor._stop(write_report=False)
    monitor._recorder.mark_detached()
    _answer(result, f"ok {_capture}")
