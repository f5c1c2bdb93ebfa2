"""A small ASGI application for the uvicorn test: each request makes cyclic garbage."""

import gc
import os


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    garbage = [[] for _ in range(1000)]
    for item in garbage:
        item.append(item)
    del garbage
    gc.collect()
    body = f"pid {os.getpid()}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
