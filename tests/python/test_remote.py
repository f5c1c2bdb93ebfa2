"""`live PID` and `watch -o FILE PID` on CPython 3.15+ processes never started under us.

The watched programs are plain `python3.15 app.py` runs; the launcher reads
them from outside with CPython's _remote_debugging (gc_monitor/_remote.py,
run with the program's own interpreter).  Each program switches its collector
off while the test sets the watch up, works with it on, switches it off again
and prints its own gc.get_stats() differences; the test then kills it with
SIGKILL, so no collection of interpreter shutdown comes after them.  The
figures `live` and `watch` give must equal those differences exactly.

The tests that watch a program skip when no python3.15 is found
(gcm_testing.python315); the refusals of other processes run everywhere.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gcm_testing import TARGETS, TIMEOUT, Started, clean_env, launcher_path, python315, report

PY315 = python315()
needs315 = pytest.mark.skipif(PY315 is None, reason="no python3.15 to watch")

# argv: GO STOP ROUNDS BURST (targets/stats_app.py); the program is killed
# with SIGKILL once the test has read what it needs.
APP = TARGETS / "stats_app.py"


class App:
    """A plain python3.15 program, not started under pygcprofiler."""

    def __init__(self, tmp_path: Path, burst: int = 0) -> None:
        self.go = tmp_path / "go"
        self.stop = tmp_path / "stop"
        self.proc = Started([PY315, APP, self.go, self.stop, "150", str(burst)], cwd=tmp_path)
        self.proc.wait_for("ready")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def work(self) -> list[dict[str, float]]:
        """Lets it work; returns its own gc.get_stats() differences."""
        self.go.touch()
        self.proc.wait_for("[{")
        line = [x for x in self.proc.stdout.splitlines() if x.startswith("[{")][0]
        return json.loads(line)

    def kill(self) -> None:
        """SIGKILL: no collection of interpreter shutdown after its figures."""
        if self.proc.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.proc.proc.wait(timeout=TIMEOUT)


def parse(line: str) -> dict[str, str]:
    return dict(token.split("=", 1) for token in line.split())


def json_summary(capture: Path) -> dict[str, object]:
    lines = report(capture, "--format", "json", "--stats-only").stdout.splitlines()
    return next(x for x in map(json.loads, lines) if x.get("type") == "summary")


def start(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(launcher_path()), *(str(a) for a in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )


@needs315
def test_live_pid_counts_equal_the_programs_own(tmp_path: Path) -> None:
    app = App(tmp_path)
    watcher = start("live", "--plain", "--interval", "0.1", app.pid)
    try:
        first = parse(watcher.stdout.readline())
        assert first["pid"] == str(app.pid) and first["source"] == "remote", first
        deltas = app.work()
        # The reader polls every millisecond: wait until it has read the
        # program's last collection, then end the program.
        want = str(sum(d["collections"] for d in deltas))
        deadline = time.monotonic() + TIMEOUT
        while parse(watcher.stdout.readline() or "x=").get("collections") != want:
            assert time.monotonic() < deadline and watcher.poll() is None, "never caught up"
        app.kill()
        out, err = watcher.communicate(timeout=TIMEOUT)
    finally:
        app.kill()
        watcher.kill()
    assert watcher.returncode == 0, err
    last = parse(out.splitlines()[-1])
    assert last["state"] == "ended", last
    for g in range(3):
        assert int(last[f"gen{g}"]) == deltas[g]["collections"], (g, last, deltas)
    assert int(last["collections"]) == sum(d["collections"] for d in deltas)
    assert int(last["collected"]) == sum(d["collected"] for d in deltas)
    assert int(last["uncollectable"]) == sum(d["uncollectable"] for d in deltas)
    # Pause totals come from the interpreter's own running total (whole
    # nanoseconds here, float seconds there): equal to well under a microsecond.
    total_ms = sum(d["duration"] for d in deltas) * 1e3
    assert abs(float(last["gc_ms"]) - total_ms) < 1e-3, (last["gc_ms"], total_ms)
    assert int(last["missed_pauses"]) >= 0
    assert "explicit" not in last and "shutdown" not in last, last


@needs315
def test_watch_counts_the_pauses_it_missed(tmp_path: Path) -> None:
    app = App(tmp_path, burst=3000)
    capture = tmp_path / "outside.capture"
    watcher = start("watch", "-o", capture, app.pid)
    try:
        assert "recording pid" in watcher.stderr.readline()
        deltas = app.work()
        # The capture is readable while it is written: wait until it holds
        # the program's last collection, then end the program.
        want = sum(d["collections"] for d in deltas)
        deadline = time.monotonic() + TIMEOUT
        while json_summary(capture)["count"] != want:
            assert time.monotonic() < deadline and watcher.poll() is None, "never caught up"
            time.sleep(0.05)
        app.kill()
        _, err = watcher.communicate(timeout=TIMEOUT)
    finally:
        app.kill()
        watcher.kill()
    assert watcher.returncode == 0, err
    assert f"pid {app.pid} ended" in err, err
    assert capture.stat().st_mode & 0o777 == 0o600

    lines = [json.loads(x) for x in report(capture, "--format", "json").stdout.splitlines()]
    head = next(x for x in lines if x.get("type") == "capture")
    summary = next(x for x in lines if x.get("type") == "summary")
    assert head["source"] == "remote", head
    missed = head["missed_pauses"]
    # 3,000 collections in a few milliseconds against a ring of 11: most
    # are missed, and every one of them is counted, never sampled away.
    assert missed > 0, head
    assert summary["missed_pauses"] == missed
    assert summary["count"] == sum(d["collections"] for d in deltas), summary
    for g in range(3):
        assert summary[f"gen{g}"]["count"] == deltas[g]["collections"], summary
    # Each collection is a record of its own pause or a missed one: no third kind.
    assert summary["events"] + missed == summary["count"], summary
    text = report(capture).stdout
    assert f"{missed} collections left the interpreter's ring" in text, text
    # From outside, a gc.collect() call looks like any other collection: the
    # capture claims no cause, in the summary or on any event.
    assert summary["causes"] is None, summary
    assert all(x["cause"] is None for x in lines if x.get("type") == "event")
    assert "GC causes: not recorded (" in text, text


@needs315
def test_the_reader_runs_nothing_in_the_program(tmp_path: Path) -> None:
    # Being read from outside adds no thread, no module and no callback.
    app = App(tmp_path)
    watcher = start("live", "--plain", "--interval", "0.1", app.pid)
    try:
        watcher.stdout.readline()
        threads = len(os.listdir(f"/proc/{app.pid}/task"))
        maps = Path(f"/proc/{app.pid}/maps").read_text()
    finally:
        app.kill()
        watcher.kill()
        watcher.communicate(timeout=TIMEOUT)
    assert threads == 1
    assert "gc_monitor" not in maps and "_core" not in maps


@needs315
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_watch_stops_on_a_signal_with_its_capture_whole(tmp_path: Path, sig: int) -> None:
    app = App(tmp_path)
    capture = tmp_path / "stopped.capture"
    watcher = start("watch", "-o", capture, app.pid)
    try:
        assert "recording pid" in watcher.stderr.readline()
        deltas = app.work()
        want = sum(d["collections"] for d in deltas)
        deadline = time.monotonic() + TIMEOUT
        while json_summary(capture)["count"] != want:
            assert time.monotonic() < deadline and watcher.poll() is None, "never caught up"
            time.sleep(0.05)
        watcher.send_signal(sig)
        _, err = watcher.communicate(timeout=TIMEOUT)
        # The program runs on: only the watch stopped.
        assert app.proc.proc.poll() is None
    finally:
        app.kill()
        watcher.kill()
    # Ctrl-C is a normal end; SIGTERM is died of, as a caller expects.
    assert watcher.returncode == (0 if sig == signal.SIGINT else -sig), err
    assert f"pid {app.pid} still runs: {want} collections recorded" in err, err
    assert json_summary(capture)["count"] == want
    assert "State: watched from outside until" in report(capture, "--stats-only").stdout


def refusal(*args: object) -> str:
    proc = subprocess.run(
        [str(launcher_path()), *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
    )
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: "), proc.stderr
    assert lines[1] == f"try 'pygcprofiler {args[0]} --help'", proc.stderr
    return lines[0]


@pytest.mark.parametrize("verb", [("live",), ("watch", "-o", "x.capture")])
def test_refusals_no_process_and_not_python(tmp_path: Path, verb: tuple[str, ...]) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=TIMEOUT)
    words = [*verb[:1], *(str(tmp_path / w) if w.endswith(".capture") else w for w in verb[1:])]
    assert refusal(*words, gone.pid) == f"error: no process with pid {gone.pid}"
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        line = refusal(*words, sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait(timeout=TIMEOUT)
    exe = os.path.realpath(shutil.which("sleep") or "sleep")
    assert line == f"error: pid {sleeper.pid} is not a Python process ('{exe}')"
    assert not (tmp_path / "x.capture").exists()


@pytest.mark.skipif(sys.version_info >= (3, 15), reason="needs an interpreter before 3.15")
def test_refusal_before_315(tmp_path: Path) -> None:
    older = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        line = refusal("live", older.pid)
    finally:
        older.kill()
        older.wait(timeout=TIMEOUT)
    v = sys.version_info
    assert line == (
        f"error: pid {older.pid} runs python {v[0]}.{v[1]}.{v[2]}: reading a process from "
        "outside needs python 3.15+; start it with 'pygcprofiler run -o FILE'"
    )


@needs315
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
def test_refusal_without_permission(tmp_path: Path) -> None:
    app = App(tmp_path)
    try:
        proc = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            + [str(launcher_path()), "live", str(app.pid)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=clean_env(),
        )
    finally:
        app.kill()
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[0] == (
        f"error: no permission to read the memory of pid {app.pid}: run as its user or as "
        "root (ptrace access; see /proc/sys/kernel/yama/ptrace_scope)"
    )


def interpreter_words() -> tuple[list[str], str]:
    """How python3.15 really starts (its dynamic loader's words included), and the
    prefix of its standard library (a venv's base)."""
    probe = subprocess.run(
        [
            str(PY315),
            "-c",
            "import os, sys; print(repr(open('/proc/self/cmdline', 'rb').read().split(b'\\0')));"
            "print(os.path.realpath('/proc/self/exe')); print(sys.base_prefix)",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    words_text, exe, prefix = probe.stdout.splitlines()
    words = [w.decode() for w in ast.literal_eval(words_text)][:-3]  # less '-c', CODE, ''
    return (words if words else [exe]), prefix


@needs315
def test_refusal_of_a_replaced_interpreter(tmp_path: Path) -> None:
    words, prefix = interpreter_words()
    index = max(i for i, w in enumerate(words) if Path(w).name.startswith("python"))
    copy = tmp_path / "python3.15"
    shutil.copy2(words[index], copy)
    script = tmp_path / "idle.py"
    script.write_text("import time\nprint('ready', flush=True)\ntime.sleep(60)\n")
    target = Started(
        [*words[:index], copy, script], cwd=tmp_path, env=clean_env(PYTHONHOME=prefix)
    )
    try:
        target.wait_for("ready")
        copy.unlink()
        line = refusal("live", target.pid)
    finally:
        target.kill()
    assert line.startswith(f"error: the python of pid {target.pid} ('{copy} (deleted)')"), line
    assert "was replaced since it started" in line


@needs315
def test_the_reader_says_when_remote_debugging_is_missing() -> None:
    # The reader's half of that refusal: an interpreter without the module
    # (a build that left it out) writes one "refuse module" line and ends.
    spec = importlib.util.find_spec("gc_monitor._remote")
    assert spec is not None and spec.origin is not None
    code = (
        "import sys; sys.modules['_remote_debugging'] = None; "
        f"sys.argv = ['_remote.py', '{os.getpid()}', '1']; "
        f"exec(compile(open({spec.origin!r}).read(), '_remote.py', 'exec'), "
        "{'__name__': '__main__'})"
    )
    proc = subprocess.run(
        [str(PY315), "-I", "-S", "-c", code], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.startswith("refuse module "), proc.stdout


def test_watch_help_and_usage() -> None:
    usage = subprocess.run(
        [str(launcher_path()), "--help"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert "pygcprofiler watch -o FILE PID" in usage.stdout
    helped = subprocess.run(
        [str(launcher_path()), "watch", "--help"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert helped.returncode == 0 and helped.stderr == ""
    assert helped.stdout.startswith("usage: pygcprofiler watch -o FILE PID\n")
    assert "-o, --output FILE" in helped.stdout


def test_watch_bad_words(tmp_path: Path) -> None:
    assert refusal("watch", "12") == "error: missing capture file: give -o FILE"
    assert refusal("watch", "-o", tmp_path / "c") == "error: missing process: give the PID to watch"
    assert refusal("watch", "-o", tmp_path / "c", "12x") == "error: not a process id: '12x'"
    existing = tmp_path / "exists"
    existing.write_text("")
    line = refusal("watch", "-o", existing, "12")
    assert line.startswith("error: ") and "exists" in line, line
