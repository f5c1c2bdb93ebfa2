"""The report's second part, as users get it: through the real launcher.

Every option of the part (recommendations, --interval, both flame graphs,
--dump-objects, --dump-garbage, --prompt) runs a small script under
`pygcprofiler run` in a subprocess, and the test reads what reached stderr,
the --log-file or the flame graph file.  Figures are compared with each other
(table rows against STOP lines, folded weights against the summary, object
counts against what the script made), never with hard-coded timings.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from gcm_testing import launcher

# Enough full collections for generation 2 to be far over 10% of them, a few
# young ones, then the program's own output and exit status.
SCRIPT = """\
import gc
import sys
import time

class Node:
    def __init__(self):
        self.me = self

for i in range({full}):
    for _ in range(500):
        Node()
    gc.collect()
    time.sleep({sleep})
for _ in range(3):
    gc.collect(0)
print("THRESHOLD", *gc.get_threshold(), flush=True)
print("FROZEN", gc.get_freeze_count(), flush=True)
sys.exit({status})
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STOP = re.compile(r"^GMEM GC STOP \| Gen: ([012]) \| ")
SEVERITY = re.compile(r"^(MEDIUM|HIGH|CRITICAL|NOTE): ")


def command(tmp_path: Path, options: tuple[str, ...], source: str) -> list[str]:
    script = tmp_path / "app.py"
    script.write_text(source)
    return [launcher(), "run", "--python", sys.executable, *options, str(script)]


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYGCPROFILER_CONFIG", None)
    return env


def run(
    tmp_path: Path,
    *options: str,
    full: int = 6,
    sleep: float = 0.0,
    status: int = 0,
    source: str | None = None,
) -> subprocess.CompletedProcess[str]:
    text = source if source is not None else SCRIPT.format(full=full, sleep=sleep, status=status)
    return subprocess.run(
        command(tmp_path, options, text),
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=str(tmp_path),
    )


def report_of(capture: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`pygcprofiler report` of `capture`, its output on stdout."""
    return subprocess.run(
        [launcher(), "report", *options, str(capture)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )


def section(text: str, heading: str) -> list[str]:
    """The lines after `heading` up to the next line starting with '=' or the end."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    out = []
    for line in lines[start + 1 :]:
        if line.startswith("=") or line.startswith("GC activity over time"):
            break
        out.append(line)
    return out


def summary_int(text: str, label: str) -> int:
    match = re.search(rf"^{re.escape(label)}: (\d+)", text, re.MULTILINE)
    assert match, f"no '{label}' line in:\n{text}"
    return int(match.group(1))


def parse_lines(text: str) -> list[dict[str, Any]]:
    objs = []
    for line in text.splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict) and isinstance(obj.get("type"), str), line
        objs.append(obj)
    return objs


def test_recommendations_wait_for_evidence(tmp_path: Path):
    # Six full collections and a few young ones in milliseconds: under the
    # evidence minimum (10 collections and 1 s of wall time) the verdict says
    # so, and the advice is a note of what was seen, nothing built on a rate
    # or a share extrapolated from milliseconds.
    proc = run(tmp_path, "--stats-only")
    assert proc.returncode == 0, proc.stderr
    total = summary_int(proc.stderr, "Total GC collections")
    verdict = section(proc.stderr, "=== GC VERDICT ===")
    assert verdict[0].startswith(f"GC verdict: NOT ENOUGH DATA ({total} collections in "), verdict
    assert f"  collections: {total} (too short a run for a rate)" in verdict, verdict
    lines = section(proc.stderr, "=== GC THRESHOLD RECOMMENDATIONS ===")
    assert [line for line in lines if not line.startswith("NOTE: ")] == [], lines
    assert any(
        line.startswith(f"NOTE: {total} collections in ") and "under the evidence minimum" in line
        for line in lines
    ), lines
    assert "set_threshold" not in proc.stderr
    assert "gc.freeze()" not in proc.stderr


