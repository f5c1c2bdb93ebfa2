"""The exit report as users get it: through the real `pygcprofiler run` launcher.

Each test runs a small script under the installed launcher in a subprocess
and reads what reached stderr or the --log-file, the way a person or a log
pipeline would.  The script makes a known number of explicit collections, so
the report has something definite to show; counts are compared with each
other (event lines against the summary's totals), never with hard-coded
timings.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import pytest
from gcm_testing import launcher

STOP = re.compile(
    r"^GMEM GC STOP \| Gen: ([012]) \| Duration: (\d+\.\d+m?s) \| "
    r"Collected: (\d+) \| Uncollectable: (\d+)$"
)
ALERT = re.compile(
    r"^GMEM ALERT \| Gen ([012]) pause (\d+\.\d+m?s) exceeded (\d+\.\d+m?s) threshold$"
)
DURATION = re.compile(r"^(\d+)\.(\d+)(ms|s)$")

SCRIPT = """\
import gc
import sys

class Node:
    def __init__(self):
        self.me = self

for _ in range({full}):
    for _ in range(1000):
        Node()
    gc.collect()
for _ in range(3):
    gc.collect(0)
print("program output", flush=True)
sys.exit({status})
"""



def run(
    tmp_path: Path, *options: str, full: int = 5, status: int = 0
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "app.py"
    script.write_text(SCRIPT.format(full=full, status=status))
    env = dict(os.environ)
    env.pop("PYGCPROFILER_CONFIG", None)
    return subprocess.run(
        [launcher(), "run", "--python", sys.executable, *options, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(tmp_path),
    )


def summary_value(text: str, label: str) -> int:
    match = re.search(rf"^{re.escape(label)}: (\d+)(?: collections)?$", text, re.MULTILINE)
    assert match, f"no '{label}' line in:\n{text}"
    return int(match.group(1))


def as_ms(text: str) -> float:
    """A duration of the text report ("0.303ms", "52.3ms", "2.50s") in ms."""
    match = DURATION.match(text)
    assert match, text
    whole, frac, unit = match.groups()
    value = float(f"{whole}.{frac}")
    return value * 1000.0 if unit == "s" else value


def half_unit(text: str) -> float:
    """Half the last shown digit of a duration, in ms: its rounding error."""
    match = DURATION.match(text)
    assert match, text
    _whole, frac, unit = match.groups()
    return 0.5 * 10.0 ** -len(frac) * (1000.0 if unit == "s" else 1.0)


def duration_ok(text: str) -> bool:
    """The original's units: %.3fms under 1 ms, %.1fms under 1 s, else %.2fs."""
    match = DURATION.match(text)
    if not match:
        return False
    whole, frac, unit = match.groups()
    if unit == "s":
        return len(frac) == 2 and int(whole) >= 1
    if len(frac) == 3:
        return whole == "0" or text == "1.000ms"
    return len(frac) == 1 and 1 <= int(whole) <= 1000


def test_default_text_report(tmp_path: Path):
    proc = run(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "program output\n"
    lines = proc.stderr.splitlines()
    assert lines[0] == "GMEM Monitoring initialized (Zero Runtime Overhead)"
    assert lines[1].startswith("GMEM Running: ")
    assert lines[1].endswith("app.py")
    stops = [m for m in map(STOP.match, lines) if m]
    assert all(duration_ok(m.group(2)) for m in stops)
    head = lines.index("=== GC MONITORING SUMMARY ===")
    total = summary_value(proc.stderr, "Total GC collections")
    # Nothing overwritten in a default ring: one line per collection counted.
    assert len(stops) == total >= 8
    for g in range(3):
        listed = sum(1 for m in stops if m.group(1) == str(g))
        assert summary_value(proc.stderr, f"Generation {g}") == listed
    # The five full collections each freed the script's 1000 self-referencing nodes.
    assert sum(int(m.group(3)) for m in stops) >= 5000
    assert "not listed" not in proc.stderr
    per_gen = [sum(1 for m in stops if m.group(1) == str(g)) for g in range(3)]
    assert lines[head + 1] == f"Total GC collections: {total}"
    assert lines[head + 5 : head + 9] == [
        "Collections by generation:",
        *(f"Generation {g}: {per_gen[g]} collections" for g in range(3)),
    ]
    # The figures agree with the listed collections, computed here, not by
    # the renderer: within the rounding of what is shown, the figure's own
    # and, for sums, that of every listed duration.
    durations = [as_ms(m.group(2)) for m in stops]
    slack = sum(half_unit(m.group(2)) for m in stops)
    figures = {
        "Total GC time: ": (sum(durations), slack),
        "Average GC duration: ": (sum(durations) / total, slack / total),
        "Maximum GC duration: ": (max(durations), 0.0),
    }
    for offset, (label, (expected, listed_slack)) in enumerate(figures.items(), start=2):
        line = lines[head + offset]
        assert line.startswith(label), line
        shown = line[len(label) :]
        assert duration_ok(shown), line
        assert abs(as_ms(shown) - expected) <= half_unit(shown) + listed_slack + 1e-9, line
    # The longest listed pause is the maximum, shown the same way.
    assert lines[head + 4] == "Maximum GC duration: " + max(
        (m.group(2) for m in stops), key=as_ms
    )
    assert any(x.startswith("GC share of wall time: ") for x in lines)
    assert any(x.startswith("Objects collected: ") for x in lines)


def test_exit_status_is_the_programs(tmp_path: Path):
    proc = run(tmp_path, status=7)
    assert proc.returncode == 7
    assert "=== GC MONITORING SUMMARY ===" in proc.stderr


def test_stats_only_prints_the_summary(tmp_path: Path):
    proc = run(tmp_path, "--stats-only", "--alert-threshold-ms", "0")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert not [x for x in lines if x.startswith(("GMEM GC STOP", "GMEM ALERT"))]
    assert "=== GC MONITORING SUMMARY ===" in lines
    assert summary_value(proc.stderr, "Total GC collections") >= 8
    assert any(x.startswith("Pause durations (--duration-buckets):") for x in lines)


def test_generation_note_matches_the_interpreter(tmp_path: Path):
    proc = run(tmp_path, "--stats-only")
    assert proc.returncode == 0, proc.stderr
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    v = sys.version_info
    incremental = v[:2] == (3, 14) and v.micro <= 4 and not free_threaded
    assert ("Note: free-threaded CPython" in proc.stderr) == free_threaded
    assert ("Note: CPython 3.14.0 to 3.14.4" in proc.stderr) == incremental


def parse_lines(text: str) -> list[dict[str, Any]]:
    objs = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(o, dict) and "type" in o for o in objs)
    return objs


