"""Which code triggered each collection (--stacks), as users get it.

Each test runs a real program under the real launcher with --stacks and
compares the "Top GC triggers" of its report with what the program did: the
functions and lines that allocate or call gc.collect(), and the collections
gc.get_stats() counted.  Nothing depends on timing.
"""

from __future__ import annotations

import json
import sys

import pytest
from gcm_testing import assert_bad_input, launcher, report, run, summaries, write_script

SUPPORTED = sys.version_info < (3, 16)
needs_stacks = pytest.mark.skipif(not SUPPORTED, reason="--stacks is refused on this version")

# Automatic collections from a loop of cycles in one function, explicit ones
# at a known line in another, and the interpreter's own count around both.
KNOWN_LINES = """\
import gc
import json
import sys

def make_cycles(n):
    for _ in range(n):
        a = []
        a.append(a)

def explicit(n):
    for _ in range(n):
        gc.collect()

gc.collect()
before = sum(s["collections"] for s in gc.get_stats())
make_cycles(300_000)
explicit(7)
after = sum(s["collections"] for s in gc.get_stats())
print(json.dumps({"counted": after - before}), flush=True)
"""


def lines_of(source: str, function: str) -> set[int]:
    """The line numbers of `function`'s body in `source`."""
    lines = source.splitlines()
    start = next(
        i
        for i, text in enumerate(lines)
        if text.startswith((f"def {function}(", f"async def {function}("))
    )
    body = set()
    for i in range(start + 1, len(lines)):
        if not lines[i].startswith(" "):
            break
        body.add(i + 1)
    return body


def triggers(stderr: str) -> dict:
    found = [
        json.loads(line) for line in stderr.splitlines() if line.startswith('{"type":"triggers"')
    ]
    assert len(found) == 1, stderr
    return found[0]


