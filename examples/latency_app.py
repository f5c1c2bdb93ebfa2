"""A small web app with a garbage-collection latency spike, for docs/tutorial.md.

It keeps a large in-memory catalogue (long-lived container objects), remembers
the last sessions (objects that live a while, then die old), and builds a
little tree with parent links for every request, which is garbage with
reference cycles once the response is sent.  The cycles make the collector
run, the sessions make full collections come, and each full collection walks
the whole catalogue: every so often a request waits for it.  `--freeze` moves
the catalogue out of the collector's way with gc.freeze() once it is loaded,
and `--quiet-load` keeps the collector off while it loads: the two fixes the
tutorial's reports lead to.

    python examples/latency_app.py [--port 8000] [--items 300000] [--freeze] [--quiet-load]
"""

from __future__ import annotations

import argparse
import gc
import json
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, HTTPServer


class Node:
    """One node of a request's tree; its parent link makes a reference cycle."""

    def __init__(self, parent: Node | None, value: int) -> None:
        self.parent = parent
        self.children: list[Node] = []
        self.value = value


def load_catalogue(items: int) -> dict[int, dict[str, object]]:
    # Every entry is a dict holding a list: containers the collector tracks.
    return {i: {"name": f"item {i}", "tags": [i % 7, i % 11]} for i in range(items)}


SESSIONS_KEPT = 2000


def handle(
    catalogue: dict[int, dict[str, object]], sessions: OrderedDict[int, object], item: int
) -> bytes:
    sessions[item] = {"item": item, "cart": [{"sku": item + k} for k in range(40)]}
    while len(sessions) > SESSIONS_KEPT:
        sessions.popitem(last=False)
    root = Node(None, item)
    for i in range(200):
        child = Node(root, i)
        root.children.append(child)
    entry = catalogue.get(item % len(catalogue), {})
    return json.dumps({"item": item, "name": entry.get("name"), "nodes": 201}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--items", type=int, default=300_000)
    parser.add_argument(
        "--freeze", action="store_true", help="gc.freeze() the catalogue once loaded"
    )
    parser.add_argument("--quiet-load", action="store_true", help="no collections while it loads")
    args = parser.parse_args()
    if args.quiet_load:
        # Loading only adds objects that stay: collections then free nothing.
        gc.disable()
    catalogue = load_catalogue(args.items)
    sessions: OrderedDict[int, object] = OrderedDict()
    if args.freeze:
        # Objects that live as long as the process need not be scanned by every
        # full collection: move them to the permanent generation.
        gc.freeze()
    gc.enable()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            item = int(self.path.rsplit("/", 1)[-1] or 0) if self.path.startswith("/item/") else 0
            body = handle(catalogue, sessions, item)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per request would drown the report

    server = HTTPServer(("127.0.0.1", args.port), Handler)
    print(f"serving {args.items} items on http://127.0.0.1:{args.port}/item/N", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
