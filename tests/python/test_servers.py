"""Real servers from PyPI under `pygcprofiler run`, on 127.0.0.1, stopped by signals.

Each test serves a small app from tests/python/servers/ (copied to a scratch
directory) under plain python and under the launcher, makes a few requests,
sends the signal a supervisor would, and compares how the two ended: the
launcher must not change the server's exit status or its own shutdown log,
and adds the reports.  Waits are bounded and stragglers are killed.

The servers are not needed by the rest of the suite: these tests skip when
one is not installed (tests/requirements-servers.txt), and carry the
`servers` marker so that CI can run them on a subset of interpreters.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_launcher import launcher_path
from test_signals import WAIT, Started, kill_pid, summaries

pytestmark = [
    pytest.mark.servers,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
]

APPS = Path(__file__).resolve().parent / "servers"
JSON = ("--json", "--stats-only")


@pytest.fixture
def app_dir(tmp_path):
    for source in APPS.glob("*.py"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


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


def start(prefix, args, cwd, ready, stream="err", workers=1, group=False):
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
    started, port = start(prefix, args, cwd, ready, stream, workers, group)
    try:
        bodies = get_from_every_worker(port, workers, requests)
        send_stop(started, stop, group, twice)
        status = started.finish()
    finally:
        kill_group(started)
    return started, bodies, status


def both(args, cwd, ready, **kwargs):
    """serve() under plain python, then under the launcher."""
    plain = serve([sys.executable], args, cwd, ready, **kwargs)
    under = serve([launcher_path(), "run", *JSON], args, cwd, ready, **kwargs)
    return plain, under


def pids_in(bodies):
    return {int(body.split()[1]) for body in bodies}


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_uvicorn_stopped(app_dir, stop):
    pytest.importorskip("uvicorn")
    args = ["-m", "uvicorn", "asgi_app:app", "--host", "127.0.0.1", "--port", "{port}"]
    (plain, _, plain_status), (under, bodies, status) = both(
        args, app_dir, "Uvicorn running on", stop=stop
    )
    assert status == plain_status, (plain.stderr, under.stderr)
    assert "Finished server process" in plain.stderr
    assert "Finished server process" in under.stderr
    assert pids_in(bodies) == {under.pid}
    found = summaries(under.stderr)
    assert set(found) == {under.pid}
    assert found[under.pid]["gen2"]["count"] >= 3


GUNICORN = ["-m", "gunicorn", "--workers", "2", "--bind", "127.0.0.1:{port}", "wsgi_app:app"]


def gunicorn_pair(app_dir, **kwargs):
    """gunicorn with two workers under plain python, then under the launcher
    with a --log-file; returns (plain status, Started, bodies, status, workers)."""
    log = app_dir / "gc.log"
    ready = "Booting worker with pid:"
    plain = serve([sys.executable], GUNICORN, app_dir, ready, requests=4, workers=2, **kwargs)
    started, bodies, status = serve(
        [launcher_path(), "run", *JSON, "--log-file", str(log)],
        GUNICORN,
        app_dir,
        ready,
        requests=4,
        workers=2,
        **kwargs,
    )
    assert status == plain[2], (plain[0].stderr, started.stderr)
    workers = {
        int(line.rsplit(" ", 1)[1])
        for line in started.stderr.splitlines()
        if "Booting worker with pid:" in line
    }
    assert len(workers) == 2, started.stderr
    assert pids_in(bodies) == workers
    return started, workers


def test_gunicorn_two_workers_sigterm(app_dir):
    pytest.importorskip("gunicorn")
    started, workers = gunicorn_pair(app_dir)
    assert "Shutting down: Master" in started.stderr
    # The master appends to gc.log; each worker writes gc.<pid>.log.
    assert set(summaries((app_dir / "gc.log").read_text())) == {started.pid}
    for worker in workers:
        path = app_dir / f"gc.{worker}.log"
        assert path.stat().st_mode & 0o777 == 0o600
        assert set(summaries(path.read_text())) == {worker}


@pytest.mark.parametrize("group", [False, True], ids=["master", "group"])
@pytest.mark.parametrize(
    "stop, twice",
    [(signal.SIGTERM, True), (signal.SIGQUIT, False), (signal.SIGINT, False)],
    ids=["TERM-twice", "QUIT", "INT"],
)
def test_gunicorn_stopped(app_dir, stop, twice, group):
    """What a supervisor sends, to the master or to the whole group: every
    process ends as under python and writes exactly one report."""
    pytest.importorskip("gunicorn")
    started, workers = gunicorn_pair(app_dir, stop=stop, twice=twice, group=group)
    assert set(summaries((app_dir / "gc.log").read_text())) == {started.pid}
    for worker in workers:
        assert set(summaries((app_dir / f"gc.{worker}.log").read_text())) == {worker}


@pytest.mark.parametrize("group", [False, True], ids=["master", "group"])
@pytest.mark.parametrize(
    "stop, twice",
    [(signal.SIGTERM, True), (signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["TERM-twice", "INT-twice", "TERM"],
)
def test_uvicorn_stopped_by_a_supervisor(app_dir, stop, twice, group):
    pytest.importorskip("uvicorn")
    args = ["-m", "uvicorn", "asgi_app:app", "--host", "127.0.0.1", "--port", "{port}"]
    (plain, _, plain_status), (under, bodies, status) = both(
        args, app_dir, "Uvicorn running on", stop=stop, twice=twice, group=group
    )
    assert status == plain_status, (plain.stderr, under.stderr)
    assert pids_in(bodies) == {under.pid}
    assert set(summaries(under.stderr)) == {under.pid}


def test_flask_dev_server_sigterm(app_dir):
    pytest.importorskip("flask")
    args = ["-m", "flask", "--app", "flask_app", "run", "--port", "{port}"]
    (plain, _, plain_status), (under, bodies, status) = both(args, app_dir, "Running on")
    assert status == plain_status, (plain.stderr, under.stderr)
    assert pids_in(bodies) == {under.pid}
    assert set(summaries(under.stderr)) == {under.pid}


def reloader_run(prefix, args, cwd, ready, tag, stream="err"):
    """Like serve(), for a server whose reloader re-executes the program: the
    child that serves prints '<tag> <pid>' (the reloader may print one too),
    and is killed if it outlives us."""
    started, port = start(prefix, args, cwd, ready, stream)
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


def test_flask_debug_reloader_child_is_not_monitored(app_dir):
    # app.run(debug=True): werkzeug's reloader re-executes sys.orig_argv, a
    # plain python that the launcher did not start, so the child that serves
    # is not reported (README, web frameworks) until --follow-children.
    pytest.importorskip("flask")
    args = ["flask_app.py", "{port}"]
    plain = reloader_run([sys.executable], args, app_dir, "serving ", "serving")
    under = reloader_run([launcher_path(), "run", *JSON], args, app_dir, "serving ", "serving")
    started, bodies, status, child = under
    assert status == plain[2], (plain[0].stderr, started.stderr)
    assert pids_in(bodies) == {child} != {started.pid}
    assert set(summaries(started.stderr)) == {started.pid}


def test_django_runserver_noreload(app_dir):
    pytest.importorskip("django")
    args = ["django_app.py", "runserver", "--noreload", "127.0.0.1:{port}"]
    (plain, _, plain_status), (under, bodies, status) = both(
        args, app_dir, "Quit the server with", stream="out"
    )
    assert status == plain_status, (plain.stderr, under.stderr)
    assert pids_in(bodies) == {under.pid}
    assert set(summaries(under.stderr)) == {under.pid}


def test_django_autoreloader_child_is_not_monitored(app_dir):
    pytest.importorskip("django")
    args = ["django_app.py", "runserver", "127.0.0.1:{port}"]
    ready = "Quit the server with"
    plain = reloader_run([sys.executable], args, app_dir, ready, "django", stream="out")
    under = reloader_run([launcher_path(), "run", *JSON], args, app_dir, ready, "django", "out")
    started, bodies, status, _ = under
    assert status == plain[2], (plain[0].stderr, started.stderr)
    # The reloader is our process; the one that serves is a plain re-executed python.
    assert started.pid not in pids_in(bodies)
    assert set(summaries(started.stderr)) == {started.pid}
