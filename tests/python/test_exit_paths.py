"""Signals that land inside the report: every way a report starts x every signal.

Each case runs tests/python/targets/exit_matrix.py twice: under the monitor
(the real launcher, or a library GCMonitor) with the signals sent from inside
the report (the report flushes sys.stdout, whose flush() sends them), and
under plain python with the same signals sent where the report would have
ended.  The two must end alike (exit status, the status of the child that
ended by the way under test), neither may hang, and under the monitor every
process that reports writes exactly one report.  See the target's docstring.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from gcm_testing import (
    FREE_THREADED,
    TARGETS,
    Started,
    clean_env,
    launcher_path,
    report,
    summaries,
)

TARGET = TARGETS / "exit_matrix.py"
# Generous: a loaded 2-core machine runs several of these at once.
HANG = 60

FIRST_PROCESS = ["normal", "sys_exit", "exception", "keyboard_interrupt", "sigterm", "sighup"]
CHILDREN = ["fork", "mp_fork", "mp_spawn", "mp_forkserver", "subprocess"]
LIBRARY = ["lib_atexit", "lib_stop", "lib_with"]
SIGNALS = ["term", "hup", "int", "term_twice", "handler_exit", "alarm"]
# Interpreters started by the program are monitored only when followed.
FOLLOWED = {"mp_spawn", "mp_forkserver", "subprocess"}
API_FRAMES = ("in stop_monitoring", "in __exit__")


def run(args, cwd):
    """Runs `args` in its own session; a hang kills the whole group and fails."""
    proc = subprocess.Popen(
        [str(a) for a in args],
        cwd=str(cwd),
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(
            f"hung for {HANG}s: {' '.join(map(str, args))}\n"
            f"stdout:\n{out.decode(errors='replace')}\nstderr:\n{err.decode(errors='replace')}"
        )
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def tagged(stdout, tag):
    """The first word after `tag` on every line that starts with it, as text:
    a child's status may be "hung"."""
    return [line.split()[1] for line in stdout.splitlines() if line.startswith(tag + " ")]


def check_case(tmp_path, way, signals, threads=False):
    extra = ["threads"] if threads else []
    plain = run([sys.executable, TARGET, way, signals, "plain", *extra], tmp_path)
    if way in LIBRARY:
        command = [sys.executable, TARGET, way, signals, "monitored", *extra]
    else:
        options = ["--json", "--stats-only"]
        if way in FOLLOWED:
            options.append("--follow-children")
        command = [launcher_path(), "run", *options, TARGET, way, signals, "monitored", *extra]
    under = run(command, tmp_path)
    what = f"{way} x {signals}\nplain: {plain}\nunder: {under}"

    assert under[0] == plain[0], what
    assert tagged(under[1], "child_status") == tagged(plain[1], "child_status"), what
    assert "hung" not in tagged(plain[1], "child_status"), what
    assert summaries(plain[2]) == {}, what
    reports = summaries(under[2])  # fails on a second report of any pid
    reporters = {int(pid) for pid in tagged(under[1], "reporter")}
    assert reporters, what
    assert reporters <= set(reports), f"missing reports of {reporters - set(reports)}\n{what}"
    # Each recorded its own collections (a fork child's recorder works again).
    # Not on a free-threaded build, whose fork child often cannot collect at
    # all: it inherits the "collecting" flag of a parent thread mid-collection.
    if not FREE_THREADED:
        assert all(reports[pid]["count"] >= 1 for pid in reporters), what
    # What the program's handlers raised is shown without our frames, but for
    # the API call it came out of (as if the signal came as the call returned).
    frames = [line for line in under[2].splitlines() if line.strip().startswith("File ")]
    own = [line for line in frames if "gc_monitor" in line]
    assert not [line for line in own if not line.endswith(API_FRAMES)], what


