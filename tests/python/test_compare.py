"""`pygcprofiler compare BASE NEW` on real reports, as a CI job runs it.

The reports come from real runs under the installed launcher.  The regression
is real too: the same loop of full collections, once over a few thousand
live objects and once over a hundred times more, so the new pauses are far
beyond any limit the test sets, on any machine.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from gcm_testing import launcher

# Start-up objects go to the permanent generation (gc.freeze), so every
# collection traverses the workload's own objects and little else.
WORKLOAD = """\
import gc
gc.disable()
gc.freeze()
keep = [[i] for i in range({objects})]
for _ in range(30):
    gc.collect()
"""

FEW = 2_000
MANY = 200_000



def record(tmp_path: Path, name: str, objects: int, *options: str) -> Path:
    script = tmp_path / f"{name}.py"
    script.write_text(WORKLOAD.format(objects=objects))
    out = tmp_path / f"{name}.jsonl"
    proc = subprocess.run(
        [launcher(), "run", "--json", "--log-file", str(out), *options, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def compare(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [launcher(), "compare", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def table(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    assert lines[0].split() == ["metric", "base", "new", "change"]
    return {line.split()[0]: line.split()[1:] for line in lines[1:-1]}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("compare")
    return record(tmp, "few", FEW), record(tmp, "many", MANY)


def test_identical_files(reports):
    base, _ = reports
    proc = compare(base, base)
    assert proc.returncode == 0, proc.stderr
    rows = table(proc.stdout)
    assert list(rows) == ["count", "total", "mean", "p50", "p99", "max"]
    for metric, (old, new, change) in rows.items():
        assert old == new, metric
        assert change in ("+0.0%", "0.0%")
    assert proc.stdout.splitlines()[-1] == "no metric regressed by more than 10%"
    assert proc.stderr == ""


def test_identical_copies(reports, tmp_path):
    base, _ = reports
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(base.read_bytes())
    assert compare(base, copy, "--max-regression", "0").returncode == 0


def test_real_regression(reports):
    base, new = reports
    proc = compare(base, new, "--metric", "gen2.p50", "--metric", "gen2.count,total")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    rows = table(proc.stdout)
    assert list(rows) == ["gen2.p50", "gen2.count", "total"]
    # The same number of collections, each over 100 times more objects.
    assert rows["gen2.count"][0] == rows["gen2.count"][1]
    assert rows["gen2.count"][2] in ("+0.0%", "0.0%")
    assert rows["gen2.p50"][-1] == "REGRESSED"
    assert rows["total"][-1] == "REGRESSED"
    base_ms = float(rows["gen2.p50"][0].removesuffix("ms"))
    new_ms = float(rows["gen2.p50"][1].removesuffix("ms"))
    assert new_ms > 10 * base_ms
    assert proc.stdout.splitlines()[-1] == "2 of 3 metrics regressed by more than 10%"


def test_the_other_way_is_an_improvement(reports):
    base, new = reports
    proc = compare(new, base, "--metric", "gen2.p50")
    assert proc.returncode == 0, proc.stdout
    assert table(proc.stdout)["gen2.p50"][2].startswith("-")


def test_a_generous_limit_lets_the_regression_pass(reports):
    base, new = reports
    # Orders of magnitude over anything the two workloads differ by.
    proc = compare(base, new, "--metric", "gen2.count", "--max-regression", "1000000")
    assert proc.returncode == 0


def test_pretty_printed_summary(reports, tmp_path):
    base, _ = reports
    summary = json.loads(base.read_text().splitlines()[-1])
    pretty = tmp_path / "baseline.json"
    pretty.write_text(json.dumps(summary, indent=2))
    proc = compare(pretty, base)
    assert proc.returncode == 0, proc.stderr


def test_last_summary_of_several(reports, tmp_path):
    """A log file that several runs appended to: the last summary counts."""
    base, new = reports
    both = tmp_path / "both.jsonl"
    both.write_text(new.read_text() + base.read_text())
    assert compare(base, both).returncode == 0
    assert compare(both, new, "--metric", "gen2.p50").returncode == 3


def test_schema_version_mismatch(reports, tmp_path):
    base, _ = reports
    lines = base.read_text().splitlines()
    summary = json.loads(lines[-1])
    summary["schema_version"] = 2
    future = tmp_path / "future.jsonl"
    future.write_text("\n".join([*lines[:-1], json.dumps(summary)]) + "\n")
    proc = compare(base, future)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        f"error: schema_version mismatch: '{future}' has 2, this pygcprofiler reads 1\n"
        "try 'pygcprofiler compare --help'\n"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "has no summary object"),
        ("import gc\n", "has no summary object"),
        ('{"type":"event","pid":1}\n', "has no summary object"),
        ('{"type":"summary","count":1}\n', "has a summary without a schema_version"),
        ('{"type":"summary","schema_version":1,"count":1}\n', "has no figure for 'total'"),
        (b"\x00\xff\xfe garbage".decode("latin-1"), "has no summary object"),
    ],
)
def test_bad_input(reports, tmp_path, content, reason):
    base, _ = reports
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="latin-1")
    for args in ((base, bad), (bad, base)):
        proc = compare(*args)
        assert proc.returncode == 2, proc.stdout
        assert proc.stdout == ""
        # Bad input is said like bad usage, as every other verb says it.
        first, hint = proc.stderr.splitlines()
        assert first.startswith(f"error: '{bad}' ")
        assert reason in first
        assert hint == "try 'pygcprofiler compare --help'"


def test_missing_file(reports, tmp_path):
    base, _ = reports
    proc = compare(base, tmp_path / "absent.jsonl")
    assert proc.returncode == 2
    first, hint = proc.stderr.splitlines()
    assert "cannot open" in first and "absent.jsonl" in first
    assert hint == "try 'pygcprofiler compare --help'"


def test_alerts_with_different_thresholds_do_not_compare(reports, tmp_path):
    base, _ = reports
    other = record(tmp_path, "other", FEW, "--alert-threshold-ms", "7")
    proc = compare(base, other, "--metric", "alerts")
    assert proc.returncode == 2
    first, hint = proc.stderr.splitlines()
    assert "different --alert-threshold-ms" in first
    assert hint == "try 'pygcprofiler compare --help'"
    assert compare(base, other, "--metric", "count").returncode == 0


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((), "missing BASE and NEW files"),
        (("a",), "missing the NEW file"),
        (("a", "b", "c"), "unexpected argument 'c'"),
        (("a", "b", "--metric", "p98"), "invalid value 'p98' for '--metric': unknown metric"),
        (("a", "b", "--metric", "p99>1"), "invalid value 'p99>1' for '--metric'"),
        (("a", "b", "--metric",), "option '--metric' needs a value (M)"),
        (("a", "b", "--max-regression", "-5"), "invalid value '-5' for '--max-regression'"),
        (("a", "b", "--max-regression", "ten"), "invalid value 'ten' for '--max-regression'"),
        (("a", "b", "--max-regresion", "5"), "unknown option '--max-regresion'"),
    ],
)
def test_bad_usage(args, reason):
    proc = compare(*args)
    assert proc.returncode == 2
    first, hint = proc.stderr.splitlines()
    assert first.startswith("error: ") and reason in first
    assert hint == "try 'pygcprofiler compare --help'"


def test_help():
    proc = compare("--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: pygcprofiler compare BASE NEW")
    assert "--max-regression PCT" in proc.stdout
    assert proc.stderr == ""


def test_captures(tmp_path):
    """Capture files (run -o FILE) compare like JSON reports."""
    paths = []
    for name, objects in (("few", FEW), ("many", MANY)):
        script = tmp_path / f"{name}.py"
        script.write_text(WORKLOAD.format(objects=objects))
        capture = tmp_path / f"{name}.gcm"
        proc = subprocess.run(
            [launcher(), "run", "--stats-only", "-o", str(capture), str(script)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        paths.append(capture)
    few, many = paths
    assert compare(few, few).returncode == 0
    proc = compare(few, many, "--metric", "gen2.p50,gen2.count")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    rows = table(proc.stdout)
    assert rows["gen2.count"][0] == rows["gen2.count"][1]
    assert rows["gen2.p50"][-1] == "REGRESSED"