def test_json_advice_matches_text(tmp_path: Path):
    # One run, rendered twice from its capture: two runs of the script may
    # differ in the rules their timings fire (GC's share of wall time) on a
    # loaded machine, and this test is about the two formats, not the runs.
    capture = tmp_path / "advice.gcm"
    recorded = run(tmp_path, "--stats-only", "-o", str(capture))
    assert recorded.returncode == 0, recorded.stderr
    text = report_of(capture, "--stats-only")
    proc = report_of(capture, "--format", "json", "--stats-only")
    assert proc.returncode == 0, proc.stderr
    objs = parse_lines(proc.stdout)
    assert objs[-1]["type"] == "summary"
    advice = [o for o in objs if o["type"] == "advice"]
    rules_text = [
        line.split(":")[0]
        for line in section(text.stdout, "=== GC THRESHOLD")
        if SEVERITY.match(line)
    ]
    # The two renderings of one run give the same rules, in the same order.
    assert [a["severity"] for a in advice] == rules_text
    for a in advice:
        if a["severity"] != "NOTE":
            assert a["value"] >= a["limit"]
            assert a["code"]


def test_interval_table_covers_the_retained_events(tmp_path: Path):
    proc = run(tmp_path, "--interval", "0.25", full=3, sleep=0.6)
    assert proc.returncode == 0, proc.stderr
    stops = [line for line in proc.stderr.splitlines() if STOP.match(line)]
    head = "GC activity over time (--interval 0.25s, from the start of monitoring):"
    lines = proc.stderr.splitlines()
    start = lines.index(head)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("  T+"):
            break
        rows.append(line)
    counts = [int(re.split(r"\s{2,}", row.strip())[1]) for row in rows]
    assert sum(counts) == len(stops)
    labels = [row.split("  ")[1].split(" to ")[0].strip() for row in rows]
    assert len(labels) == len(set(labels)), rows
    # Full collections at least 0.6 s apart leave a whole empty quarter-second
    # between them, whatever the machine's speed.
    assert any(count == 0 for count in counts), rows


def test_terminal_flamegraph_color_keeps_the_exit_status(tmp_path: Path):
    proc = run(tmp_path, "--terminal-flamegraph", "--terminal-flamegraph-color", status=7)
    assert proc.returncode == 7, proc.stderr
    assert "THRESHOLD" in proc.stdout
    chart = [line for line in proc.stderr.splitlines() if "|" in line and line.startswith("T+")]
    assert chart, proc.stderr
    # stderr is a pipe here: no colour, whatever the option says.
    assert "\x1b[" not in proc.stderr
    heading = next(line for line in proc.stderr.splitlines() if " GC time per 5s" in line)
    for line in [heading, *chart]:
        assert len(line) == 80, line


