"""ASGI middleware: the GC time of each request, from the running monitor.

``GCTimingMiddleware(app)`` wraps any ASGI 3 application (Starlette,
FastAPI, Django's ASGI handler, ...).  For each HTTP request it reads the
monitor's running totals when the request arrives and when the application
returns (``_core.request_clock``, a few loads of the block: no lock, no work
in the GC callback), and

- adds ``Server-Timing: gc;dur=<ms>`` to the response when it starts
  (the GC time so far: a browser's developer tools show it);
- adds the request to the block's request figures: the per-request GC time
  histogram and the requests that overlapped a full collection, which
  ``gc_monitor.prometheus.GCCollector`` exports and the report shows.

In an async server the requests of one worker overlap, and a pause stops
all of them: each request in flight counts it.  The figure is the GC time
while the request was in flight, not GC work the request caused.

Without a running monitor (no ``pygcprofiler run``, no ``GCMonitor``, or
after its report was written) a request passes through unchanged, without
the header and uncounted, and the middleware warns once (RuntimeWarning).
Lifespan and WebSocket scopes always pass through.  Importing this module
starts nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from gc_monitor import _core
from gc_monitor._requests import server_timing, warn_no_monitor

__all__ = ["GCTimingMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class GCTimingMiddleware:
    """Server-Timing ``gc`` and per-request GC figures for an ASGI app."""

    def __init__(self, app: ASGIApp) -> None:
        if not callable(app):
            raise TypeError(f"GCTimingMiddleware() needs an ASGI application, not {app!r}")
        self.app = app
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        start = _core.request_clock()
        if start is None:
            if not self._warned:
                self._warned = True
                warn_no_monitor()
            await self.app(scope, receive, send)
            return

        async def send_timed(message: Message) -> None:
            if message.get("type") == "http.response.start":
                value = server_timing(start).encode("ascii")
                headers = [*message.get("headers", ()), (b"server-timing", value)]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            _core.request_done(start)
