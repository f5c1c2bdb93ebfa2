"""Bytes that are not UTF-8, and the ways python ends, as a user meets them.

Paths and arguments are bytes on Linux.  Every path option of the launcher
(-o, --log-file, --flamegraph-file) and of GCMonitor takes any bytes, in a
working directory whose own path is any bytes, through --follow-children too;
a report shows such bytes escaped (text: \\xNN, JSON: a valid string) and
never drops a line because of them.  The program ends as under plain python:
its error output and exit status are python's, whatever the environment
variables that change how python ends (PYTHONINSPECT, PYTHONDEVMODE,
PYTHONWARNINGS=error, PYTHONFAULTHANDLER) say.  Everything runs the real
launcher in a subprocess; bytes go in as bytes (argv, cwd, file names).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from gcm_testing import TIMEOUT, clean_env, launcher

# File names: invalid UTF-8 (a lone 0xff, Latin-1), valid UTF-8, and the
# bytes the configuration text escapes ('%', ';', '=').
NAMES = [b"r\xff", b"caf\xe9", "é".encode(), b"a%;=b"]
NAME_IDS = ["ff", "latin1", "utf8", "escaped"]
PATH_OPTIONS = ["-o", "--log-file", "--flamegraph-file"]

CHILD = b"import gc\ngc.collect()\nprint('child ran')\n"
PARENT = (
    b"import gc, subprocess, sys\n"
    b"gc.collect()\n"
    b"subprocess.run([sys.executable, 'child.py'], check=True)\n"
    b"print('parent ran')\n"
)


def launch(args, cwd, env=None, stdin=b""):
    """The launcher with byte arguments in a byte cwd; output as bytes."""
    return subprocess.run(
        [os.fsencode(launcher()), *[os.fsencode(a) for a in args]],
        cwd=cwd,
        env=clean_env() if env is None else env,
        input=stdin,
        capture_output=True,
        timeout=TIMEOUT,
    )


def python(args, cwd, env=None):
    return subprocess.run(
        [os.fsencode(sys.executable), *[os.fsencode(a) for a in args]],
        cwd=cwd,
        env=clean_env() if env is None else env,
        input=b"",
        capture_output=True,
        timeout=TIMEOUT,
    )


def workdir(tmp_path: Path, name: bytes) -> bytes:
    """A directory named `name` under tmp_path, holding the parent and child scripts."""
    where = os.path.join(os.fsencode(tmp_path), name)
    os.mkdir(where)
    for script, text in ((b"parent.py", PARENT), (b"child.py", CHILD)):
        with open(os.path.join(where, script), "wb") as f:
            f.write(text)
    return where


def json_lines(data: bytes) -> list[dict[str, object]]:
    """Every line parsed as JSON: the bytes must be UTF-8 and each line valid."""
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]


def check_output_file(option: str, path: bytes, where: bytes, child: bool = False) -> None:
    """The file `option` names was written, under exactly its bytes."""
    assert os.path.isfile(path), (option, path, os.listdir(where))
    if option == "--log-file":
        with open(path, "rb") as f:
            text = f.read()
        # A followed child's log starts with the line naming its process.
        assert (b"GMEM Report of pid" if child else b"GMEM Monitoring initialized") in text
        assert b"=== GC MONITORING SUMMARY ===" in text
    elif option == "--flamegraph-file":
        assert os.path.getsize(path) > 0
    else:
        shown = launch(["report", path], where)
        assert shown.returncode == 0, shown.stderr
        assert b"=== GC MONITORING SUMMARY ===" in shown.stdout
        as_json = launch(["report", "--json", path], where)
        assert as_json.returncode == 0, as_json.stderr
        head = json_lines(as_json.stdout)[0]
        assert head["type"] == "capture"
        # A valid JSON string; bytes that are not UTF-8 are U+FFFD.
        assert head["file"] == path.decode("utf-8", "replace")


@pytest.mark.parametrize("option", PATH_OPTIONS)
@pytest.mark.parametrize("name", NAMES, ids=NAME_IDS)
def test_path_option_takes_any_bytes(tmp_path, option, name):
    """A file name that is not UTF-8 is a valid path: accepted, written under its bytes."""
    where = workdir(tmp_path, b"w")
    proc = launch(["run", option, name, "parent.py"], where)
    assert proc.returncode == 0, proc.stderr
    assert b"parent ran" in proc.stdout
    assert b"Traceback" not in proc.stderr
    check_output_file(option, os.path.join(where, name), where)


@pytest.mark.parametrize("option", PATH_OPTIONS)
@pytest.mark.parametrize("name", NAMES, ids=NAME_IDS)
def test_follow_children_in_a_byte_cwd(tmp_path, option, name):
    """--follow-children, a relative path, a cwd that is not UTF-8: parent and child report."""
    where = workdir(tmp_path, b"d" + name)
    out = b"o" + name
    proc = launch(["run", "--follow-children", option, out, "parent.py"], where)
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr, proc.stderr
    assert b"child ran" in proc.stdout and b"parent ran" in proc.stdout
    assert b"runs unmonitored" not in proc.stderr
    check_output_file(option, os.path.join(where, out), where)
    mine = sorted(n for n in os.listdir(where) if n.startswith(out))
    children = [n for n in mine if n.startswith(out + b".")]
    # The followed child's file, named by its pid beside the parent's.
    assert len(mine) == 2 and len(children) == 1, mine
    if option == "-o":
        tree = launch(["report", *mine], where)
        assert tree.returncode == 0, tree.stderr
        assert b"PROCESS TREE: 2 processes" in tree.stdout
        as_json = launch(["report", "--json", *mine], where)
        assert as_json.returncode == 0, as_json.stderr
        objects = json_lines(as_json.stdout)
        shown = sorted(n.decode("utf-8", "replace") for n in mine)
        (tree_obj,) = [o for o in objects if o["type"] == "tree"]
        assert sorted(p["file"] for p in tree_obj["processes"]) == shown  # type: ignore[attr-defined]
        assert sorted(o["file"] for o in objects if o["type"] == "capture") == shown
    elif option == "--log-file":
        check_output_file(option, os.path.join(where, children[0]), where, child=True)


ARGS = [b"a\xffb", b"caf\xe9", "é".encode(), b"x\ny"]
ARG_IDS = ["ff", "latin1", "utf8", "newline"]


def shown_text(arg: bytes) -> str:
    """The argument as the 'GMEM Running:' line shows it (shell-quoted, escaped)."""
    out = []
    for ch in arg.decode("utf-8", "surrogateescape"):
        if "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


@pytest.mark.parametrize("arg", ARGS, ids=ARG_IDS)
@pytest.mark.parametrize("form", ["script", "code"])
def test_argument_bytes_keep_the_start_lines(tmp_path, arg, form):
    """No start line vanishes for bytes in argv; the target sees python's argv."""
    where = os.fsencode(tmp_path)
    source = b"import os, sys\nprint(os.fsencode(sys.argv[1]).hex())\n"
    with open(os.path.join(where, b"t.py"), "wb") as f:
        f.write(source)
    target = ["t.py", arg] if form == "script" else ["-c", source, arg]
    plain = python(target, where)
    text = launch(["run", *target], where)
    assert text.returncode == 0, text.stderr
    assert text.stdout == plain.stdout == arg.hex().encode() + b"\n"
    err = text.stderr.decode("utf-8")  # the report is valid UTF-8
    lines = err.splitlines()
    assert lines[0] == "GMEM Monitoring initialized (Zero Runtime Overhead)", err
    assert lines[1].startswith("GMEM Running: "), err
    assert lines[1].endswith(" " + shown_text(arg)), err

    as_json = launch(["run", "--json", *target], where)
    assert as_json.returncode == 0, as_json.stderr
    start = json_lines(as_json.stderr)[0]
    assert start["type"] == "start"
    command = start["command"]
    assert isinstance(command, str)
    assert command.endswith(arg.decode("utf-8", "replace") + "'")

    logged = launch(["run", "--log-file", "gc.log", *target], where)
    assert logged.returncode == 0, logged.stderr
    with open(os.path.join(where, b"gc.log"), "rb") as f:
        assert f.read().decode("utf-8").splitlines()[1] == lines[1]