@pytest.mark.parametrize("signals", SIGNALS)
@pytest.mark.parametrize("way", FIRST_PROCESS)
def test_first_process(tmp_path, way, signals):
    check_case(tmp_path, way, signals)


@pytest.mark.parametrize("signals", SIGNALS)
@pytest.mark.parametrize("way", CHILDREN)
def test_children(tmp_path, way, signals):
    check_case(tmp_path, way, signals)


@pytest.mark.parametrize("signals", SIGNALS)
@pytest.mark.parametrize("way", LIBRARY)
def test_library(tmp_path, way, signals):
    check_case(tmp_path, way, signals)


@pytest.mark.parametrize("signals", ["handler_stops", "fork_thread"])
@pytest.mark.parametrize("way", LIBRARY)
def test_library_handlers_and_forks(tmp_path, way, signals):
    """A handler that calls stop_monitoring() inside the report, and a fork
    made by another thread during the report (the child must not inherit the
    report's state: it answers SIGTERM and writes its own report)."""
    check_case(tmp_path, way, signals)


@pytest.mark.parametrize("way", ["normal", "sys_exit", "mp_fork"])
def test_fork_by_another_thread_during_the_report(tmp_path, way):
    check_case(tmp_path, way, "fork_thread")


@pytest.mark.parametrize("signals", ["term", "int", "handler_exit"])
@pytest.mark.parametrize("way", ["fork", "mp_fork", "normal"])
def test_with_threads_allocating(tmp_path, way, signals):
    """Threads allocate all along; on a free-threaded build a fork child's
    report must not stop the world (the child may inherit it as held)."""
    check_case(tmp_path, way, signals, threads=True)


# ---------------------------------------------------------------------------
# What a capture says about how its process ended: python decides the status
# after the report (the program's atexit hooks, finalisation), so the capture
# learns it from exit(3), or from the signal that killed the process.

CAPTURE_TARGET = """
    import atexit, gc, os, signal, sys, time
    gc.collect()
    {setup}
    print("ready", flush=True)
    {tail}
"""


def capture_state(tmp_path, capture):
    proc = report(capture, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    head = json.loads(proc.stdout.splitlines()[0])
    assert head["type"] == "capture"
    text = report(capture)
    state_lines = [line for line in text.stdout.splitlines() if line.startswith("State: ")]
    return head["state"], head["exit_status"], head["signal"], state_lines


def run_capture(tmp_path, setup, tail, signum=None, after="summary"):
    """Runs the target under `run -o`; sends `signum` once the report is out
    (after="summary") or once the program is ready (after="ready")."""
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(CAPTURE_TARGET.format(setup=setup, tail=tail)))
    capture = tmp_path / "run.gcm"
    started = Started(
        [launcher_path(), "run", "--json", "--stats-only", "-o", capture, script], tmp_path
    )
    try:
        if signum is not None:
            if after == "summary":
                started.wait_for('"type":"summary"', stream="err", timeout=HANG)
            else:
                started.wait_for("ready", timeout=HANG)
            os.kill(started.pid, signum)
        returncode = started.finish(timeout=HANG)
    finally:
        started.kill()
    assert len(summaries(started.stderr)) == 1, started.stderr
    return returncode, capture_state(tmp_path, capture)


def test_capture_killed_during_the_programs_atexit_hook(tmp_path):
    returncode, (state, status, signum, lines) = run_capture(
        tmp_path, "atexit.register(time.sleep, 30)", "", signal.SIGTERM
    )
    assert returncode == -signal.SIGTERM  # a shell sees 143, as without us
    assert (state, status, signum) == ("killed", None, signal.SIGTERM)
    assert lines and lines[0].startswith("State: reported, then killed by SIGTERM at ")


def test_capture_sigkilled_after_the_report_is_gone_not_exited(tmp_path):
    returncode, (state, status, signum, _lines) = run_capture(
        tmp_path, "atexit.register(time.sleep, 30)", "", signal.SIGKILL
    )
    assert returncode == -signal.SIGKILL
    assert (state, status, signum) == ("gone", None, None)