def check_json_report(objs: list[dict[str, Any]], before: float, after: float) -> None:
    summary = objs[-1]
    assert summary["type"] == "summary"
    assert summary["schema_version"] == 1
    events = [o for o in objs if o["type"] == "event"]
    assert len(events) == summary["count"] == summary["events"] >= 8
    assert {e["pid"] for e in events} == {summary["pid"]}
    for g in range(3):
        assert sum(1 for e in events if e["generation"] == g) == summary[f"gen{g}"]["count"]
    # Timestamps are wall-clock times of this run, in order.
    stamps = [e["ts"] for e in events]
    assert stamps == sorted(stamps)
    assert before - 1 <= stamps[0] and stamps[-1] <= after + 1
    assert max(e["duration_ms"] for e in events) == pytest.approx(summary["max_ms"], abs=1e-3)


def test_json_report_on_stderr(tmp_path: Path):
    before = time.time()
    proc = run(tmp_path, "--json")
    after = time.time()
    assert proc.returncode == 0, proc.stderr
    objs = parse_lines(proc.stderr)
    assert objs[0]["type"] == "start"
    assert objs[0]["command"].endswith("app.py")
    check_json_report(objs, before, after)


def test_json_log_file(tmp_path: Path):
    log = tmp_path / "gc.jsonl"
    before = time.time()
    proc = run(tmp_path, "--json", "--log-file", str(log))
    after = time.time()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "program output\n"
    assert '"type":"summary"' not in proc.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    objs = parse_lines(log.read_text(encoding="utf-8"))
    check_json_report(objs, before, after)


def test_alert_threshold_zero_alerts_every_collection(tmp_path: Path):
    proc = run(tmp_path, "--alert-threshold-ms", "0")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    stops = [i for i, x in enumerate(lines) if STOP.match(x)]
    alerts = [i for i, x in enumerate(lines) if ALERT.match(x)]
    assert len(stops) == len(alerts) == summary_value(proc.stderr, "Total GC collections")
    for i in stops:
        alert = ALERT.match(lines[i - 1])
        stop = STOP.match(lines[i])
        assert alert and stop
        assert (alert.group(1), alert.group(2)) == (stop.group(1), stop.group(2))
        assert alert.group(3) == "0.000ms"
    assert summary_value(proc.stderr, "Pauses at or over the 0.000ms alert threshold") == len(stops)


def test_small_ring_lists_the_latest_and_counts_all(tmp_path: Path):
    proc = run(tmp_path, "--buffer-events", "16", full=40)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    match = re.match(
        r"^(\d+) earlier collections not listed \(ring of 16\); totals include them$", lines[2]
    )
    assert match, lines[:4]
    missing = int(match.group(1))
    stops = [x for x in lines if STOP.match(x)]
    assert len(stops) == 16
    total = summary_value(proc.stderr, "Total GC collections")
    assert total == missing + 16 >= 43
    assert any(x.startswith(f"Overwritten records: {missing} ") for x in lines)


def test_closed_stderr_drops_the_report_quietly(tmp_path: Path):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT.format(full=2, status=0))
    proc = subprocess.run(
        [
            "sh",
            "-c",
            'exec "$0" run --python "$1" "$2" 2>&-',
            launcher(),
            sys.executable,
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(tmp_path),
    )
    assert proc.returncode == 0
    assert proc.stdout == "program output\n"


def test_log_file_takes_the_start_line_too(tmp_path: Path):
    # "All report output goes to the file instead of stderr": the start line
    # included, so stderr keeps only the program's own output.
    log = tmp_path / "gc.jsonl"
    proc = run(tmp_path, "--json", "--log-file", str(log))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    objs = parse_lines(log.read_text(encoding="utf-8"))
    assert objs[0]["type"] == "start"
    assert objs[-1]["type"] == "summary"


def test_broken_stderr_pipe_drops_the_report_quietly(tmp_path: Path):
    # As in `pygcprofiler run app.py 2>&1 | head -1`: the reader is gone
    # before the report is written, so every report write fails with EPIPE.
    script = tmp_path / "app.py"
    script.write_text(
        "import gc, sys\n"
        "for _ in range(5):\n"
        "    gc.collect()\n"
        "sys.stdin.read()\n"
        "print('program output')\n"
    )
    proc = subprocess.Popen(
        [launcher(), "run", "--python", sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(tmp_path),
    )
    assert proc.stdin and proc.stdout and proc.stderr
    assert proc.stderr.readline().startswith("GMEM Monitoring initialized")
    proc.stderr.close()
    # The program waits for its stdin to close, so the report comes after.
    proc.stdin.close()
    out = proc.stdout.read()
    assert proc.wait(timeout=120) == 0
    assert out == "program output\n"
