"""`pygcprofiler run`'s words as a user types them, against plain python.

The classes of issue 17 (Hardening) that concern the words of `run`:

- after "--" the next word is a script, whatever it looks like, as for
  ``python -- -x.py``;
- an interpreter given by --python or PYGCPROFILER_PYTHON is refused, before
  anything runs, unless it is the CPython the launcher was built for and it
  can import gc_monitor._core;
- an error line quoting a very long word keeps its closing quote and its
  reason, and an empty target is called empty;
- a test suite run under the monitor ends as it ends under python, warnings
  turned into errors included;
- ps and pgrep show the target's command line, not the bootstrap's program.

Every test runs the installed launcher in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from gcm_testing import (
    TARGETS,
    TIMEOUT,
    Started,
    assert_bad_input,
    clean_env,
    launcher,
    launcher_path,
    run,
    tool_env,
    write_script,
)

SHOW_ARGV = """\
import json, sys
print("ARGV " + json.dumps([sys.argv, getattr(sys, "orig_argv", [None])[1:]]))
"""


def python_of_launcher():
    """The interpreter the launcher picks by itself: pythonX.Y (X.Yt when
    free-threaded) next to it."""
    suffix = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
    return str(
        launcher_path().parent / f"python{sys.version_info[0]}.{sys.version_info[1]}{suffix}"
    )


def argv_line(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("ARGV ")]
    assert len(lines) == 1, stdout
    return json.loads(lines[0][len("ARGV ") :])


# ---------------------------------------------------------------------------
# After "--", a script


@pytest.mark.parametrize("name", ["-x.py", "-c", "-m", "-h", "--help", "-cprint(1)", "-mjson"])
def test_script_named_like_an_option_after_double_dash(tmp_path, name):
    write_script(tmp_path, SHOW_ARGV, name=name)
    under = run([launcher(), "run", "--stats-only", "--", name, "a", "-c", "x"], tmp_path)
    assert under.returncode == 0, under.stderr
    direct = run([python_of_launcher(), "--", name, "a", "-c", "x"], tmp_path)
    assert direct.returncode == 0, direct.stderr
    assert argv_line(under.stdout) == argv_line(direct.stdout)
    assert argv_line(under.stdout)[0] == [name, "a", "-c", "x"]


def test_script_named_like_an_option_without_double_dash_is_refused(tmp_path):
    marker = tmp_path / "marker"
    shutil.copy(TARGETS / "make_marker.py", tmp_path / "-x.py")
    proc = run([launcher(), "run", "-x.py", marker], tmp_path)
    assert_bad_input(proc, "unknown option '-x.py'", "after '--'")
    assert not marker.exists()


@pytest.mark.parametrize("args", [["--"], ["--stats-only", "--"]])
def test_double_dash_without_a_script(tmp_path, args):
    assert_bad_input(run([launcher(), "run", *args], tmp_path), "missing target", "'--'")


# ---------------------------------------------------------------------------
# Empty targets and "did you mean"


@pytest.mark.parametrize("args", [[""], ["--", ""], ["--json", "", "x"]])
def test_empty_target(tmp_path, args):
    proc = run([launcher(), "run", *args], tmp_path)
    assert_bad_input(proc, "the target is empty")
    assert "did you mean" not in proc.stderr


@pytest.mark.parametrize(
    ("word", "suggested"),
    [
        ("uvicorn", True),
        ("http.server", True),
        ("foo-bar", False),
        ("my app", False),
        ("-c", False),
        ("1abc", False),
        ("pkg..mod", False),
    ],
)
def test_module_suggested_only_for_a_module_name(tmp_path, word, suggested):
    proc = run([launcher(), "run", "--", word], tmp_path)
    assert_bad_input(proc, "script file not found")
    assert ("did you mean '-m " in proc.stderr) == suggested, proc.stderr


# ---------------------------------------------------------------------------
# Long words: the subject is cut, never the reason

LONG = "x" * 6000


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["run", "-" + LONG], "(a script whose name starts with '-' goes after '--')"),
        (["run", "--" + LONG], ""),
        (["run", "--interval", LONG, "x.py"], ""),
        (["run", "--python", "/nonexistent/" + LONG, "x.py"], ": is longer than 4095 bytes"),
        (["run", "--python", "/tmp/" + LONG[:3000], str(TARGETS / "probe.py")], "(from --python)"),
        (["run", "d/" * 2000 + "x.py"], ""),
        (["run", LONG], ": file name too long"),
        (["run", "--log-file", "/nonexistent/" + LONG, "x.py"], ""),
        (["--" + LONG], "(options go after 'run')"),
        ([LONG], ""),
        (["report", "/tmp/" + LONG], ": file name too long"),
        (["compare", "/tmp/" + LONG, "/tmp/" + LONG], ": file name too long"),
        (["compare", "a", "b", LONG], ": give BASE and NEW only"),
        (["compare", "--metric", LONG, "a", "b"], ": is not a metric"),
        (["live", "--plain", "/tmp/" + LONG], ""),
    ],
    ids=[
        "short",
        "long",
        "value",
        "python",
        "python-3000",
        "deep",
        "name",
        "log",
        "top-option",
        "command",
        "report",
        "compare",
        "compare-extra",
        "compare-metric",
        "live",
    ],
)
def test_long_words_keep_the_reason(tmp_path, args, reason):
    proc = run([launcher(), *args], tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr[:300]
    first = lines[0]
    assert first.startswith("error: ")
    assert len(first) < 2500, first[:200]
    assert "...'" in first, first[-300:]
    assert first.endswith(reason), first[-300:]
    assert lines[1].startswith("try 'pygcprofiler")


# ---------------------------------------------------------------------------
# --python and PYGCPROFILER_PYTHON: only a CPython that can import the core


XY = f"{sys.version_info[0]}.{sys.version_info[1]}"


def fake(tmp_path, name, body):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def not_pythons(tmp_path):
    found = {}
    for name in ("true", "false", "sh", "echo", "cat", "env"):
        path = shutil.which(name)
        if path is not None:
            found[name] = path
    found["fake-pypy"] = fake(
        tmp_path, "fake-pypy", f"echo 'gcm-probe pypy {XY}'; echo 'gcm-probe ok'"
    )
    found["fake-other-version"] = fake(
        tmp_path, "fake-other", "echo 'gcm-probe cpython 2.7'; echo 'gcm-probe ok'"
    )
    found["fake-dies"] = fake(tmp_path, "fake-dies", f"echo 'gcm-probe cpython {XY}'; exit 1")
    found["flood"] = fake(tmp_path, "flood", "yes")
    return found


@pytest.mark.parametrize("how", ["option", "env"])
def test_interpreter_that_is_not_our_python_is_refused(tmp_path, how):
    marker = tmp_path / "marker"
    shutil.copy(TARGETS / "make_marker.py", tmp_path / "app.py")
    for name, path in not_pythons(tmp_path).items():
        if how == "option":
            args, env = ["--python", path], clean_env()
        else:
            args, env = [], clean_env(PYGCPROFILER_PYTHON=path)
        started = time.monotonic()
        proc = run([launcher(), "run", *args, "app.py", marker], tmp_path, env=env)
        assert time.monotonic() - started < 30, name
        source = "--python" if how == "option" else "PYGCPROFILER_PYTHON"
        assert_bad_input(proc, f"'{path}' (from {source})")
        assert not marker.exists(), name
        if name.startswith("fake-pypy"):
            assert "is pypy" in proc.stderr
        if name.startswith("fake-other"):
            assert "is CPython 2.7, but pygcprofiler was built for CPython" in proc.stderr


def test_our_python_by_name_and_path_still_runs(tmp_path):
    marker = tmp_path / "marker"
    for given in (python_of_launcher(), "python3"):
        env = clean_env(PATH=f"{launcher_path().parent}{os.pathsep}{os.environ.get('PATH', '')}")
        args = [launcher(), "run", "--python", given, TARGETS / "make_marker.py", marker]
        proc = run(args, tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr
        assert marker.exists()
        marker.unlink()


def test_probe_does_not_start_a_followed_monitor(tmp_path):
    # A launcher run inside a followed child: the probe must not report.
    env = clean_env(PYGCPROFILER_FOLLOW="1", PYGCPROFILER_PYTHON=python_of_launcher())
    proc = run([launcher(), "run", "--stats-only", "-c", "pass"], tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("=== GC MONITORING SUMMARY ===") == 1, proc.stderr


# ---------------------------------------------------------------------------
# A test suite ends as it ends under python

PASSING = """\
def test_ok():
    assert 1 + 1 == 2
