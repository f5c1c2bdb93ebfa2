"""Whether a running process could import ``gc_monitor``, asked from outside.

``pygcprofiler attach PID`` must refuse a process that cannot import
``gc_monitor`` before it asks anything of that process.  The launcher runs
this file by path with the process's own interpreter, its ``argv[0]``, its
environment, its working directory and the interpreter flags that decide
``sys.path`` (``-I -E -s -S -P``): that interpreter then computes the
``sys.path`` the process computed when it started (its venv, PYTHONPATH,
user site), and ``argv[1]`` is the directory the process's script put first
on it (empty when there is none).  It answers in one line:

    ok                          gc_monitor._attach imports here
    skip                        not a question here: before 3.14, or remote
                                debugging disabled (_inject.py refuses those)
    refuse module TEXT          the import failed: TEXT is the exception

It must parse on older interpreters, so that they can say "skip" and leave
the version refusal to ``_inject.py``.  Importing it starts nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str]) -> int:
    """Tries the import the attached process would try; prints the answer."""
    # Run by path, this file's directory (the package's own) came first on
    # sys.path: take it off, and put the process's script directory there.
    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    if sys.path and os.path.realpath(sys.path[0] or os.curdir) == here:
        del sys.path[0]
    if len(argv) > 1 and argv[1]:
        sys.path.insert(0, argv[1])
    enabled = getattr(sys, "is_remote_debug_enabled", None)
    if sys.version_info < (3, 14) or enabled is None or not enabled():
        print("skip", flush=True)
        return 0
    try:
        import gc_monitor._attach  # noqa: F401
    except Exception as exc:
        text = " ".join(f"{type(exc).__name__}: {exc}".split())
        print(f"refuse module {text}", flush=True)
        return 0
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
