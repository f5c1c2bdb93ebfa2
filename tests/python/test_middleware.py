"""gc_monitor.asgi and gc_monitor.wsgi: the GC time of each request.

Real servers from PyPI on 127.0.0.1 serve the apps of tests/python/servers/
wrapped by the middlewares, under `pygcprofiler run`: every response carries
`Server-Timing: gc;dur=<ms>`, a request that runs gc.collect() shows at
least the pause the report gives for that collection, and the report's
"requests" figures (exit report and capture) count the requests sent.  The
Prometheus figures are checked in a program that serves itself, and a wrong
use (no monitor) in one that calls the middlewares directly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from gcm_testing import (
    WAIT,
    Started,
    clean_env,
    kill_group,
    launcher_path,
    report,
    start_server,
    write_script,
)

# The real servers carry the `servers` marker (tests/requirements-servers.txt),
# as in test_servers.py; the other tests need no server.
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

TIMING = re.compile(r"gc;dur=(\d+\.\d{3})")


def fetch(port, path):
    """GETs `path`; returns (the pid that answered, the Server-Timing values)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=WAIT) as response:
        body = response.read().decode()
        timings = response.headers.get_all("Server-Timing") or []
    return int(body.split()[1]), timings


def gc_ms(timings):
    """The one `gc` Server-Timing value of a response, in ms."""
    assert len(timings) == 1, timings
    found = TIMING.fullmatch(timings[0])
    assert found is not None, timings
    return float(found.group(1))


