"""`pygcprofiler report --format perfetto`: a Chrome trace-event file.

Runs the real launcher on real scripts with -o, then reports the capture as a
trace, and checks it against the trace-event format (the JSON object form:
{"traceEvents": [...]}, complete "X" events, "C" counters, "M" metadata)
with a checker of its own, and against the report: one "X" event per
collection and the same total pause time as `report --json`, from an exited
run and from one killed by SIGKILL.
"""

from __future__ import annotations

import json
import signal
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

from gcm_testing import captures, clean_env, launcher, summaries

HANG = 120.0

WORKLOAD = """\
import gc
keep = []
for i in range(3000):
    keep.append([[] for _ in range(4)])
    if i % 100 == 0:
        gc.collect(i // 100 % 3)
"""

PHASES = {"X", "C", "M"}
CAUSES = {"automatic", "explicit", "shutdown"}


def launch(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [launcher(), *map(str, args)],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=HANG,
        stdin=subprocess.DEVNULL,
    )


def check_trace(trace: Any) -> list[dict[str, Any]]:
    """The fields the trace-event format requires of each phase we write."""
    assert isinstance(trace, dict) and isinstance(trace["traceEvents"], list)
    events = trace["traceEvents"]
    for e in events:
        assert e["ph"] in PHASES, e
        assert isinstance(e["name"], str) and e["name"], e
        assert isinstance(e["pid"], int), e
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name", "process_sort_index"), e
            if e["name"] == "process_sort_index":
                assert isinstance(e["args"]["sort_index"], int), e
            else:
                assert isinstance(e["args"]["name"], str), e
            assert isinstance(e["tid"], int), e
        elif e["ph"] == "X":
            assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
            assert isinstance(e["dur"], (int, float)) and e["dur"] >= 0, e
            assert isinstance(e["tid"], int), e
            args = e["args"]
            assert args["generation"] in (0, 1, 2), e
            assert e["name"] == f"gen {args['generation']}", e
            assert isinstance(args["collected"], int) and isinstance(args["uncollectable"], int)
            assert args.get("cause", "automatic") in CAUSES, e
        else:
            assert isinstance(e["ts"], (int, float)), e
            (value,) = e["args"].values()
            assert isinstance(value, (int, float)), e
    return events


def trace_of(capture: Path, cwd: Path) -> tuple[str, list[dict[str, Any]]]:
    proc = launch("report", "--format", "perfetto", capture, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('{"traceEvents":[')
    return proc.stdout, check_trace(json.loads(proc.stdout))


def assert_matches_report(
    text: str, events: list[dict[str, Any]], capture: Path, cwd: Path
) -> None:
    proc = launch("report", "--json", "--stats-only", capture, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    (summary,) = summaries(proc.stdout).values()
    slices = [e for e in events if e["ph"] == "X"]
    assert len(slices) == summary["count"] > 0
    for g in range(3):
        assert sum(1 for e in slices if e["args"]["generation"] == g) == summary[f"gen{g}"]["count"]
    # Durations are exact nanoseconds: read them as decimals, not floats.
    exact = json.loads(text, parse_float=Decimal)
    total_us = sum(e["dur"] for e in exact["traceEvents"] if e["ph"] == "X")
    assert abs(float(total_us) / 1000 - summary["total_ms"]) <= 0.0005 + 1e-9
    assert [e["ts"] for e in slices] == sorted(e["ts"] for e in slices)
    # The counter of collections adds up to the collections.
    counts = [e["args"]["count"] for e in events if e["ph"] == "C" and e["name"] == "collections"]
    assert sum(counts) == summary["count"]
    names = {e["name"] for e in events if e["ph"] == "M"}
    assert names == {"process_name", "thread_name"}


def test_trace_of_an_exited_run(tmp_path: Path) -> None:
    (tmp_path / "work.py").write_text(WORKLOAD)
    proc = launch("run", "--stats-only", "-o", "run.gcm", "work.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text, events = trace_of(tmp_path / "run.gcm", tmp_path)
    assert_matches_report(text, events, tmp_path / "run.gcm", tmp_path)
    causes = {e["args"]["cause"] for e in events if e["ph"] == "X"}
    assert "explicit" in causes


def test_trace_after_sigkill(tmp_path: Path) -> None:
    source = WORKLOAD + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
    (tmp_path / "killed.py").write_text(source)
    proc = launch("run", "-o", "run.gcm", "killed.py", cwd=tmp_path)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    text, events = trace_of(tmp_path / "run.gcm", tmp_path)
    assert_matches_report(text, events, tmp_path / "run.gcm", tmp_path)


TREE = (
    WORKLOAD
    + """\
import subprocess, sys
if len(sys.argv) == 1:
    for _ in range(2):
        subprocess.run([sys.executable, __file__, "child"], check=True)
"""
)


def test_trace_of_a_tree_has_a_track_per_process(tmp_path: Path) -> None:
    (tmp_path / "tree.py").write_text(TREE)
    proc = launch("run", "--follow-children", "--stats-only", "-o", "cap", "tree.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    files = captures(tmp_path)
    assert len(files) == 3, files
    # The page of the tree comes with it when asked for, as for one capture.
    proc = launch("report", "--format", "perfetto", "--html-file", "t.html", *files, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '"processes":[' in (tmp_path / "t.html").read_text()
    assert proc.stdout.startswith('{"traceEvents":[')
    trace = json.loads(proc.stdout)
    exact = json.loads(proc.stdout, parse_float=Decimal)
    events = check_trace(trace)
    proc = launch("report", "--json", "--stats-only", *files, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    by_pid = summaries(proc.stdout)
    assert len(by_pid) == 3
    names = {
        e["pid"]: e["args"]["name"]
        for e in events
        if e["ph"] == "M" and e["name"] == "process_name"
    }
    assert set(names) == set(by_pid)
    order = [e["pid"] for e in events if e["ph"] == "M" and e["name"] == "process_sort_index"]
    assert len(order) == 3
    for pid, summary in by_pid.items():
        assert names[pid].startswith(f"python (pid {pid}, parent ")
        slices = [e for e in events if e["ph"] == "X" and e["pid"] == pid]
        assert len(slices) == summary["count"] > 0
        assert all(e["tid"] == pid for e in slices)
        total_us = sum(e["dur"] for e in exact["traceEvents"] if e["ph"] == "X" and e["pid"] == pid)
        assert abs(float(total_us) / 1000 - summary["total_ms"]) <= 0.0005 + 1e-9
        counts = [
            e["args"]["count"]
            for e in events
            if e["ph"] == "C" and e["name"] == "collections" and e["pid"] == pid
        ]
        assert sum(counts) == summary["count"]
    # One clock, parents first: the children's tracks start after their
    # parent's first collection, in the order they ran.
    first = [min(e["ts"] for e in events if e["ph"] == "X" and e["pid"] == pid) for pid in order]
    assert first == sorted(first)
    retained = sum(s["count"] for s in by_pid.values())
    assert trace["otherData"] == {"processes": 3, "retained": retained}
