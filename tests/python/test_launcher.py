"""`pygcprofiler run` against a direct python run of the same target.

Every test runs the real, installed launcher (``pip install .`` puts it in
the scripts directory of the interpreter that runs pytest) in a subprocess,
and compares what the target sees and how it ends with ``python <target>``
on the very interpreter the launcher chose.  Nothing here is a hard-coded
expectation of python's behaviour: the direct run is the expectation.
"""

from __future__ import annotations

import json
import py_compile
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from gcm_testing import TARGETS, TIMEOUT, assert_bad_input, clean_env, launcher_path, run

# ---------------------------------------------------------------------------
# Helpers


def probe_line(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("PROBE ")]
    assert len(lines) == 1, f"expected one PROBE line in {stdout!r}"
    return json.loads(lines[0][len("PROBE ") :])


def strip_start_lines(text):
    """Removes the launcher's two start lines, which must come first."""
    lines = text.splitlines(keepends=True)
    assert len(lines) >= 2, text
    assert lines[0] == "GMEM Monitoring initialized (Zero Runtime Overhead)\n", text
    assert lines[1].startswith("GMEM Running: "), text
    return "".join(lines[2:])


def interpreter_of(text):
    """The interpreter named by the "GMEM Running: <python> ..." start line."""
    running = text.splitlines()[1]
    assert running.startswith("GMEM Running: "), text
    return running.split(" ")[2]


def make_layout(root):
    """Lays the probe out in every form python can run it from, under `root`."""
    source = (TARGETS / "probe.py").read_text()
    shutil.copy(TARGETS / "probe.py", root / "probe.py")
    pkg = root / "probepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("VALUE = 1\n")
    # A relative import first: -m must run the module inside its package.
    (pkg / "mod.py").write_text("from .helper import VALUE  # noqa: F401\n" + source)
    (pkg / "__main__.py").write_text(source)
    appdir = root / "probedir"
    appdir.mkdir()
    (appdir / "__main__.py").write_text(source)
    with zipfile.ZipFile(root / "probe.zip", "w") as zf:
        zf.writestr("__main__.py", source)
    # Compiled by this interpreter, which is the one the launcher finds.
    py_compile.compile(str(root / "probe.py"), cfile=str(root / "compiled.pyc"), doraise=True)


@pytest.fixture
def layout(tmp_path):
    make_layout(tmp_path)
    return tmp_path


def run_both(layout, target, options=(), env=None, stdin=""):
    """Runs `target` under the launcher, then directly on the interpreter the
    launcher exec'd (the target's sys.orig_argv[0], or sys.executable)."""
    under = run([launcher_path(), "run", *options, *target], layout, env=env, stdin=stdin)
    assert under.returncode == 0, under.stderr
    seen = probe_line(under.stdout)
    python = (seen["orig_argv"] or [seen["executable"]])[0]
    direct = run([python, *target], layout, env=env, stdin=stdin)
    assert direct.returncode == 0, direct.stderr
    return seen, probe_line(direct.stdout), under


# What must be identical; the pid and the child's view of the monitor differ by design.
SAME_KEYS = (
    "argv",
    "orig_argv",
    "path0",
    "spec",
    "file",
    "cached",
    "loader",
    "name",
    "package",
    "main_is_us",
    "main_names",
    "pickled",
    "spawned",
    "stdin",
    "executable",
    "prefix",
    "config_env",
    "fds",
)


def assert_same(under, direct):
    for key in SAME_KEYS:
        assert under[key] == direct[key], (key, under[key], direct[key])


# ---------------------------------------------------------------------------
# The target sees what a direct run sees


def probe_code():
    return (TARGETS / "probe.py").read_text()


TARGET_FORMS = {
    "script": ["probe.py", "a", "--json"],
    "script-abs": None,  # filled in with an absolute path at run time
    "script-dotted": ["./probe.py", "a"],
    "module": ["-m", "probepkg.mod", "a", "--json"],
    "module-attached": ["-mprobepkg.mod", "a"],
    "package": ["-m", "probepkg", "x"],
    "directory": ["probedir", "b"],
    "zip": ["probe.zip", "c"],
    "bytecode": ["compiled.pyc", "e"],
    "code": ["-c", None, "d", "--json"],
}


