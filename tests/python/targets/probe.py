"""Prints what a program can see of how it was started, as one JSON line.

The launcher tests run this file (and copies of it as a package module, a
directory's and a zip's __main__, and -c code) both directly with python and
under pygcprofiler, and compare the two lines.
"""

import json
import os
import pickle
import sys

import __main__


class Payload:
    """Defined in the main module: pickling it needs __main__ to be this module."""

    def __init__(self, value):
        self.value = value


def square(x):
    return x * x


def describe():
    spec = getattr(__main__, "__spec__", None)
    try:
        pickled = pickle.loads(pickle.dumps(Payload(42))).value
    except Exception as exc:
        pickled = f"{type(exc).__name__}: {exc}"
    spawned = None
    if "--spawn" in sys.argv:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(1) as pool:
            spawned = pool.apply(square, (7,))
    return {
        "argv": sys.argv,
        "orig_argv": getattr(sys, "orig_argv", None),
        "path0": sys.path[0],
        "spec": None if spec is None else [spec.name, spec.origin, spec.parent],
        "file": getattr(__main__, "__file__", None),
        "cached": vars(__main__).get("__cached__", "<missing>"),
        "loader": type(getattr(__main__, "__loader__", None)).__name__,
        "name": __name__,
        "package": __package__,
        "main_is_us": sys.modules["__main__"].__dict__ is globals(),
        "main_names": sorted(vars(__main__)),
        "pickled": pickled,
        "spawned": spawned,
        "stdin": sys.stdin.read() if "--stdin" in sys.argv else None,
        "pid": os.getpid(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "config_env": os.environ.get("PYGCPROFILER_CONFIG"),
        "fds": sorted(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None,
    }


if __name__ == "__main__":
    print("PROBE " + json.dumps(describe()), flush=True)
