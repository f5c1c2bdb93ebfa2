"""The folded stacks file of --stacks (`run --stacks-file`), as users load it.

flamegraph.pl and inferno are not installed here, so each file is read by a
strict parser of the folded format written below: every line is frames
joined by ';', a space and a positive whole weight, with no empty frame and
no comment line.  Its weights are then compared with the report of the same
run: the pause time of the lines of a function, and of all lines, against
the "Top GC triggers" rows and the summary's total, within 1 us per line
(each weight is rounded to the microsecond).  Nothing depends on timing.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

import pytest
from gcm_testing import assert_bad_input, launcher, run, summaries, write_script
from test_stacks import KNOWN_LINES, lines_of, needs_stacks, triggers

CUT = "(outer frames beyond --stack-depth)"
OTHER = "(other stacks: the table was full)"
STAND_INS = {CUT, OTHER, "(unnamed code)", "(unknown)", "(no python frame)"}
LINE = re.compile(r"(?P<stack>[^\n]+) (?P<weight>[1-9][0-9]*)")
FRAME = re.compile(r"(?P<function>[^;()]*[^;]*) \((?P<file>[^;]*?)(?::(?P<line>[0-9]+))?\)")


def parse_folded(text: str) -> list[tuple[list[str], int]]:
    """The stacks and weights of a folded file, refusing anything a strict reader would."""
    assert text == "" or text.endswith("\n"), repr(text[-80:])
    stacks = []
    for line in text.splitlines():
        assert not line.startswith("#"), line
        m = LINE.fullmatch(line)
        assert m is not None, line
        frames = m["stack"].split(";")
        for frame in frames:
            assert frame != "" and frame == frame.strip(), line
            assert frame in STAND_INS or FRAME.fullmatch(frame), frame
        stacks.append((frames, int(m["weight"])))
    return stacks


def frame_parts(frame: str) -> tuple[str, str, int | None]:
    m = FRAME.fullmatch(frame)
    assert m is not None, frame
    return m["function"], m["file"], None if m["line"] is None else int(m["line"])


def test_the_parser_refuses_what_a_strict_reader_would() -> None:
    good = "<module> (a.py:3);f (a.py:1) 12\n"
    assert parse_folded(good) == [(["<module> (a.py:3)", "f (a.py:1)"], 12)]
    for bad in (
        "# a comment 1\n",
        "f (a.py:1) 0\n",
        "f (a.py:1) 1.5\n",
        "f (a.py:1)\n",
        "<module> (a.py:3);;f (a.py:1) 3\n",
        "f (a.py:1) 3",
        "\n",
    ):
        with pytest.raises(AssertionError):
            parse_folded(bad)


def run_with_file(tmp_path: Path, source: str, *options: str):
    """Runs `source` with --stacks and a folded file; its stacks, summary and triggers."""
    script = write_script(tmp_path, source)
    out = tmp_path / "gc.folded"
    proc = run(
        [
            launcher(), "run", "--json", "--stats-only", "--stacks", "--stacks-file", out,
            *options, "--python", sys.executable, script,
        ],
        tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (summary,) = summaries(proc.stderr).values()
    text = out.read_text()
    return proc, parse_folded(text), summary, triggers(proc.stderr), out


def assert_adds_up(stacks, total_ms: float, t: dict) -> None:
    """The weights are the report's total pause time, within 1 us per possible line."""
    # Every stack of the table, and the "other" row, may be a line; one
    # rounding to 0 us is left out, which is under 1 us too.
    lines = t["stacks"] + 1
    assert abs(sum(w for _, w in stacks) - total_ms * 1000) <= lines + 0.5, (stacks, total_ms)


@needs_stacks
def test_the_lines_name_the_functions_that_triggered_collections(tmp_path: Path) -> None:
    proc, stacks, summary, t, out = run_with_file(tmp_path, KNOWN_LINES)
    script = str(tmp_path / "target.py")
    assert_adds_up(stacks, summary["total_ms"], t)
    by_function: dict[str, list[tuple[list[str], int]]] = {}
    for frames, weight in stacks:
        function, file, _ = frame_parts(frames[-1])
        if file == script:
            by_function.setdefault(function, []).append((frames, weight))

    # The seven gc.collect() calls: one stack, innermost the line that
    # calls it, called from the module, weighing what their row weighs.
    (exp_row,) = [r for r in t["triggers"] if r["function"] == "explicit"]
    ((frames, weight),) = by_function["explicit"]
    assert frame_parts(frames[-1]) == ("explicit", script, 12)
    assert frame_parts(frames[-2])[:2] == ("<module>", script)
    assert abs(weight - exp_row["total_ms"] * 1000) <= 1.5

    # The automatic collections of make_cycles' loop, at its lines.
    auto = by_function["make_cycles"]
    body = lines_of(KNOWN_LINES, "make_cycles")
    assert {frame_parts(frames[-1])[2] for frames, _ in auto} <= body
    auto_rows = [r for r in t["triggers"] if r["function"] == "make_cycles"]
    expected = sum(r["total_ms"] for r in auto_rows) * 1000
    assert abs(sum(w for _, w in auto) - expected) <= len(auto_rows) + 1.5
    # The table held every stack: no "other" line.
    assert all(OTHER not in frames for frames, _ in stacks)