@pytest.mark.parametrize("form", sorted(TARGET_FORMS))
def test_target_sees_what_python_shows(layout, form):
    target = TARGET_FORMS[form]
    if form == "script-abs":
        target = [str(layout / "probe.py"), "z"]
    if form == "code":
        target = ["-c", probe_code(), "d", "--json"]
    under, direct, proc = run_both(layout, target)
    assert_same(under, direct)
    assert under["config_env"] is None  # the bootstrap removed it before the target ran
    assert under["pickled"] == 42
    assert strip_start_lines(proc.stderr)  # and a report followed them


@pytest.mark.parametrize("target", [["probe.py", "--spawn"], ["-m", "probepkg.mod", "--spawn"]])
def test_multiprocessing_spawn_finds_main(layout, target):
    under, direct, _ = run_both(layout, target)
    assert under["spawned"] == 49
    assert_same(under, direct)


def test_stdin_reaches_the_target(layout):
    under, direct, _ = run_both(layout, ["probe.py", "--stdin"], stdin="line one\nline two\n")
    assert under["stdin"] == "line one\nline two\n"
    assert_same(under, direct)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="-P/PYTHONSAFEPATH is 3.11+")
@pytest.mark.parametrize("target", [["probe.py"], ["-m", "probepkg.mod"], ["probedir"]])
def test_safe_path_is_honoured(layout, target):
    env = clean_env(PYTHONSAFEPATH="1")
    if target[0] == "-m":
        # Without the cwd on sys.path the package must come from PYTHONPATH.
        env["PYTHONPATH"] = str(layout)
    under, direct, _ = run_both(layout, target, env=env)
    assert_same(under, direct)


