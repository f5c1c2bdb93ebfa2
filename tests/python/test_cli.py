"""The launcher's command line: bad input, usage, --help and --version.

Every bad input must print one 'error: ...' line that quotes its subject,
then "try 'pygcprofiler --help'", exit 2, and never start the target: each
case names a target that would create a marker file, and the marker must be
absent afterwards.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest
from gcm_testing import TARGETS, assert_bad_input, clean_env, launcher_path, run

MARKER_SCRIPT = str(TARGETS / "make_marker.py")

# (case id, options before the target, fragments the error line must contain)
BAD_OPTIONS = [
    ("unknown", ["--jsn"], ["unknown option '--jsn'; did you mean '--json'?"]),
    ("unknown-far", ["--frobnicate"], ["unknown option '--frobnicate'"]),
    ("shortened", ["--alert-threshold", "5"], ["did you mean '--alert-threshold-ms'?"]),
    ("unknown-keyword-spelling", ["--alert_threshold_ms", "5"], ["'--alert_threshold_ms'"]),
    ("unknown-short", ["-x"], ["'-x'"]),
    ("flag-with-value", ["--json=yes"], ["'--json'"]),
    ("interval-zero", ["--interval", "0"], ["'0'", "'--interval'"]),
    ("interval-negative", ["--interval=-1"], ["'-1'", "'--interval'"]),
    ("interval-nan", ["--interval", "nan"], ["'nan'", "'--interval'"]),
    ("interval-inf", ["--interval", "inf"], ["'inf'", "'--interval'"]),
    ("interval-text", ["--interval", "soon"], ["'soon'", "'--interval'"]),
    ("bucket-zero", ["--flamegraph-bucket", "0"], ["'0'", "'--flamegraph-bucket'"]),
    ("alert-negative", ["--alert-threshold-ms", "-5"], ["'-5'", "'--alert-threshold-ms'"]),
    ("alert-nan", ["--alert-threshold-ms=NaN"], ["'NaN'", "'--alert-threshold-ms'"]),
    ("buckets-empty", ["--duration-buckets", ""], ["'--duration-buckets'"]),
    ("buckets-garbled", ["--duration-buckets", "1,x,5"], ["'1,x,5'", "'--duration-buckets'"]),
    ("buckets-hole", ["--duration-buckets", "1,,5"], ["'1,,5'", "'--duration-buckets'"]),
    ("buckets-unordered", ["--duration-buckets", "5,1"], ["'5,1'", "'--duration-buckets'"]),
    ("buckets-repeated", ["--duration-buckets", "1,1"], ["'1,1'", "'--duration-buckets'"]),
    (
        "width-small",
        ["--terminal-flamegraph-width", "19"],
        ["'19'", "'--terminal-flamegraph-width'"],
    ),
    ("buffer-zero", ["--buffer-events", "0"], ["'0'", "'--buffer-events'"]),
    ("buffer-text", ["--buffer-events", "many"], ["'many'", "'--buffer-events'"]),
    ("log-dir-missing", ["--log-file", "/nonexistent-dir/gc.log"], ["'/nonexistent-dir"]),
    ("python-missing", ["--python", "/nonexistent/python3"], ["'/nonexistent/python3'"]),
    ("python-not-on-path", ["--python", "no-such-python-9"], ["'no-such-python-9'"]),
]


@pytest.mark.parametrize(
    "options,fragments", [c[1:] for c in BAD_OPTIONS], ids=[c[0] for c in BAD_OPTIONS]
)
def test_bad_option_never_starts_the_target(tmp_path, options, fragments):
    marker = tmp_path / "marker"
    proc = run([launcher_path(), "run", *options, MARKER_SCRIPT, marker], tmp_path)
    assert_bad_input(proc, *fragments)
    assert not marker.exists()


def test_the_marker_script_does_run(tmp_path):
    # The control: without the bad input the same command creates the marker.
    marker = tmp_path / "marker"
    proc = run(
        [launcher_path(), "run", "--log-file", tmp_path / "r.txt", MARKER_SCRIPT, marker], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert marker.exists()


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["--interval"], ["'--interval'"]),
        (["--json"], ["missing target"]),
        ([], ["missing target"]),
        (["--"], ["missing target"]),
        (["-m"], ["'-m'"]),
        (["-c"], ["'-c'"]),
        (["-"], ["'-'"]),
    ],
    ids=["missing-value", "no-target", "nothing", "only-dashes", "m-alone", "c-alone", "stdin"],
)
def test_incomplete_command_lines(tmp_path, args, fragments):
    assert_bad_input(run([launcher_path(), "run", *args], tmp_path), *fragments)


def test_missing_script(tmp_path):
    marker = tmp_path / "marker"
    proc = run([launcher_path(), "run", "not_here.py", marker], tmp_path)
    assert_bad_input(proc)
    assert proc.stderr.splitlines()[0] == "error: script file not found: 'not_here.py'"
    proc = run([launcher_path(), "run", "sub/not_here", marker], tmp_path)
    assert proc.stderr.splitlines()[0] == "error: script file not found: 'sub/not_here'"
    assert not marker.exists()


def test_missing_script_that_looks_like_a_module(tmp_path):
    proc = run([launcher_path(), "run", "uvicorn", "main:app"], tmp_path)
    assert_bad_input(proc)
    assert proc.stderr.splitlines()[0] == (
        "error: script file not found: 'uvicorn'; did you mean '-m uvicorn'?"
    )


def test_directory_without_main(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "make_marker.py").write_text((TARGETS / "make_marker.py").read_text())
    proc = run([launcher_path(), "run", "app", tmp_path / "marker"], tmp_path)
    assert_bad_input(proc, "'app'", "__main__.py")
    assert not (tmp_path / "marker").exists()


def test_zip_without_main(tmp_path):
    with zipfile.ZipFile(tmp_path / "app.zip", "w") as zf:
        zf.writestr("make_marker.py", (TARGETS / "make_marker.py").read_text())
        zf.writestr("pkg/__main__.py", (TARGETS / "make_marker.py").read_text())
    proc = run([launcher_path(), "run", "app.zip", tmp_path / "marker"], tmp_path)
    assert_bad_input(proc, "'app.zip'", "__main__.py")
    assert not (tmp_path / "marker").exists()


def test_zip_with_main_and_a_prefix_runs(tmp_path):
    # An executable zip starts with a shebang line; python still runs it.
    zpath = tmp_path / "plain.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("__main__.py", (TARGETS / "make_marker.py").read_text())
    app = tmp_path / "app.pyz"
    app.write_bytes(b"#!/usr/bin/env python3\n" + zpath.read_bytes())
    proc = run(
        [launcher_path(), "run", "--log-file", tmp_path / "r.txt", app, tmp_path / "marker"],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "marker").exists()


def test_no_matching_python_names_both_versions(tmp_path):
    # A copy of the launcher with no interpreter beside it, and a PATH whose
    # only python3 is some other version.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    lonely = bindir / "pygcprofiler"
    shutil.copy(launcher_path(), lonely)
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "python3").write_text("#!/bin/sh\necho 2.7\n")
    (fake / "python3").chmod(stat.S_IRWXU)
    marker = tmp_path / "marker"
    built = subprocess.run([str(lonely), "--version"], capture_output=True, text=True).stdout
    proc = run([lonely, "run", MARKER_SCRIPT, marker], tmp_path, env=clean_env(PATH=str(fake)))
    assert_bad_input(proc, "2.7", str(fake / "python3"))
    if "built for CPython" in built:
        version = built.split("built for CPython ")[1].rstrip(")\n")
        assert f"python {version}" in proc.stderr
    proc = run([lonely, "run", MARKER_SCRIPT, marker], tmp_path, env=clean_env(PATH="/nonexistent"))
    assert_bad_input(proc, str(lonely))
    assert not marker.exists()


def test_no_arguments_prints_usage(tmp_path):
    proc = run([launcher_path()], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("usage: pygcprofiler run ")


def test_unknown_command(tmp_path):
    assert_bad_input(run([launcher_path(), "profile", "app.py"], tmp_path), "'profile'")


def help_entries(text):
    """Maps each "--flag" of the help to its description, continuation lines joined."""
    entries = {}
    flag = None
    for line in text.splitlines():
        if line.startswith(("  --", "  -h, --", "  -V, --")):
            words = line.split()
            flag = words[1] if words[0] in ("-h,", "-V,") else words[0]
            entries[flag] = " ".join(words[1:])
        elif flag is not None and line.startswith(" " * 10):
            entries[flag] += " " + line.strip()
        else:
            flag = None
    return entries


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["run", "--help"], ["run", "--json", "-h"]])
def test_help_lists_every_option_with_default(args):
    proc = run([launcher_path(), *args], TARGETS)
    assert proc.returncode == 0
    assert proc.stderr == ""
    text = proc.stdout
    entries = help_entries(text)
    # The list of options: the original's, plus the new ones.
    expected = [
        "interval",
        "json",
        "stats-only",
        "dump-objects",
        "dump-garbage",
        "log-file",
        "alert-threshold-ms",
        "slo-ms",
        "flamegraph-file",
        "html-file",
        "speedscope-file",
        "flamegraph-bucket",
        "terminal-flamegraph",
        "terminal-flamegraph-width",
        "terminal-flamegraph-color",
        "duration-buckets",
        "prompt",
        "buffer-events",
        "stacks",
        "stack-depth",
        "stacks-file",
        "python",
        "output",
        "fail-on",
        "follow-children",
    ]
    assert sorted(entries) == sorted([f"--{flag}" for flag in expected] + ["--help", "--version"])
    for flag in expected:
        assert "(default: " in entries[f"--{flag}"], entries[f"--{flag}"]
    for flag, default in [
        ("interval", "5.0"),
        ("alert-threshold-ms", "50"),
        ("terminal-flamegraph-width", "80"),
        ("flamegraph-bucket", "5.0"),
        ("duration-buckets", "1,5,20,50,100"),
        ("buffer-events", "65536"),
        ("json", "off"),
    ]:
        assert entries[f"--{flag}"].endswith(f"(default: {default})"), entries[f"--{flag}"]
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "Examples:" in text


def test_help_and_target_help_are_different(tmp_path):
    # After the target, --help belongs to the program.
    script = tmp_path / "show.py"
    script.write_text("import sys\nprint(sys.argv[1:])\n")
    proc = run(
        [launcher_path(), "run", "--log-file", tmp_path / "r.txt", script, "--help"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "['--help']\n"


def test_version(tmp_path):
    import gc_monitor

    proc = run([launcher_path(), "--version"], tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"pygcprofiler {gc_monitor.__version__}")
    built = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"built for CPython {built}" in proc.stdout


def test_gc_monitor_copy_is_the_same_program(tmp_path):
    other = launcher_path().parent / "gc-monitor"
    assert os.access(other, os.X_OK)
    assert other.read_bytes() == launcher_path().read_bytes()


def test_launcher_does_not_link_libpython():
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf is not installed")
    dynamic = subprocess.run(
        [readelf, "-d", str(launcher_path())], capture_output=True, text=True, check=True
    ).stdout
    assert "NEEDED" in dynamic
    assert "libpython" not in dynamic


def test_log_file_symlink_is_refused(tmp_path):
    # The report is never written through a symlink (someone else's file);
    # the launcher opens the log first, so this is bad input, not a lost report.
    real = tmp_path / "real.log"
    real.write_text("")
    link = tmp_path / "gc.log"
    link.symlink_to(real)
    marker = tmp_path / "marker"
    proc = run([launcher_path(), "run", "--log-file", link, MARKER_SCRIPT, marker], tmp_path)
    assert_bad_input(proc, f"'{link}'", "symbolic link")
    assert not marker.exists()
    assert real.read_text() == ""


def test_python_given_by_name_is_searched_on_path(tmp_path):
    marker = tmp_path / "marker"
    bindir = str(launcher_path().parent)
    proc = run(
        [
            launcher_path(),
            "run",
            "--log-file",
            tmp_path / "r.txt",
            "--python",
            "python",
            MARKER_SCRIPT,
            marker,
        ],
        tmp_path,
        env=clean_env(PATH=bindir),
    )
    assert proc.returncode == 0, proc.stderr
    assert marker.exists()
    assert f"GMEM Running: {bindir}/python " in (tmp_path / "r.txt").read_text()


@pytest.mark.skipif(
    bool(os.environ.get("GCM_SANITIZER")), reason="sanitizers reserve address space"
)
def test_ring_too_large_for_the_machine_is_refused(tmp_path):
    # The largest ring the option allows needs gigabytes; under an address
    # space limit the monitor cannot start, and the target must not either.
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    marker = tmp_path / "marker"
    proc = subprocess.run(
        [str(launcher_path()), "run", "--buffer-events", str(1 << 26), MARKER_SCRIPT, str(marker)],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )
    assert_bad_input(proc, "'--buffer-events'")
    assert not marker.exists()
