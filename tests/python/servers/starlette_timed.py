"""A Starlette application wrapped by gc_monitor.asgi.GCTimingMiddleware, for
uvicorn: `/` answers at once, `/collect` runs a full collection first."""

import gc
import os

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gc_monitor.asgi import GCTimingMiddleware


async def index(request):
    return PlainTextResponse(f"pid {os.getpid()}\n")


async def collect(request):
    gc.collect()
    return PlainTextResponse(f"pid {os.getpid()}\n")


app = GCTimingMiddleware(Starlette(routes=[Route("/", index), Route("/collect", collect)]))
