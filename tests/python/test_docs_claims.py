"""Claims of README.md and docs/ that scripts rely on, checked on real runs.

Each test runs the launcher as a user would and checks what a page says
about the output: which JSON lines --stats-only keeps, and how the reports
of a process tree's log files say whose they are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from gcm_testing import launcher, run, write_script

FORKING = """\
import gc, os
gc.collect()
pid = os.fork()
if pid == 0:
    gc.collect()
else:
    os.waitpid(pid, 0)
"""


def test_json_stats_only_keeps_every_line_but_events_and_alerts(tmp_path: Path) -> None:
    # json.md: "--stats-only leaves out only the per-collection event and
    # alert objects", and the summary is always the last line.  A threshold of
    # 0 makes every pause an alert, so a full report has both kinds.
    script = write_script(tmp_path, "import gc\nfor _ in range(3):\n    gc.collect()\n")
    full = run([launcher(), "run", "--json", "--alert-threshold-ms", "0", script], tmp_path)
    brief = run(
        [launcher(), "run", "--json", "--stats-only", "--alert-threshold-ms", "0", script],
        tmp_path,
    )
    assert full.returncode == 0 and brief.returncode == 0, (full.stderr, brief.stderr)
    full_types = [json.loads(line)["type"] for line in full.stderr.splitlines()]
    brief_types = [json.loads(line)["type"] for line in brief.stderr.splitlines()]
    assert {"event", "alert"} <= set(full_types)
    assert brief_types == [t for t in full_types if t not in ("event", "alert")]
    assert brief_types[0] == "start" and brief_types[-1] == "summary"
    assert "timeline" in brief_types


def test_each_log_file_report_says_whose_it_is(tmp_path: Path) -> None:
    # cli.md: the first report in gc.log is the started process's, after its
    # start lines; a fork child's derived log starts with its pid and parent.
    script = write_script(tmp_path, FORKING)
    proc = run([launcher(), "run", "--stats-only", "--log-file", "gc.log", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    first = (tmp_path / "gc.log").read_text().splitlines()
    assert first[0].startswith("GMEM Monitoring initialized")
    assert first[1].startswith("GMEM Running: ")
    # The report itself begins with the verdict (recommendations.md).
    assert first[2] == "=== GC VERDICT ==="
    (child_log,) = [p for p in tmp_path.glob("gc.*.log")]
    child_pid = int(child_log.name.split(".")[1])
    head = child_log.read_text().splitlines()[0]
    assert head.startswith(f"GMEM Report of pid {child_pid} (forked from pid ")


def test_each_json_report_ends_with_a_summary_naming_its_pid(tmp_path: Path) -> None:
    script = write_script(tmp_path, FORKING)
    proc = run([launcher(), "run", "--json", "--log-file", "gc.jsonl", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    (child_log,) = [p for p in tmp_path.glob("gc.*.jsonl")]
    child_pid = int(child_log.name.split(".")[1])
    for path, pid in ((child_log, child_pid), (tmp_path / "gc.jsonl", None)):
        last = json.loads(path.read_text().splitlines()[-1])
        assert last["type"] == "summary"
        if pid is not None:
            assert last["pid"] == pid
        else:
            assert last["pid"] != child_pid


def test_every_python_that_cannot_run_gets_the_one_message(tmp_path: Path) -> None:
    # cli.md: one message whatever makes --python unusable.
    (tmp_path / "plain.txt").write_text("not a program\n")
    for given in ("/nonexistent-gcm-dir/python", "python3.99-gcm", str(tmp_path), "plain.txt"):
        proc = run([launcher(), "run", "--python", given, "-c", "pass"], tmp_path)
        assert proc.returncode == 2, given
        assert proc.stderr.splitlines() == [
            f"error: python interpreter not found or not executable: '{given}' (from --python)",
            "try 'pygcprofiler --help'",
        ]


def test_reports_md_start_lines_are_the_golden_file() -> None:
    # The sample of reports.md is the golden file the C test renders.
    root = Path(__file__).resolve().parents[2]
    golden = (root / "tests/data/golden/start.txt").read_bytes()
    page = (root / "docs/reports.md").read_bytes()
    assert b"```\n" + golden + b"```\n" in page


def test_sections_come_in_the_order_reports_md_gives(tmp_path: Path) -> None:
    # reports.md: summary, recommendations, --terminal-flamegraph,
    # --dump-objects, --dump-garbage, --prompt, then the --fail-on verdict.
    script = write_script(tmp_path, "import gc\nx = [[i] for i in range(30000)]\ngc.collect()\n")
    options = ["--terminal-flamegraph", "--dump-objects", "--dump-garbage", "--prompt"]
    proc = run(
        [launcher(), "run", "--stats-only", *options, "--fail-on", "count>0", script], tmp_path
    )
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.splitlines()
    heads = [
        "=== GC MONITORING SUMMARY ===",
        "=== GC THRESHOLD RECOMMENDATIONS ===",
        "GC time per",
        "=== OBJECTS TRACKED BY THE GC AT EXIT ===",
        "=== GC.GARBAGE AT EXIT",
        "=== AI OPTIMIZATION PROMPT",
        "GMEM BUDGET | ",
    ]
    found = [next(i for i, line in enumerate(lines) if head in line) for head in heads]
    assert found == sorted(found), list(zip(heads, found))


def test_a_budget_line_shows_the_figure_in_the_rules_unit(tmp_path: Path) -> None:
    # ci.md: in the limit's unit, at most three decimals, no trailing zero.
    script = write_script(tmp_path, "import gc\nfor _ in range(3):\n    gc.collect()\n")
    proc = run([launcher(), "run", "--stats-only", "--fail-on", "total>1ns", script], tmp_path)
    assert proc.returncode == 3, proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("GMEM BUDGET")]
    assert re.fullmatch(r"GMEM BUDGET \| total [1-9]\d*ns > 1ns", line), line
    proc = run([launcher(), "run", "--stats-only", "--fail-on", "total>0.001ms", script], tmp_path)
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("GMEM BUDGET")]
    assert re.fullmatch(r"GMEM BUDGET \| total \d+(\.\d{0,2}[1-9])?ms > 0\.001ms", line), line


RELOADER = """\
import signal, subprocess, sys
# werkzeug's reloader: SIGTERM exits, and subprocess.call kills its child with
# SIGKILL on the way out.
signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
subprocess.call([sys.executable, "server.py"])
"""

SERVER = """\
import gc, pathlib, time
gc.collect()
pathlib.Path("ready").write_text("ready")
time.sleep(60)
"""


def test_a_reloader_child_killed_by_sigterm_to_the_reloader_says_so(tmp_path: Path) -> None:
    # process-trees.md: the serving child gets no report, and its capture
    # names SIGKILL among what can end a process that way.
    import signal
    import subprocess
    import time

    from gcm_testing import TIMEOUT, clean_env

    reloader = write_script(tmp_path, RELOADER, "reloader.py")
    write_script(tmp_path, SERVER, "server.py")
    proc = subprocess.Popen(
        [launcher(), "run", "--follow-children", "-o", "cap", str(reloader)],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (tmp_path / "ready").exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (child,) = [p.name for p in tmp_path.glob("cap.*")]
    shown = run([launcher(), "report", "--stats-only", child], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "State: gone without a clean exit or a report (SIGKILL, os._exit or a crash)" in (
        shown.stdout
    )