def test_orig_argv_and_pid(layout):
    proc = subprocess.Popen(
        [str(launcher_path()), "run", "probe.py", "a", "--", "b"],
        cwd=layout,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    seen = probe_line(out)
    # One exec: the program is the process the caller started.
    assert seen["pid"] == proc.pid
    # The interpreter was exec'd by its path in the launcher's directory,
    # not by the symlink's target, so a venv stays a venv.
    interpreter = Path(seen["orig_argv"][0] if seen["orig_argv"] else seen["executable"])
    assert interpreter.parent == launcher_path().parent
    assert seen["prefix"] == sys.prefix
    if seen["orig_argv"] is not None:
        assert seen["orig_argv"][1:] == ["probe.py", "a", "--", "b"]
    assert seen["argv"] == ["probe.py", "a", "--", "b"]
    assert f"GMEM Running: {interpreter} probe.py a -- b\n" in err


# ---------------------------------------------------------------------------
# Options end at the target


def test_log_file_takes_the_start_lines_and_is_not_inherited(layout):
    log = layout / "gc.log"
    under, direct, proc = run_both(layout, ["probe.py"], options=["--log-file", log])
    # The launcher opened the log for the start lines; the target must not
    # find that descriptor open (assert_same compares the open fds).
    assert_same(under, direct)
    assert proc.stderr == ""
    text = log.read_text()
    assert strip_start_lines(text)
    assert text.count("=== GC MONITORING SUMMARY ===") == 1
    assert oct(log.stat().st_mode & 0o777) == oct(0o600)


def test_log_file_with_standard_streams_closed(tmp_path):
    # With fd 0, 1 and 2 closed, open() would hand the log file one of them;
    # the program must still find them closed, and the log must get the lines.
    log = tmp_path / "gc.log"
    script = tmp_path / "fds.py"
    script.write_text(
        "import os\n"
        "bad = [fd for fd in (0, 1, 2) if os.path.exists(f'/proc/self/fd/{fd}')]\n"
        "open(os.environ['OUT'], 'w').write(repr(bad))\n"
    )
    out = tmp_path / "out.txt"
    proc = subprocess.run(
        f"'{launcher_path()}' run --log-file '{log}' '{script}' <&- >&- 2>&-",
        shell=True,
        cwd=tmp_path,
        env=clean_env(OUT=str(out)),
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0
    assert out.read_text() == "[]"
    assert strip_start_lines(log.read_text())


def test_double_dash_before_target_is_dropped(layout):
    under, direct, _ = run_both(
        layout, ["probe.py", "--", "x", "--json"], options=["--stats-only", "--"]
    )
    assert under["argv"] == ["probe.py", "--", "x", "--json"]
    assert_same(under, direct)


def test_module_after_double_dash(layout):
    # After "--" the next word is a script, as for `python -- -m mod`: the
    # module is then '-m', a missing file (tests/python/test_run_words.py runs
    # scripts named like options).
    target = ["-m", "probepkg.mod", "--interval", "0"]
    proc = run([launcher_path(), "run", "--", *target], layout)
    assert_bad_input(proc, "script file not found: '-m'")
    under, direct, _ = run_both(layout, target, options=["--json"])
    assert under["argv"][1:] == ["--interval", "0"]
    assert_same(under, direct)


def test_target_flags_are_not_ours(layout):
    # --interval 0 would be refused as an option of ours; after the target it
    # is the program's own.
    under, direct, _ = run_both(
        layout,
        ["probe.py", "--interval", "0", "--help"],
        options=["--interval=2", "--alert-threshold-ms", "0"],
    )
    assert under["argv"] == ["probe.py", "--interval", "0", "--help"]
    assert_same(under, direct)


# ---------------------------------------------------------------------------
# Exit status, stderr and tracebacks


ENDINGS = ["return", "exit0", "exit3", "exit-msg", "raise", "chained", "sigint", "keyboard", "hook"]


@pytest.mark.parametrize("how", ENDINGS)
def test_exit_status_and_stderr_match_python(tmp_path, how):
    log = tmp_path / "report.txt"
    under = run([launcher_path(), "run", "--log-file", log, TARGETS / "exits.py", how], tmp_path)
    report = log.read_text()
    interpreter = interpreter_of(report)
    direct = run([interpreter, TARGETS / "exits.py", how], tmp_path)
    assert under.returncode == direct.returncode, (under.stderr, direct.stderr)
    # With --log-file the start lines and the report go to the file, so
    # stderr is the program's own, byte for byte.
    assert under.stderr == direct.stderr
    assert under.stdout == direct.stdout == "started\n"
    if how in ("sigint", "keyboard"):
        # Python dies by SIGINT after the traceback, so a shell sees 130.
        assert under.returncode == -signal.SIGINT
    # The start lines came first, and the report was written once,
    # whatever the ending.
    assert strip_start_lines(report)
    assert report.count("=== GC MONITORING SUMMARY ===") == 1, report


def test_syntax_error_reported_as_python_does(tmp_path):
    script = tmp_path / "syntax_error.py"
    script.write_text("# python cannot compile this\ndef broken(:\n    pass\n")
    under = run([launcher_path(), "run", script], tmp_path)
    interpreter = interpreter_of(under.stderr)
    direct = run([interpreter, script], tmp_path)
    assert under.returncode == direct.returncode == 1
    body = strip_start_lines(under.stderr)
    assert body.startswith(direct.stderr), (body, direct.stderr)
    assert "SyntaxError" in direct.stderr
    assert "Traceback" not in body


def test_uncaught_exception_in_module_keeps_runpy_frames(layout):
    (layout / "probepkg" / "bad.py").write_text(
        "from . import helper\nraise ValueError(helper.VALUE)\n"
    )
    under = run(
        [
            launcher_path(),
            "run",
            "--stats-only",
            "--log-file",
            layout / "r.txt",
            "-m",
            "probepkg.bad",
        ],
        layout,
    )
    interpreter = interpreter_of((layout / "r.txt").read_text())
    direct = run([interpreter, "-m", "probepkg.bad"], layout)
    assert under.returncode == direct.returncode == 1
    assert under.stderr == direct.stderr
    assert "_bootstrap" not in under.stderr


def test_missing_module_as_python_says(layout):
    under = run(
        [launcher_path(), "run", "--log-file", layout / "r.txt", "-m", "no_such_mod"], layout
    )
    interpreter = interpreter_of((layout / "r.txt").read_text())
    direct = run([interpreter, "-m", "no_such_mod"], layout)
    assert under.returncode == direct.returncode == 1
    assert under.stderr == direct.stderr


def test_non_daemon_threads_finish_before_the_report(tmp_path):
    log = tmp_path / "report.jsonl"
    proc = run(
        [
            launcher_path(),
            "run",
            "--json",
            "--stats-only",
            "--log-file",
            log,
            TARGETS / "late_thread.py",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "main done\nthread done\n"
    summaries = [json.loads(line) for line in log.read_text().splitlines() if '"summary"' in line]
    assert len(summaries) == 1
    # The thread's five forced full collections happened after the main
    # module returned; a report written at that point would miss them.
    assert summaries[0]["gen2"]["count"] >= 5


def test_closed_stderr_never_changes_the_status(tmp_path):
    script = tmp_path / "closed.py"
    script.write_text("import gc\ngc.collect()\nprint('done')\n")
    proc = subprocess.run(
        f"'{launcher_path()}' run '{script}' 2>&-",
        shell=True,
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0
    assert proc.stdout == "done\n"


def test_broken_pipe_on_stderr_never_changes_the_status(tmp_path):
    proc = subprocess.run(
        f"'{launcher_path()}' run '{TARGETS / 'exits.py'}' exit3 2>&1 >/dev/null | head -c 0; "
        'echo "status=${PIPESTATUS[0]}"',
        shell=True,
        executable="/bin/bash",
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.stdout == "status=3\n", proc.stderr
    assert proc.stderr == ""


def test_closed_stderr_gets_no_report_in_the_first_opened_file(tmp_path):
    # With fd 2 closed, the first file the program opens becomes fd 2; python
    # then has sys.stderr None and never writes there, and neither may the
    # report.  The script keeps the file open until the very end.
    script = tmp_path / "opens.py"
    script.write_text(
        "import gc, sys\n"
        "assert sys.stderr is None\n"
        "data = open('data.txt', 'w')\n"
        "assert data.fileno() == 2, data.fileno()\n"
        "data.write('mine\\n')\n"
        "data.flush()\n"
        "gc.collect()\n"
        "print('ran')\n"
    )
    proc = subprocess.run(
        f"'{launcher_path()}' run --stats-only '{script}' 2>&-",
        shell=True,
        executable="/bin/bash",
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout == "ran\n"
    assert (tmp_path / "data.txt").read_text() == "mine\n"


def test_stderr_redirected_after_start_still_gets_the_report(tmp_path):
    # Only whether fd 2 was open at start matters, not which file it was: a
    # daemon that points fd 2 at its own log later still gets the report.
    script = tmp_path / "daemon.py"
    script.write_text(
        "import gc, os\n"
        "fd = os.open('daemon.log', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\n"
        "os.dup2(fd, 2)\n"
        "os.close(fd)\n"
        "gc.collect()\n"
    )
    proc = run([launcher_path(), "run", "--stats-only", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "daemon.log").read_text()
    # The whole stats-only summary, with the script's one collection in it.
    assert "=== GC MONITORING SUMMARY ===\n" in log, log
    assert "Generation 2: 1 collections\n" in log, log


# ---------------------------------------------------------------------------
# Finding the interpreter


def test_venv_not_activated(layout):
    # PATH without the venv (and without any python at all): the launcher
    # must find the interpreter next to itself, by its venv path.
    env = clean_env(PATH="/nonexistent-bin")
    proc = run([launcher_path(), "run", "probe.py"], layout, env=env)
    assert proc.returncode == 0, proc.stderr
    seen = probe_line(proc.stdout)
    assert seen["prefix"] == sys.prefix
    assert Path(seen["executable"]).parent == launcher_path().parent


def test_python_option_and_environment(layout):
    # Another name of the same interpreter than the one the launcher picks by
    # itself (pythonX.Y), so that sys.executable tells which was used.
    python = launcher_path().parent / "python"
    default = probe_line(run([launcher_path(), "run", "probe.py"], layout).stdout)
    assert default["executable"] != str(python)
    for how in ("option", "env"):
        if how == "option":
            args, env = ["--python", python], clean_env()
        else:
            args, env = [], clean_env(PYGCPROFILER_PYTHON=str(python))
        proc = run([launcher_path(), "run", *args, "probe.py"], layout, env=env)
        assert proc.returncode == 0, proc.stderr
        seen = probe_line(proc.stdout)
        assert seen["executable"] == str(python)
        if seen["orig_argv"] is not None:  # 3.10+
            assert seen["orig_argv"][0] == str(python)
        assert seen["config_env"] is None


def test_python_without_gc_monitor_is_refused(tmp_path):
    marker = tmp_path / "marker"
    if sys.prefix == sys.base_prefix:
        pytest.skip("needs a venv, whose base interpreter lacks gc_monitor")
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    proc = run(
        [launcher_path(), "run", "--python", base, TARGETS / "make_marker.py", marker], tmp_path
    )
    assert_bad_input(proc, "gc_monitor._core", str(base))
    assert not marker.exists()


def test_python_m_gc_monitor_is_the_launcher(layout):
    python = launcher_path().parent / "python"
    proc = subprocess.Popen(
        [str(python), "-m", "gc_monitor", "run", "probe.py", "q"],
        cwd=layout,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    seen = probe_line(out)
    assert seen["pid"] == proc.pid
    direct = probe_line(run([python, "probe.py", "q"], layout).stdout)
    assert_same(seen, direct)
    assert strip_start_lines(err)
