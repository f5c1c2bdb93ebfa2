"""Why collections ran (automatic, explicit, shutdown), as users get it.

Each test runs a real program under the real launcher (or the library in a
subprocess) and compares the causes in its report with what the program did:
how many times it called gc.collect() and with which generation, and the
collections gc.get_stats() counted.  Nothing depends on timing.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

from gcm_testing import captures, launcher, report, run, summaries, write_script

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"

# Automatic collections from a loop of cycles, then explicit ones at known
# generations (one through a `from gc import collect` taken after the monitor
# started, which is the wrapper too), then the interpreter's own count.
MIXED = """\
import gc
import json
import sys
from gc import collect

class Node:
    def __init__(self):
        self.me = self

before = sum(s["collections"] for s in gc.get_stats())
for _ in range(200_000):
    Node()
for _ in range(3):
    gc.collect(0)
gc.collect(1)
for _ in range(4):
    gc.collect()
collect()
after = sum(s["collections"] for s in gc.get_stats())
print(json.dumps({"counted": after - before}), flush=True)
"""


def summary(stderr: str) -> dict:
    found = summaries(stderr)
    assert len(found) == 1, stderr
    return next(iter(found.values()))


def test_explicit_calls_are_counted_exactly_and_the_rest_is_automatic(tmp_path):
    script = write_script(tmp_path, MIXED)
    proc = run([launcher(), "run", "--json", "--python", sys.executable, script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    counted = json.loads(proc.stdout.splitlines()[-1])["counted"]
    s = summary(proc.stderr)
    causes = s["causes"]
    assert set(causes) == {"automatic", "explicit", "shutdown"}
    explicit = causes["explicit"]
    # Nine calls: three of generation 0, one of 1, five full ones.
    assert explicit["count"] == 9, causes
    assert (explicit["gen0"], explicit["gen1"], explicit["gen2"]) == (3, 1, 5), causes
    assert causes["automatic"]["count"] >= 1, causes
    assert sum(c["count"] for c in causes.values()) == s["count"]
    for c in causes.values():
        assert c["gen0"] + c["gen1"] + c["gen2"] == c["count"]
    # The program's own count, between its two gc.get_stats() calls, saw every
    # explicit collection and the automatic ones of the loop; the monitor saw
    # those and at most the collections before and after them.
    assert s["count"] >= counted
    assert causes["explicit"]["count"] + causes["automatic"]["count"] >= counted
    # Every event line carries its cause, and they add up the same way.
    events = [json.loads(x) for x in proc.stderr.splitlines() if x.startswith('{"type":"event"')]
    assert len(events) == s["count"]
    assert sum(e["cause"] == "explicit" for e in events) == 9
    assert {e["cause"] for e in events} <= {"automatic", "explicit", "shutdown"}


def test_text_report_shows_the_causes_table_and_the_plain_line(tmp_path):
    script = write_script(tmp_path, MIXED)
    proc = run([launcher(), "run", "--stats-only", "--python", sys.executable, script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    at = lines.index("GC causes:")
    assert lines[at + 1].split() == ["collections", "total", "mean", "max", "share"]
    rows = {line.split()[0]: line.split() for line in lines[at + 2 : at + 5]}
    assert set(rows) == {"automatic", "explicit", "shutdown"}
    assert rows["explicit"][1] == "9"
    total = int(next(x for x in lines if x.startswith("Total GC collections: ")).split()[-1])
    assert sum(int(r[1]) for r in rows.values()) == total
    assert lines[at + 5].startswith(f"Explicit gc.collect() calls ran 9 of the {total} collections")


# A thread that waits for the main thread's end (threading._shutdown marks it
# finished), then allocates cycles: its automatic collections run while the
# interpreter finalises.  Its gc.collect() stays explicit.
SHUTDOWN = """\
import threading

class Node:
    def __init__(self):
        self.me = self

def late():
    threading.main_thread().join()
    for _ in range(100_000):
        Node()
    import gc
    gc.collect()

threading.Thread(target=late).start()
"""


def test_collections_after_the_main_code_are_shutdown(tmp_path):
    script = write_script(tmp_path, SHUTDOWN)
    proc = run([launcher(), "run", "--json", "--python", sys.executable, script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    causes = summary(proc.stderr)["causes"]
    assert causes["shutdown"]["count"] >= 1, causes
    assert causes["explicit"]["count"] == 1, causes


# The library: a `from gc import collect` taken before monitoring started
# holds the original, whose collections count as automatic (docs/reports.md).
LIBRARY = """\
import gc
import json
from gc import collect as early_collect

from gc_monitor import GCMonitor

