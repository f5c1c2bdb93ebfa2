"""Importing any module of the package starts nothing.

A monitor starts only when something calls for it: the launcher's bootstrap
(gc_monitor._bootstrap.main), the start-up hook's line in
``pygcprofiler-follow-children.pth`` (gc_monitor._autostart._start), the
library (GCMonitor) or the pytest plugin's options.  An import alone must not,
even with the environment of a followed run present, since a program or a
tool (mypy, a test collector, pydoc) may import any module for its own
reasons.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_launcher import TIMEOUT, clean_env

import gc_monitor

SITE_DIR = Path(gc_monitor.__file__).resolve().parent.parent

# Runs with -S, so that site.py does not run the start-up hook before the
# imports: the environment is that of a followed run, and the hook would
# rightly start a monitor.  Each line of output describes what was running
# after one import; the last one comes from the hook's own line, run as site.py
# runs it, and shows that this environment does start a monitor when asked,
# and only one.
CHILD = r"""
import atexit, gc, importlib, json, os, pkgutil, signal, sys

# The plugin's own dependency registers an atexit hook of its own when
# imported: it is loaded before the baseline is taken.
import pytest

out_dir = sys.argv[1]
watched = (signal.SIGTERM, signal.SIGHUP)
env_before = {k: v for k, v in os.environ.items() if k.startswith("PYGCPROFILER")}
atexit_before = atexit._ncallbacks()


def state(name):
    return {
        "module": name,
        "pid": os.getpid(),
        "gc_callbacks": len(gc.callbacks),
        "atexit": atexit._ncallbacks() - atexit_before,
        "signals": [signal.getsignal(s) == signal.SIG_DFL for s in watched],
        "debug": gc.get_debug(),
        "threads": len(sys._current_frames()),
        "env_unchanged": env_before == {
            k: v for k, v in os.environ.items() if k.startswith("PYGCPROFILER")
        },
        "files": sorted(os.listdir(out_dir)),
    }


import gc_monitor

names = ["gc_monitor"] + sorted(
    "gc_monitor." + m.name for m in pkgutil.iter_modules(gc_monitor.__path__)
)
for name in names:
    importlib.import_module(name)
    print(json.dumps(state(name)), flush=True)

pth = os.path.join(os.path.dirname(os.path.dirname(gc_monitor.__file__)),
                   "pygcprofiler-follow-children.pth")
with open(pth) as f:
    line = f.read()
# Twice, as site.py runs it in a venv (venv() and addsitepackages()).
exec(line)
exec(line)
print(json.dumps(state("the .pth line")), flush=True)
"""


def test_importing_any_module_starts_nothing(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    config = ";".join(
        [
            f"log-file={out_dir / 'gc.log'}",
            f"output={out_dir / 'cap'}",
            "follow-children=1",
        ]
    )
    env = clean_env(
        PYGCPROFILER_CONFIG=config,
        PYGCPROFILER_FOLLOW=str(os.getpid()),
        PYTHONPATH=str(SITE_DIR),
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", CHILD, str(out_dir)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    states = [json.loads(line) for line in proc.stdout.splitlines()]
    *imports, hook = states
    pid = hook["pid"]
    nothing = {
        "pid": pid,
        "gc_callbacks": 0,
        "atexit": 0,
        "signals": [True, True],
        "debug": 0,
        "threads": 1,
        "env_unchanged": True,
        "files": [],
    }
    for s in imports:
        assert {k: v for k, v in s.items() if k != "module"} == nothing, s
    names = [s["module"] for s in imports]
    # Every module of the package, the extension and the hook's module among them.
    for expected in (
        "gc_monitor",
        "gc_monitor.__main__",
        "gc_monitor._autostart",
        "gc_monitor._bootstrap",
        "gc_monitor._core",
        "gc_monitor._exitpath",
        "gc_monitor._reporter",
        "gc_monitor._requests",
        "gc_monitor.asgi",
        "gc_monitor.monitor",
        "gc_monitor.pytest_plugin",
        "gc_monitor.wsgi",
    ):
        assert expected in names, names
    # The hook's line, run as site.py runs it, does start one: the
    # environment above is a working followed run's.
    assert hook["gc_callbacks"] == 1, hook
    assert hook["files"] == [f"cap.{pid}"], hook
    assert sorted(p.name for p in out_dir.iterdir()) == [f"cap.{pid}", f"gc.{pid}.log"]


def test_the_hook_line_spells_the_core_s_name():
    from gc_monitor import _core

    # The names users know (the launcher's help shows PYTHON_ENV), defined in
    # include/gc_monitor/envvars.h.
    assert (_core.CONFIG_ENV, _core.FOLLOW_ENV, _core.PYTHON_ENV) == (
        "PYGCPROFILER_CONFIG",
        "PYGCPROFILER_FOLLOW",
        "PYGCPROFILER_PYTHON",
    )
    # The .pth line is the one other spelling: it tests for the variable
    # without importing anything, so it cannot ask the core.
    (line,) = (SITE_DIR / "pygcprofiler-follow-children.pth").read_text().splitlines()
    assert f"{_core.FOLLOW_ENV!r} in os.environ" in line, line