API = """
import os, pathlib, sys
from gc_monitor import GCMonitor

name = bytes.fromhex(sys.argv[1])
forms = {
    "bytes": lambda p: p,
    "str": os.fsdecode,
    "path": lambda p: pathlib.Path(os.fsdecode(p)),
}
for form, make in forms.items():
    log, flame = name + b"." + form.encode(), name + b".flame." + form.encode()
    monitor = GCMonitor(log_file=make(log), flamegraph_file=make(flame))
    assert monitor._recorder.log_file == os.fsdecode(os.path.abspath(log)) or \\
        monitor._recorder.log_file == os.fsdecode(log), monitor._recorder.log_file
    import gc
    gc.collect()
    monitor.stop_monitoring()
    with open(log, "rb") as f:
        assert b"GC MONITORING SUMMARY" in f.read()
    assert os.path.getsize(flame) > 0
    # The configuration text keeps the bytes, so followed children get them.
    assert os.fsencode(monitor.config_text).count(log.replace(b"%", b"%25")) <= 1
print("api ok")
"""


@pytest.mark.parametrize("name", NAMES, ids=NAME_IDS)
def test_api_takes_byte_paths(tmp_path, name):
    """GCMonitor(log_file=..., flamegraph_file=...) as bytes, str with surrogates, os.PathLike."""
    proc = python(["-c", API, name.hex()], os.fsencode(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert proc.stdout == b"api ok\n"


SCRIPTS = {
    "ok": b"print('ok')\n",
    "exit3": b"import sys\nprint('hi')\nsys.exit(3)\n",
    "exit_text": b"import sys\nsys.exit('bye')\n",
    "raises": b"def f():\n    raise ValueError('x')\nf()\n",
    "warns": b"import warnings\nwarnings.warn('careful')\nprint('after')\n",
    "nul_byte": b"x = 1\ny = 'a\0b'\n",
    "latin1_undeclared": b"x = 1\nprint('caf\xe9')\n",
    "latin1_declared": b"# -*- coding: latin-1 -*-\nprint('caf\xe9')\n",
    "bom": b"\xef\xbb\xbfprint('bom')\n",
    "sets_inspect": b"import os\nos.environ['PYTHONINSPECT'] = '1'\nprint('set')\n",
    "flags": b"import faulthandler, sys\n"
    b"print(faulthandler.is_enabled(), sys.flags.dev_mode, sys.flags.inspect, sys.warnoptions)\n",
}
ENDINGS = {
    "plain": {},
    "inspect": {"PYTHONINSPECT": "1"},
    "devmode": {"PYTHONDEVMODE": "1"},
    "warnings_error": {"PYTHONWARNINGS": "error"},
    "faulthandler": {"PYTHONFAULTHANDLER": "1"},
}


def assert_ends_like_python(where: bytes, target: list[bytes | str], env: dict[str, str]):
    """Same exit status, stdout and stderr as plain python; the report in the log file."""
    plain = python(target, where, env)
    log = os.path.join(where, b"gc.log")
    if os.path.exists(log):
        os.unlink(log)
    ours = launch(["run", "--log-file", log, *target], where, env)
    assert (ours.returncode, ours.stderr, ours.stdout) == (
        plain.returncode,
        plain.stderr,
        plain.stdout,
    ), (ours.stderr, plain.stderr)
    with open(log, "rb") as f:
        assert b"=== GC MONITORING SUMMARY ===" in f.read()


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("script", list(SCRIPTS))
def test_script_ends_like_python(tmp_path, script, ending):
    where = os.fsencode(tmp_path)
    with open(os.path.join(where, b"t.py"), "wb") as f:
        f.write(SCRIPTS[script])
    assert_ends_like_python(where, ["t.py"], clean_env(**ENDINGS[ending]))


CODES = {
    "not_utf8": b"x = 'caf\xe9'",
    "exit4": b"import sys; sys.exit(4)",
    "raises": b"1/0",
    "ok": b"print('ok')",
}


@pytest.mark.parametrize("ending", ["plain", "inspect"])
@pytest.mark.parametrize("code", list(CODES))
def test_code_ends_like_python(tmp_path, code, ending):
    """-c code, non-UTF-8 bytes included ('Unable to decode the command ...')."""
    where = os.fsencode(tmp_path)
    assert_ends_like_python(where, ["-c", CODES[code]], clean_env(**ENDINGS[ending]))


def test_script_in_a_byte_directory_ends_like_python(tmp_path):
    """Tracebacks name a file whose path is not UTF-8 as python does."""
    where = os.path.join(os.fsencode(tmp_path), b"d\xff")
    os.mkdir(where)
    with open(os.path.join(where, b"t\xfe.py"), "wb") as f:
        f.write(
            textwrap.dedent("""\
            import sys
            print(sys.argv[0].encode('utf-8', 'surrogateescape'))
            raise ValueError(__file__)
            """).encode()
        )
    assert_ends_like_python(where, [b"t\xfe.py"], clean_env())


def test_refusal_shows_the_bytes_escaped(tmp_path):
    """A capture that exists is refused in one line quoting its path's bytes as \\xNN."""
    where = os.fsencode(tmp_path)
    with open(os.path.join(where, b"t.py"), "wb") as f:
        f.write(b"print('ran')\n")
    with open(os.path.join(where, b"c\xff"), "wb"):
        pass
    proc = launch(["run", "-o", b"c\xff", "t.py"], where)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.decode("utf-8").splitlines()
    assert len(lines) == 2, lines
    # The launcher checks every output before the program starts (docs/cli.md,
    # "Files"), so the refusal is its own line, before any bootstrap.
    assert lines[0].startswith("error: cannot create the capture file "), lines
    assert "c\\xff'" in lines[0], lines
    assert proc.stdout == b""


@pytest.mark.parametrize("ending", ["plain", "inspect", "warnings_error", "devmode"])
@pytest.mark.parametrize("form", ["module", "directory"])
def test_module_and_directory_end_like_python(tmp_path, form, ending):
    """-m and a directory go through runpy: their endings are python's too."""
    where = os.fsencode(tmp_path)
    os.mkdir(os.path.join(where, b"app"))
    with open(os.path.join(where, b"app", b"__main__.py"), "wb") as f:
        f.write(b"import sys\nprint('app')\nsys.exit(5)\n")
    target: list[bytes | str] = ["-m", "app"] if form == "module" else ["app"]
    assert_ends_like_python(where, target, clean_env(**ENDINGS[ending]))


def test_a_capture_names_non_utf8_arguments_as_shell_words(tmp_path):
    """A capture's command shows an argument that is not UTF-8 as bash's
    $'...\\xNN' word, in text and JSON alike, and that word gives the bytes back."""
    where = os.fsencode(tmp_path)
    with open(os.path.join(where, b"s.py"), "wb") as f:
        f.write(b"pass\n")
    proc = launch(["run", "-o", b"cap.gcm", "s.py", b"a\xffb", b"it's"], where)
    assert proc.returncode == 0, proc.stderr
    text = launch(["report", "--stats-only", b"cap.gcm"], where)
    assert text.returncode == 0, text.stderr
    command = next(
        line for line in text.stdout.decode("utf-8").splitlines() if line.startswith("Command: ")
    )
    assert command.endswith(" s.py $'a\\xffb' 'it'\"'\"'s'"), command
    obj = json.loads(
        launch(["report", "--format", "json", b"cap.gcm"], where).stdout.splitlines()[0]
    )
    assert obj["command"] == command[len("Command: ") :]
    words = command[len("Command: ") :].split(" ", 2)[2]
    shell = subprocess.run(
        ["bash", "-c", f"printf '%s\\0' {words}"], capture_output=True, timeout=TIMEOUT, check=True
    )
    assert shell.stdout.split(b"\0")[:2] == [b"a\xffb", b"it's"]
