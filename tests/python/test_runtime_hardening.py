"""What a run says when the program works against the monitor, as users run it.

The real, installed launcher in subprocesses: a program that takes the
monitor out of gc.callbacks, one that re-raises SIGTERM after its own
graceful shutdown, a process tree written with -o.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess

import pytest
from gcm_testing import clean_env, launcher, report, run, summaries, write_script

# Collections the program makes, and how many of them come after it took
# every callback out of gc.callbacks.
CLEARS_CALLBACKS = """
import gc
gc.disable()
for _ in range(2):
    gc.collect()
gc.callbacks.clear()
for _ in range(40):
    gc.collect()
"""


def test_removed_callback_is_reported_in_text(tmp_path):
    script = write_script(tmp_path, CLEARS_CALLBACKS)
    proc = run([launcher(), "run", "--stats-only", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Total GC collections: 2\n" in proc.stderr, proc.stderr
    assert re.search(
        r"^Warning: 40 collections were missed: the program took the monitor out of "
        r"gc\.callbacks, and the figures above cover only the 2 it saw of the 42 "
        r"gc\.get_stats\(\) counted$",
        proc.stderr,
        re.M,
    ), proc.stderr


def test_removed_callback_is_reported_in_json_and_in_the_capture(tmp_path):
    script = write_script(tmp_path, CLEARS_CALLBACKS)
    proc = run([launcher(), "run", "--json", "--stats-only", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    (summary,) = summaries(proc.stderr).values()
    assert summary["count"] == 2
    assert summary["missed_collections"] == 40

    capture = tmp_path / "cap"
    proc = run([launcher(), "run", "-o", capture, "--stats-only", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = report(capture)
    assert text.returncode == 0, text.stderr
    assert "Warning: 40 collections were missed" in text.stdout + text.stderr
    as_json = report(capture, "--json")
    (summary,) = summaries(as_json.stdout + as_json.stderr).values()
    assert summary["missed_collections"] == 40
    # live reads the count from the capture too.
    watched = run([launcher(), "live", "--plain", capture], tmp_path)
    assert watched.returncode == 0, watched.stderr
    assert re.search(r" collections=2 .* missed=40$", watched.stdout, re.M), watched.stdout


def test_a_callback_left_in_place_misses_nothing(tmp_path):
    # Fork children (multiprocessing) and the main process alike: the key
    # appears only when collections were missed.
    script = write_script(
        tmp_path,
        """
        import gc, multiprocessing as mp, os
        def work(i):
            for _ in range(20):
                gc.collect()
            return i
        if __name__ == "__main__":
            for _ in range(10):
                gc.collect()
            mp.set_start_method("fork")
            with mp.Pool(2) as pool:
                pool.map(work, range(4))
        """,
    )
    proc = run([launcher(), "run", "--json", "--stats-only", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = summaries(proc.stderr)
    assert len(found) == 3, proc.stderr
    for summary in found.values():
        assert "missed_collections" not in summary, summary


# Shuts down gracefully on SIGTERM, then dies by it as an unhandled SIGTERM
# would: the handler it replaced goes back (SIG_DFL) and the signal is sent
# again, as uvicorn does.  argv[1] says how it is sent, argv[2] when.
REraise_SIGTERM = """
import atexit, gc, os, signal, sys, time
stop = False
def handler(signum, frame):
    global stop
    stop = True
signal.signal(signal.SIGTERM, handler)
def reraise():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.argv[1] == "raise_signal":
        signal.raise_signal(signal.SIGTERM)
    elif sys.argv[1] == "os.killpg":
        os.killpg(os.getpgrp(), signal.SIGTERM)
    else:
        os.kill(os.getpid(), signal.SIGTERM)
    print("not reached", flush=True)
if sys.argv[2] == "atexit":
    atexit.register(reraise)
print("ready", flush=True)
while not stop:
    gc.collect()
    time.sleep(0.01)
if sys.argv[2] == "main":
    reraise()
