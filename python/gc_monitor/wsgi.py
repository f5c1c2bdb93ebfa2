"""WSGI middleware: the GC time of each request, from the running monitor.

``GCTimingMiddleware(app)`` wraps any WSGI application (Flask, Django's WSGI
handler, ...).  For each request it reads the monitor's running totals when
the request arrives and when the server closes the response
(``_core.request_clock``, a few loads of the block: no lock, no work in the
GC callback), and

- adds ``Server-Timing: gc;dur=<ms>`` to the headers the application passes
  to ``start_response`` (the GC time so far);
- adds the request to the block's request figures: the per-request GC time
  histogram and the requests that overlapped a full collection, which
  ``gc_monitor.prometheus.GCCollector`` exports and the report shows.

With threads (``gunicorn --threads``), a pause stops every thread of the
worker, and each request in flight counts it: the figure is the GC time
while the request was in flight.

Without a running monitor (no ``pygcprofiler run``, no ``GCMonitor``, or
after its report was written) a request passes through unchanged, without
the header and uncounted, and the middleware warns once (RuntimeWarning).
The response is wrapped to learn when it ends, so a server's
``wsgi.file_wrapper`` fast path is not taken.  Importing this module starts
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from gc_monitor import _core
from gc_monitor._requests import server_timing, warn_no_monitor

__all__ = ["GCTimingMiddleware"]

StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Response:
    """The application's response, which records the request when closed."""

    def __init__(self, body: Iterable[bytes], start: tuple[int, int]) -> None:
        self._body = body
        self._start: tuple[int, int] | None = start

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        start, self._start = self._start, None
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            # Once: a server that closes twice counts the request once.
            if start is not None:
                _core.request_done(start)


class GCTimingMiddleware:
    """Server-Timing ``gc`` and per-request GC figures for a WSGI app."""

    def __init__(self, app: WSGIApp) -> None:
        if not callable(app):
            raise TypeError(f"GCTimingMiddleware() needs a WSGI application, not {app!r}")
        self.app = app
        self._warned = False

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start = _core.request_clock()
        if start is None:
            if not self._warned:
                self._warned = True
                warn_no_monitor()
            return self.app(environ, start_response)

        def start_timed(
            status: str, headers: list[tuple[str, str]], *exc_info: Any
        ) -> Callable[[bytes], object]:
            timed = [*headers, ("Server-Timing", server_timing(start))]
            return start_response(status, timed, *exc_info)

        try:
            body = self.app(environ, start_timed)
        except BaseException:
            _core.request_done(start)
            raise
        return _Response(body, start)