@needs_stacks
def test_a_stack_deeper_than_stack_depth_starts_with_the_cut_frame(tmp_path: Path) -> None:
    source = """\
import gc

def down(n):
    if n == 0:
        gc.collect()
        return
    down(n - 1)

for _ in range(3):
    down(50)
"""
    _, stacks, summary, t, _ = run_with_file(tmp_path, source, "--stack-depth", "3")
    script = str(tmp_path / "target.py")
    assert_adds_up(stacks, summary["total_ms"], t)
    assert all(len(frames) <= 4 for frames, _ in stacks), stacks
    assert all(frames[0] == CUT for frames, _ in stacks if len(frames) == 4), stacks
    # The gc.collect() calls: the cut frame, then the three innermost frames.
    collects = [frames for frames, _ in stacks if frame_parts(frames[-1])[1:] == (script, 5)]
    assert collects, stacks
    for frames in collects:
        assert frames[0] == CUT
        assert [frame_parts(f)[:2] for f in frames[1:]] == [("down", script)] * 3
        assert frame_parts(frames[1])[2] == 7


def test_stacks_file_without_stacks_is_refused(tmp_path: Path) -> None:
    script = write_script(tmp_path, "open('ran', 'w').close()\n")
    proc = run(
        [launcher(), "run", "--stacks-file", "gc.folded", "--python", sys.executable, script],
        tmp_path,
    )
    assert_bad_input(proc, "'--stacks-file'", "'--stacks'")
    assert not (tmp_path / "ran").exists()
    assert not (tmp_path / "gc.folded").exists()


def test_the_library_refuses_stacks_file_without_stacks(tmp_path: Path) -> None:
    source = """\
from gc_monitor import GCMonitor
try:
    GCMonitor(stacks_file="gc.folded")
except ValueError as e:
    print(e)
"""
    proc = run([sys.executable, write_script(tmp_path, source)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "option 'stacks_file' needs 'stacks=True': it writes the call stacks that one records"
    )
    assert not (tmp_path / "gc.folded").exists()


@needs_stacks
def test_the_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "gc.folded"
    out.write_text("an older file\n" * 1000)
    out.chmod(0o644)
    _, stacks, _, _, _ = run_with_file(tmp_path, KNOWN_LINES)
    assert stacks
    assert "older" not in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # Replaced by a rename: no temporary file is left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gc.folded", "target.py"]


def test_a_symlink_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "gc.folded"
    link.symlink_to(victim)
    script = write_script(tmp_path, "open('ran', 'w').close()\n")
    proc = run(
        [
            launcher(), "run", "--stacks", "--stacks-file", link,
            "--python", sys.executable, script,
        ],
        tmp_path,
    )  # fmt: skip
    assert_bad_input(proc, f"'{link}'", "symbolic link")
    assert not (tmp_path / "ran").exists()
    assert victim.read_text() == "keep me\n"
    assert os.path.islink(link)


@needs_stacks
def test_the_library_keyword_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "gc.folded"
    log = tmp_path / "report.jsonl"
    source = f"""\
import gc
from gc_monitor import GCMonitor

def work():
    gc.collect()

with GCMonitor(stacks=True, stacks_file={str(out)!r}, json_output=True, stats_only=True,
               log_file={str(log)!r}):
    work()
"""
    script = write_script(tmp_path, source)
    proc = run([sys.executable, script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    ((frames, weight),) = parse_folded(out.read_text())
    assert frame_parts(frames[-1]) == ("work", str(script), 5)
    (row,) = triggers(log.read_text())["triggers"]
    assert abs(weight - row["total_ms"] * 1000) <= 1.5


@needs_stacks
def test_a_full_table_has_one_other_stacks_line(tmp_path: Path) -> None:
    # More distinct stacks than the table's 1,024 (test_stacks.py's overflow).
    source = """\
import gc
for i in range(1500):
    ns = {"gc": gc}
    exec(compile(f"def f{i}():\\n    gc.collect()\\n", f"<gen {i}>", "exec"), ns)
    ns[f"f{i}"]()
    del ns
"""
    _, stacks, summary, t, _ = run_with_file(tmp_path, source)
    assert t["stacks"] == t["table_size"]
    assert_adds_up(stacks, summary["total_ms"], t)
    (other,) = [(frames, weight) for frames, weight in stacks if OTHER in frames]
    assert other[0] == [OTHER]
    assert abs(other[1] - t["other"]["total_ms"] * 1000) <= 1.5


@needs_stacks
def test_two_callers_of_one_allocator_are_two_stacks(tmp_path: Path) -> None:
    # A stack seen before is recognised by its raw frames (code objects and
    # offsets); stacks that differ only in an outer frame's line must stay
    # apart.
    source = """\
import gc
gc.set_threshold(300, 10, 10)
def alloc(n):
    for _ in range(n):
        a = []; b = [a]; a.append(b)
def caller_one():
    alloc(20000)
def caller_two():
    alloc(20000)
for _ in range(3):
    caller_one()
    caller_two()
"""
    _, stacks, summary, t, _ = run_with_file(tmp_path, source)
    script = str(tmp_path / "target.py")
    assert_adds_up(stacks, summary["total_ms"], t)
    callers: dict[str, int] = {}
    for frames, weight in stacks:
        if len(frames) >= 2 and frame_parts(frames[-1])[:2] == ("alloc", script):
            function, file, line = frame_parts(frames[-2])
            assert file == script
            callers[f"{function}:{line}"] = callers.get(f"{function}:{line}", 0) + weight
    assert set(callers) == {"caller_one:7", "caller_two:9"}, callers
    assert all(weight > 0 for weight in callers.values())
