"""The cost of gc_monitor.asgi / gc_monitor.wsgi per request, in-process.

    .venv/bin/python benchmarks/middleware.py --rounds 15 --requests 20000

Calls a trivial WSGI app and a trivial ASGI app directly (no server, no
socket: the middleware's own work is all that differs), bare and wrapped in
GCTimingMiddleware, under a running GCMonitor, in interleaved rounds so the
noise of a shared machine hits both alike, and prints the median, min and
max of the extra nanoseconds per request.  Also prints the cost of the two
_core calls alone.  Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
from typing import Any

from gc_monitor import GCMonitor, _core
from gc_monitor.asgi import GCTimingMiddleware as ASGITiming
from gc_monitor.wsgi import GCTimingMiddleware as WSGITiming


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def wsgi_round(app: Any, n: int) -> float:
    environ: dict[str, Any] = {"PATH_INFO": "/"}

    def start_response(status: str, headers: Any, *exc: Any) -> Any:
        return None

    t0 = time.perf_counter_ns()
    for _ in range(n):
        body = app(environ, start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.perf_counter_ns() - t0) / n


def asgi_round(app: Any, n: int) -> float:
    scope = {"type": "http"}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        return None

    async def loop() -> float:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            await app(scope, receive, send)
        return (time.perf_counter_ns() - t0) / n

    return asyncio.run(loop())


def core_round(n: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        start = _core.request_clock()
        assert start is not None
        _core.request_done(start)
    return (time.perf_counter_ns() - t0) / n


def summary(label: str, extra: list[float]) -> None:
    print(
        f"  {label:<34} median {statistics.median(extra):7.0f} ns"
        f"   min {min(extra):7.0f}   max {max(extra):7.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()

    monitor = GCMonitor(stats_only=True)
    wsgi_extra: list[float] = []
    asgi_extra: list[float] = []
    core: list[float] = []
    bare_w = bare_a = 0.0
    for r in range(args.rounds):
        # Alternate which variant runs first, so neither always runs warm.
        pairs = [(wsgi_app, WSGITiming(wsgi_app)), (asgi_app, ASGITiming(asgi_app))]
        if r % 2:
            w_timed = wsgi_round(pairs[0][1], args.requests)
            bare_w = wsgi_round(pairs[0][0], args.requests)
            a_timed = asgi_round(pairs[1][1], args.requests)
            bare_a = asgi_round(pairs[1][0], args.requests)
        else:
            bare_w = wsgi_round(pairs[0][0], args.requests)
            w_timed = wsgi_round(pairs[0][1], args.requests)
            bare_a = asgi_round(pairs[1][0], args.requests)
            a_timed = asgi_round(pairs[1][1], args.requests)
        wsgi_extra.append(w_timed - bare_w)
        asgi_extra.append(a_timed - bare_a)
        core.append(core_round(args.requests))
    final = monitor.stop_monitoring(write_report=False)
    print("pygcprofiler: the request middlewares' cost per request")
    print(
        f"   machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
        f"{args.rounds} rounds of {args.requests} requests; "
        f"{final['count']} collections, {final['requests']['count']} requests counted"
    )
    print(f"   bare app (last round): wsgi {bare_w:.0f} ns, asgi {bare_a:.0f} ns per request")
    summary("wsgi GCTimingMiddleware, extra", wsgi_extra)
    summary("asgi GCTimingMiddleware, extra", asgi_extra)
    summary("request_clock + request_done", core)
    gc.collect()


if __name__ == "__main__":
    main()
