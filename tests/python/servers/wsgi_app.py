"""A small WSGI application for the gunicorn test: answers with the worker's pid."""

import gc
import os


def app(environ, start_response):
    garbage = [[] for _ in range(1000)]
    for item in garbage:
        item.append(item)
    del garbage
    gc.collect()
    body = f"pid {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