def test_capture_of_an_atexit_os_exit_is_gone_not_exited(tmp_path):
    returncode, (state, status, signum, _lines) = run_capture(
        tmp_path, "atexit.register(os._exit, 3)", ""
    )
    assert returncode == 3
    assert (state, status, signum) == ("gone", None, None)


def test_capture_status_set_by_an_atexit_hook(tmp_path):
    # An atexit hook's SystemExit is ignored by python: the status stays 4.
    returncode, (state, status, signum, lines) = run_capture(
        tmp_path, "atexit.register(sys.exit, 9)", "sys.exit(4)"
    )
    assert returncode == 4
    assert (state, status, signum) == ("exited", 4, None)
    assert lines and lines[0].startswith("State: exited with status 4 at ")


def test_capture_of_a_sigterm_while_running(tmp_path):
    returncode, (state, status, signum, _lines) = run_capture(
        tmp_path, "", "time.sleep(30)", signal.SIGTERM, after="ready"
    )
    assert returncode == -signal.SIGTERM
    assert (state, status, signum) == ("killed", None, signal.SIGTERM)


def test_capture_of_a_keyboard_interrupt(tmp_path):
    returncode, (state, status, signum, _lines) = run_capture(
        tmp_path, "", "raise KeyboardInterrupt"
    )
    assert returncode == -signal.SIGINT
    assert (state, status, signum) == ("killed", None, signal.SIGINT)


def test_tree_shows_a_child_killed_after_its_report(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        textwrap.dedent(
            """
            import gc, os, signal, time
            pid = os.fork()
            if pid == 0:
                gc.collect()
                time.sleep(30)
                os._exit(0)
            time.sleep(0.3)
            os.kill(pid, signal.SIGTERM)
            _, status = os.waitpid(pid, 0)
            print("child", pid, os.waitstatus_to_exitcode(status))
            """
        )
    )
    capture = tmp_path / "cap"
    returncode, out, err = run(
        [launcher_path(), "run", "--stats-only", "-o", capture, script], tmp_path
    )
    assert returncode == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith("child ")]
    child, status = int(line.split()[1]), int(line.split()[2])
    assert status == -signal.SIGTERM
    child_capture = tmp_path / f"cap.{child}"
    text = report(child_capture, "--stats-only", str(capture))
    assert text.returncode == 0, text.stderr
    rows = [row for row in text.stdout.splitlines() if row.lstrip().startswith(str(child))]
    assert rows and "killed by SIGTERM" in rows[0], text.stdout
    data = report(child_capture, "--json", "--stats-only", str(capture))
    tree = json.loads(data.stdout.splitlines()[-1])
    (proc,) = [p for p in tree["processes"] if p["pid"] == child]
    assert (proc["ended"], proc["exit_status"], proc["signal"]) == ("killed", None, 15)
    (first,) = [p for p in tree["processes"] if p["pid"] != child]
    assert (first["ended"], first["exit_status"], first["signal"]) == ("exited", 0, None)


# ---------------------------------------------------------------------------
# A signal noted while the main thread blocks in a call it does not interrupt.