monitor = GCMonitor(stats_only=True)
early_collect()
early_collect()
gc.collect()
gc.collect(0)
assert gc.collect.__self__ is early_collect
final = monitor.stop_monitoring(write_report=False)
# Stopping leaves the wrapper in place; it only calls the original now.
assert gc.collect() >= 0
print(json.dumps(final["causes"]))
"""


def test_library_wrapper_and_an_early_reference(tmp_path):
    script = write_script(tmp_path, LIBRARY)
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    causes = json.loads(proc.stdout.splitlines()[-1])
    assert causes["explicit"]["count"] == 2, causes
    assert (causes["explicit"]["gen0"], causes["explicit"]["gen2"]) == (1, 1)
    assert causes["automatic"]["count"] >= 2, causes


def test_capture_report_and_the_merged_tree_carry_causes(tmp_path):
    script = write_script(
        tmp_path,
        """\
        import gc, os
        pid = os.fork()
        if pid == 0:
            for _ in range(3):
                gc.collect()
            os._exit(0)
        os.waitpid(pid, 0)
        gc.collect(0)
        """,
    )
    cap = tmp_path / "cap"
    proc = run([launcher(), "run", "-o", cap, "--python", sys.executable, script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    files = captures(tmp_path)
    assert len(files) == 2, files
    one = report(cap, "--json", "--stats-only")
    assert one.returncode == 0, one.stderr
    assert summary(one.stdout)["causes"]["explicit"]["count"] == 1
    merged = subprocess.run(
        [launcher(), "report", "--json", "--stats-only", *files],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert merged.returncode == 0, merged.stderr
    per = summaries(merged.stdout)
    tree = json.loads(merged.stdout.splitlines()[-1])
    totals = tree["totals"]["causes"]
    assert tree["totals"]["causes_processes"] == 2
    assert totals["explicit"]["count"] == 4
    for name in ("automatic", "explicit", "shutdown"):
        assert totals[name]["count"] == sum(s["causes"][name]["count"] for s in per.values())
    text = subprocess.run(
        [launcher(), "report", "--stats-only", *files], capture_output=True, text=True, timeout=60
    )
    assert "Causes across the tree: automatic " in text.stdout
    assert ", explicit 4 (" in text.stdout
    # live's plain lines (one per process: it finds the child's capture too)
    # carry the causes.
    live = subprocess.run(
        [launcher(), "live", "--plain", str(cap)], capture_output=True, text=True, timeout=60
    )
    assert live.returncode == 0, live.stderr
    lines = [dict(f.split("=", 1) for f in x.split()) for x in live.stdout.splitlines()]
    assert sorted((x["explicit"], x["shutdown"]) for x in lines) == [("1", "0"), ("3", "0")]


def test_a_version_1_capture_says_causes_were_not_recorded(tmp_path):
    old = tmp_path / "old.gcm"
    old.write_bytes((CORPUS / "exited.gcm").read_bytes())
    assert struct.unpack_from("<I", old.read_bytes(), 8)[0] == 1
    text = report(old)
    assert text.returncode == 0, text.stderr
    assert (
        "GC causes: not recorded (an older capture format, or a capture read from outside"
        " the process)" in text.stdout
    )
    js = report(old, "--json")
    assert js.returncode == 0, js.stderr
    assert summary(js.stdout)["causes"] is None
    head = json.loads(js.stdout.splitlines()[0])
    assert head["layout_version"] == 1
    events = [json.loads(x) for x in js.stdout.splitlines() if x.startswith('{"type":"event"')]
    assert events and all(e["cause"] is None for e in events)
    live = subprocess.run(
        [launcher(), "live", "--plain", str(old)], capture_output=True, text=True, timeout=60
    )
    assert live.returncode == 0, live.stderr
    assert " uncollectable=" in live.stdout and " explicit=" not in live.stdout


def test_a_newer_capture_is_refused_with_the_versions_read(tmp_path):
    new = tmp_path / "new.gcm"
    data = bytearray((CORPUS / "exited.gcm").read_bytes())
    struct.pack_into("<I", data, 8, 5)
    new.write_bytes(bytes(data))
    proc = report(new)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[0] == (
        f"error: capture '{new}' has a format version this pygcprofiler cannot read "
        "(it reads layout versions 1 to 4): use a newer pygcprofiler"
    ), proc.stderr


# One thread calls gc.collect(), the main thread's allocations trigger
# automatic collections: only the calling thread's collections are explicit,
# on a GIL build and a free-threaded one alike.  The two take turns, since a
# free-threaded gc.collect() that finds another collection running returns
# without collecting.
THREADS = """\
import gc
import threading

class Node:
    def __init__(self):
        self.me = self

ask = threading.Semaphore(0)
done = threading.Semaphore(0)

def collector():
    for _ in range(7):
        ask.acquire()
        gc.collect()
        done.release()

t = threading.Thread(target=collector)
t.start()
for _ in range(7):
    for _ in range(40_000):
        Node()
    ask.release()
    done.acquire()
t.join()
"""


def test_only_the_calling_threads_collections_are_explicit(tmp_path):
    script = write_script(tmp_path, THREADS)
    proc = run([launcher(), "run", "--json", "--python", sys.executable, script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    causes = summary(proc.stderr)["causes"]
    assert causes["explicit"]["count"] == 7, causes
    assert causes["automatic"]["count"] >= 1, causes
