"""GC budgets as a CI job uses them: `pygcprofiler run --fail-on RULE ...`.

Every test runs a real script under the installed launcher.  Failing budgets
use deterministic figures (collection counts, uncollectable objects) or limits
ten times away from anything the machine could measure, so no test depends
on how fast the machine is.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from gcm_testing import launcher

COLLECTS = """\
import gc
import sys
gc.disable()
for _ in range({n}):
    gc.collect()
print("done", flush=True)
sys.exit({status})
"""

# A script that would leave a marker if it ever started.
MARKER = """\
from pathlib import Path
Path({path!r}).write_text("started")
"""



def run(tmp_path: Path, *args: str, script: str | None = None) -> subprocess.CompletedProcess:
    words = list(args)
    if script is not None:
        target = tmp_path / "target.py"
        target.write_text(script)
        words.append(str(target))
    return subprocess.run(
        [launcher(), "run", *words],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(tmp_path),
    )


def budget_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("GMEM BUDGET | ")]


def test_gen2_count_over_zero_fails_with_status_3(tmp_path):
    proc = run(tmp_path, "--fail-on", "gen2.count>0", script=COLLECTS.format(n=3, status=0))
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "done\n"
    # The broken rule, with the figure measured: three explicit collections
    # (and whatever start-up added, which is never less).
    lines = budget_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    measured = int(lines[0].split()[4])
    assert measured >= 3
    assert lines[0] == f"GMEM BUDGET | gen2.count {measured} > 0"
    summary_count = proc.stderr.split("Generation 2: ")[1].split()[0]
    assert int(summary_count) == measured


def test_generous_budget_passes(tmp_path):
    proc = run(tmp_path, "--fail-on", "gen2.count>100000", script=COLLECTS.format(n=3, status=0))
    assert proc.returncode == 0, proc.stderr
    lines = budget_lines(proc.stderr)
    assert len(lines) == 1
    assert lines[0].startswith("GMEM BUDGET | ok: gen2.count ")
    assert lines[0].endswith(", not > 100000")


def test_every_rule_is_checked_and_broken_ones_come_first(tmp_path):
    proc = run(
        tmp_path,
        "--stats-only",
        "--fail-on",
        "max>1000s",  # a pause of 16 minutes: never
        "--fail-on",
        "count<1,uncollectable>0",
        "--fail-on",
        "gen2.count>=2",
        script=COLLECTS.format(n=2, status=0),
    )
    assert proc.returncode == 3, proc.stderr
    lines = budget_lines(proc.stderr)
    assert len(lines) == 4
    assert lines[0].startswith("GMEM BUDGET | gen2.count ")
    assert " >= 2" in lines[0]
    assert all(line.startswith("GMEM BUDGET | ok: ") for line in lines[1:])
    assert {line.split()[4] for line in lines[1:]} == {"max", "count", "uncollectable"}


def test_uncollectable_budget_holds_for_python_cycles(tmp_path):
    # Since PEP 442 (3.4) cycles of Python objects, __del__ or not, are
    # always collectable: the figure is a deterministic 0.
    script = """\
import gc
gc.disable()
class Node:
    def __init__(self):
        self.me = self
    def __del__(self):
        pass
for _ in range(10):
    Node()
