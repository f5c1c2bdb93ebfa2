"""Signals under `pygcprofiler run`: the process ends as it would under plain python.

Every test starts the real launcher and the same program under plain python,
sends the same signal once the program says it is ready, and compares how
the two ended.  Under the launcher a SIGTERM or SIGHUP (when its inherited
action was the default) also writes the report first; nothing else changes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from gcm_testing import Started, clean_env, launcher_path, summaries, write_script

# ---------------------------------------------------------------------------
# Helpers


def run_pair(script, signum, cwd, options=("--json", "--stats-only"), **kwargs):
    """Runs `script` under plain python and under the launcher; once each prints
    'ready', sends `signum`.  Returns the two finished Started objects."""
    results = []
    for prefix in ([sys.executable], [launcher_path(), "run", *options]):
        started = Started([*prefix, script], cwd, **kwargs)
        try:
            started.wait_for("ready")
            if signum is not None:
                os.kill(started.pid, signum)
            started.finish()
        finally:
            started.kill()
        results.append(started)
    return results[0], results[1]


# The targets wait in short sleeps: CPython runs a Python signal handler
# between bytecodes, so a signal noted just before one long sleep begins would
# wait for the whole sleep, under plain python too (the baseline of these
# tests); the launcher's own handlers are nudged past that (src/ext/nudge.c).
SLEEPER = """
    import gc, signal, sys, time
    for _ in range(3):
        gc.collect()
    print("ready", flush=True)
    for _ in range(600):
        time.sleep(0.1)
    print("woke up", flush=True)