def json_lines(text):
    """Every JSON object on a line of `text` (servers log other lines too)."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def summary_of(objects, pid):
    (found,) = [o for o in objects if o.get("type") == "summary" and o["pid"] == pid]
    return found


@pytest.mark.servers
@needs_fork
def test_uvicorn_starlette(app_dir):
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    args = ["-m", "uvicorn", "starlette_timed:app", "--host", "127.0.0.1", "--port", "{port}"]
    started, port = start_server(
        [launcher_path(), "run", "--json", "-o", "cap"], args, app_dir, "Uvicorn running on"
    )
    try:
        plain = [fetch(port, "/") for _ in range(5)]
        pid, timings = fetch(port, "/collect")
        os.kill(started.pid, signal.SIGTERM)
        started.finish()
    finally:
        kill_group(started)
    # How the server ends under the launcher is test_servers.py's matter.
    assert {p for p, _ in plain} == {pid} == {started.pid}
    for _, t in plain:
        gc_ms(t)
    collect_ms = gc_ms(timings)
    objects = json_lines(started.stderr)
    # The app's one gc.collect(): the only explicit collection of the run.
    (pause,) = [o for o in objects if o.get("type") == "event" and o["cause"] == "explicit"]
    assert pause["generation"] == 2
    assert collect_ms >= pause["duration_ms"] > 0
    requests = summary_of(objects, pid)["requests"]
    assert requests["count"] == 6
    assert requests["full_collection"] >= 1
    assert requests["with_gc"] >= 1
    assert requests["gc_max_ms"] >= pause["duration_ms"]
    # The same figures reach the capture file.
    done = report(app_dir / "cap", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert summary_of(json_lines(done.stdout), pid)["requests"] == requests
    text = report(app_dir / "cap").stdout
    assert "Requests (gc_monitor.asgi / gc_monitor.wsgi): 6, " in text
    # And `pygcprofiler export` serves them from the capture.
    samples = scrape_export(app_dir, "cap")
    (count,) = samples["pygcprofiler_request_gc_seconds_count"]
    assert count.value == 6 and count.labels["pid"] == str(pid)
    (total,) = samples["pygcprofiler_request_gc_seconds_sum"]
    assert abs(total.value * 1000 - requests["gc_total_ms"]) < 0.001
    (full,) = samples["pygcprofiler_requests_full_collection_total"]
    assert full.value == requests["full_collection"]


def scrape_export(cwd, *captures):
    """One scrape of `pygcprofiler export` over `captures`: its samples by name."""
    from prometheus_client.parser import text_string_to_metric_families

    exporter = Started([launcher_path(), "export", "--prometheus", "127.0.0.1:0", *captures], cwd)
    try:
        exporter.wait_for("/metrics\n", stream="err")
        url = exporter.stderr.splitlines()[0].split("serving ", 1)[1]
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            text = response.read().decode()
    finally:
        exporter.kill()
    samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            samples.setdefault(s.name, []).append(s)
    return samples


@pytest.mark.servers
@needs_fork
def test_gunicorn_flask_two_workers(app_dir):
    pytest.importorskip("gunicorn")
    pytest.importorskip("flask")
    args = ["-m", "gunicorn", "--workers", "2", "--bind", "127.0.0.1:{port}", "flask_timed:app"]
    log = app_dir / "gc.log"
    started, port = start_server(
        [launcher_path(), "run", "--json", "--stats-only", "-o", "cap", "--log-file", str(log)],
        args,
        app_dir,
        "Booting worker with pid:",
        workers=2,
    )
    sent = {}
    collects = {}
    try:
        for path in ["/", "/collect"] * 4:
            pid, timings = fetch(port, path)
            ms = gc_ms(timings)
            sent[pid] = sent.get(pid, 0) + 1
            if path == "/collect":
                collects.setdefault(pid, []).append(ms)
        os.kill(started.pid, signal.SIGTERM)
        started.finish()
    finally:
        kill_group(started)
    assert sum(sent.values()) == 8
    for pid, count in sent.items():
        summary = summary_of(json_lines((app_dir / f"gc.{pid}.log").read_text()), pid)
        requests = summary["requests"]
        assert requests["count"] == count
        # Every gc.collect() is a full collection inside its request.
        assert requests["full_collection"] >= len(collects.get(pid, []))
        assert summary["gen2"]["count"] >= len(collects.get(pid, []))
        for ms in collects.get(pid, []):
            assert ms > 0
            assert requests["gc_max_ms"] >= ms
        done = report(app_dir / f"cap.{pid}", "--format", "json")
        assert done.returncode == 0, done.stderr
        assert summary_of(json_lines(done.stdout), pid)["requests"] == requests
    # The master served nothing: its report has no request section.
    assert "requests" not in summary_of(json_lines(log.read_text()), started.pid)


PROMETHEUS = """
import gc, json, threading, urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server
from prometheus_client import CollectorRegistry, generate_latest
from gc_monitor import GCMonitor
from gc_monitor.prometheus import GCCollector
from gc_monitor.wsgi import GCTimingMiddleware

def app(environ, start_response):
    if environ["PATH_INFO"] == "/collect":
        gc.collect()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

monitor = GCMonitor(stats_only=True)
registry = CollectorRegistry()
GCCollector(monitor, registry=registry)
server = make_server("127.0.0.1", 0, GCTimingMiddleware(app), handler_class=Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
timings = []
for path in ["/", "/collect", "/", "/collect", "/collect"]:
    url = f"http://127.0.0.1:{server.server_port}{path}"
    with urllib.request.urlopen(url, timeout=30) as r:
        r.read()
        timings.append(r.headers["Server-Timing"])
server.shutdown()
text = generate_latest(registry).decode()
final = monitor.stop_monitoring(write_report=False)
print(json.dumps({"text": text, "final": final, "timings": timings}))
"""


def test_prometheus_request_metrics(tmp_path):
    pytest.importorskip("prometheus_client")
    from prometheus_client.parser import text_string_to_metric_families

    script = write_script(tmp_path, PROMETHEUS)
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    assert all(TIMING.fullmatch(t) for t in out["timings"]), out["timings"]
    samples = {}
    for fam in text_string_to_metric_families(out["text"]):
        for s in fam.samples:
            samples.setdefault(s.name, []).append(s)
    requests = out["final"]["requests"]
    assert requests["count"] == 5
    (count,) = samples["pygcprofiler_request_gc_seconds_count"]
    assert count.value == 5
    (total,) = samples["pygcprofiler_request_gc_seconds_sum"]
    assert abs(total.value * 1000 - requests["gc_total_ms"]) < 0.001
    (full,) = samples["pygcprofiler_requests_full_collection_total"]
    assert full.value == requests["full_collection"] >= 3
    buckets = samples["pygcprofiler_request_gc_seconds_bucket"]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 5
    # At least the two requests that ran no collection are in the first bucket.
    assert buckets[0].value >= 2
    assert count.labels["pid"] == str(out["final"]["pid"])


NO_MONITOR = """
import asyncio, json, warnings
from gc_monitor import GCMonitor
from gc_monitor.asgi import GCTimingMiddleware as ASGITiming
from gc_monitor.wsgi import GCTimingMiddleware as WSGITiming

def wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

async def asgi_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"a", b"b")]})
    await send({"type": "http.response.body", "body": b"ok"})