"""


@pytest.mark.parametrize("how", ["raise_signal", "os.kill", "os.killpg"])
@pytest.mark.parametrize("when", ["main", "atexit"])
def test_graceful_shutdown_that_reraises_sigterm_is_killed_not_gone(tmp_path, how, when):
    script = write_script(tmp_path, REraise_SIGTERM)
    capture = tmp_path / "cap"
    proc = subprocess.Popen(
        [launcher(), "run", "-o", str(capture), "--stats-only", str(script), how, when],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A group of its own: os.killpg reaches no process of the test's.
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGTERM, err
    assert "not reached" not in out
    # The report was written once, before the process died by the signal.
    assert err.count("=== GC MONITORING SUMMARY ===") == 1, err
    text = report(capture)
    assert text.returncode == 0, text.stderr
    assert re.search(r"^State: reported, then killed by SIGTERM at ", text.stdout, re.M), (
        text.stdout
    )
    head = json.loads(report(capture, "--json").stdout.splitlines()[0])
    assert (head["state"], head["signal"]) == ("killed", signal.SIGTERM), head


def test_first_report_of_a_tree_names_the_other_captures(tmp_path):
    script = write_script(
        tmp_path,
        """
        import gc, multiprocessing as mp, subprocess, sys
        def work(i):
            gc.collect()
            return i
        if __name__ == "__main__":
            mp.set_start_method("fork")
            with mp.Pool(2) as pool:
                pool.map(work, range(4))
            subprocess.run([sys.executable, "-c", "import gc; gc.collect()"], check=True)
        """,
    )
    out = tmp_path / "my dir"
    out.mkdir()
    capture = out / "cap"
    proc = run(
        [launcher(), "run", "--follow-children", "-o", capture, "--stats-only", script], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    others = sorted(p for p in out.iterdir() if p.name != "cap")
    assert len(others) == 3, others
    last = proc.stderr.splitlines()[-1]
    assert last == (
        f"GMEM Note: 3 more captures of this tree: pygcprofiler report '{capture}' '{capture}'.*"
    ), proc.stderr
    # The command works as printed, through a shell.
    merged = subprocess.run(
        last.split(": ", 2)[2], shell=True, capture_output=True, text=True, env=clean_env(
            PATH=f"{launcher().rsplit('/', 1)[0]}:/usr/bin:/bin"
        ), timeout=60,
    )
    assert merged.returncode == 0, merged.stderr
    assert "=== PROCESS TREE: 4 processes ===" in merged.stdout, merged.stdout


def test_a_tree_of_one_has_no_note(tmp_path):
    script = write_script(tmp_path, "import gc\ngc.collect()\n")
    proc = run([launcher(), "run", "-o", tmp_path / "cap", "--stats-only", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "GMEM Note" not in proc.stderr


def test_dump_garbage_repr_that_calls_os_exit_is_refused(tmp_path):
    script = write_script(
        tmp_path,
        """
        import gc, os
        class Exits:
            def __repr__(self):
                os._exit(7)
        class Raises:
            def __repr__(self):
                raise ValueError("no")
        for cls in (Exits, Raises):
            o = cls()
            o.me = o
        del o
        gc.collect()
        """,
    )
    proc = run([launcher(), "run", "--dump-garbage", "--stats-only", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "  __main__.Exits: <repr() failed: it called os._exit()>" in proc.stderr, proc.stderr
    assert "  __main__.Raises: <repr() failed: ValueError>" in proc.stderr, proc.stderr
    assert "Total GC collections:" in proc.stderr


def test_fail_on_is_not_met_when_the_callback_was_removed(tmp_path):
    script = write_script(tmp_path, CLEARS_CALLBACKS)
    proc = run([launcher(), "run", "--stats-only", "--fail-on", "count>1000", script], tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert (
        "GMEM BUDGET | not checked: the program took the monitor out of gc.callbacks, so 40 "
        "collections were not recorded; the rules below saw only the rest\n"
        "GMEM BUDGET | ok: count 2, not > 1000\n"
    ) in proc.stderr, proc.stderr
    proc = run(
        [launcher(), "run", "--json", "--stats-only", "--fail-on", "count>1000", script], tmp_path
    )
    assert proc.returncode == 3, proc.stderr
    budget = next(
        json.loads(line) for line in proc.stderr.splitlines() if '"type":"budget"' in line
    )
    assert budget["missed_collections"] == 40