"""


# ---------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_fatal_signal_kills_as_python_does_after_the_report(tmp_path, signum):
    script = write_script(tmp_path, SLEEPER)
    plain, under = run_pair(script, signum, tmp_path)
    assert plain.proc.returncode == -signum
    assert under.proc.returncode == plain.proc.returncode
    assert summaries(plain.stderr) == {}
    found = summaries(under.stderr)
    assert set(found) == {under.pid}
    assert found[under.pid]["gen2"]["count"] >= 3
    assert "woke up" not in under.stdout


def test_kill_term_of_a_sleeping_script_gives_143_in_a_shell(tmp_path):
    script = write_script(tmp_path, SLEEPER)
    # The shell starts the program in the background, waits for its 'ready'
    # line (bounded), kills it with SIGTERM and prints what `wait` says.
    shell = """
        ready=$1; shift
        "$@" > "$ready" &
        pid=$!
        i=0
        while ! grep -q ready "$ready" 2>/dev/null; do
            i=$((i+1)); [ $i -gt 400 ] && break; sleep 0.05
        done
        kill -TERM $pid
        wait $pid
        echo "status=$?"
    """
    for n, (prefix, reported) in enumerate(
        (
            ([sys.executable], False),
            ([launcher_path(), "run", "--json", "--stats-only"], True),
        )
    ):
        ready = tmp_path / f"stdout{n}"
        proc = subprocess.run(
            ["sh", "-c", shell, "sh", str(ready), *map(str, prefix), str(script)],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.stdout.strip() == "status=143", (proc.stdout, proc.stderr)
        assert bool(summaries(proc.stderr)) is reported, proc.stderr


def test_ignored_hangup_stays_ignored(tmp_path):
    # Like nohup: SIGHUP ignored before python starts is never taken over.
    script = write_script(
        tmp_path,
        """
        import gc, signal, sys
        gc.collect()
        print("hup", signal.getsignal(signal.SIGHUP) == signal.SIG_IGN)
        print("ready", flush=True)
        sys.stdin.readline()
        print("done", flush=True)
        """,
    )

    def ignore_hup():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    results = []
    for prefix in ([sys.executable], [launcher_path(), "run", "--json", "--stats-only"]):
        started = Started([*prefix, script], tmp_path, stdin=subprocess.PIPE, preexec_fn=ignore_hup)
        try:
            started.wait_for("ready")
            os.kill(started.pid, signal.SIGHUP)
            started.proc.stdin.write(b"go\n")
            started.proc.stdin.flush()
            started.proc.stdin.close()
            started.proc.stdin = None
            started.finish()
        finally:
            started.kill()
        results.append(started)
    plain, under = results
    assert plain.proc.returncode == 0, plain.stderr
    assert under.proc.returncode == 0, under.stderr
    assert "hup True" in plain.stdout and "hup True" in under.stdout
    assert "done" in under.stdout
    assert set(summaries(under.stderr)) == {under.pid}


def test_programs_own_handler_is_kept(tmp_path):
    script = write_script(
        tmp_path,
        """
        import gc, signal, sys, time

        def on_term(signum, frame):
            print("handled", signum, flush=True)
            sys.exit(7)

        signal.signal(signal.SIGTERM, on_term)
        gc.collect()
        print("ready", flush=True)
        for _ in range(600):
            time.sleep(0.1)
        """,
    )
    plain, under = run_pair(script, signal.SIGTERM, tmp_path)
    assert plain.proc.returncode == 7
    assert under.proc.returncode == 7
    assert f"handled {int(signal.SIGTERM)}" in under.stdout
    assert set(summaries(under.stderr)) == {under.pid}


def test_sigusr1_is_not_ours(tmp_path):
    script = write_script(
        tmp_path,
        """
        import gc, signal, time
        print("usr1 default", signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL)
        print("term", signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
        gc.collect()
        print("ready", flush=True)
        time.sleep(60)
        """,
    )
    plain, under = run_pair(script, signal.SIGUSR1, tmp_path)
    assert plain.proc.returncode == -signal.SIGUSR1
    assert under.proc.returncode == -signal.SIGUSR1
    assert "usr1 default True" in under.stdout
    # SIGTERM is the one we did take (the default was inherited).
    assert "term True" in plain.stdout and "term False" in under.stdout
    # We never take a signal the user didn't ask us to: it kills, unreported.
    assert summaries(under.stderr) == {}


def test_sigint_is_keyboard_interrupt_with_the_report(tmp_path):
    script = write_script(tmp_path, SLEEPER)
    plain, under = run_pair(script, signal.SIGINT, tmp_path)
    assert plain.proc.returncode == -signal.SIGINT
    assert under.proc.returncode == -signal.SIGINT
    assert "KeyboardInterrupt" in plain.stderr
    assert "KeyboardInterrupt" in under.stderr
    assert set(summaries(under.stderr)) == {under.pid}


def test_signal_while_the_report_is_written_ends_after_it(tmp_path):
    # The report first flushes sys.stdout; this stdout's flush sends SIGTERM
    # to the process, so the handler runs in the middle of the report.  Under
    # plain python the same flush happens at interpreter shutdown.
    script = write_script(
        tmp_path,
        """
        import gc, os, signal, sys

        class KillingStdout:
            def __init__(self, real):
                self.real = real

            def write(self, text):
                return self.real.write(text)

            def flush(self):
                self.real.flush()
                if not getattr(self, "sent", False):
                    self.sent = True
                    os.kill(os.getpid(), signal.SIGTERM)

        gc.collect()
        print("ready", flush=True)
        sys.stdout = KillingStdout(sys.stdout)
        """,
    )
    plain, under = run_pair(script, None, tmp_path)
    assert plain.proc.returncode == -signal.SIGTERM
    assert under.proc.returncode == -signal.SIGTERM
    found = summaries(under.stderr)
    assert set(found) == {under.pid}
    assert found[under.pid]["count"] >= 1


def test_signal_during_a_collection(tmp_path):
    # A finalizer run by the collector sends SIGTERM: python runs the handler
    # inside the collection, between the callbacks' "start" and "stop".
    script = write_script(
        tmp_path,
        """
        import gc, os, signal, sys

        class Cycle:
            def __init__(self):
                self.me = self

            def __del__(self):
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):  # bytecodes for the handler to run between
                    pass
                print("finalizer survived", flush=True)

        for _ in range(3):
            gc.collect()
        print("ready", flush=True)
        Cycle()
        gc.collect()
        print("after collect", flush=True)
        """,
    )
    plain, under = run_pair(script, None, tmp_path)
    assert plain.proc.returncode == -signal.SIGTERM
    assert under.proc.returncode == -signal.SIGTERM
    assert "after collect" not in under.stdout
    found = summaries(under.stderr)
    assert set(found) == {under.pid}
    # The three complete collections are in; the interrupted one never stopped.
    assert found[under.pid]["gen2"]["count"] == 3


def test_sigterm_to_a_fork_child_reports_the_child(tmp_path):
    script = write_script(
        tmp_path,
        """
        import gc, os, signal, sys, time, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        for _ in range(4):
            gc.collect()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            gc.collect()
            os.write(w, b"x")
            time.sleep(60)
            os._exit(0)
        os.read(r, 1)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        print("child", pid, "signalled", os.WIFSIGNALED(status) and os.WTERMSIG(status))
        print("ready", flush=True)
        """,
    )
    plain, under = run_pair(script, None, tmp_path)
    assert plain.proc.returncode == 0 and under.proc.returncode == 0, under.stderr
    line = next(x for x in under.stdout.splitlines() if x.startswith("child "))
    child = int(line.split()[1])
    assert line.endswith(f"signalled {int(signal.SIGTERM)}"), line
    assert f"signalled {int(signal.SIGTERM)}" in plain.stdout
    found = summaries(under.stderr)
    assert set(found) == {under.pid, child}
    # The child's report has its own collection, none of the parent's four.
    assert found[child]["gen2"]["count"] == 1
    assert found[under.pid]["gen2"]["count"] >= 4


def test_report_files_are_private(tmp_path):
    script = write_script(tmp_path, SLEEPER)
    log = tmp_path / "gc.log"
    _, under = run_pair(
        script, signal.SIGTERM, tmp_path, options=("--json", "--stats-only", "--log-file", log)
    )
    assert under.proc.returncode == -signal.SIGTERM
    assert Path(log).stat().st_mode & 0o777 == 0o600
    assert set(summaries(log.read_text())) == {under.pid}