gc.collect()
"""
    proc = run(tmp_path, "--json", "--fail-on", "uncollectable>0", script=script)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    summary = json.loads(lines[-1])
    budget = json.loads(lines[-2])
    assert summary["type"] == "summary"
    assert summary["collected"] >= 10
    assert budget == {
        "type": "budget",
        "broken": 0,
        "rules": [
            {
                "rule": "uncollectable>0",
                "metric": "uncollectable",
                "op": ">",
                "limit": 0,
                "measured": 0,
                "broken": False,
            }
        ],
    }


def test_json_budget_object_comes_before_the_summary(tmp_path):
    proc = run(
        tmp_path,
        "--json",
        "--fail-on",
        "gen2.count>0",
        "--fail-on",
        "p99>1000s",
        script=COLLECTS.format(n=2, status=0),
    )
    assert proc.returncode == 3
    objects = [json.loads(line) for line in proc.stderr.splitlines()]
    assert objects[-1]["type"] == "summary"
    budgets = [o for o in objects if o["type"] == "budget"]
    assert len(budgets) == 1
    budget = budgets[0]
    assert objects[-2] is budget
    assert budget["broken"] == 1
    first, second = budget["rules"]
    assert first["rule"] == "gen2.count>0"
    assert first["broken"] is True
    assert first["measured"] == objects[-1]["gen2"]["count"]
    assert second == {
        "rule": "p99>1000s",
        "metric": "p99_ms",
        "op": ">",
        "limit": 1000000,
        "measured": objects[-1]["p99_ms"],
        "broken": False,
    }


def test_a_limit_finer_than_the_shown_precision_is_never_shown_as_zero(tmp_path):
    # 0.4 us: every real pause breaks it.  The text shows both figures to the
    # nanosecond rather than "> 0ms", and the JSON keeps the limit as given.
    script = COLLECTS.format(n=2, status=0)
    proc = run(tmp_path, "--stats-only", "--fail-on", "p99>0.0004ms", script=script)
    assert proc.returncode == 3, proc.stderr
    (line,) = budget_lines(proc.stderr)
    assert line.startswith("GMEM BUDGET | p99 ") and line.endswith("ns > 400ns"), line
    proc = run(tmp_path, "--json", "--stats-only", "--fail-on", "p99>0.0004ms", script=script)
    (budget,) = [json.loads(x) for x in proc.stderr.splitlines() if '"type":"budget"' in x]
    assert budget["rules"][0]["limit"] == 0.0004
    assert budget["rules"][0]["broken"] is True


def test_failed_target_status_wins(tmp_path):
    proc = run(tmp_path, "--fail-on", "gen2.count>0", script=COLLECTS.format(n=2, status=7))
    assert proc.returncode == 7
    # The report still says the budget was broken.
    assert budget_lines(proc.stderr)[0].startswith("GMEM BUDGET | gen2.count ")


def test_uncaught_exception_status_wins(tmp_path):
    script = "import gc\ngc.collect()\nraise RuntimeError('boom')\n"
    proc = run(tmp_path, "--fail-on", "gen2.count>0", script=script)
    assert proc.returncode == 1
    assert "RuntimeError: boom" in proc.stderr


def test_log_file_report_and_stderr_line(tmp_path):
    log = tmp_path / "gc.log"
    proc = run(
        tmp_path,
        "--log-file",
        str(log),
        "--fail-on",
        "gen2.count>0",
        script=COLLECTS.format(n=1, status=0),
    )
    assert proc.returncode == 3
    in_log = budget_lines(log.read_text())
    on_stderr = budget_lines(proc.stderr)
    assert len(in_log) == 1 and in_log == on_stderr


def test_no_rules_no_budget_output(tmp_path):
    proc = run(tmp_path, "--json", script=COLLECTS.format(n=1, status=0))
    assert proc.returncode == 0
    assert all(json.loads(line)["type"] != "budget" for line in proc.stderr.splitlines())


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("max", "has no operator: quote the whole rule, as in --fail-on 'max>50ms'"),
        ("gen2.count", "as in --fail-on 'gen2.count>5'"),
        ("", "must not be empty"),
        ("p98>1ms", "unknown metric 'p98'"),
        ("gen3.max>1ms", "unknown generation 'gen3'"),
        ("gen2.share>1%", "'share' has no per-generation figure"),
        ("max=50ms", "unknown operator '='"),
        ("max>", "has no limit after the operator"),
        ("max>-5ms", "limit must not be negative"),
        ("max>fast", "limit is not a number"),
        ("max>50min", "unknown unit 'min'"),
        ("max>5%", "'max' is a duration"),
        ("share>2ms", "'share' is a percentage"),
        ("count>1.5", "a count limit must be a whole number"),
        ("count>5ms", "'count' is a count"),
        ("share>200%", "at most 100%"),
        ("max>50ms,p98>1", "rule 'p98>1' unknown metric 'p98'"),
    ],
)
def test_bad_rule_is_usage_error_before_the_target_starts(tmp_path, rule, reason):
    marker = tmp_path / "started"
    proc = run(tmp_path, "--fail-on", rule, script=MARKER.format(path=str(marker)))
    assert proc.returncode == 2
    assert not marker.exists()
    first, hint = proc.stderr.splitlines()
    assert first.startswith(f"error: invalid value '{rule}' for '--fail-on': ")
    assert reason in first
    assert hint == "try 'pygcprofiler --help'"


def test_unquoted_rule_in_a_real_shell(tmp_path):
    """What a shell makes of `--fail-on max>50ms`: the value "max", stdout to "50ms"."""
    marker = tmp_path / "started"
    target = tmp_path / "target.py"
    target.write_text(MARKER.format(path=str(marker)))
    proc = subprocess.run(
        f"{launcher()} run --fail-on max>50ms {target}",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )
    assert proc.returncode == 2
    assert not marker.exists()
    assert "--fail-on 'max>50ms'" in proc.stderr


def test_seventeenth_rule_is_refused(tmp_path):
    marker = tmp_path / "started"
    args = []
    for _ in range(17):
        args += ["--fail-on", "count>1000000"]
    proc = run(tmp_path, *args, script=MARKER.format(path=str(marker)))
    assert proc.returncode == 2
    assert "at most 16" in proc.stderr
    assert not marker.exists()


def test_missing_rule_value(tmp_path):
    proc = subprocess.run(
        [launcher(), "run", "--fail-on"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "'--fail-on' needs a value (RULE)" in proc.stderr


def test_recorder_check_budgets_api():
    from gc_monitor import _core

    recorder = _core.Recorder({"buffer_events": "16"})
    # Only the two explicit collections below (gc_isolation re-enables).
    gc.disable()
    gc.callbacks.append(recorder.callback)
    try:
        gc.collect()
        gc.collect()
    finally:
        gc.callbacks.remove(recorder.callback)
    recorder.stop()
    count = recorder.snapshot()["gen2"]["count"]
    assert count == 2
    assert recorder.check_budgets() == []  # no --fail-on rules in a GCMonitor's config
    assert recorder.check_budgets(["gen2.count>5", "max>1000s"]) == []
    broken = recorder.check_budgets(["gen2.count>1", "count<1"])
    assert broken == [
        {
            "rule": "gen2.count>1",
            "message": "gen2.count 2 > 1",
            "measured": 2.0,
            "limit": 1.0,
            "unit": "",
        }
    ]
    with pytest.raises(ValueError, match="invalid rule 'max': has no operator"):
        recorder.check_budgets(["max"])
    with pytest.raises(TypeError):
        recorder.check_budgets("max>1")  # type: ignore[arg-type]
    assert _core.parse_rule(" p99 > 10 ") == "p99>10ms"
    with pytest.raises(ValueError, match="unknown metric"):
        _core.parse_rule("p98>1")


@pytest.mark.parametrize("how", ["os.fork", "libc fork"])
def test_check_budgets_in_a_fork_child_counts_the_child_only(tmp_path, how):
    # libc's fork() skips os.register_at_fork: the recorder must still notice
    # that its block is the parent's and report this process alone.
    script = tmp_path / "fork.py"
    script.write_text(
        f"""\
