"""What the ASGI and WSGI middlewares share: the Server-Timing value and the
one warning about a missing monitor.  The figures themselves are read and
kept in C (``_core.request_clock`` and ``request_done``, src/ext/requests.c).
"""

from __future__ import annotations

import warnings

from gc_monitor import _core

__all__ = ["NO_MONITOR", "server_timing", "warn_no_monitor"]

NO_MONITOR = (
    "gc_monitor: no monitor records in this process, so the request passes through "
    "without a Server-Timing header and is not counted; run the server under "
    "`pygcprofiler run` or start a GCMonitor first"
)


def server_timing(start: tuple[int, int]) -> str:
    """The Server-Timing value for the GC time since `start`, in milliseconds."""
    # Three decimals: microseconds, finer than any pause the clock resolves.
    return f"gc;dur={_core.request_gc_ns(start) / 1e6:.3f}"


def warn_no_monitor() -> None:
    """Says once per middleware that requests pass through uncounted."""
    # stacklevel 3: the line of the server that called the middleware.
    warnings.warn(NO_MONITOR, RuntimeWarning, stacklevel=3)
