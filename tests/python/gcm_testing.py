"""Helpers shared by the test files: the installed launcher, started processes, reports.

Test files import what they need from here (``from gcm_testing import ...``);
no test file imports another.  pytest puts tests/python on sys.path for the
test files there (they are not a package), which is what makes this module
importable under tests/run.sh, plain pytest and CI alike.  Fixtures and
pytest hooks live in conftest.py instead, where pytest finds them by itself.

- The launcher: launcher_path(), launcher(), clean_env(), run(),
  assert_bad_input(), TARGETS, TIMEOUT, FREE_THREADED.
- Started processes: Started, kill_pid(), write_script(), WAIT.
- Reports: summaries() (JSON summaries by pid), report() (`pygcprofiler
  report`), captures() and by_pid() (process trees), tagged(), JSON.
- Real servers on 127.0.0.1: serve(), reloader_run(), get(),
  get_from_every_worker(), pids_in(), ADDRESS.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# ---------------------------------------------------------------------------
# The installed launcher

SCRIPTS_DIR = Path(sysconfig.get_path("scripts"))
TARGETS = Path(__file__).resolve().parent / "targets"
# A bound on the hang of one launcher run, not a speed claim.
TIMEOUT = 120
# Whether the GIL is off in this interpreter (a free-threaded build running without it).
FREE_THREADED = bool(getattr(sys, "_is_gil_enabled", lambda: True)() is False)
# The options of a run whose reports are only JSON summaries, which summaries() reads.
JSON = ("--json", "--stats-only")


def launcher_path() -> Path:
    """The launcher installed with this interpreter's package; fails the test without it.

    Never a `pygcprofiler` found on PATH: that may be another install, of
    another version, and the tests would silently test it instead.
    """
    path = SCRIPTS_DIR / "pygcprofiler"
    if not os.access(path, os.X_OK):
        pytest.fail(f"the launcher is not installed at {path}: run 'pip install .' first")
    return path


def launcher() -> str:
    """launcher_path() as a string, for argument lists and shell commands."""
    return str(launcher_path())


# Settings that would change where the target's modules come from or what
# the interpreter does at start-up; the rest (PYTHONMALLOC and LD_PRELOAD of a
# sanitizer run, say) passes through to both runs alike.
UNSET = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSAFEPATH",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONEXECUTABLE",
    "PYTHONUSERBASE",
)


def clean_env(**extra):
    """The caller's environment minus anything that changes how python starts."""
    env = {
        k: v for k, v in os.environ.items() if k not in UNSET and not k.startswith("PYGCPROFILER")
    }
    env.update(extra)
    return env


def tool_env():
    """The environment for a system tool a test runs (ps, pgrep, man,
    chromium): the caller's, minus a sanitizer runtime preloaded into pytest,
    which is no part of what is tested there (procps' pgrep never gets past
    its start with libasan preloaded: it waits on a futex; chromium hangs)."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def run(args, cwd, env=None, stdin=""):
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env() if env is None else env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def assert_bad_input(proc, *fragments):
    """One 'error: ...' line quoting its subject, the hint, exit 2."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    assert "'" in lines[0], proc.stderr
    assert lines[1] == "try 'pygcprofiler --help'", proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], proc.stderr
    assert proc.stdout == ""


# ---------------------------------------------------------------------------
# Started processes

# A bound on hangs, not a speed claim: generous enough for a server to boot
# on a 2-core machine running several CI jobs at once.
WAIT = 60.0


