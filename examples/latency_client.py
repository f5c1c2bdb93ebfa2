"""Sends requests to examples/latency_app.py and prints their latency percentiles.

    python examples/latency_client.py [--port 8000] [--requests 3000]
"""

from __future__ import annotations

import argparse
import http.client
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    times = []
    for i in range(args.requests):
        start = time.perf_counter()
        # A new connection per request, as HTTPServer speaks HTTP/1.0.
        conn = http.client.HTTPConnection("127.0.0.1", args.port)
        conn.request("GET", f"/item/{i}")
        conn.getresponse().read()
        conn.close()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()

    def pct(p: float) -> float:
        return times[min(len(times) - 1, int(p / 100 * len(times)))]

    print(
        f"{len(times)} requests: p50 {pct(50):.2f} ms, p99 {pct(99):.2f} ms, "
        f"p99.9 {pct(99.9):.2f} ms, max {times[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
