"""The README's promises about the monitored program, checked through the launcher.

- It never forces a collection or changes the collector's settings: the
  thresholds, debug flags, enabled state and freeze count the target sees,
  at its start, at its end and in its atexit hooks, are a direct run's.
- The callback makes no system call: a loop of collections makes exactly the
  same system calls with the monitor as without it (strace).
- Memory stays bounded however long the program runs: a million collections
  grow the peak RSS by no more than the ring the recorder allocated up front.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from gcm_testing import FREE_THREADED, clean_env, launcher_path

TIMEOUT = 600

GC_STATE = """
    import atexit, gc, json

    def state(when):
        print(when, json.dumps([list(gc.get_threshold()), gc.get_debug(), gc.isenabled(),
                                gc.get_freeze_count()]), flush=True)

    state("START")
    junk = [[[]] for _ in range(50000)]
    del junk
    gc.collect()
    state("END")
    atexit.register(state, "ATEXIT")
"""


def run_script(args, cwd):
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=str(cwd),
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def gc_states(stdout):
    return {
        line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1])
        for line in stdout.splitlines()
        if line.split(" ", 1)[0] in ("START", "END", "ATEXIT")
    }


@pytest.mark.parametrize(
    "options",
    [(), ("--stats-only", "--json"), ("-o", "{tmp}/run.gcm"), ("--dump-objects",)],
    ids=["default", "json", "capture", "dump-objects"],
)
def test_collector_settings_are_untouched(tmp_path, options):
    script = tmp_path / "state.py"
    script.write_text(textwrap.dedent(GC_STATE))
    options = [o.format(tmp=tmp_path) for o in options]
    direct = gc_states(run_script([sys.executable, script], tmp_path).stdout)
    under = gc_states(run_script([launcher_path(), "run", *options, script], tmp_path).stdout)
    assert set(direct) == {"START", "END", "ATEXIT"}
    assert under == direct


SYSCALLS = """
    import gc, os
    def loop(n):
        for _ in range(n):
            gc.collect(0)
    loop(2000)  # warm up: arenas, caches, the first callbacks
    os.write(1, b"LOOP-BEGIN\\n")
    loop(20000)
    os.write(1, b"LOOP-END\\n")
"""



def syscalls_in_loop(trace):
    """The system calls the loop's thread made between the two markers."""
    lines = trace.read_text().splitlines()
    begin = [i for i, line in enumerate(lines) if 'write(1, "LOOP-BEGIN\\n"' in line]
    end = [i for i, line in enumerate(lines) if 'write(1, "LOOP-END\\n"' in line]
    assert len(begin) == 1 and len(end) == 1, "\n".join(lines[-40:])
    pid = lines[begin[0]].split()[0]
    return [line for line in lines[begin[0] + 1 : end[0]] if line.split()[0] == pid]


@pytest.mark.skipif(
    bool(os.environ.get("GCM_SANITIZER")),
    reason="under a sanitizer, CPython's own allocations (the info dict it builds for each "
    "callback) go through the sanitizer's malloc, which maps memory as it likes",
)
def test_callback_makes_no_system_call(tmp_path):
    strace = shutil.which("strace")
    if strace is None:
        if os.environ.get("CI"):
            pytest.fail("strace is missing: tests/run.sh installs it")
        pytest.skip("needs strace")
    script = tmp_path / "loop.py"
    script.write_text(textwrap.dedent(SYSCALLS))
    counts = {}
    for name, prefix in (
        ("direct", [sys.executable]),
        ("monitored", [launcher_path(), "run", "--stats-only"]),
    ):
        trace = tmp_path / f"{name}.trace"
        run_script([strace, "-f", "-qq", "-o", trace, *prefix, script], tmp_path)
        counts[name] = syscalls_in_loop(trace)
    assert counts["monitored"] == counts["direct"] == [], counts


def test_memory_stays_bounded(tmp_path):
    # A free-threaded build's gc.collect(0) is a full collection, a thousand
    # times slower: fewer there, still far more than the ring holds.
    collections = 20_000 if FREE_THREADED else 1_000_000
    ring = 4096
    script = tmp_path / "mem.py"
    script.write_text(
        textwrap.dedent(
            """
            import gc, resource, sys

            def peak():
                return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

            for _ in range(1000):
                gc.collect(0)
            before = peak()
            for _ in range(int(sys.argv[1])):
                gc.collect(0)
            print("GROWTH", peak() - before)
            """
        )
    )
    proc = run_script(
        [launcher_path(), "run", "--json", "--stats-only", "--buffer-events", ring, script,
         collections],
        tmp_path,
    )  # fmt: skip
    (growth,) = [int(line.split()[1]) for line in proc.stdout.splitlines() if "GROWTH" in line]
    summary = json.loads([line for line in proc.stderr.splitlines() if '"summary"' in line][0])
    assert summary["count"] >= collections
    assert summary["overwritten"] >= collections - ring
    # The block is allocated and zeroed before the program starts: recording
    # into it costs no new memory.  A leak of 4 bytes a collection would be
    # 4 MB here.
    assert growth <= ring * 48 + 1024 * 1024, growth