class Started:
    """A started process whose stdout and stderr are read without blocking."""

    def __init__(self, args, cwd, env=None, stdin=subprocess.DEVNULL, **kwargs):
        self.proc = subprocess.Popen(
            [str(a) for a in args],
            cwd=str(cwd),
            env=clean_env() if env is None else env,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **kwargs,
        )
        self.out = b""
        self.err = b""

    @property
    def pid(self):
        return self.proc.pid

    def _pump(self, timeout):
        streams = [s for s in (self.proc.stdout, self.proc.stderr) if s is not None]
        if not streams:
            time.sleep(timeout)
            return
        ready, _, _ = select.select(streams, [], [], timeout)
        for stream in ready:
            chunk = os.read(stream.fileno(), 65536)
            if stream is self.proc.stdout:
                self.out += chunk
            else:
                self.err += chunk

    def wait_for(self, text, stream="out", timeout=WAIT, count=1):
        """Reads until `text` appears `count` times in stdout (or stderr); fails
        after `timeout`."""
        deadline = time.monotonic() + timeout
        needle = text.encode()
        while (self.out if stream == "out" else self.err).count(needle) < count:
            if self.proc.poll() is not None:
                self._pump(0.1)
                if (self.out if stream == "out" else self.err).count(needle) >= count:
                    break
                raise AssertionError(
                    f"exited {self.proc.returncode} before {text!r}:\n"
                    f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {text!r} within {timeout}s:\n"
                    f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
                )
            self._pump(0.2)

    def finish(self, timeout=WAIT):
        """Waits for the exit (killing it after `timeout`) and returns the status."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(
                f"did not exit within {timeout}s:\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
            ) from None
        self.out += out or b""
        self.err += err or b""
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.communicate(timeout=WAIT)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            pass

    @property
    def stdout(self):
        return self.out.decode(errors="replace")

    @property
    def stderr(self):
        return self.err.decode(errors="replace")


def kill_pid(pid):
    """Kills a straggler (a server's child) that may already be gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def write_script(tmp_path, source, name="target.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


# ---------------------------------------------------------------------------
# Reports


def summaries(text):
    """The JSON summary objects in `text`, by pid."""
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('{"type":"summary"'):
            obj = json.loads(line)
            assert obj["pid"] not in found, f"two summaries for pid {obj['pid']}:\n{text}"
            found[obj["pid"]] = obj
    return found


def report(capture: Path, *options: str) -> subprocess.CompletedProcess:
    """`pygcprofiler report OPTIONS CAPTURE`, whatever its status."""
    return subprocess.run(
        [str(launcher_path()), "report", *options, str(capture)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=clean_env(),
    )


def captures(directory, name="cap"):
    """The capture `name` in `directory` and its processes' `name`.<pid> files, sorted."""
    return sorted(str(p) for p in Path(directory).iterdir() if p.name.split(".")[0] == name)


def by_pid(tree):
    """The processes of a merged report's {"type": "tree"} object, by pid."""
    return {p["pid"]: p for p in tree["processes"]}


def tagged(stdout, tag):
    """The integers printed on the line starting with `tag`."""
    for line in stdout.splitlines():
        if line.startswith(tag + " "):
            return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no {tag!r} line in {stdout!r}")


# ---------------------------------------------------------------------------
# Real servers, serving the apps of tests/python/servers/ on 127.0.0.1

# The address a server logs once it listens ("Uvicorn running on", gunicorn's
# "Listening at:", werkzeug's "Running on", Django's "Starting development
# server at").
ADDRESS = re.compile(r"http://127\.0\.0\.1:(\d+)")
# Django's runserver cannot take port 0: a port another process took between
# free_port() and its bind is retried with a fresh one, this many times.
PORT_ATTEMPTS = 5
PORT_TAKEN = "That port is already in use"


def free_port():
    """A port free right now; only for a server that cannot bind port 0 itself."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(prefix, args, cwd, ready, stream="err", workers=1, group=False):
    """Starts a server, waits for `ready` once per worker, and returns (Started, port).

    Servers that accept port 0 (uvicorn, gunicorn, werkzeug) bind a free port
    themselves and log it, so no other process can take it first: the port
    is read from that line.  Django logs the port it was given, so it gets a
    free one, and a fresh one again (a bounded number of times) when another
    process took it before Django could bind it.  The server leads a
    process group of its own: signals may go to the whole group, and
    kill_group() leaves no worker or reloader child behind.
    """
    django = "runserver" in args
    for attempt in range(PORT_ATTEMPTS):
        port = free_port() if django else 0
        started = Started(
            [*prefix, *[a.format(port=port) for a in args]], cwd, start_new_session=True
        )
        try:
            started.wait_for(ready, stream=stream, count=workers)
        except AssertionError as err:
            kill_group(started)
            if not django or PORT_TAKEN not in str(err) or attempt == PORT_ATTEMPTS - 1:
                raise
            continue
        found = ADDRESS.search(started.stderr + started.stdout)
        if found is None:
            kill_group(started)
            raise AssertionError(f"no listening address logged:\n{started.stderr}")
        return started, int(found.group(1))
    raise AssertionError("unreachable")


def kill_group(started):
    """Kills what is left of a server's process group, the server last."""
    try:
        os.killpg(started.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    started.kill()


def get(port, timeout=WAIT):
    """GETs / until the server answers (bounded); returns the body."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                return response.read().decode()
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def get_from_every_worker(port, workers, requests, timeout=WAIT):
    """Makes at least `requests` requests, and more until `workers` different
    processes have answered (bounded): a worker that has served a request has
    finished booting and installed its signal handlers."""
    deadline = time.monotonic() + timeout
    bodies = [get(port) for _ in range(requests)]
    while len(pids_in(bodies)) < workers:
        if time.monotonic() > deadline:
            raise AssertionError(f"only {pids_in(bodies)} answered of {workers} workers")
        bodies.append(get(port))
    return bodies


def pids_in(bodies):
    """The pids of the processes that served `bodies` (each app answers "pid <pid>")."""
    return {int(body.split()[1]) for body in bodies}


def send_stop(started, stop, group=False, twice=False):
    """Sends `stop` to the server, or to its whole process group; `twice`
    sends it again at once, as an impatient supervisor does.

    Back to back, not after a pause: where a second signal lands in a
    server's shutdown (its handler, or the default action once python is
    finalising) depends on how far the shutdown got, so after a pause plain
    python itself ends one way or the other with the load of the machine.
    """
    for _ in range(2 if twice else 1):
        try:
            if group:
                os.killpg(started.pid, stop)
            else:
                os.kill(started.pid, stop)
        except ProcessLookupError:  # the first one already ended it
            break


def serve(
    prefix,
    args,
    cwd,
    ready,
    requests=3,
    stop=signal.SIGTERM,
    stream="err",
    workers=1,
    group=False,
    twice=False,
):
    """Starts a server, waits for `ready` on its stderr from every worker and
    for an answer from each, makes `requests` requests, sends `stop`, and
    returns (Started, bodies, status)."""
    started, port = start_server(prefix, args, cwd, ready, stream, workers, group)
    try:
        bodies = get_from_every_worker(port, workers, requests)
        send_stop(started, stop, group, twice)
        status = started.finish()
    finally:
        kill_group(started)
    return started, bodies, status


def reloader_run(prefix, args, cwd, ready, tag, stream="err"):
    """Like serve(), for a server whose reloader re-executes the program: the
    child that serves prints '<tag> <pid>' (the reloader may print one too),
    and is killed if it outlives us."""
    started, port = start_server(prefix, args, cwd, ready, stream)
    child = None
    try:
        bodies = [get(port) for _ in range(2)]
        child = next(iter(pids_in(bodies)))
        started.wait_for(f"{tag} {child}\n", stream="err")
        os.kill(started.pid, signal.SIGTERM)
        status = started.finish()
    finally:
        kill_group(started)
        if child is not None:
            kill_pid(child)
    return started, bodies, status, child


# Where the CI's extra interpreters are built (../shared/tools/extra-pythons.sh).
XPY_BIN = Path("/var/cache/pygcprofiler/xpy/bin")


def python315():
    """A CPython 3.15+ to run plain programs with, or None.

    This interpreter when it is one, else python3.15 of the CI's extra
    interpreters, else python3.15 on PATH.  Programs run with it are never
    started under pygcprofiler: `live PID` and `watch` read them from outside.
    """
    if sys.version_info >= (3, 15):
        return Path(sys.executable)
    for candidate in (XPY_BIN / "python3.15", shutil.which("python3.15")):
        if candidate is not None and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None
