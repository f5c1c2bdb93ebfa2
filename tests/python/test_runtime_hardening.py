"""What a run says when the program works against the monitor, as users run it.

The real, installed launcher in subprocesses: a program that takes the
monitor out of gc.callbacks, one that re-raises SIGTERM after its own
graceful shutdown, a process tree written with -o.
"""

from __future__ import annotations

import re

from gcm_testing import launcher, report, run, summaries, write_script

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
