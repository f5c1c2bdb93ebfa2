"""The one policy for the files pygcprofiler writes and reads, as users meet it.

Every case runs the installed launcher in a subprocess on real paths made in
the test's directory: regular files, symlinks (to a file, to /proc/self/fd/1,
dangling), FIFOs with and without a writer, sockets, directories and devices.

- Outputs (`run --log-file`, `--flamegraph-file`, `-o`, `report
  --flamegraph-file`): a path that is not a regular file is refused with exit
  2 before the program starts, and is still there, unchanged; a regular file
  is appended to (--log-file), replaced whole (--flamegraph-file) or refused
  (-o); a new file is private (docs/cli.md, "Files").
- A refusal leaves nothing behind, including a refusal after the launcher has
  created the --log-file (an interpreter without gc_monitor, one that cannot
  be executed, a ring too large for the memory limit).
- A script that is a FIFO runs exactly as plain python runs it.
- Readers (`report`, `live`, `compare`) refuse anything but a regular file
  with one line and exit 2, and never block or consume a FIFO.
- A sparse capture whose header claims a huge ring is read for what it holds:
  the peak memory of report and compare stays small.

No test ever names /dev/null as an output when it runs as root: a device node
made in the test's directory stands in for it.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import pytest
from gcm_testing import assert_bad_input, clean_env, launcher, run
from test_reports2_cli import folded

# A bound on a hang, not a speed claim: a verb that blocks on a FIFO never ends.
HANG = 60

ROOT = os.geteuid() == 0

# The capture layout (docs/capture-format.md, tests/fuzz/make_corpus.py).
OFF_CAPACITY = 24
OFF_BLOCK_SIZE = 32
HEADER_SIZE = 8560
OFF_SEQ = HEADER_SIZE
RING = HEADER_SIZE + 79128  # the aggregates of layout version 3
SLOT = 48
HUGE_CAPACITY = 1 << 26

# The generous bound of peak memory for reading a hostile capture: the
# program itself, a few pages of the capture and what the file really holds.
MAX_RSS_KB = 200 * 1024

WORKLOAD = "import gc\nfor i in range(40):\n    gc.collect(i % 3)\n"

# What the one error line says for each kind of path.
WORDS = {
    "fifo": "FIFO",
    "directory": "directory",
    "socket": "socket",
    "device": "device",
    "symlink": "symbolic link",
    "symlink-to-stdout": "symbolic link",
    "dangling-symlink": "symbolic link",
}
KINDS = list(WORDS)


class Made:
    """A path of one kind, and what must stay true of it."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.victim = path.parent / f"{path.name}.victim"
        self.sock: socket.socket | None = None
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "directory":
            path.mkdir()
        elif kind == "socket":
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(str(path))
        elif kind == "device":
            if not ROOT:
                # /dev/null itself is safe without root: nothing can replace it.
                self.path = Path("/dev/null")
            else:
                os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
        elif kind == "symlink":
            self.victim.write_text("precious\n")
            path.symlink_to(self.victim)
        elif kind == "symlink-to-stdout":
            path.symlink_to("/proc/self/fd/1")
        elif kind == "dangling-symlink":
            path.symlink_to(self.victim)
        else:
            raise AssertionError(kind)
        self.before = self.state()

    def state(self) -> tuple[object, ...]:
        st = os.lstat(self.path)
        link = os.readlink(self.path) if stat.S_ISLNK(st.st_mode) else None
        victim = self.victim.read_text() if self.victim.exists() else None
        return (stat.S_IFMT(st.st_mode), st.st_ino, st.st_rdev, link, victim)

    def unchanged(self) -> bool:
        return self.state() == self.before

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