"""
FAILING = """\
def test_bad():
    assert 1 + 1 == 3
"""


@pytest.mark.parametrize("plugin", ["enabled", "disabled"])
@pytest.mark.parametrize("how", ["-W", "ini", "PYTHONWARNINGS"])
@pytest.mark.parametrize("suite", ["passing", "failing"])
def test_pytest_under_the_monitor_ends_as_under_python(tmp_path, plugin, how, suite):
    write_script(tmp_path, PASSING if suite == "passing" else FAILING, name="test_suite.py")
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py"]
    env = clean_env()
    if plugin == "disabled":
        args += ["-p", "no:gc_monitor"]
    if how == "-W":
        args += ["-W", "error"]
    elif how == "ini":
        (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    else:
        env["PYTHONWARNINGS"] = "error"
    under = run([launcher(), "run", "--stats-only", *args], tmp_path, env=env)
    direct = run([python_of_launcher(), *args], tmp_path, env=env)
    assert under.returncode == direct.returncode == (0 if suite == "passing" else 1), (
        under.stdout + under.stderr
    )
    assert "PytestAssertRewriteWarning" not in under.stdout + under.stderr
    assert ("1 passed" if suite == "passing" else "1 failed") in under.stdout


# ---------------------------------------------------------------------------
# ps and pgrep show the target

WAITER = """\
import json, sys, time
orig = sys.orig_argv[1:] if hasattr(sys, "orig_argv") else None  # 3.10+
print("ARGV " + json.dumps([sys.argv, orig]), flush=True)
time.sleep(60)
"""


def cmdline(pid):
    data = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [w.decode() for w in data.rstrip(b"\0").split(b"\0")]


@pytest.mark.parametrize(
    "target",
    [
        ["app_waiter.py", "--port", "8000"],
        ["-m", "app_waiter", "x"],
        ["-c", WAITER, "y"],
    ],
    ids=["script", "module", "code"],
)
def test_ps_shows_the_target(tmp_path, target):
    write_script(tmp_path, WAITER, name="app_waiter.py")
    started = Started([launcher(), "run", "--stats-only", *target], tmp_path)
    try:
        started.wait_for("ARGV ")
        argv, orig = argv_line(started.stdout)
        python = python_of_launcher()
        assert cmdline(started.pid) == [python, *target]
        # What python shows the program is what a direct run shows (3.9 has
        # no sys.orig_argv).
        assert orig == (target if sys.version_info >= (3, 10) else None)
        assert argv[1:] == target[-1:] if target[0] in ("-m", "-c") else argv == target
        if target[0] == "-m":
            assert argv[0].endswith("app_waiter.py")
        pgrep = shutil.which("pgrep")
        if pgrep is not None and target[0] != "-c":
            words = " ".join(target)
            found = subprocess.run(
                [pgrep, "-f", f"python[0-9.]*t? {words}$"],
                capture_output=True,
                text=True,
                env=tool_env(),
                timeout=TIMEOUT,
            )
            assert str(started.pid) in found.stdout.split(), (found, cmdline(started.pid))
        if shutil.which("ps") is not None:
            # -ww: without a terminal ps cuts its lines at 80 columns, and a
            # CI clone's venv path is long.
            shown = subprocess.run(
                ["ps", "-ww", "-o", "args=", "-p", str(started.pid)],
                capture_output=True,
                text=True,
                env=tool_env(),
                timeout=TIMEOUT,
            ).stdout.strip()
            if target[0] != "-c":
                assert shown == " ".join([python, *target]), shown
            assert "gc_monitor" not in shown
    finally:
        started.kill()


def test_python_m_gc_monitor_vouches_only_for_itself(tmp_path):
    # `python -m gc_monitor run` tells the launcher that its interpreter
    # imports the core; the variable never reaches the target, and it
    # vouches for nothing but that interpreter at the launcher's version.
    show = write_script(
        tmp_path, "import os\nprint('SEEN', os.environ.get('PYGCPROFILER_PYTHON_CHECKED'))\n"
    )
    proc = run([python_of_launcher(), "-m", "gc_monitor", "run", "--stats-only", show], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "SEEN None" in proc.stdout
    for vouch in ("2.7:/bin/sh", f"{XY}:/bin/true", f"{XY}:/bin/sh:"):
        env = clean_env(PYGCPROFILER_PYTHON_CHECKED=vouch)
        proc = run([launcher(), "run", "--python", "/bin/sh", show], tmp_path, env=env)
        assert_bad_input(proc, "'/bin/sh' (from --python) is not a python interpreter")


@pytest.mark.parametrize("closed", ["<&-", ">&-", "<&- >&-"])
def test_named_interpreter_with_standard_streams_closed(tmp_path, closed):
    # The probe's pipe may then get descriptor 0 or 1.
    marker = tmp_path / "marker"
    script = f'exec "$0" run --python "$1" --stats-only "$2" "$3" {closed}'
    args = ["sh", "-c", script, launcher(), python_of_launcher(), TARGETS / "make_marker.py"]
    proc = run([*args, marker], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert marker.exists()
