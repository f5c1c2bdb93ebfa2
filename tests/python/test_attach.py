"""`pygcprofiler attach PID` and `detach PID` on running CPython 3.14+ programs.

The programs are plain `python3.14 app.py` runs (and 3.15) never started
under pygcprofiler, in a venv of that interpreter with this package installed
(built once per session by tests/run.sh --install-only under build/, or taken
from $GCM_ATTACH_VENVS/python3.X when set): CPython runs the launcher's script
in them through sys.remote_exec.  Each program keeps its collector off except
while it works, and prints its own gc.get_stats() differences for that work:
the capture's counts must equal them exactly, and the program's own output
and exit status must be those of a run without us.

The attaching tests skip when the CI's extra interpreters are absent
(gcm_testing.XPY_BIN); the refusals of other processes run everywhere.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gcm_testing import (
    TARGETS,
    TIMEOUT,
    XPY_BIN,
    Started,
    clean_env,
    get,
    kill_group,
    launcher_path,
    report,
    start_server,
)

REPO = Path(__file__).resolve().parents[2]

# argv: GO STOP ROUNDS BURST (targets/stats_app.py).
APP = TARGETS / "stats_app.py"


def venv_python(version: str) -> Path:
    """A python`version` of the extra interpreters with this package installed."""
    base = XPY_BIN / f"python{version}"
    if not os.access(base, os.X_OK):
        pytest.skip(f"no python{version} among the extra interpreters ({XPY_BIN})")
    given = os.environ.get("GCM_ATTACH_VENVS")
    venv = Path(given) / f"python{version}" if given else REPO / "build" / f"attach-venv{version}"
    if not given:
        # pytest-xdist workers each run session fixtures: one builds, the
        # others wait for it and then find the venv up to date.
        venv.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(venv.parent / f".attach-venv{version}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            build_venv(base, venv, servers=version == "3.14")
        finally:
            os.close(lock)
    python = venv / "bin" / "python"
    assert os.access(python, os.X_OK), python
    return python


def source_stamp() -> str:
    """What the package is built from: every source file's path, size and
    modification time, hashed.  One CI run (or one pytest session's xdist
    workers, or the next session on an unchanged tree) builds each venv once."""
    digest = hashlib.sha256()
    roots = [REPO / name for name in ("src", "include", "python", "cmake")]
    files = [REPO / "CMakeLists.txt", REPO / "pyproject.toml"]
    for root in roots:
        files.extend(p for p in root.rglob("*") if p.is_file())
    for path in sorted(files):
        st = path.stat()
        digest.update(f"{path.relative_to(REPO)} {st.st_size} {st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def build_venv(base: Path, venv: Path, servers: bool) -> None:
    """Creates (or updates) `venv` of `base` with this package installed (and,
    with `servers`, the web servers of tests/requirements-servers.txt), unless
    it already holds a build of these very sources."""
    stamp = venv / ".gcm-source-stamp"
    want = source_stamp()
    if stamp.is_file() and stamp.read_text() == want:
        return
    env = clean_env(
        PYTHON=str(base),
        VENV=str(venv),
        GCM_PIP_WHEELS=str(XPY_BIN.parent / "wheels"),
        GCM_EXTRA_REQUIREMENTS="tests/requirements-servers.txt" if servers else "",
    )
    built = subprocess.run(
        ["bash", str(REPO / "tests" / "run.sh"), "--no-apt", "--no-c", "--install-only"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30 * 60,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    stamp.write_text(want)


@pytest.fixture(scope="session", params=["3.14", "3.15"])
def py(request: pytest.FixtureRequest) -> Path:
    return venv_python(request.param)


@pytest.fixture(scope="session")
def py314() -> Path:
    return venv_python("3.14")


class App:
    """A plain program of `python`, not started under pygcprofiler."""

    def __init__(self, python: Path, tmp_path: Path, **env: str) -> None:
        self.go = tmp_path / "go"
        self.stop = tmp_path / "stop"
        self.proc = Started(
            [python, APP, self.go, self.stop, "100", "0"], cwd=tmp_path, env=clean_env(**env)
        )
        self.proc.wait_for("ready")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def work(self) -> list[dict[str, int]]:
        """Lets it work; returns its own gc.get_stats() differences."""
        self.go.touch()
        self.proc.wait_for("[{")
        line = [x for x in self.proc.stdout.splitlines() if x.startswith("[{")][0]
        return json.loads(line)

    def end(self) -> int:
        self.stop.touch()
        return self.proc.finish()

    def kill(self) -> None:
        self.proc.kill()


@pytest.fixture
def apps() -> Iterator[list[App]]:
    started: list[App] = []
    yield started
    for app in started:
        app.kill()


def launch(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(launcher_path()), *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
    )


def refusal(*args: object) -> str:
    """The one error line of a refused verb (exit 2, the hint, nothing on stdout)."""
    proc = launch(*args)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: "), proc.stderr
    assert lines[1] == f"try 'pygcprofiler {args[0]} --help'", proc.stderr
    return lines[0]


def json_summary(capture: Path) -> dict[str, object]:
    lines = report(capture, "--format", "json", "--stats-only").stdout.splitlines()
    return next(x for x in map(json.loads, lines) if x.get("type") == "summary")


def live_line(pid: int) -> dict[str, str]:
    proc = subprocess.Popen(
        [str(launcher_path()), "live", "--plain", "--interval", "0.1", str(pid)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
    return dict(token.split("=", 1) for token in line.split())


def test_attach_then_detach_counts_equal_the_programs_own(
    py: Path, tmp_path: Path, apps: list[App]
) -> None:
    app = App(py, tmp_path)
    apps.append(app)
    capture = tmp_path / "attached.capture"
    attached = launch("attach", "-o", capture, app.pid)
    assert attached.returncode == 0, attached.stderr
    assert attached.stdout == f"{capture}\n"
    assert f"pid {app.pid} records into '{capture}'" in attached.stderr
    assert (capture.stat().st_mode & 0o777) == 0o600
    deltas = app.work()
    shown = live_line(app.pid)
    assert shown["pid"] == str(app.pid) and shown["state"] == "running", shown
    assert int(shown["collections"]) == sum(d["collections"] for d in deltas), (shown, deltas)
    detached = launch("detach", app.pid)
    assert detached.returncode == 0, detached.stderr
    assert detached.stdout == ""
    assert app.end() == 0
    # Its own output, nothing of ours: no report, no warning.
    assert app.proc.stdout == f"ready\n{json.dumps(deltas)}\nbye\n"
    assert app.proc.stderr == ""
    summary = json_summary(capture)
    for g in range(3):
        gen = summary[f"gen{g}"]
        assert isinstance(gen, dict)
        assert gen["count"] == deltas[g]["collections"], (g, summary, deltas)
        assert gen["collected"] == deltas[g]["collected"], (g, summary, deltas)
    # Detached it stays, though the program exited afterwards.
    assert "State: detached at " in report(capture, "--stats-only").stdout
    assert not list(tmp_path.glob("pygcprofiler-attach-*"))


def test_attach_without_o_prints_a_private_capture(
    py314: Path, tmp_path: Path, apps: list[App]
) -> None:
    app = App(py314, tmp_path)
    apps.append(app)
    env_tmp = tmp_path / "tmp"
    env_tmp.mkdir()
    proc = subprocess.run(
        [str(launcher_path()), "attach", str(app.pid)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(TMPDIR=str(env_tmp)),
    )
    assert proc.returncode == 0, proc.stderr
    capture = Path(proc.stdout.strip())
    assert capture.parent.parent == env_tmp, capture
    assert (capture.parent.stat().st_mode & 0o777) == 0o700
    assert (capture.stat().st_mode & 0o777) == 0o600
    # The script's private directory is gone; only the capture's is left.
    assert [p.name for p in env_tmp.iterdir()] == [capture.parent.name]
    # A second attach names the capture the first one started.
    assert refusal("attach", app.pid) == (
        f"error: pid {app.pid} is already monitored: its capture is '{capture}'"
    )
    assert launch("detach", app.pid).returncode == 0
    assert refusal("detach", app.pid).startswith(f"error: pid {app.pid} is not attached: ")
    app.work()
    assert app.end() == 0
    assert app.proc.stderr == ""


def base_python314() -> Path:
    """The extra python3.14 itself, outside any venv: no gc_monitor there."""
    base = XPY_BIN / "python3.14"
    if not os.access(base, os.X_OK):
        pytest.skip("no python3.14 among the extra interpreters")
    return base


def remote_exec(python: Path, pid: int, script: Path) -> None:
    """Asks process `pid` to run `script`, as any sys.remote_exec caller can."""
    subprocess.run(
        [
            python,
            "-c",
            "import sys; sys.remote_exec(int(sys.argv[1]), sys.argv[2])",
            str(pid),
            script,
        ],
        check=True,
        timeout=TIMEOUT,
    )


def test_refusal_without_gc_monitor_asks_nothing_of_the_program(
    tmp_path: Path, apps: list[App]
) -> None:
    base = base_python314()
    app = App(base, tmp_path, GCM_TEST_AUDIT="1")
    apps.append(app)
    capture = tmp_path / "never.capture"
    line = refusal("attach", "-o", capture, app.pid)
    assert line == (
        f"error: pid {app.pid} cannot import gc_monitor (ModuleNotFoundError: No module named "
        "'gc_monitor'): install pygcprofiler into the environment it runs in"
    )
    assert not capture.exists()
    # The refusal came from outside: CPython ran no script in the program.
    # One asked for now runs when the program works, and the program says so:
    # the only script it ever ran is this one.
    mine = tmp_path / "mine.py"
    mine.write_text("pass\n")
    remote_exec(base, app.pid, mine)
    app.work()
    assert app.end() == 0
    assert app.proc.stderr == f"remote script: {mine}\n"


def test_the_programs_own_environment_decides_what_it_can_import(
    py314: Path, tmp_path: Path, apps: list[App]
) -> None:
    # The bare interpreter, with the venv's site-packages on its PYTHONPATH:
    # gc_monitor imports there, though not in the launcher's view of that
    # interpreter, so the check from outside must use the program's
    # environment (and its flags: -E would hide PYTHONPATH again).
    site = subprocess.run(
        [py314, "-c", "import gc_monitor, os; print(os.path.dirname(gc_monitor.__path__[0]))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT,
    ).stdout.strip()
    base = base_python314()
    app = App(base, tmp_path, PYTHONPATH=site)
    apps.append(app)
    capture = tmp_path / "via-pythonpath.capture"
    attached = launch("attach", "-o", capture, app.pid)
    assert attached.returncode == 0, attached.stderr
    deltas = app.work()
    assert launch("detach", app.pid).returncode == 0
    assert app.end() == 0
    assert json_summary(capture)["count"] == sum(d["collections"] for d in deltas)
    isolated = Started(
        [base, "-E", APP, tmp_path / "go2", tmp_path / "stop2", "1", "0"],
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=site, GCM_TEST_AUDIT="1"),
    )
    try:
        isolated.wait_for("ready")
        assert "cannot import gc_monitor" in refusal("attach", isolated.pid)
        (tmp_path / "go2").touch()
        (tmp_path / "stop2").touch()
        assert isolated.finish() == 0
    finally:
        isolated.kill()
    assert isolated.stderr == ""


def test_recording_options_reach_the_capture(py314: Path, tmp_path: Path, apps: list[App]) -> None:
    app = App(py314, tmp_path)
    apps.append(app)
    capture = tmp_path / "options.capture"
    attached = launch(
        "attach",
        "-o",
        capture,
        "--buffer-events",
        "1000",
        "--alert-threshold-ms",
        "0",
        "--slo-ms",
        "7",
        "--duration-buckets",
        "2,30",
        app.pid,
    )
    assert attached.returncode == 0, attached.stderr
    deltas = app.work()
    assert launch("detach", app.pid).returncode == 0
    assert app.end() == 0
    lines = [json.loads(x) for x in report(capture, "--json", "--stats-only").stdout.splitlines()]
    by_type = {x["type"]: x for x in lines}
    total = sum(d["collections"] for d in deltas)
    summary = by_type["summary"]
    assert summary["count"] == total
    # Every pause is an alert at a 0 ms threshold; the buckets are the ones given.
    assert by_type["capture"]["recorded_alert_threshold_ms"] == 0
    assert summary["alerts"] == total
    assert [b["le_ms"] for b in summary["buckets"]] == [2, 30, None]
    assert by_type["verdict"]["slo_ms"] == 7 and by_type["verdict"]["slo_from"] == "slo_ms"
    # 1000 is rounded up to a power of two: the ring holds 1024 collections.
    assert summary["events"] == min(total, 1024)


def test_recording_options_are_checked_before_the_process_is_touched(tmp_path: Path) -> None:
    assert refusal("attach", "--buffer-events", "x", os.getpid()) == (
        "error: invalid value 'x' for '--buffer-events': is not a whole number"
    )
    assert refusal("attach", "--stack-depth", "0", os.getpid()) == (
        "error: invalid value '0' for '--stack-depth': must be at least 1"
    )
    assert "unknown option '--buffer-events'" in refusal("detach", "--buffer-events", "8", "1")


def older_python() -> str:
    """A CPython before 3.14: 3.12 from pyenv when there is one, else this one."""
    root = Path("/root/.pyenv/versions")
    found = sorted(root.glob("3.12.*/bin/python")) if root.is_dir() else []
    if found:
        return str(found[-1])
    if sys.version_info >= (3, 14):
        pytest.skip("no python before 3.14")
    return sys.executable


@pytest.mark.parametrize("verb", ["attach", "detach"])
def test_refusal_before_314(verb: str) -> None:
    python = older_python()
    older = subprocess.Popen(
        [
            python,
            "-c",
            "import sys, time; print('%d.%d.%d' % sys.version_info[:3], flush=True);time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert older.stdout is not None
        version = older.stdout.readline().strip()
        line = refusal(verb, older.pid)
        assert older.poll() is None
    finally:
        older.kill()
        older.wait(timeout=TIMEOUT)
    assert line == (
        f"error: pid {older.pid} runs python {version}: attaching needs python 3.14+ "
        "(sys.remote_exec); restart it under 'pygcprofiler run -o FILE'"
    )


@pytest.mark.parametrize("verb", ["attach", "detach"])
def test_refusals_no_process_and_not_python(verb: str) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=TIMEOUT)
    assert refusal(verb, gone.pid) == f"error: no process with pid {gone.pid}"
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        line = refusal(verb, sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait(timeout=TIMEOUT)
    assert line.startswith(f"error: pid {sleeper.pid} is not a Python process ('"), line


@pytest.mark.parametrize(
    ("words", "fragment"),
    [
        (["attach"], "missing process: give the PID to attach to"),
        (["detach"], "missing process: give the PID to detach"),
        (["attach", "12x"], "not a process id: '12x'"),
        (["detach", "1", "2"], "one process at a time: '1' and '2'"),
        (["detach", "-o", "x", "1"], "'-o'"),
    ],
)
def test_bad_words(words: list[str], fragment: str) -> None:
    assert fragment in refusal(*words)


def test_attach_refuses_an_existing_output(tmp_path: Path) -> None:
    taken = tmp_path / "taken.capture"
    taken.write_text("mine")
    line = refusal("attach", "-o", taken, os.getpid())
    assert str(taken) in line, line
    assert taken.read_text() == "mine"


@pytest.mark.parametrize("verb", ["attach", "detach"])
def test_help(verb: str) -> None:
    proc = launch(verb, "--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith(f"usage: pygcprofiler {verb} ")
    assert "3.14" in proc.stdout
    usage = launch("--help").stdout
    assert f"pygcprofiler {verb} " in usage


def test_refusal_when_remote_debugging_is_disabled(tmp_path: Path, apps: list[App]) -> None:
    base = XPY_BIN / "python3.14"
    if not os.access(base, os.X_OK):
        pytest.skip("no python3.14 among the extra interpreters")
    app = App.__new__(App)
    app.go, app.stop = tmp_path / "go", tmp_path / "stop"
    env = clean_env(PYTHON_DISABLE_REMOTE_DEBUG="1")
    app.proc = Started([base, APP, app.go, app.stop, "100", "0"], cwd=tmp_path, env=env)
    apps.append(app)
    app.proc.wait_for("ready")
    assert refusal("attach", app.pid) == (
        f"error: pid {app.pid} does not allow remote debugging (PYTHON_DISABLE_REMOTE_DEBUG, "
        "-X disable-remote-debug, or a build without it): restart it under "
        "'pygcprofiler run -o FILE'"
    )
    app.work()
    assert app.end() == 0
    assert app.proc.stderr == ""


def test_duration_detaches_and_prints_the_report(
    py314: Path, tmp_path: Path, apps: list[App]
) -> None:
    app = App(py314, tmp_path)
    apps.append(app)
    capture = tmp_path / "timed.capture"
    # A long duration that Ctrl-C ends once the program has worked: the
    # window is the test's to choose, never a race with the clock.
    attach = Started(
        [launcher_path(), "attach", "-o", capture, "--duration", "3600", app.pid], cwd=tmp_path
    )
    try:
        attach.wait_for(f"pid {app.pid} records into '{capture}'", stream="err")
        deltas = app.work()
        os.kill(attach.pid, signal.SIGINT)
        assert attach.finish() == 0, attach.stderr
    finally:
        attach.kill()
    assert attach.stdout.startswith(f"Capture: {capture}\n"), attach.stdout
    assert "State: detached at " in attach.stdout
    total = sum(d["collections"] for d in deltas)
    assert f"Total GC collections: {total}\n" in attach.stdout, (attach.stdout, deltas)
    assert app.end() == 0
    assert app.proc.stderr == ""


def test_attach_to_a_uvicorn_server_under_load(py314: Path, tmp_path: Path) -> None:
    if subprocess.run([py314, "-c", "import uvicorn"], capture_output=True).returncode != 0:
        pytest.skip("no uvicorn in the python3.14 venv")
    shutil.copy(Path(__file__).parent / "servers" / "asgi_app.py", tmp_path)
    args = ["-m", "uvicorn", "asgi_app:app", "--host", "127.0.0.1", "--port", "{port}"]
    server, port = start_server([py314], args, tmp_path, "Uvicorn running on")
    done = threading.Event()
    served: list[str] = []

    def load() -> None:
        while not done.is_set():
            served.append(get(port))

    loader = threading.Thread(target=load)
    loader.start()
    capture = tmp_path / "server.capture"
    try:
        attached = launch("attach", "-o", capture, server.pid)
        assert attached.returncode == 0, attached.stderr
        # Every request collects: wait (bounded) until the capture has some.
        for _ in range(600):
            if int(str(json_summary(capture)["count"])) > 0:
                break
            served_before = len(served)
            while len(served) == served_before and loader.is_alive():
                done.wait(0.05)
        detached = launch("detach", server.pid)
        assert detached.returncode == 0, detached.stderr
        done.set()
        loader.join(timeout=TIMEOUT)
        # It serves on after detach.
        assert get(port) == f"pid {server.pid}\n"
    finally:
        done.set()
        loader.join(timeout=TIMEOUT)
        kill_group(server)
    assert int(str(json_summary(capture)["count"])) > 0
    assert "State: detached at " in report(capture, "--stats-only").stdout
    assert served and all(body == f"pid {server.pid}\n" for body in served)
    assert "Traceback" not in server.stderr and "pygcprofiler" not in server.stderr, server.stderr


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
def test_refusal_without_permission(py314: Path, tmp_path: Path, apps: list[App]) -> None:
    app = App(py314, tmp_path)
    apps.append(app)
    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        + [str(launcher_path()), "attach", str(app.pid)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[0] == (
        f"error: no permission to read the memory of pid {app.pid}: run as its user or as "
        "root (ptrace access; see /proc/sys/kernel/yama/ptrace_scope)"
    )
    app.work()
    assert app.end() == 0
    assert app.proc.stderr == ""
