"""Shared fixtures of the extension and API tests.

- gc_isolation (autouse): every test leaves the collector as it found it:
  thresholds, debug flags, gc.callbacks and gc.garbage.
- allocount: the test-only C helper (tests/python/helpers/gcm_allocount.c),
  compiled once per session with this interpreter's compiler and headers.
- run_python: runs a script in a fresh interpreter (for exit, fork, atexit).
- app_dir: a scratch copy of the web apps of tests/python/servers/.

Plain helpers that test files import (the launcher, started processes,
reports, servers) are in gcm_testing.py, not here.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest

HELPERS = Path(__file__).parent / "helpers"
APPS = Path(__file__).resolve().parent / "servers"


def pytest_configure(config: pytest.Config) -> None:
    """Gives the programs the tests start SIGINT's default disposition.

    A pytest started in the background by a non-interactive shell (`cmd &`)
    inherits SIGINT ignored, and so would every program it starts (exec keeps
    an ignored signal ignored): python would never raise KeyboardInterrupt,
    and the tests that send SIGINT would hang.  A handled signal becomes the
    default action across exec, so handling it here fixes the children; in
    pytest itself it is the usual KeyboardInterrupt.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def gc_isolation():
    thresholds = gc.get_threshold()
    debug = gc.get_debug()
    callbacks = list(gc.callbacks)
    garbage = list(gc.garbage)
    enabled = gc.isenabled()
    yield
    gc.callbacks[:] = callbacks
    gc.set_debug(debug)
    gc.set_threshold(*thresholds)
    gc.garbage[:] = garbage
    if enabled:
        gc.enable()
    else:
        gc.disable()


def _compile_helper(out_dir: Path) -> Path:
    cc = sysconfig.get_config_var("CC") or "cc"
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    include = sysconfig.get_paths()["include"]
    target = out_dir / f"gcm_allocount{suffix}"
    cmd = [
        *shlex.split(cc),
        "-shared",
        "-fPIC",
        "-O1",
        "-std=c11",
        f"-I{include}",
        str(HELPERS / "gcm_allocount.c"),
        "-o",
        str(target),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return target


@pytest.fixture(scope="session")
def allocount(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    path = _compile_helper(tmp_path_factory.mktemp("helpers"))
    spec = importlib.util.spec_from_file_location("gcm_allocount", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RunPython = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def run_python(tmp_path: Path) -> RunPython:
    """Runs `source` (dedented) as a script in a fresh interpreter."""

    def run(source: str, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        script = tmp_path / "script.py"
        script.write_text(textwrap.dedent(source))
        env = dict(os.environ)
        env.pop("PYGCPROFILER_CONFIG", None)
        env.update(kwargs.pop("env", {}))
        proc = subprocess.run(
            [sys.executable, str(script), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=str(tmp_path),
            **kwargs,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"script exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    return run


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """The apps of tests/python/servers/, copied into the test's own directory: the
    server runs there, and writes its reports and captures beside them."""
    for source in APPS.glob("*.py"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path
