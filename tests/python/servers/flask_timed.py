"""A Flask application wrapped by gc_monitor.wsgi.GCTimingMiddleware, for
gunicorn: `/` answers at once, `/collect` runs a full collection first."""

import gc
import os

from flask import Flask

from gc_monitor.wsgi import GCTimingMiddleware

flask_app = Flask(__name__)


@flask_app.route("/")
def index():
    return f"pid {os.getpid()}\n"


@flask_app.route("/collect")
def collect():
    gc.collect()
    return f"pid {os.getpid()}\n"


app = GCTimingMiddleware(flask_app)
