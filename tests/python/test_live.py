"""`pygcprofiler live FILE|PID`: watching running programs from their captures.

Everything goes through the real, installed launcher: a workload runs under
`pygcprofiler run -o FILE` and keeps collecting until the test creates its
stop file (or kills it); `live` watches it in a real terminal (tmux, 80x24),
or prints logfmt lines into a pipe, which the tests parse line by line.
Waits are polls with generous deadlines, never timing assertions.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Callable

import pytest
from gcm_testing import clean_env, launcher_path, report
from test_stacks import needs_stacks

TIMEOUT = 60

# Makes cyclic garbage and collects until the file named by argv[1] exists.
WORKLOAD = textwrap.dedent(
    """
    import gc, os, sys, time
    stop = sys.argv[1]
    print("ready", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(stop) and time.monotonic() < deadline:
        junk = []
        for _ in range(2000):
            a = []
            a.append(a)
            junk.append(a)
        gc.collect(0)
        time.sleep(0.005)
    """
)


class Writer:
    """A workload under `pygcprofiler run -o capture`."""

    def __init__(self, tmp_path: Path, capture: Path, *run_args: str) -> None:
        script = tmp_path / "work.py"
        script.write_text(WORKLOAD)
        self.capture = capture
        self.stop_file = tmp_path / f"stop-{capture.name}"
        args = ["run", *run_args] if run_args else ["run", "-o", str(capture)]
        self.proc = subprocess.Popen(
            [str(launcher_path()), *args, str(script), str(self.stop_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=clean_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line == "ready\n", f"the workload did not start: {self.proc.communicate()}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> int:
        self.stop_file.touch()
        return self.proc.wait(timeout=TIMEOUT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def writers(tmp_path: Path):
    started: list[Writer] = []

    def make(name: str = "run.gcm", *run_args: str) -> Writer:
        w = Writer(tmp_path, tmp_path / name, *run_args)
        started.append(w)
        return w

    yield make
    for w in started:
        w.kill()


def live(*args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(launcher_path()), "live", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
    )


def parse_line(line: str) -> dict[str, str]:
    """One logfmt line: space-separated key=value pairs, nothing else."""
    assert line.endswith("\n"), repr(line)
    fields = {}
    for token in line.split():
        key, sep, value = token.partition("=")
        assert sep == "=" and key and value, f"not key=value: {token!r} in {line!r}"
        assert key not in fields, f"{key} twice in {line!r}"
        fields[key] = value
    return fields


LINE_KEYS = {
    "time", "pid", "state", "up_s", "collections", "gen0", "gen1", "gen2", "interval_s",
    "interval_collections", "gc_ms", "interval_gc_ms", "share_pct", "interval_share_pct",
    "p50_ms", "p99_ms", "max_ms", "interval_max_ms", "alerts", "interval_alerts", "collected",
    "uncollectable",
}  # fmt: skip


def check_line(fields: dict[str, str]) -> None:
    assert LINE_KEYS <= fields.keys(), LINE_KEYS - fields.keys()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fields["time"])
    assert fields["state"] in ("running", "exited", "gone")
    assert ("exit_status" in fields) == (fields["state"] == "exited")
    gens = sum(int(fields[f"gen{g}"]) for g in range(3))
    assert gens == int(fields["collections"])
    assert int(fields["interval_collections"]) <= int(fields["collections"])
    p50, p99, top = (float(fields[k]) for k in ("p50_ms", "p99_ms", "max_ms"))
    assert 0 <= p50 <= p99 <= top
    assert float(fields["interval_gc_ms"]) <= float(fields["gc_ms"])


def read_lines(proc: subprocess.Popen, count: int) -> list[str]:
    assert proc.stdout is not None
    lines = []
    while len(lines) < count:
        line = proc.stdout.readline()
        assert line, f"live ended early: {proc.wait(timeout=TIMEOUT)} {proc.stderr.read()}"  # type: ignore[union-attr]
        lines.append(line)
    return lines


def start_live(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(launcher_path()), "live", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )


def finish(proc: subprocess.Popen) -> tuple[list[str], str]:
    out, err = proc.communicate(timeout=TIMEOUT)
    return out.splitlines(keepends=True), err


def report_count(capture: Path) -> int:
    proc = report(capture, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (summary,) = [o for o in map(json.loads, proc.stdout.splitlines()) if o["type"] == "summary"]
    return int(summary["count"])


# ---- plain lines ---------------------------------------------------------------------------


def test_lines_follow_a_writer_until_it_exits(writers: Callable[..., Writer]) -> None:
    w = writers()
    proc = start_live("--interval", "0.2", str(w.capture))
    try:
        first = read_lines(proc, 2)
        # The workload keeps collecting: some later line shows more.
        while parse_line(first[-1])["collections"] == parse_line(first[0])["collections"]:
            first += read_lines(proc, 1)
        assert w.stop() == 0
        rest, err = finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = [parse_line(line) for line in first + rest]
    for fields in lines:
        check_line(fields)
        assert int(fields["pid"]) == w.pid
    counts = [int(f["collections"]) for f in lines]
    assert counts == sorted(counts)
    assert all(f["state"] == "running" for f in lines[:-1])
    assert lines[-1]["state"] == "exited" and lines[-1]["exit_status"] == "0"
    # The last line holds the figures that `report` reads from the same file.
    assert counts[-1] == report_count(w.capture)
    # Each line's interval adds what the previous line had not counted.
    for before, after in zip(lines, lines[1:]):
        grown = int(after["collections"]) - int(before["collections"])
        assert int(after["interval_collections"]) == grown


def test_the_default_refresh_is_one_second(writers: Callable[..., Writer]) -> None:
    w = writers()
    proc = start_live(str(w.capture))
    try:
        lines = [parse_line(line) for line in read_lines(proc, 3)]
    finally:
        proc.kill()
        finish(proc)
    # After the first line, each covers the interval since the one before.
    # The refreshes keep a fixed cadence (one each second from the start), so
    # one that a loaded machine delayed is followed by a shorter interval
    # (1.12 s, then 0.88 s, once); together they span the seconds waited.
    intervals = [float(fields["interval_s"]) for fields in lines[1:]]
    assert all(0.0 < interval < 30.0 for interval in intervals), lines
    assert sum(intervals) >= 0.95 * len(intervals), lines


@pytest.mark.parametrize("how", ["closed", "full"])
def test_a_failing_stdout_ends_live_with_status_1(
    writers: Callable[..., Writer], tmp_path: Path, how: str
) -> None:
    w = writers()
    if how == "full":
        with open("/dev/full", "w") as full:
            proc = subprocess.run(
                [str(launcher_path()), "live", "--interval", "0.2", str(w.capture)],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=TIMEOUT,
                env=clean_env(),
            )
        err = proc.stderr
    else:
        proc = start_live("--interval", "0.2", str(w.capture))
        read_lines(proc, 1)
        assert proc.stdout is not None
        proc.stdout.close()  # the reader goes away: the next write fails
        err = proc.stderr.read() if proc.stderr is not None else ""
        proc.wait(timeout=TIMEOUT)
    assert proc.returncode == 1, err
    if how == "full":
        assert err == "error: cannot write to stdout: no space left on device\n"
    else:  # a reader that goes away (`live ... | head`) is no error
        assert err == "", err


def test_a_killed_writer_is_reported_gone(writers: Callable[..., Writer]) -> None:
    w = writers()
    proc = start_live("--interval", "0.2", str(w.capture))
    try:
        read_lines(proc, 2)
        w.proc.send_signal(signal.SIGKILL)
        w.proc.wait(timeout=TIMEOUT)
        rest, err = finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    last = parse_line(rest[-1])
    check_line(last)
    assert last["state"] == "gone"
    assert all(parse_line(line)["state"] == "running" for line in rest[:-1])


def test_a_pid_is_watched_through_its_capture(writers: Callable[..., Writer]) -> None:
    w = writers()
    proc = start_live("--interval", "0.2", str(w.pid))
    try:
        (line,) = read_lines(proc, 1)
        w.stop()
        rest, err = finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert int(parse_line(line)["pid"]) == w.pid
    assert parse_line(rest[-1])["state"] == "exited"


def test_a_pid_without_capture(writers: Callable[..., Writer], tmp_path: Path) -> None:
    # Without a capture, a process is read from outside when it runs
    # CPython 3.15+ (test_remote.py); anything else is refused, saying why.
    plain = subprocess.Popen(["sleep", "60"])
    try:
        result = live(str(plain.pid))
    finally:
        plain.kill()
        plain.wait(timeout=TIMEOUT)
    assert result.returncode == 2
    assert result.stdout == ""
    sleep = os.path.realpath(shutil.which("sleep") or "sleep")
    assert result.stderr.splitlines() == [
        f"error: pid {plain.pid} is not a Python process ('{sleep}')",
        "try 'pygcprofiler live --help'",
    ]
    if sys.version_info >= (3, 15):
        return
    # Monitored without -o: the report is written at exit, nothing can be watched.
    w = writers("unused", "--stats-only")
    result = live(str(w.pid))
    assert result.returncode == 2
    v = sys.version_info
    assert result.stderr.splitlines()[0] == (
        f"error: pid {w.pid} runs python {v[0]}.{v[1]}.{v[2]}: reading a process from outside "
        "needs python 3.15+; start it with 'pygcprofiler run -o FILE'"
    )


def test_a_pid_that_does_not_exist() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=TIMEOUT)
    result = live(str(gone.pid))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"error: no process with pid {gone.pid}"


def test_several_processes_are_rows(writers: Callable[..., Writer]) -> None:
    # A second capture named as a forked child's (FILE.<pid>) is found next
    # to FILE; a third comes from another argument.
    parent = writers("tree.gcm")
    child = writers("tree.gcm.4242")
    other = writers("other.gcm")
    proc = start_live("--interval", "0.2", str(parent.capture), str(other.capture))
    try:
        first = read_lines(proc, 6)
        for w in (child, parent, other):
            assert w.stop() == 0
        rest, err = finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = [parse_line(line) for line in first + rest]
    for fields in lines:
        check_line(fields)
    pids = {int(f["pid"]) for f in lines}
    assert pids == {parent.pid, child.pid, other.pid}
    # The last refresh has one line per process, each ended.
    final = lines[-3:]
    assert {int(f["pid"]) for f in final} == pids
    assert all(f["state"] == "exited" for f in final)


FORKING = textwrap.dedent(
    """
    import os, sys
    kids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            exec(open(sys.argv[2]).read())
            os._exit(0)
        kids.append(pid)
    print("kids", *kids, flush=True)
    exec(open(sys.argv[2]).read())
    for pid in kids:
        os.waitpid(pid, 0)
    """
)


def test_forked_children_are_found_as_they_appear(tmp_path: Path) -> None:
    # The recorder gives each forked child its own FILE.<pid>; live watches
    # the parent's FILE and picks the children's captures up next to it.
    (tmp_path / "forking.py").write_text(FORKING)
    (tmp_path / "work.py").write_text(WORKLOAD.replace('print("ready", flush=True)', ""))
    capture = tmp_path / "tree.gcm"
    stop = tmp_path / "stop"
    parent = subprocess.Popen(
        [str(launcher_path()), "run", "--stats-only", "-o", str(capture), "forking.py",
         str(stop), "work.py"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
    )  # fmt: skip
    proc = None
    try:
        assert parent.stdout is not None
        kids = {int(pid) for pid in parent.stdout.readline().split()[1:]}
        assert len(kids) == 2, parent.communicate()
        proc = start_live("--interval", "0.2", str(capture))
        seen: set[int] = set()
        while seen != kids | {parent.pid}:
            seen |= {int(parse_line(line)["pid"]) for line in read_lines(proc, 1)}
            assert seen <= kids | {parent.pid}, seen
        stop.touch()
        assert parent.wait(timeout=TIMEOUT) == 0
        rest, err = finish(proc)
    finally:
        stop.touch()  # the children end on it too
        parent.kill()
        parent.wait(timeout=TIMEOUT)
        if proc is not None:
            proc.kill()
    assert proc.returncode == 0, err
    final = [parse_line(line) for line in rest[-3:]]
    assert {int(f["pid"]) for f in final} == kids | {parent.pid}
    assert all(f["state"] != "running" for f in final)


def test_an_exited_capture_gives_one_line(writers: Callable[..., Writer]) -> None:
    w = writers()
    w.stop()
    result = live(str(w.capture))
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines(keepends=True)
    fields = parse_line(line)
    check_line(fields)
    assert fields["state"] == "exited"
    assert int(fields["collections"]) == report_count(w.capture)


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "error: missing capture: give the FILE of 'run -o FILE' or the PID of its program"),
        (["--interval", "0", "x"], "error: invalid value '0' for '--interval': must be seconds "
         "from 0.05 to 3600"),
        (["--interval=abc", "x"], "error: invalid value 'abc' for '--interval': must be seconds "
         "from 0.05 to 3600"),
        (["--interval"], "error: option '--interval' needs a value (SECONDS)"),
        (["--json", "x"], "error: unknown option '--json'"),
        (["--plain=yes", "x"], "error: option '--plain' takes no value, got 'yes'"),
    ],
)  # fmt: skip
def test_bad_usage(args: list[str], message: str) -> None:
    result = live(*args)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [message, "try 'pygcprofiler live --help'"]


def test_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n" * 10000)
    result = live(str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"error: '{path}' is not a pygcprofiler capture file"


def test_an_empty_file_is_waited_for_then_refused(tmp_path: Path) -> None:
    # An empty file is what `run -o` has made before it formats the header:
    # live waits a moment for it, then says what it found.
    path = tmp_path / "empty.gcm"
    path.touch()
    result = live(str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"error: capture '{path}' is empty"


def test_a_capture_whose_header_comes_late_is_waited_for(
    writers: Callable[..., Writer], tmp_path: Path
) -> None:
    # `run -o F` creates F, allocates it (all zeros) and only then writes the
    # header.  Replay that: live starts on a zero-filled file of a real
    # capture's size, and the capture's bytes arrive in place a little later.
    w = writers()
    w.stop()
    data = w.capture.read_bytes()
    path = tmp_path / "late.gcm"
    path.write_bytes(bytes(len(data)))
    proc = subprocess.Popen(
        [str(launcher_path()), "live", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        time.sleep(0.5)
        # Still waiting, not refused: an early exit here is the bug.
        assert proc.poll() is None, proc.communicate()
        with open(path, "r+b") as fh:
            fh.write(data)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    (line,) = out.splitlines(keepends=True)
    fields = parse_line(line)
    check_line(fields)
    assert fields["state"] == "exited"
    assert int(fields["collections"]) == report_count(w.capture)


def test_help() -> None:
    result = live("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: pygcprofiler live [options] FILE|PID...\n")
    assert "--interval SECONDS" in result.stdout


# ---- the terminal screen, in tmux ----------------------------------------------------------

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """A private tmux server with one 80x24 window running a shell command."""

    def __init__(self, tmp_path: Path) -> None:
        self.socket = f"gcm-live-{os.getpid()}-{tmp_path.name}"
        self.dir = tmp_path

    def tmux(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=clean_env(),
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def start(self, live_args: list[str]) -> None:
        """Runs live in the window, between two `stty -g` that show whether
        the terminal came back as it was, then says how live exited."""
        command = " ".join(shlex.quote(a) for a in [str(launcher_path()), "live", *live_args])
        script = (
            # The shell outlives a Ctrl-C sent to live: it traps SIGINT (and
            # its child still gets the default action, then live's handler).
            f"trap : INT; cd {shlex.quote(str(self.dir))}; stty -g > stty.before; "
            f'sh -c \'echo $$ > live.pid; exec "$0" "$@"\' {command}; '
            # EXIT= shows only once stty.after is complete.
            "status=$?; stty -g > stty.after; echo EXIT=$status; sleep 600"
        )
        self.tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "live", "sh", "-c", script)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "live")

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            screen = self.screen()
            match = re.search(pattern, screen, re.MULTILINE)
            if match is not None:
                return match
            assert time.monotonic() < deadline, f"never saw {pattern!r} on:\n{screen}"
            time.sleep(0.1)

    def live_pid(self) -> int:
        return int((self.dir / "live.pid").read_text())

    def restored(self) -> bool:
        before = (self.dir / "stty.before").read_text()
        after = self.dir / "stty.after"
        return after.exists() and after.read_text() == before

    def cursor_visible(self) -> bool:
        return self.tmux("display", "-p", "-t", "live", "#{cursor_flag}").strip() == "1"

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=TIMEOUT
        )
        # The server leaves its socket behind in tmux's directory.
        tmpdir = os.environ.get("TMUX_TMPDIR", "/tmp")
        Path(tmpdir, f"tmux-{os.getuid()}", self.socket).unlink(missing_ok=True)


@pytest.fixture
def tmux(tmp_path: Path):
    t = Tmux(tmp_path)
    yield t
    t.close()


def all_row(screen: str) -> int:
    match = re.search(r"^all +([\d,]+) ", screen, re.MULTILINE)
    assert match is not None, screen
    return int(match.group(1).replace(",", ""))


def fits(screen: str, header: str) -> None:
    """The frame leaves the 80th column empty (no terminal wraps it) and its
    table header is whole, ending with its last column's name."""
    assert all(len(line) < 80 for line in screen.split("\n")), screen
    assert re.search(header, screen, re.MULTILINE), screen


@needs_tmux
def test_screen_changes_and_q_quits(writers: Callable[..., Writer], tmux: Tmux) -> None:
    w = writers()
    tmux.start(["--interval", "0.3", str(w.capture)])
    tmux.wait_for(r"^all ")
    first = tmux.screen()
    fits(first, r"^gen +collections +/s +paused +mean +p50 +p99 +max +alerts$")
    assert f"pid {w.pid} running" in first
    for header in ("collections", "p50", "p99", "max", "alerts"):
        assert header in first
    assert re.search(r"GC share: [\d.]+% over the last .*, [\d.]+% overall", first), first
    assert re.search(r"^Longest pause in the last [\d.]+s: (none|\S+) \(p99 and max above: the "
                     r"whole run\)$", first, re.MULTILINE), first
    assert re.search(r"^  T\+[\d.]+ +gen [012] ", first, re.MULTILINE), first
    assert not tmux.cursor_visible()
    # The workload keeps collecting: a later screen shows more collections.
    deadline = time.monotonic() + TIMEOUT
    while all_row(tmux.screen()) == all_row(first):
        assert time.monotonic() < deadline, "the screen never changed"
        time.sleep(0.1)
    tmux.tmux("send-keys", "-t", "live", "q")
    tmux.wait_for(r"^EXIT=0$")
    assert tmux.restored(), "the terminal settings were not restored"
    assert tmux.cursor_visible()
    # The last frame stays on the screen above the shell's next output.
    assert "all " in tmux.screen()


@needs_tmux
@pytest.mark.parametrize(
    "how, status",
    [("C-c", 0), ("SIGTERM", 128 + 15), ("SIGHUP", 128 + 1), ("SIGQUIT", 128 + 3)],
)
def test_signals_restore_the_terminal(
    writers: Callable[..., Writer], tmux: Tmux, how: str, status: int
) -> None:
    w = writers()
    tmux.start([str(w.capture)])
    tmux.wait_for(r"^all ")
    if how.startswith("SIG"):
        os.kill(tmux.live_pid(), getattr(signal, how))
    else:
        tmux.tmux("send-keys", "-t", "live", how)
    tmux.wait_for(rf"^EXIT={status}$")
    assert tmux.restored(), "the terminal settings were not restored"
    assert tmux.cursor_visible()


@needs_tmux
def test_screen_says_when_the_writer_exits(writers: Callable[..., Writer], tmux: Tmux) -> None:
    w = writers()
    tmux.start(["--interval", "0.3", str(w.capture)])
    tmux.wait_for(r"^all ")
    w.stop()
    tmux.wait_for(rf"pid {w.pid} exited with status 0; stopped\.")
    tmux.wait_for(r"^EXIT=0$")
    assert tmux.restored()


@needs_tmux
def test_screen_of_a_killed_writer_and_of_several(
    writers: Callable[..., Writer], tmux: Tmux
) -> None:
    parent = writers("tree.gcm")
    child = writers("tree.gcm.4242")
    tmux.start(["--interval", "0.3", str(parent.capture)])
    screen = tmux.wait_for(r"^ +total ").string
    fits(screen, r"^ +pid state +up +colls +/s +now% +all% +lastmax +max alert command$")
    assert re.search(
        r"^total: counts added; now%/all%: GC time / all processes' time$", screen, re.MULTILINE
    ), screen
    assert re.search(r"^busiest in the last [\d.]+s: pid \d+, [\d.]+% of its time in GC$",
                     screen, re.MULTILINE), screen
    assert "2 processes" in screen
    for w in (parent, child):
        assert re.search(rf"^ +{w.pid} running ", screen, re.MULTILINE), screen
    child.proc.send_signal(signal.SIGKILL)
    tmux.wait_for(rf"^ +{child.pid} gone ")
    parent.stop()
    tmux.wait_for(r"every watched process has ended; stopped\.")
    tmux.wait_for(r"^EXIT=0$")
    assert tmux.restored()


@needs_tmux
def test_a_resized_terminal_is_redrawn_at_once(writers: Callable[..., Writer], tmux: Tmux) -> None:
    w = writers()
    # With an hour between refreshes, only the resize (SIGWINCH) can redraw.
    tmux.start(["--interval", "3600", str(w.capture)])
    tmux.wait_for(r"^all ")
    tmux.tmux("resize-window", "-t", "live", "-x", "50", "-y", "14")
    deadline = time.monotonic() + TIMEOUT
    while True:
        lines = tmux.screen().rstrip("\n").split("\n")
        # The frame starts at the top again, cut to 49 columns and 13 rows.
        if lines[0].startswith("pygcprofiler live") and all(len(line) < 50 for line in lines):
            break
        assert time.monotonic() < deadline, "\n".join(lines)
        time.sleep(0.1)
    assert len(lines) <= 13
    # The command line (the interpreter's absolute path first) follows the cut process
    # line, itself cut to the new width: how much of the path shows depends on where the
    # test runs, so only its start is checked.
    assert lines[1].startswith(f"pid {w.pid} running") and lines[2].startswith("/")
    tmux.tmux("send-keys", "-t", "live", "q")
    tmux.wait_for(r"^EXIT=0$")
    assert tmux.restored()


@needs_tmux
@needs_stacks
def test_screen_names_the_top_trigger_of_a_stacks_capture(
    writers: Callable[..., Writer], tmux: Tmux, tmp_path: Path
) -> None:
    capture = tmp_path / "stacks.gcm"
    w = writers("stacks.gcm", "-o", str(capture), "--stacks")
    tmux.start(["--interval", "0.3", str(capture)])
    # WORKLOAD's allocations (lines 9 to 11) and its gc.collect(0) (line 12)
    # trigger the collections; which leads depends on the pauses.
    pattern = (
        r"^Top GC trigger \(([\d.]+)% of GC time, ([\d,]+) collections?\): "
        r"work\.py:(\d+) in <module>$"
    )
    match = tmux.wait_for(pattern)
    assert match.group(3) in {"9", "10", "11", "12"}, tmux.screen()
    assert 0 < float(match.group(1)) <= 100
    w.stop()
    tmux.wait_for(r"^EXIT=0$")
    # The last frame, drawn after the writer exited, names the call site
    # that leads the report of the capture, with its count.
    match = tmux.wait_for(pattern)
    text = report(capture).stdout
    first_row = text.split("Top GC triggers", 1)[1].splitlines()[2]
    count = match.group(2).replace(",", "")
    assert re.fullmatch(
        rf" +{count} .* +{match.group(1)}% +\S+  {re.escape(str(tmp_path / 'work.py'))}:"
        rf"{match.group(3)} in <module>",
        first_row,
    ), (tmux.screen(), text)