@pytest.fixture
def make(tmp_path: Path):
    made: list[Made] = []

    def _make(name: str, kind: str) -> Made:
        m = Made(tmp_path / name, kind)
        made.append(m)
        return m

    yield _make
    for m in made:
        m.close()


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def assert_verb_bad_input(proc: subprocess.CompletedProcess, verb: str, *fragments: str) -> None:
    """One 'error: ...' line naming its subject, the verb's hint, exit 2, no output."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    assert lines[1] == f"try 'pygcprofiler {verb} --help'", proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], proc.stderr
    assert proc.stdout == ""


def launch(*args: str | Path, cwd: Path, timeout: float = HANG) -> subprocess.CompletedProcess:
    return subprocess.run(
        [launcher(), *map(str, args)],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real capture of an exited run, shared by the module's tests."""
    directory = tmp_path_factory.mktemp("capture")
    path = directory / "run.gcm"
    proc = launch("run", "-o", path, "--buffer-events", "16", "-c", WORKLOAD, cwd=directory)
    assert proc.returncode == 0, proc.stderr
    return path


# ---------------------------------------------------------------------------
# Outputs of `run`

OUTPUT_OPTIONS = ["--log-file", "--flamegraph-file", "--html-file", "--speedscope-file", "-o"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("option", OUTPUT_OPTIONS)
def test_run_refuses_an_output_that_is_not_a_regular_file(
    tmp_path: Path, make: Callable[[str, str], Made], option: str, kind: str
) -> None:
    out = make("out", kind)
    marker = tmp_path / "ran"
    before = listing(tmp_path)
    proc = launch("run", option, out.path, "-c", f"open({str(marker)!r}, 'w')", cwd=tmp_path)
    assert_bad_input(proc, f"'{out.path}'", WORDS[kind])
    assert not marker.exists(), "the program ran"
    assert out.unchanged()
    assert listing(tmp_path) == before


def test_run_refuses_a_fifo_log_file_that_has_a_reader(tmp_path: Path) -> None:
    # Someone reads the FIFO: opening it would succeed, and still the policy
    # refuses it rather than stream a report into another program.
    fifo = tmp_path / "gc.log"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        proc = launch("run", "--log-file", fifo, "-c", "pass", cwd=tmp_path)
        assert_bad_input(proc, f"'{fifo}'", "FIFO")
        # Nothing was written into it (and no writer holds it open).
        assert os.read(reader, 1024) == b""
    finally:
        os.close(reader)


def test_log_file_appends_to_a_regular_file(tmp_path: Path) -> None:
    log = tmp_path / "gc.log"
    log.write_text("earlier lines\n")
    proc = launch("run", "--log-file", log, "--stats-only", "-c", WORKLOAD, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = log.read_text()
    assert text.startswith("earlier lines\n")
    assert "GC MONITORING SUMMARY" in text


def test_flamegraph_file_replaces_a_regular_file_whole(tmp_path: Path) -> None:
    flame = tmp_path / "flame.txt"
    flame.write_text("an older flame graph\n" * 1000)
    flame.chmod(0o644)
    proc = launch("run", "--flamegraph-file", flame, "--stats-only", "-c", WORKLOAD, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # The new file whole: folded lines only, none of the old text.
    assert len(folded(flame)) >= 3
    assert "older" not in flame.read_text()
    assert stat.S_IMODE(flame.stat().st_mode) == 0o600
    assert listing(tmp_path) == ["flame.txt"]


def test_capture_refuses_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "run.gcm"
    path.write_text("keep me")
    proc = launch("run", "-o", path, "-c", "pass", cwd=tmp_path)
    assert_bad_input(proc, f"'{path}'", "capture file", "exists")
    assert path.read_text() == "keep me"


def test_new_outputs_are_private(tmp_path: Path) -> None:
    names = {
        "--log-file": "gc.log",
        "--flamegraph-file": "flame.txt",
        "--html-file": "gc.html",
        "--speedscope-file": "gc.speedscope.json",
        "-o": "run.gcm",
    }
    args = [x for option, name in names.items() for x in (option, tmp_path / name)]
    proc = launch("run", *args, "-c", WORKLOAD, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in names.values():
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


# ---------------------------------------------------------------------------
# `report --flamegraph-file`


@pytest.mark.parametrize("kind", KINDS)
def test_report_refuses_a_flamegraph_file_that_is_not_a_regular_file(
    tmp_path: Path, make: Callable[[str, str], Made], capture: Path, kind: str
) -> None:
    out = make("flame.txt", kind)
    before = listing(tmp_path)
    proc = launch("report", "--flamegraph-file", out.path, capture, cwd=tmp_path)
    # Checked before anything is rendered: nothing reached stdout.
    assert_verb_bad_input(proc, "report", f"'{out.path}'", WORDS[kind])
    assert out.unchanged()
    assert listing(tmp_path) == before


def test_report_replaces_a_regular_flamegraph_file(tmp_path: Path, capture: Path) -> None:
    flame = tmp_path / "flame.txt"
    flame.write_text("old\n")
    proc = launch("report", "--stats-only", "--flamegraph-file", flame, capture, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert folded(flame)
    assert "old" not in flame.read_text()
    assert listing(tmp_path) == ["flame.txt"]


def test_report_never_writes_its_flamegraph_over_the_capture(tmp_path: Path, capture: Path) -> None:
    copy = tmp_path / "copy.gcm"
    copy.write_bytes(capture.read_bytes())
    for flame in (copy, tmp_path / "." / "copy.gcm"):
        proc = launch("report", "--flamegraph-file", flame, copy, cwd=tmp_path)
        assert_verb_bad_input(proc, "report", "is the capture being read")
    assert copy.read_bytes() == capture.read_bytes()


# ---------------------------------------------------------------------------
# A refusal leaves nothing behind


def no_gc_monitor_python(tmp_path: Path) -> Path:
    """An interpreter that runs but cannot import gc_monitor (no site-packages)."""
    path = tmp_path / "python-without-site"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    path.chmod(0o755)
    return path


def broken_python(tmp_path: Path) -> Path:
    """An executable file that exec(2) refuses."""
    path = tmp_path / "python-broken"
    path.write_bytes(b"\x7fELF not really")
    path.chmod(0o755)
    return path


def set_memory_limit() -> None:
    import resource

    limit = 1536 << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("python-without-gc_monitor", "cannot import gc_monitor._core"),
        ("python-cannot-run", "is not a python interpreter"),
        ("missing-script", "script file not found"),
        ("same-as-capture", "name the same file"),
        ("same-as-flamegraph", "name the same file"),
        ("same-as-script", "is the script being run"),
    ],
)
def test_a_refusal_creates_no_log_file(tmp_path: Path, case: str, fragment: str) -> None:
    log = tmp_path / "gc.log"
    script = tmp_path / "ok.py"
    script.write_text("print('ok')\n")
    options: list[str | Path] = ["--log-file", log]
    target: list[str | Path] = [script]
    if case == "python-without-gc_monitor":
        options += ["--python", no_gc_monitor_python(tmp_path)]
    elif case == "python-cannot-run":
        options += ["--python", broken_python(tmp_path)]
    elif case == "missing-script":
        target = [tmp_path / "missing.py"]
    elif case == "same-as-capture":
        options += ["-o", tmp_path / "." / "gc.log"]
    elif case == "same-as-flamegraph":
        options += ["--flamegraph-file", "gc.log"]
    elif case == "same-as-script":
        options = ["--log-file", script]
    before = listing(tmp_path)
    proc = launch("run", *options, *target, cwd=tmp_path)
    assert_bad_input(proc, fragment)
    assert "ok" not in proc.stdout
    assert listing(tmp_path) == before
    assert script.read_text() == "print('ok')\n"


@pytest.mark.skipif(
    bool(os.environ.get("GCM_SANITIZER")), reason="sanitizers reserve address space"
)
def test_a_ring_too_large_for_memory_creates_no_log_file(tmp_path: Path) -> None:
    # The bootstrap refuses the ring after the launcher opened the log.
    log = tmp_path / "gc.log"
    proc = subprocess.run(
        [
            launcher(),
            "run",
            "--log-file",
            str(log),
            "--buffer-events",
            str(HUGE_CAPACITY),
            "-c",
            "print('ran')",
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=HANG,
        preexec_fn=set_memory_limit,
    )
    assert_bad_input(proc, "not enough memory")
    assert listing(tmp_path) == []


@pytest.mark.parametrize("case", ["python-without-gc_monitor", "python-cannot-run"])
def test_a_refusal_keeps_an_existing_log_file(tmp_path: Path, case: str) -> None:
    log = tmp_path / "gc.log"
    log.write_text("")
    python = (
        no_gc_monitor_python(tmp_path) if case.endswith("gc_monitor") else broken_python(tmp_path)
    )
    proc = launch("run", "--log-file", log, "--python", python, "-c", "pass", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    # Not ours to remove: it was there before, even empty.
    assert log.exists() and log.read_text() == ""


# ---------------------------------------------------------------------------
# A script that is a FIFO

FIFO_SOURCE = """\
import gc
import sys
for _ in range(3):
    gc.collect()
print("ran", sys.argv[1:], __name__, flush=True)
sys.exit(4)
"""


def feed(fifo: Path, data: bytes) -> threading.Thread:
    """A writer that opens the FIFO (blocking until a reader comes) and writes."""

    def write() -> None:
        with open(fifo, "wb") as f:
            f.write(data)

    t = threading.Thread(target=write, daemon=True)
    t.start()
    return t


def test_a_fifo_script_runs_as_under_plain_python(tmp_path: Path) -> None:
    fifo = tmp_path / "prog.py"
    os.mkfifo(fifo)
    results = []
    for command in (
        [sys.executable, str(fifo), "a", "b"],
        [launcher(), "run", "--stats-only", str(fifo), "a", "b"],
    ):
        writer = feed(fifo, FIFO_SOURCE.encode())
        proc = subprocess.run(
            command,
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=HANG,
            stdin=subprocess.DEVNULL,
        )
        writer.join(HANG)
        assert not writer.is_alive()
        results.append((proc.returncode, proc.stdout))
    assert results[0] == (4, "ran ['a', 'b'] __main__\n")
    assert results[1] == results[0]


def test_dev_stdin_as_script_runs_as_under_plain_python(tmp_path: Path) -> None:
    source = "import sys\nprint('from stdin', sys.argv[1:])\n"
    plain = run([sys.executable, "/dev/stdin", "x"], tmp_path, stdin=source)
    ours = run([launcher(), "run", "--stats-only", "/dev/stdin", "x"], tmp_path, stdin=source)
    assert plain.returncode == 0, plain.stderr
    assert (ours.returncode, ours.stdout) == (plain.returncode, plain.stdout)


# ---------------------------------------------------------------------------
# Readers: report, live, compare

READER_KINDS = {
    "fifo": "FIFO",
    "fifo-with-writer": "FIFO",
    "directory": "directory",
    "/dev/null": "character device",
    "/dev/zero": "character device",
    "socket": "socket",
    "symlink-to-capture": "symbolic link",
    "symlink-to-fifo": "symbolic link",
}


def reader_argv(verb: str, path: Path, capture: Path) -> tuple[str, list[str | Path]]:
    if verb == "report":
        return "report", ["report", path]
    if verb == "live":
        return "live", ["live", "--plain", path]
    if verb == "compare-base":
        return "compare", ["compare", path, capture]
    return "compare", ["compare", capture, path]


@pytest.mark.parametrize("kind", list(READER_KINDS))
@pytest.mark.parametrize("verb", ["report", "live", "compare-base", "compare-new"])
def test_readers_refuse_what_is_not_a_regular_file(
    tmp_path: Path, capture: Path, verb: str, kind: str
) -> None:
    held: list[int] = []
    sock = None
    data = b"GCMBLOCK and more bytes a reader must never take"
    if kind.startswith("/dev/"):
        path = Path(kind)
    else:
        path = tmp_path / "in"
        if kind.startswith("fifo"):
            os.mkfifo(path)
        elif kind == "directory":
            path.mkdir()
        elif kind == "socket":
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(str(path))
        elif kind == "symlink-to-capture":
            path.symlink_to(capture)
        else:
            os.mkfifo(tmp_path / "fifo")
            path.symlink_to(tmp_path / "fifo")
    if kind == "fifo-with-writer":
        # Held open for writing, with bytes waiting: a reader that opened it
        # would not block, and one that read it would take them.
        held.append(os.open(path, os.O_RDWR | os.O_NONBLOCK))
        os.write(held[0], data)
    try:
        name, argv = reader_argv(verb, path, capture)
        proc = launch(*argv, cwd=tmp_path)
        assert_verb_bad_input(proc, name, f"'{path}'", READER_KINDS[kind])
        if held:
            assert os.read(held[0], 1024) == data
    finally:
        for fd in held:
            os.close(fd)
        if sock is not None:
            sock.close()


# ---------------------------------------------------------------------------
# A sparse capture that claims a huge ring

PEAK = """\
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(p.stderr)
"""


def peak(*argv: str | Path, cwd: Path) -> tuple[int, int, str]:
    """The exit status, the peak RSS in KiB and stderr of one launcher run."""
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, launcher(), *map(str, argv)],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    status, rss = proc.stdout.split()
    return int(status), int(rss), proc.stderr


@pytest.fixture
def hostile(tmp_path: Path, capture: Path) -> Path:
    """The real capture's header and aggregates, claiming a ring of 2^26 slots
    and 2^40 records, in a sparse file of 3.2 GB that holds 88 KB."""
    data = bytearray(capture.read_bytes()[:RING])
    struct.pack_into("<Q", data, OFF_CAPACITY, HUGE_CAPACITY)
    struct.pack_into("<Q", data, OFF_BLOCK_SIZE, RING + SLOT * HUGE_CAPACITY)
    struct.pack_into("<Q", data, OFF_SEQ, 1 << 41)
    path = tmp_path / "huge.gcm"
    with open(path, "wb") as f:
        f.write(data)
        f.truncate(RING + SLOT * HUGE_CAPACITY)
    if path.stat().st_blocks * 512 > 16 << 20:
        pytest.skip("this file system does not make sparse files")
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--stats-only"],
        ["report", "--format", "json"],
        ["report", "--format", "folded"],
        ["report", "--format", "terminal"],
        ["live", "--plain"],
        ["compare", "BASE"],
    ],
    ids=lambda a: "-".join(a),
)
def test_a_sparse_capture_is_read_for_what_it_holds(
    tmp_path: Path, hostile: Path, capture: Path, argv: list[str]
) -> None:
    args = [capture if a == "BASE" else a for a in argv]
    status, rss, err = peak(*args, hostile, cwd=tmp_path)
    # gcm_block_check accepts the header: this is a capture, read in full.
    assert status == 0, err
    assert rss < MAX_RSS_KB, f"peak RSS {rss} KiB"
    if argv[0] == "report":
        # The aggregates are the real capture's: the same count of collections.
        real = launch("report", "--stats-only", capture, cwd=tmp_path).stdout
        total = re.search(r"^Total GC collections: (\d+)$", real, re.MULTILINE)
        assert total, real
        report = launch("report", "--stats-only", hostile, cwd=tmp_path)
        assert f"Total GC collections: {total.group(1)}" in report.stdout
        assert "holds data for only" in report.stdout


def test_compare_reads_a_large_report_line_by_line(tmp_path: Path, capture: Path) -> None:
    # A --json report whose summary comes after a 512 MB line (a hole, in a
    # sparse file): compare keeps one bounded line at a time, not the file.
    summary = launch("report", "--json", "--stats-only", capture, cwd=tmp_path).stdout
    last = summary.splitlines()[-1]
    assert last.startswith('{"type":"summary"')
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as f:
        f.write(b'{"type":"event"}\n')
        f.seek(512 << 20, os.SEEK_CUR)
        f.write(b"\n" + last.encode() + b"\n")
    status, rss, err = peak("compare", big, capture, cwd=tmp_path)
    assert status == 0, err
    assert rss < MAX_RSS_KB, f"peak RSS {rss} KiB"
