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
import signal
import sys

import pytest
from gcm_testing import JSON, launcher_path, pids_in, reloader_run, serve, summaries

pytestmark = [
    pytest.mark.servers,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
]


def both(args, cwd, ready, **kwargs):
    """serve() under plain python, then under the launcher."""
    plain = serve([sys.executable], args, cwd, ready, **kwargs)
    under = serve([launcher_path(), "run", *JSON], args, cwd, ready, **kwargs)
    return plain, under


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