NOTED_ELSEWHERE = """
    import gc, multiprocessing, signal, sys, threading, time

    def poke():
        time.sleep(0.3)
        # Delivered to this thread: CPython's C handler notes it here, and the
        # main thread, blocked in sem_wait, is not interrupted.
        signal.pthread_kill(threading.get_ident(), getattr(signal, sys.argv[1]))

    gc.collect()
    threading.Thread(target=poke, daemon=True).start()
    multiprocessing.Semaphore(0).acquire()  # blocks for good
    print("woke up", flush=True)
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_signal_noted_by_another_thread_still_ends_a_blocked_program(tmp_path, name):
    """The launcher's handler must act as promptly as the default action it
    replaces, even when the main thread sits in a blocking call (a pool
    worker waiting for its next task when Pool.terminate() comes)."""
    script = tmp_path / "blocked.py"
    script.write_text(textwrap.dedent(NOTED_ELSEWHERE))
    plain = run([sys.executable, script, name], tmp_path)
    under = run([launcher_path(), "run", "--json", "--stats-only", script, name], tmp_path)
    signum = getattr(signal, name)
    assert plain[0] == -signum, plain
    assert under[0] == -signum, under
    assert len(summaries(under[2])) == 1, under


SIGNALLED_INSIDE_FORK = """
    import ctypes, gc, os, signal, sys, time

    libc = ctypes.CDLL(None, use_errno=True)
    # The child waits in pause() inside fork(2), before CPython's after-fork
    # code: where a pool worker that has not run yet gets Pool.terminate()'s
    # SIGTERM, on its first return from fork.
    pause = ctypes.cast(libc.pause, ctypes.c_void_p)
    assert libc.__register_atfork(None, None, pause, None) == 0
    gc.collect()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(write_end)
        os.read(read_end, 1)  # blocks for good unless the signal acts
        os._exit(0)
    os.close(read_end)

    def state():
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]

    while state() != "S":  # only pause() sleeps in the child's fork
        time.sleep(0.001)
    os.kill(pid, getattr(signal, sys.argv[1]))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            print("child", os.waitstatus_to_exitcode(status), flush=True)
            break
        time.sleep(0.01)
    else:
        print("child hangs", flush=True)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_signal_that_reaches_a_fork_child_inside_fork_still_ends_it(tmp_path, name):
    """CPython's after-fork code forgets the signals noted so far, meant for
    the parent; one that reached the child before it must not be forgotten
    with them when the launcher's handler replaced the default action."""
    script = tmp_path / "inside_fork.py"
    script.write_text(textwrap.dedent(SIGNALLED_INSIDE_FORK))
    signum = getattr(signal, name)
    plain = run([sys.executable, script, name], tmp_path)
    assert (plain[0], tagged(plain[1], "child")) == (0, [str(-signum)]), plain
    under = run([launcher_path(), "run", "--json", "--stats-only", script, name], tmp_path)
    assert (under[0], tagged(under[1], "child")) == (0, [str(-signum)]), under
    assert len(summaries(under[2])) == 2, under  # the child reported before it died


FORKS_WHILE_ALLOCATING = """
    import gc, os, sys, threading, warnings

    warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads

    stop = threading.Event()

    def churn():
        junk = []
        while not stop.is_set():
            a, b = [], []
            a.append(b)
            b.append(a)
            junk.append(a)
            if len(junk) > 1000:
                junk.clear()

    threads = [threading.Thread(target=churn, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(5):
        pid = os.fork()
        if pid == 0:
            gc.collect()
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        print("child_status", os.waitstatus_to_exitcode(status), flush=True)
    stop.set()  # no thread allocates while python finalises
    for thread in threads:
        thread.join()
"""


def test_fork_children_of_allocating_threads_never_stop_the_world(tmp_path):
    """On a free-threaded build a fork child may inherit the stop-the-world
    state of a parent thread that was starting a collection: its report
    must not call gc.get_objects() or gc.get_freeze_count(), which would wait
    for it forever, and says it skipped the census."""
    script = tmp_path / "forks.py"
    script.write_text(textwrap.dedent(FORKS_WHILE_ALLOCATING))
    returncode, out, err = run(
        [launcher_path(), "run", "--stats-only", "--dump-objects", script], tmp_path
    )
    assert returncode == 0, err
    assert tagged(out, "child_status") == ["0"] * 5, (out, err)
    skipped = err.count("Not gathered: gc.get_objects() stops the world")
    tables = err.count("=== OBJECTS TRACKED BY THE GC AT EXIT ===")
    assert tables == 6, err  # the five children and the parent
    assert skipped == (5 if FREE_THREADED else 0), err
