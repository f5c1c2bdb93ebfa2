"""Real servers' process trees: one merged report from `report FILE*`.

gunicorn forks its workers, so `-o FILE` alone gives each one a capture;
uvicorn --workers spawns new interpreters, and the django and werkzeug
reloaders re-execute python, so those need --follow-children.  The apps are
tests/python/servers/, served through gcm_testing's server helpers; waits
are bounded, everything listens on 127.0.0.1, and stragglers are killed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest
from gcm_testing import (
    ADDRESS,
    JSON,
    WAIT,
    Started,
    by_pid,
    captures,
    get_from_every_worker,
    kill_pid,
    launcher_path,
    pids_in,
    reloader_run,
    run,
    serve,
)

pytestmark = [
    pytest.mark.servers,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
]


def tree(directory):
    """The merged JSON report of every capture in `directory`: (tree, lines)."""
    files = captures(directory)
    proc = run([launcher_path(), "report", "--json", "--stats-only", *files], cwd=directory)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[-1]["type"] == "tree"
    return lines[-1], lines


def test_gunicorn_two_workers_sigterm_gives_a_tree_of_three(app_dir):
    pytest.importorskip("gunicorn")
    args = ["-m", "gunicorn", "--workers", "2", "--bind", "127.0.0.1:{port}", "wsgi_app:app"]
    prefix = [launcher_path(), "run", *JSON, "-o", str(app_dir / "cap")]
    started, bodies, status = serve(
        prefix, args, app_dir, "Booting worker with pid:", requests=4, workers=2
    )
    assert status == 0, started.stderr
    workers = {
        int(line.rsplit(" ", 1)[1])
        for line in started.stderr.splitlines()
        if "Booting worker with pid:" in line
    }
    assert len(workers) == 2, started.stderr
    assert pids_in(bodies) <= workers
    found, lines = tree(app_dir)
    procs = by_pid(found)
    assert set(procs) == {started.pid, *workers}
    assert found["processes"][0]["pid"] == started.pid
    assert sorted(found["processes"][0]["children"]) == sorted(workers)
    for pid in (started.pid, *workers):
        assert (procs[pid]["ended"], procs[pid]["exit_status"]) == ("exited", 0), procs[pid]
    # Each request collects once in the worker that served it.
    served = sum(procs[w]["collections"] for w in workers)
    assert served >= len(bodies)
    assert found["totals"]["collections"] == sum(p["collections"] for p in procs.values())
    assert [o["pid"] for o in lines if o["type"] == "summary"] == [
        p["pid"] for p in found["processes"]
    ]


def test_uvicorn_two_workers_followed(app_dir):
    pytest.importorskip("uvicorn")
    args = [
        "-m", "uvicorn", "asgi_app:app", "--host", "127.0.0.1", "--port", "{port}",
        "--workers", "2",
    ]  # fmt: skip
    # Port 0: the master binds a free port itself and logs it.
    started = Started(
        [launcher_path(), "run", *JSON, "--follow-children", "-o", str(app_dir / "cap")]
        + [a.format(port=0) for a in args],
        app_dir,
    )
    workers = set()
    try:
        # Both workers, not just the first, must be serving before the requests.
        deadline = time.monotonic() + WAIT
        while started.stderr.count("Application startup complete") < 2:
            assert time.monotonic() < deadline and started.proc.poll() is None, started.stderr
            started._pump(0.2)
        workers = {int(p) for p in re.findall(r"Started server process \[(\d+)\]", started.stderr)}
        found_port = ADDRESS.search(started.stderr)
        assert found_port is not None, started.stderr
        port = int(found_port.group(1))
        bodies = get_from_every_worker(port, 2, 4)
        os.kill(started.pid, signal.SIGTERM)
        started.finish()
        assert len(workers) == 2, started.stderr
        assert pids_in(bodies) == workers
        found, _ = tree(app_dir)
        procs = by_pid(found)
        assert found["processes"][0]["pid"] == started.pid
        for worker in workers:
            # A spawned interpreter, below the master, with its requests' collections.
            assert procs[worker]["ppid"] == started.pid
            assert "multiprocessing" in procs[worker]["command"]
            # A worker shuts down gracefully on SIGTERM, then re-raises it
            # with its default action back: reported, then killed, not gone.
            assert (procs[worker]["ended"], procs[worker]["signal"]) == ("killed", 15), procs[
                worker
            ]
        assert sum(procs[w]["collections"] for w in workers) >= len(bodies)
    finally:
        started.kill()
        for worker in workers:
            kill_pid(worker)


@pytest.mark.parametrize(
    "server", ["django", "flask"], ids=["django-autoreload", "flask-debug-reloader"]
)
def test_reloader_child_is_followed(app_dir, server):
    pytest.importorskip(server)
    if server == "django":
        args, ready, tag, stream = (
            ["django_app.py", "runserver", "127.0.0.1:{port}"],
            "Quit the server with",
            "django",
            "out",
        )
    else:
        args, ready, tag, stream = (["flask_app.py", "{port}"], "serving ", "serving", "err")
    prefix = [launcher_path(), "run", *JSON, "--follow-children", "-o", str(app_dir / "cap")]
    started, bodies, _, child = reloader_run(prefix, args, app_dir, ready, tag, stream)
    assert pids_in(bodies) == {child} != {started.pid}
    found, _ = tree(app_dir)
    procs = by_pid(found)
    assert found["processes"][0]["pid"] == started.pid
    # The re-executed python that served is in the tree, with its own pid and
    # the requests' collections, below the reloader we started.
    assert procs[child]["ppid"] == started.pid
    assert procs[child]["collections"] >= len(bodies)
    assert Path(app_dir / f"cap.{child}").exists()
