"""Speedscope profiles: `run --speedscope-file` and `report --format speedscope`.

Runs the real launcher on real scripts, and checks each file against a JSON
schema written here from speedscope's documented file format (its
file-format-spec: a File of shared frames and a list of evented or sampled
profiles), with the `jsonschema` package, and then against the report: one
open and one close event per collection, per generation as many as the
report counts, and the same total pause time, to the nanosecond; with
--stacks, sample weights that add up to the same total.  From an exited run,
a run killed by SIGKILL, and a merged tree of three processes.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gcm_testing import captures, clean_env, launcher, summaries

HANG = 120.0

# --stacks reads CPython's frames without allocating, up to 3.13 (test_stacks.py).
needs_stacks = pytest.mark.skipif(
    sys.version_info >= (3, 16), reason="--stacks is refused on this version"
)

WORKLOAD = """\
import gc

def churn(n):
    keep = []
    for i in range(n):
        keep.append([[] for _ in range(4)])
        if i % 100 == 0:
            gc.collect(i // 100 % 3)
    return keep

churn(3000)
"""

# Two children, each monitored under --follow-children: three processes.
TREE = (
    WORKLOAD
    + """\
import subprocess, sys
if len(sys.argv) == 1:
    for _ in range(2):
        subprocess.run([sys.executable, __file__, "child"], check=True)
"""
)

FRAME = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "file": {"type": "string"},
        "line": {"type": "number"},
        "col": {"type": "number"},
    },
}
UNIT = {"enum": ["none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"]}
EVENT = {
    "type": "object",
    "required": ["type", "at", "frame"],
    "properties": {
        "type": {"enum": ["O", "C"]},
        "at": {"type": "number"},
        "frame": {"type": "integer", "minimum": 0},
    },
}
EVENTED = {
    "type": "object",
    "required": ["type", "name", "unit", "startValue", "endValue", "events"],
    "properties": {
        "type": {"const": "evented"},
        "name": {"type": "string"},
        "unit": UNIT,
        "startValue": {"type": "number"},
        "endValue": {"type": "number"},
        "events": {"type": "array", "items": EVENT},
    },
}
SAMPLED = {
    "type": "object",
    "required": ["type", "name", "unit", "startValue", "endValue", "samples", "weights"],
    "properties": {
        "type": {"const": "sampled"},
        "name": {"type": "string"},
        "unit": UNIT,
        "startValue": {"type": "number"},
        "endValue": {"type": "number"},
        "samples": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        },
        "weights": {"type": "array", "items": {"type": "number"}},
    },
}
# The speedscope file format (speedscope's src/lib/file-format-spec.ts),
# written here as a JSON schema.
SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["$schema", "shared", "profiles"],
    "properties": {
        "$schema": {"const": "https://www.speedscope.app/file-format-schema.json"},
        "shared": {
            "type": "object",
            "required": ["frames"],
            "properties": {"frames": {"type": "array", "items": FRAME}},
        },
        "profiles": {"type": "array", "items": {"oneOf": [EVENTED, SAMPLED]}},
        "name": {"type": "string"},
        "activeProfileIndex": {"type": "number"},
        "exporter": {"type": "string"},
    },
}


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


def validate(doc: Any) -> None:
    """The schema, then what it cannot say: frames in range, events
    balanced and in order, one weight per sample."""
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, SCHEMA)
    frames = len(doc["shared"]["frames"])
    for profile in doc["profiles"]:
        if profile["type"] == "evented":
            at = profile["startValue"]
            stack: list[int] = []
            for e in profile["events"]:
                assert e["frame"] < frames
                assert e["at"] >= at, e
                at = e["at"]
                if e["type"] == "O":
                    stack.append(e["frame"])
                else:
                    assert stack.pop() == e["frame"], e
            assert not stack
            assert at <= profile["endValue"]
        else:
            assert len(profile["samples"]) == len(profile["weights"])
            assert all(f < frames for s in profile["samples"] for f in s)
            assert sum(profile["weights"]) == profile["endValue"] - profile["startValue"]


def pauses(profile: dict[str, Any]) -> tuple[list[int], int]:
    """Collections per generation and their total pause in ns, from the
    events of an evented profile (frames 0 to 2 are the generations)."""
    counts = [0, 0, 0]
    total = 0
    opened = 0
    for e in profile["events"]:
        if e["type"] == "O":
            counts[e["frame"]] += 1
            opened = e["at"]
        else:
            total += e["at"] - opened
    return counts, total


def assert_matches(profile: dict[str, Any], summary: dict[str, Any]) -> None:
    assert profile["unit"] == "nanoseconds"
    counts, total = pauses(profile)
    assert sum(counts) == summary["count"] > 0
    assert counts == [summary[f"gen{g}"]["count"] for g in range(3)]
    # total_ms has the nanoseconds as its decimals.
    assert abs(total / 1e6 - summary["total_ms"]) <= 0.0005 + 1e-9


def speedscope_of(cwd: Path, *files: str) -> dict[str, Any]:
    proc = launch("report", "--format", "speedscope", *files, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('{"$schema":')
    doc = json.loads(proc.stdout)
    validate(doc)
    return doc


def summary_of(cwd: Path, *files: str) -> dict[int, dict[str, Any]]:
    proc = launch("report", "--json", "--stats-only", *files, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return summaries(proc.stdout)


def test_the_schema_refuses_what_speedscope_would() -> None:
    good = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": "gen 0"}]},
        "profiles": [
            {
                "type": "evented",
                "name": "p",
                "unit": "nanoseconds",
                "startValue": 0,
                "endValue": 5,
                "events": [{"type": "O", "frame": 0, "at": 1}, {"type": "C", "frame": 0, "at": 5}],
            }
        ],
    }
    validate(good)
    bad = json.loads(json.dumps(good))
    bad["profiles"][0]["unit"] = "ticks"
    jsonschema = pytest.importorskip("jsonschema")
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    unbalanced = json.loads(json.dumps(good))
    unbalanced["profiles"][0]["events"].pop()
    with pytest.raises(AssertionError):
        validate(unbalanced)


@needs_stacks
def test_run_writes_stacks_and_pauses(tmp_path: Path) -> None:
    (tmp_path / "work.py").write_text(WORKLOAD)
    proc = launch(
        "run", "--stacks", "--json", "--stats-only", "--log-file", "gc.log",
        "--speedscope-file", "gc.speedscope.json", "work.py", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "gc.speedscope.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    validate(doc)
    (summary,) = summaries((tmp_path / "gc.log").read_text()).values()
    sampled, evented = doc["profiles"]
    assert sampled["type"] == "sampled" and evented["type"] == "evented"
    assert doc["activeProfileIndex"] == 0
    assert_matches(evented, summary)
    # Every pause is in some stack's weight, "other" row included.
    assert abs(sum(sampled["weights"]) / 1e6 - summary["total_ms"]) <= 0.0005 + 1e-9
    # The frames name the program's own function, where it collected.
    names = {(f["name"], os.path.basename(f.get("file", ""))) for f in doc["shared"]["frames"]}
    assert ("churn", "work.py") in names
    frames = doc["shared"]["frames"]
    assert any(frames[s[-1]]["name"] == "churn" for s in sampled["samples"])


def test_run_without_stacks_writes_pauses_only(tmp_path: Path) -> None:
    (tmp_path / "work.py").write_text(WORKLOAD)
    proc = launch(
        "run", "--json", "--stats-only", "--log-file", "gc.log",
        "--speedscope-file", "gc.json", "work.py", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "gc.json").read_text())
    validate(doc)
    (summary,) = summaries((tmp_path / "gc.log").read_text()).values()
    (evented,) = doc["profiles"]
    assert_matches(evented, summary)


def test_report_of_an_exited_run(tmp_path: Path) -> None:
    (tmp_path / "work.py").write_text(WORKLOAD)
    proc = launch("run", "--stats-only", "-o", "run.gcm", "work.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = speedscope_of(tmp_path, "run.gcm")
    ((pid, summary),) = summary_of(tmp_path, "run.gcm").items()
    (evented,) = doc["profiles"]
    assert evented["name"] == f"python (pid {pid}): pauses by generation"
    assert_matches(evented, summary)


def test_report_after_sigkill(tmp_path: Path) -> None:
    source = WORKLOAD + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
    (tmp_path / "killed.py").write_text(source)
    proc = launch("run", "-o", "run.gcm", "killed.py", cwd=tmp_path)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    doc = speedscope_of(tmp_path, "run.gcm")
    (summary,) = summary_of(tmp_path, "run.gcm").values()
    (evented,) = doc["profiles"]
    assert_matches(evented, summary)


def test_report_of_a_tree_has_a_profile_per_process(tmp_path: Path) -> None:
    (tmp_path / "tree.py").write_text(TREE)
    proc = launch("run", "--follow-children", "--stats-only", "-o", "cap", "tree.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    files = captures(tmp_path)
    assert len(files) == 3, files
    doc = speedscope_of(tmp_path, *files)
    assert doc["name"] == "GC pauses of 3 processes"
    by_pid = summary_of(tmp_path, *files)
    assert len(by_pid) == 3
    profiles = doc["profiles"]
    assert [p["type"] for p in profiles] == ["evented"] * 3
    seen = set()
    for profile in profiles:
        pid = int(profile["name"].split("pid ")[1].split(",")[0])
        seen.add(pid)
        assert_matches(profile, by_pid[pid])
    assert seen == set(by_pid)
    # One clock: the parent started first, and the children's profiles start
    # after it, in the order they ran.
    starts = [p["startValue"] for p in profiles]
    assert starts[0] == 0 and starts[1] > 0 and starts[2] > starts[1]


def test_the_option_is_checked_before_the_program_runs(tmp_path: Path) -> None:
    (tmp_path / "work.py").write_text("open('ran', 'w').close()\n")
    (tmp_path / "adir").mkdir()
    proc = launch("run", "--speedscope-file", "adir", "work.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--speedscope-file" in proc.stderr.splitlines()[0]
    assert not (tmp_path / "ran").exists()