import ctypes, gc, json, os, sys
from gc_monitor import _core
gc.disable()
r = _core.Recorder({{"buffer_events": "16"}})
gc.callbacks.append(r.callback)
for _ in range(3):
    gc.collect()
rd, wr = os.pipe()
pid = os.fork() if {how!r} == "os.fork" else ctypes.CDLL(None, use_errno=True).fork()
if pid == 0:
    gc.collect()
    broken = r.check_budgets(["gen2.count>1"])
    os.write(wr, json.dumps(broken).encode())
    os._exit(0)
os.close(wr)
child = json.loads(os.read(rd, 65536))
os.waitpid(pid, 0)
print(json.dumps([r.check_budgets(["gen2.count>2"]), child]))
"""
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    parent, child = json.loads(proc.stdout)
    assert [b["message"] for b in parent] == ["gen2.count 3 > 2"]
    # None of the parent's three collections count in the child.  (Its own
    # one counts after os.fork; after a fork from C it happened before the
    # recorder could re-attach, and is reported as dropped instead.)
    assert child == []


def test_report_of_a_capture_shows_its_budget_verdict(tmp_path):
    capture = tmp_path / "run.gcm"
    proc = run(
        tmp_path,
        "--stats-only",
        "-o",
        str(capture),
        "--fail-on",
        "gen2.count>0",
        script=COLLECTS.format(n=2, status=0),
    )
    assert proc.returncode == 3, proc.stderr
    live = budget_lines(proc.stderr)
    report = subprocess.run(
        [launcher(), "report", str(capture)], capture_output=True, text=True, timeout=60
    )
    assert report.returncode == 0, report.stderr
    assert budget_lines(report.stdout) == live