def wsgi_call(app):
    got = []
    body = app({"PATH_INFO": "/"}, lambda status, headers, *exc: got.append(headers))
    data = b"".join(body)
    getattr(body, "close", lambda: None)()
    return data.decode(), got[0]

def asgi_call(app):
    sent = []
    async def receive():
        return {"type": "http.request", "body": b""}
    async def send(message):
        sent.append(message)
    asyncio.run(app({"type": "http"}, receive, send))
    return [[[k.decode(), v.decode()] for k, v in m.get("headers", [])] for m in sent]

out = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    w, a = WSGITiming(wsgi_app), ASGITiming(asgi_app)
    out["wsgi"] = [wsgi_call(w) for _ in range(3)]
    out["asgi"] = [asgi_call(a) for _ in range(3)]
out["warnings"] = [str(c.message) for c in caught if c.category is RuntimeWarning]
# The monitor stops while a request is in flight: the request passes, uncounted.
monitor = GCMonitor(stats_only=True)
w = WSGITiming(wsgi_app)
got = []
body = w({"PATH_INFO": "/"}, lambda status, headers, *exc: got.append(headers))
monitor.stop_monitoring(write_report=False)
body.close()
out["late"] = got[0]
out["final"] = monitor.snapshot()
try:
    WSGITiming(None)
except TypeError as err:
    out["type_error"] = str(err)
print(json.dumps(out))
"""


def test_without_a_monitor_requests_pass_through(tmp_path):
    script = write_script(tmp_path, NO_MONITOR)
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["wsgi"] == [["ok", [["Content-Type", "text/plain"]]]] * 3
    # The response start's headers unchanged, the body's none.
    assert out["asgi"] == [[[["a", "b"]], []]] * 3
    # One warning per middleware, however many requests.
    assert len(out["warnings"]) == 2, out["warnings"]
    assert all("no monitor records in this process" in w for w in out["warnings"])
    assert TIMING.fullmatch(dict(out["late"])["Server-Timing"])
    assert "requests" not in out["final"]
    assert "needs a WSGI application" in out["type_error"]


CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"


@pytest.mark.parametrize(
    "name, version, count",
    [("exited.gcm", 1, None), ("exited-v2.gcm", 2, None), ("exited-v3.gcm", 3, 20)],
)
def test_captures_of_every_layout_read(name, version, count, tmp_path):
    """Captures written before the request figures report without them; the
    seed a version 3 writer recorded (twenty WSGI requests) reports them."""
    copy = tmp_path / name
    copy.write_bytes((CORPUS / name).read_bytes())
    done = report(copy, "--format", "json")
    assert done.returncode == 0, done.stderr
    objects = json_lines(done.stdout)
    assert objects[0]["layout_version"] == version
    (summary,) = [o for o in objects if o.get("type") == "summary"]
    text = report(copy).stdout
    if count is None:
        assert "requests" not in summary
        assert "Requests (" not in text
    else:
        assert summary["requests"]["count"] == count
        assert f"Requests (gc_monitor.asgi / gc_monitor.wsgi): {count}, " in text