def test_terminal_flamegraph_width_and_color_on_a_terminal(tmp_path: Path):
    argv = command(
        tmp_path,
        (
            "--terminal-flamegraph",
            "--terminal-flamegraph-color",
            "--terminal-flamegraph-width",
            "41",
        ),
        SCRIPT.format(full=4, sleep=0.0, status=3),
    )
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env=clean_env(),
        cwd=str(tmp_path),
    )
    os.close(secondary)
    chunks = []
    while True:
        ready, _, _ = select.select([primary], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO once the terminal's last writer is gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    assert proc.wait(timeout=60) == 3
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    assert "\x1b[31m2" in text, text
    chart = [line for line in text.splitlines() if ANSI.sub("", line).startswith("T+")]
    assert chart
    for line in chart:
        assert len(ANSI.sub("", line)) == 41, line


# A folded line as flamegraph.pl, inferno and speedscope all read it: a
# stack, one space, a whole weight.  A comment line would not match.
FOLDED_LINE = re.compile(r"^[^ ].* [0-9]+$")


def folded(path: Path) -> list[tuple[str, int]]:
    """The stacks and weights of a flame graph file, every line checked."""
    text = path.read_text()
    assert text == "" or text.endswith("\n"), repr(text[-80:])
    frames = []
    for line in text.splitlines():
        assert not line.startswith("#"), line
        assert FOLDED_LINE.fullmatch(line), line
        stack, weight = line.rsplit(" ", 1)
        frames.append((stack, int(weight)))
    return frames


def test_flamegraph_file_with_terminal_chart_and_color(tmp_path: Path):
    out = tmp_path / "gc-flame.txt"
    proc = run(
        tmp_path,
        "--flamegraph-file",
        str(out),
        "--terminal-flamegraph",
        "--terminal-flamegraph-color",
        status=5,
    )
    assert proc.returncode == 5, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    frames = folded(out)
    # No comment line states the span; the report does, on the same clock:
    # its table over time counts every retained collection.
    stops = [line for line in proc.stderr.splitlines() if STOP.match(line)]
    rows = re.findall(r"^  T\+\S+ to T\+\S+ +(\d+) ", proc.stderr, re.MULTILINE)
    assert sum(int(n) for n in rows) == len(stops) > 0
    assert frames
    frame = re.compile(r"T\+\d+(\.\d+)?s;Gen [012];(<=1ms|[\d.]+-[\d.]+ms|>100ms)")
    for stack, weight in frames:
        assert frame.fullmatch(stack), stack
        assert weight >= 1
    assert " GC time per 5s, by generation " in proc.stderr
    assert not list(tmp_path.glob("gc-flame.txt.*.tmp"))


def test_flamegraph_weights_add_up_to_the_pauses(tmp_path: Path):
    out = tmp_path / "flame.folded"
    proc = run(tmp_path, "--json", "--flamegraph-file", str(out), "--flamegraph-bucket", "0.1")
    assert proc.returncode == 0, proc.stderr
    events = [o for o in parse_lines(proc.stderr) if o["type"] == "event"]
    frames = folded(out)
    total_us = sum(weight for _, weight in frames)
    # A frame is rounded to the microsecond and weighs at least 1, so it may
    # be off by up to 1 us; each event's duration_ms is rounded to the
    # microsecond too, off by up to half of one.
    events_us = sum(e["duration_ms"] for e in events) * 1000
    assert abs(total_us - events_us) <= len(frames) + len(events) / 2 + 1e-6
    labels = {stack.split(";")[0] for stack, _ in frames}
    assert all(re.fullmatch(r"T\+\d+(\.\d)?s", label) for label in labels), labels


def test_flamegraph_file_refuses_a_planted_symlink(tmp_path: Path):
    # The one output policy (docs/cli.md): a symlink at an output path is
    # refused before the program starts, neither followed nor replaced.
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    out = tmp_path / "flame.txt"
    out.symlink_to(victim)
    proc = run(tmp_path, "--flamegraph-file", str(out), "--stats-only")
    assert proc.returncode == 2, proc.stderr
    assert "symbolic link" in proc.stderr
    assert "THRESHOLD" not in proc.stdout
    assert victim.read_text() == "precious\n"
    assert out.is_symlink()


# The parent's one collection is a full one; the child (which starts from an
# empty recording) runs generation 1 only, so the two files differ in their
# stacks, not only in their names.
FORK = """\
import gc
import os
import sys

gc.collect()
pid = os.fork()
if pid == 0:
    gc.collect(1)
    gc.collect(1)
    gc.collect(1)
    sys.exit(0)
_, status = os.waitpid(pid, 0)
print("CHILD", pid, status, flush=True)
"""


def generations_and_weight(frames: list[tuple[str, int]]) -> tuple[set[int], int]:
    """The generations a flame graph file's stacks name, and its total weight."""
    gens = set()
    for stack, _ in frames:
        match = re.search(r";Gen ([012]);", stack)
        assert match, stack
        gens.add(int(match[1]))
    return gens, sum(weight for _, weight in frames)


def test_fork_child_writes_its_own_flamegraph_file(tmp_path: Path):
    out = tmp_path / "flame.txt"
    # One bucket for the whole run: a file's stacks are then its process's
    # generations, and its weights add up to that process's pauses.
    options = ("--json", "--flamegraph-file", str(out), "--flamegraph-bucket", "1000")
    proc = run(tmp_path, *options, source=FORK)
    assert proc.returncode == 0, proc.stderr
    _, child, status = proc.stdout.split()
    assert status == "0"
    parent = next(o["pid"] for o in parse_lines(proc.stderr) if o["type"] == "start")
    # The child's file is named by its pid, beside the parent's; nothing else.
    mine = tmp_path / f"flame.{child}.txt"
    assert stat.S_IMODE(mine.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.glob("flame*")) == sorted([out.name, mine.name])
    events = [o for o in parse_lines(proc.stderr) if o["type"] == "event"]
    # Both files are pure folded lines (folded() checks every line), and each
    # holds its own process's collections: those the JSON events of its pid
    # name, and no other process's.
    for path, pid in ((out, parent), (mine, int(child))):
        own = [e for e in events if e["pid"] == pid]
        assert own, pid
        frames = folded(path)
        gens, total_us = generations_and_weight(frames)
        assert gens == {e["generation"] for e in own}, (path.name, frames, own)
        own_us = sum(e["duration_ms"] for e in own) * 1000
        assert abs(total_us - own_us) <= len(frames) + len(own) / 2 + 1e-6
    assert 2 in generations_and_weight(folded(out))[0]
    assert 2 not in generations_and_weight(folded(mine))[0]


def test_unwritable_flamegraph_file_keeps_the_exit_status(tmp_path: Path):
    # The launcher checks the directory at start; the program removes it
    # before exit, so the file cannot be made when the report is written.
    out_dir = tmp_path / "gone"
    out_dir.mkdir()
    source = f"import gc, shutil, sys\ngc.collect()\nshutil.rmtree({str(out_dir)!r})\nsys.exit(4)\n"
    proc = run(tmp_path, "--flamegraph-file", str(out_dir / "f"), source=source)
    assert proc.returncode == 4, proc.stderr
    assert "=== GC MONITORING SUMMARY ===" in proc.stderr
    assert not out_dir.exists()


MARKERS = """\
import sys

class Marker:
    pass

keep = [Marker() for _ in range(12345)]
sys.exit(0)
"""


def test_dump_objects_counts_every_tracked_object(tmp_path: Path):
    proc = run(tmp_path, "--dump-objects", "--stats-only", source=MARKERS)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    start = lines.index("=== OBJECTS TRACKED BY THE GC AT EXIT ===")
    match = re.match(r"^(\d+) objects of (\d+) types; the 20 most common:$", lines[start + 1])
    assert match, lines[start + 1]
    # More than the original's 10,000-object cut-off, and every Marker counted.
    assert int(match.group(1)) > 12345
    rows = lines[start + 3 : start + 23]
    assert "       12345  __main__.Marker" in rows
    counts = [int(row.split()[0]) for row in rows]
    assert counts == sorted(counts, reverse=True)


GARBAGE = """\
import gc

class Cycle:
    def __init__(self, i):
        self.me = self
        self.i = i
    def __repr__(self):
        if self.i % 2:
            raise ValueError("no repr")
        return "Cycle(" + "x" * 200 + ")"

# Start-up garbage is saved by the first collection: free it for real (with
# DEBUG_SAVEALL off for a moment), so that gc.garbage starts with these cycles.
gc.collect()
flags = gc.get_debug()
gc.set_debug(0)
gc.garbage.clear()
gc.collect()
gc.set_debug(flags)
for i in range(30):
    Cycle(i)
gc.collect()
print("GARBAGE", len(gc.garbage), flush=True)
"""


def test_dump_garbage_shows_what_saveall_kept(tmp_path: Path):
    proc = run(tmp_path, "--dump-garbage", "--stats-only", source=GARBAGE)
    assert proc.returncode == 0, proc.stderr
    kept = int(proc.stdout.split()[1])
    assert kept >= 30
    lines = section(proc.stderr, "=== GC.GARBAGE AT EXIT (kept alive by DEBUG_SAVEALL) ===")
    assert "not representative" in lines[0]
    assert re.fullmatch(rf"{kept} objects in gc\.garbage of \d+ types?[:;].*", lines[1]), lines
    reprs = [line for line in lines if line.startswith("  __main__.Cycle: ")]
    assert 1 <= len(reprs) <= 20
    texts = [line[len("  __main__.Cycle: ") :] for line in reprs]
    assert "<repr() failed: ValueError>" in texts
    assert all(len(t) <= 80 for t in texts)
    assert "Cycle(" + "x" * 74 in texts
    assert "uncollectable" not in "\n".join(lines).replace("not uncollectable objects", "")
    assert any(line.startswith("NOTE: --dump-garbage was on") for line in proc.stderr.splitlines())


def test_prompt_holds_the_environment_and_a_question(tmp_path: Path):
    proc = run(tmp_path, "--prompt")
    assert proc.returncode == 0, proc.stderr
    out = proc.stderr
    begin = out.index("=== AI OPTIMIZATION PROMPT")
    end = out.index("=== END OF PROMPT ===")
    prompt = out[begin:end]
    thresholds = proc.stdout.split("THRESHOLD ")[1].split("\n")[0].split()
    frozen = proc.stdout.split("FROZEN ")[1].split("\n")[0]
    assert f"- Python: {sys.version.split()[0]} " in prompt
    assert f"gc.get_threshold() == ({', '.join(thresholds)})" in prompt
    assert f"gc.get_freeze_count()): {frozen}" in prompt
    assert f"- collections: {summary_int(out, 'Total GC collections')} in " in prompt
    assert "\nQuestion: " in prompt


def test_stats_only_prompt(tmp_path: Path):
    proc = run(tmp_path, "--stats-only", "--prompt")
    assert proc.returncode == 0, proc.stderr
    assert not [line for line in proc.stderr.splitlines() if line.startswith("GMEM GC STOP")]
    assert "=== AI OPTIMIZATION PROMPT" in proc.stderr
    assert proc.stderr.rstrip().endswith("=== END OF PROMPT ===")


def test_json_prompt(tmp_path: Path):
    proc = run(tmp_path, "--json", "--prompt")
    assert proc.returncode == 0, proc.stderr
    objs = parse_lines(proc.stderr)
    assert objs[-1]["type"] == "summary"
    (prompt,) = [o for o in objs if o["type"] == "prompt"]
    assert "\nQuestion: " in prompt["text"]
    assert "=== " not in prompt["text"]
    # The timeline objects hold every collection the event lines list.
    events = [o for o in objs if o["type"] == "event"]
    timeline = [o for o in objs if o["type"] == "timeline"]
    assert sum(t["collections"] for t in timeline) == len(events) > 0
    assert [t["t_s"] for t in timeline] == sorted({t["t_s"] for t in timeline})


def test_json_prompt_dump_objects_parses_line_by_line(tmp_path: Path):
    log = tmp_path / "gc.jsonl"
    proc = run(tmp_path, "--json", "--prompt", "--dump-objects", "--log-file", str(log))
    assert proc.returncode == 0, proc.stderr
    objs = parse_lines(log.read_text())
    types = [o["type"] for o in objs]
    assert types[0] == "start" and types[-1] == "summary"
    (objects,) = [o for o in objs if o["type"] == "objects"]
    assert objects["gathered"] is True
    assert 1 <= len(objects["types"]) <= 20
    assert objects["total"] >= sum(t["count"] for t in objects["types"])
    (prompt,) = [o for o in objs if o["type"] == "prompt"]
    top = objects["types"][0]
    assert f"  {top['name']}\n" in prompt["text"]
    assert types.index("objects") < types.index("prompt") < types.index("summary")