def run_json(tmp_path, source, *options):
    script = write_script(tmp_path, source)
    proc = run(
        [
            launcher(),
            "run",
            "--json",
            "--stats-only",
            "--stacks",
            *options,
            "--python",
            sys.executable,
            script,
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (summary,) = summaries(proc.stderr).values()
    return proc, summary, triggers(proc.stderr)


def row_total(rows, other=None):
    return sum(r["count"] for r in rows) + (other["count"] if other else 0)


@needs_stacks
def test_collections_are_attributed_to_the_lines_that_triggered_them(tmp_path):
    proc, summary, t = run_json(tmp_path, KNOWN_LINES)
    counted = json.loads(proc.stdout.splitlines()[-1])["counted"]
    rows = t["triggers"]
    script = str(tmp_path / "target.py")

    # Exact: every collection is under one row, none twice.
    assert t["other"] is None
    assert row_total(rows) == summary["count"]
    by_function = {}
    for r in rows:
        # Collections of start-up (an import's) may come from other files.
        if r["file"] == script:
            by_function.setdefault(r["function"], []).append(r)
    # The seven gc.collect() calls, at their line, all of generation 2.
    (exp,) = by_function["explicit"]
    assert exp["line"] == 12
    assert (exp["count"], exp["gen2"]) == (7, 7)
    # Before 3.12 a collection runs in the allocation that crossed the
    # threshold; from 3.12 at the next eval-breaker check, a few bytecodes
    # later in the same loop: either way, make_cycles' loop.
    auto = by_function["make_cycles"]
    assert {r["line"] for r in auto} <= lines_of(KNOWN_LINES, "make_cycles")
    # What gc.get_stats() counted during the two calls is exactly theirs.
    assert sum(r["count"] for r in auto) + exp["count"] == counted
    assert sum(r["gen2"] for r in auto) == 0
    # Shares add up to the whole.
    assert abs(sum(r["share"] for r in rows) - 100.0) < 0.5


@needs_stacks
def test_the_text_report_names_the_call_sites(tmp_path):
    script = write_script(tmp_path, KNOWN_LINES)
    proc = run(
        [launcher(), "run", "--stacks", "--stats-only", "--python", sys.executable, script],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("Top GC triggers"))
    assert "call site" in lines[head + 1]
    # Every row, not only the first few: under load a collection during an
    # import at start-up can outweigh the seven explicit ones.
    table = []
    for line in lines[head + 2 :]:
        if not line.startswith("  "):
            break
        table.append(line)
    assert len(table) >= 3, proc.stderr
    assert any(line.endswith(f"{script}:12 in explicit") for line in table), proc.stderr
    assert any(" in make_cycles" in line for line in table), proc.stderr


@needs_stacks
def test_deep_recursion_keeps_the_innermost_frames(tmp_path):
    source = """\
import gc

def down(n):
    if n == 0:
        gc.collect()
        return
    down(n - 1)

for _ in range(3):
    down(200)
"""
    _, summary, t = run_json(tmp_path, source, "--stack-depth", "4")
    assert t["depth"] == 4
    # The three gc.collect() calls, 200 frames deep, are found at their line.
    # (Before 3.11 each call allocates a frame object, so automatic
    # collections may also start at the line of the recursive call.)
    rows = [r for r in t["triggers"] if r["function"] == "down"]
    (row,) = [r for r in rows if r["line"] == 5]
    assert row["count"] >= 3, rows
    assert all(r["line"] in (5, 7) for r in rows), rows
    assert row_total(t["triggers"]) == summary["count"]


@needs_stacks
def test_each_thread_is_attributed_its_own_stack(tmp_path):
    source = """\
import gc
import threading

def in_thread_a():
    for _ in range(3):
        gc.collect()

def in_thread_b():
    for _ in range(5):
        gc.collect()

for target in (in_thread_a, in_thread_b):
    t = threading.Thread(target=target)
    t.start()
    t.join()
"""
    _, _, t = run_json(tmp_path, source)
    rows = {r["function"]: r for r in t["triggers"]}
    assert (rows["in_thread_a"]["line"], rows["in_thread_a"]["count"]) == (6, 3)
    assert (rows["in_thread_b"]["line"], rows["in_thread_b"]["count"]) == (10, 5)


# Explicit collections at known lines inside a generator, a coroutine run by
# asyncio and a key function that sorted() (C code) calls back, and
# automatic ones from cycles made in the same places, with the interpreter's
# own count around each.
FRAME_KINDS = """\
import asyncio
import gc
import json

def numbers(n):
    for i in range(n):
        a = []
        a.append(a)
        if i % 10_000 == 0:
            gc.collect()
        yield i

async def step(n):
    for i in range(n):
        a = []
        a.append(a)
        if i % 10_000 == 0:
            gc.collect()
        if i % 1_000 == 0:
            await asyncio.sleep(0)

def key(i):
    a = []
    a.append(a)
    if i % 10_000 == 0:
        gc.collect()
    return -i

def counted(run):
    before = sum(s["collections"] for s in gc.get_stats())
    run()
    return sum(s["collections"] for s in gc.get_stats()) - before

gc.collect()
print(json.dumps({
    "generator": counted(lambda: sum(numbers(50_000))),
    "coroutine": counted(lambda: asyncio.run(step(50_000))),
    "sorted": counted(lambda: sorted(range(50_000), key=key)),
}), flush=True)
"""


@needs_stacks
def test_generators_coroutines_and_c_callbacks_are_attributed(tmp_path):
    proc, summary, t = run_json(tmp_path, FRAME_KINDS)
    counted = json.loads(proc.stdout.splitlines()[-1])
    script = str(tmp_path / "target.py")
    rows = [r for r in t["triggers"] if r["file"] == script]
    assert row_total(t["triggers"], t["other"]) == summary["count"]
    assert t["other"] is None

    def explicit(function):
        line = next(
            n
            for n in sorted(lines_of(FRAME_KINDS, function))
            if FRAME_KINDS.splitlines()[n - 1].strip() == "gc.collect()"
        )
        (row,) = [r for r in rows if r["function"] == function and r["line"] == line]
        return row

    # gc.collect() every 10,000 iterations of 50,000: five calls each, at the
    # line inside the generator, the coroutine and the key function.
    for function in ("numbers", "step", "key"):
        row = explicit(function)
        assert (row["count"], row["gen2"]) == (5, 5), (function, row)
    # Each phase's collections are all attributed: the explicit five and
    # the automatic ones of its cycles, to its own code or the code that
    # drives it (the loop that resumes a generator, asyncio's event loop),
    # never lost.  The count of each is gc.get_stats()'s.
    assert sum(r["count"] for r in t["triggers"]) >= sum(counted.values())
    for function in ("numbers", "step", "key"):
        auto = [r for r in rows if r["function"] == function and r["gen2"] == 0]
        assert auto, (function, rows)


@needs_stacks
def test_a_full_table_counts_the_rest_as_other_stacks_and_totals_stay_exact(tmp_path):
    # 1,500 functions of their own code objects, each collecting once from
    # its own stack: more than the table's 1,024 stacks.  Each code object is
    # dropped right after its call (the table holds its names, never a
    # pointer it would follow).
    source = """\
import gc
for i in range(1500):
    ns = {"gc": gc}
    exec(compile(f"def f{i}():\\n    gc.collect(0)\\n", f"<gen {i}>", "exec"), ns)
    ns[f"f{i}"]()
    del ns
"""
    _, summary, t = run_json(tmp_path, source)
    assert t["stacks"] == t["table_size"] == 1024
    other = t["other"]
    assert other is not None and other["count"] > 0
    assert row_total(t["triggers"], other) == summary["count"]
    total_ms = sum(r["total_ms"] for r in t["triggers"]) + other["total_ms"]
    assert abs(total_ms - summary["total_ms"]) < 0.01 * len(t["triggers"]) + 0.01
    named = {r["function"] for r in t["triggers"]}
    assert "f0" in named and "f1499" not in named


@needs_stacks
def test_thousands_of_dropped_code_objects_leave_no_dangling_name(tmp_path):
    # More code objects than the table names (4,096): later ones are
    # "(unknown)" (null in JSON) and every collection is still counted.
    source = """\
import gc
for i in range(5000):
    code = compile(f"gc.collect(0) if {i} % 1 == 0 else None", f"<gen {i}>", "exec")
    exec(code, {"gc": gc})
    del code
"""
    _, summary, t = run_json(tmp_path, source)
    rows = t["triggers"]
    assert row_total(rows, t["other"]) == summary["count"]
    files = {r["file"] for r in rows}
    assert "<gen 0>" in files
    # The first 4,096 code objects were named, the rest counted as unnamed.
    assert 0 < t["unnamed_frames"] <= 5000 - 4096 + 16
    assert t["other"] is not None


@needs_stacks
def test_the_library_keywords_turn_stacks_on(tmp_path):
    log = tmp_path / "report.jsonl"
    source = f"""\
import gc
from gc_monitor import GCMonitor

def work():
    gc.collect()

with GCMonitor(stacks=True, stack_depth=8, json_output=True, stats_only=True,
               log_file={str(log)!r}):
    work()
"""
    script = write_script(tmp_path, source)
    proc = run([sys.executable, script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    t = triggers(log.read_text())
    assert t["depth"] == 8
    assert [(r["function"], r["line"]) for r in t["triggers"]] == [("work", 5)]


@pytest.mark.parametrize("value", ["0", "129", "x"])
def test_a_bad_stack_depth_is_refused(tmp_path, value):
    script = write_script(tmp_path, "pass\n")
    proc = run(
        [launcher(), "run", "--stack-depth", value, "--python", sys.executable, script], tmp_path
    )
    assert_bad_input(proc, "--stack-depth", value)


@pytest.mark.skipif(SUPPORTED, reason="--stacks works on this version")
def test_stacks_is_refused_where_frames_cannot_be_read_without_allocating(tmp_path):
    script = write_script(tmp_path, "print('ran')\n")
    proc = run([launcher(), "run", "--stacks", "--python", sys.executable, script], tmp_path)
    assert_bad_input(proc, "'--stacks' is not supported")
    assert "ran" not in proc.stdout


@needs_stacks
def test_a_fork_child_reports_its_own_stacks(tmp_path):
    source = """\
import gc
import os
import sys

def in_parent():
    for _ in range(4):
        gc.collect()

def in_child():
    for _ in range(2):
        gc.collect()

in_parent()
pid = os.fork()
if pid == 0:
    in_child()
    sys.exit(0)
os.waitpid(pid, 0)
"""
    script = write_script(tmp_path, source)
    proc = run(
        [
            launcher(),
            "run",
            "--json",
            "--stats-only",
            "--stacks",
            "--python",
            sys.executable,
            script,
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    found = [
        json.loads(line)
        for line in proc.stderr.splitlines()
        if line.startswith('{"type":"triggers"')
    ]
    assert len(found) == 2, proc.stderr
    by_process = [{r["function"]: r["count"] for r in t["triggers"]} for t in found]
    child = next(rows for rows in by_process if "in_child" in rows)
    parent = next(rows for rows in by_process if "in_parent" in rows)
    assert child.get("in_child") == 2 and "in_parent" not in child
    assert parent.get("in_parent") == 4 and "in_child" not in parent


@needs_stacks
def test_a_collection_inside_a_library_names_the_programs_call_too(tmp_path):
    source = """\
import copy

def use_library(data):
    for _ in range(30):
        copy.deepcopy(data)

data = [[{"k": [i, str(i)]} for i in range(50)] for _ in range(100)]
use_library(data)
"""
    _, summary, t = run_json(tmp_path, source)
    script = str(tmp_path / "target.py")
    in_copy = [r for r in t["triggers"] if (r["file"] or "").endswith("/copy.py")]
    assert in_copy, t
    for r in in_copy:
        assert r["from"] == {"file": script, "function": "use_library", "line": 5}, r
    # The program's own rows have no "from".
    assert all(r["from"] is None for r in t["triggers"] if r["file"] == script)
    assert row_total(t["triggers"], t["other"]) == summary["count"]


def capture_triggers(capture, *more) -> tuple[list[dict], dict | None]:
    """`report --json` of captures: each process's triggers and the tree's, if several."""
    proc = report(capture, "--json", *more)
    assert proc.returncode == 0, proc.stderr
    objects = [json.loads(line) for line in proc.stdout.splitlines()]
    found = [o for o in objects if o["type"] == "triggers"]
    tree = next((o for o in objects if o["type"] == "tree"), None)
    return found, tree


@needs_stacks
def test_a_killed_programs_capture_keeps_its_triggers(tmp_path):
    # SIGKILL: no exit report, no flush; the table is in the capture file.
    source = KNOWN_LINES + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
    script = write_script(tmp_path, source)
    capture = tmp_path / "run.gcm"
    proc = run(
        [launcher(), "run", "--stacks", "-o", capture, "--python", sys.executable, script],
        tmp_path,
    )
    assert proc.returncode == 128 + 9 or proc.returncode == -9, proc.stderr
    counted = json.loads(proc.stdout.splitlines()[-1])["counted"]
    (t,), _ = capture_triggers(capture)
    summary = next(
        json.loads(line)
        for line in report(capture, "--json").stdout.splitlines()
        if line.startswith('{"type":"summary"')
    )
    rows = t["triggers"]
    assert t["other"] is None
    assert row_total(rows) == summary["count"]
    mine = [r for r in rows if r["file"] == str(script)]
    (exp,) = [r for r in mine if r["function"] == "explicit"]
    assert (exp["line"], exp["count"], exp["gen2"]) == (12, 7, 7)
    auto = [r for r in mine if r["function"] == "make_cycles"]
    assert {r["line"] for r in auto} <= lines_of(KNOWN_LINES, "make_cycles")
    assert sum(r["count"] for r in auto) + exp["count"] == counted
    # The text report shows the same table.
    text = report(capture).stdout
    assert f"{script}:12 in explicit" in text.split("Top GC triggers", 1)[1], text
    # And speedscope gets the stacks profile from the file too, weighing
    # every pause the summary counts.
    doc = json.loads(report(capture, "--format", "speedscope").stdout)
    sampled, evented = doc["profiles"]
    assert (sampled["type"], evented["type"]) == ("sampled", "evented")
    assert abs(sum(sampled["weights"]) / 1e6 - summary["total_ms"]) <= 0.001


@needs_stacks
def test_a_process_trees_triggers_merge_by_call_site(tmp_path):
    source = """\
import gc
import os

def work():
    for _ in range(3):
        gc.collect()

pids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        work()
        os._exit(0)
    pids.append(pid)
work()
for pid in pids:
    os.waitpid(pid, 0)
"""
    script = write_script(tmp_path, source)
    capture = tmp_path / "tree.gcm"
    proc = run(
        [launcher(), "run", "--stacks", "--stats-only", "-o", capture, "--python",
         sys.executable, script],
        tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    files = sorted(tmp_path.glob("tree.gcm*"))
    assert len(files) == 3, files
    each, tree = capture_triggers(*files)
    assert tree is not None and len(each) == 3
    # Every process ran work()'s gc.collect() three times, at line 6.
    for t in each:
        (row,) = [r for r in t["triggers"] if r["function"] == "work"]
        assert (row["line"], row["count"]) == (6, 3)
    merged = tree["totals"]["triggers"]
    (row,) = [r for r in merged["triggers"] if r["function"] == "work"]
    assert (row["file"], row["line"], row["count"], row["gen2"]) == (str(script), 6, 9, 9)
    # Merged by call site, with every process's collections and pause time.
    assert row_total(merged["triggers"]) == sum(row_total(t["triggers"]) for t in each)
    total_ms = sum(r["total_ms"] for t in each for r in t["triggers"])
    assert abs(sum(r["total_ms"] for r in merged["triggers"]) - total_ms) < 0.01
    text = report(*files).stdout
    head, _, rest = text.partition("Top GC triggers across the tree (merged by call site; ")
    assert rest, text
    assert f"{script}:6 in work" in rest.split("\n\n", 1)[0]


def test_a_capture_without_stacks_has_no_triggers(tmp_path):
    script = write_script(tmp_path, "import gc\ngc.collect()\n")
    capture = tmp_path / "plain.gcm"
    proc = run([launcher(), "run", "--stats-only", "-o", capture, script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    found, _ = capture_triggers(capture)
    assert found == []
    assert "Top GC triggers" not in report(capture).stdout


@needs_stacks
def test_a_followed_interpreter_records_its_own_table(tmp_path):
    child = tmp_path / "child.py"
    child.write_text(
        "import gc\n"
        "def in_child():\n"
        "    for _ in range(2):\n"
        "        gc.collect()\n"
        "in_child()\n"
    )
    source = f"""\
import gc
import subprocess
import sys

def in_parent():
    for _ in range(3):
        gc.collect()

in_parent()
subprocess.run([sys.executable, {str(child)!r}], check=True)
"""
    script = write_script(tmp_path, source)
    capture = tmp_path / "tree.gcm"
    proc = run(
        [launcher(), "run", "--stacks", "--stats-only", "--follow-children", "-o", capture,
         "--python", sys.executable, script],
        tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    files = sorted(tmp_path.glob("tree.gcm*"))
    assert len(files) == 2, files
    each, tree = capture_triggers(*files)
    assert tree is not None
    by_process = [{r["function"]: r["count"] for r in t["triggers"]} for t in each]
    parent = next(rows for rows in by_process if "in_parent" in rows)
    kid = next(rows for rows in by_process if "in_child" in rows)
    assert parent["in_parent"] == 3 and "in_child" not in parent
    assert kid["in_child"] == 2 and "in_parent" not in kid
    merged = {r["function"]: (r["file"], r["line"], r["count"]) for r in
              tree["totals"]["triggers"]["triggers"]}
    assert merged["in_parent"] == (str(script), 7, 3)
    assert merged["in_child"] == (str(child), 4, 2)
