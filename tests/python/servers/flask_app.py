"""A small Flask application: `flask --app flask_app run`, or run as a script
(`flask_app.py PORT`) for app.run(debug=True) with the werkzeug reloader."""

import gc
import os
import sys

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    gc.collect()
    return f"pid {os.getpid()}\n"


if __name__ == "__main__":
    # The reloader's parent only watches; the child it re-executes serves.
    role = "serving" if os.environ.get("WERKZEUG_RUN_MAIN") == "true" else "reloader"
    print(role, os.getpid(), file=sys.stderr, flush=True)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), debug=True)
