"""Capture files (`pygcprofiler run -o FILE`) and `pygcprofiler report FILE`.

Everything goes through the real, installed launcher, in subprocesses: a
program under the monitor prints how many collections it has seen, then
dies in a way that loses an in-memory report (SIGKILL, os._exit, a
segfault), and `report` must still show that count.  The program counts
with gc.get_stats(), offset once at its start by what the recorder had
already seen (collections of the bootstrap's own imports), so the count it
prints and the count in the capture come from independent sources.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from gcm_testing import captures, clean_env, launcher_path, report

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"
TIMEOUT = 60

# Prints "count N" after each batch of collections: N is the number of
# collections since the monitor started, by gc.get_stats().  What happens
# after the last batch is appended by each test, and must not allocate
# much: an import there (ctypes) can run more than one collection after the
# last count, so every module a tail uses is imported here.
COUNTING = textwrap.dedent(
    """
    import ctypes, gc, os, sys, time
    rec = next(cb.__self__ for cb in gc.callbacks
               if type(getattr(cb, "__self__", None)).__name__ == "Recorder")
    def total():
        return sum(s["collections"] for s in gc.get_stats())
    gc.disable()
    offset = rec.snapshot()["count"] - total()
    gc.enable()
    def batch(n):
        for i in range(n):
            junk = []
            for _ in range(2000):
                a = []
                a.append(a)
                junk.append(a)
            gc.collect(i % 3)
        print("count", total() + offset, flush=True)
    for _ in range(int(sys.argv[1])):
        batch(7)
    """
)


def start(
    tmp_path: Path, tail: str, *options: str, batches: int = 3
) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "prog.py"
    script.write_text(COUNTING + textwrap.dedent(tail))
    capture = tmp_path / "run.gcm"
    proc = subprocess.Popen(
        [str(launcher_path()), "run", "-o", str(capture), *options, str(script), str(batches)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
    )
    return proc, capture


def last_count(stdout: str) -> int:
    counts = [int(line.split()[1]) for line in stdout.splitlines() if line.startswith("count ")]
    assert counts, f"the program printed no count:\n{stdout}"
    return counts[-1]


def report_json(capture: Path, *options: str) -> list[dict]:
    proc = report(capture, "--format", "json", *options)
    assert proc.returncode == 0, proc.stderr
    # JSON Lines: every line is one object on its own.
    objects = [json.loads(line) for line in proc.stdout.splitlines()]
    assert objects[0]["type"] == "capture"
    return objects


def summary_of(objects: list[dict]) -> dict:
    (summary,) = [o for o in objects if o["type"] == "summary"]
    return summary


def wait_for_line(proc: subprocess.Popen, batches: int) -> str:
    """Reads the program's stdout until it printed `batches` counts."""
    assert proc.stdout is not None
    lines = []
    while len(lines) < batches:
        line = proc.stdout.readline()
        assert line, (
            f"the program ended early: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}"
        )
        lines.append(line)
    return "".join(lines)


def test_kill_9_keeps_every_printed_collection(tmp_path):
    proc, capture = start(tmp_path, "time.sleep(600)\n")
    try:
        out = wait_for_line(proc, 3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    printed = last_count(out)
    objects = report_json(capture)
    count = summary_of(objects)["count"]
    assert printed <= count <= printed + 1
    assert objects[0]["state"] == "gone"
    assert objects[0]["exit_status"] is None
    # The text report says how it ended, too.
    text = report(capture)
    assert text.returncode == 0, text.stderr
    assert "gone without a clean exit" in text.stdout


@pytest.mark.parametrize(
    "tail, returncode",
    [
        ("os._exit(0)\n", 0),
        ("ctypes.string_at(0)\n", -signal.SIGSEGV),
    ],
    ids=["os._exit", "segfault"],
)
def test_exits_that_skip_python_cleanup(tmp_path, tail, returncode):
    proc, capture = start(tmp_path, tail)
    out, err = proc.communicate(timeout=TIMEOUT)
    if returncode < 0 and "AddressSanitizer:DEADLYSIGNAL" in err:
        # Under a sanitizer run (LD_PRELOAD=libasan.so) ASan catches the
        # segfault, reports it and exits 1 instead of dying by the signal.
        returncode = 1
    assert proc.returncode == returncode, err
    # No report at exit: python never got to write one.
    assert "GC MONITORING SUMMARY" not in err
    printed = last_count(out)
    objects = report_json(capture)
    assert printed <= summary_of(objects)["count"] <= printed + 1
    assert objects[0]["state"] == "gone"


def test_clean_exit_records_status(tmp_path):
    proc, capture = start(tmp_path, "sys.exit(3)\n")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 3, err
    printed = last_count(out)
    objects = report_json(capture)
    assert objects[0]["state"] == "exited"
    assert objects[0]["exit_status"] == 3
    assert printed <= summary_of(objects)["count"] <= printed + 1
    assert stat.S_IMODE(capture.stat().st_mode) == 0o600


FREEZE_LINE = "- GC thresholds: unknown; frozen objects at exit (gc.get_freeze_count()): "


def test_capture_keeps_the_freeze_count_of_the_exit_report(tmp_path):
    # A program that froze its heap: a report of its capture knows, as its
    # exit report did, so that its advice never says to freeze again.
    tail = "gc.freeze()\nprint('frozen', gc.get_freeze_count(), flush=True)\n"
    proc, capture = start(tmp_path, tail)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    frozen = int(out.splitlines()[-1].split()[1])
    assert frozen > 0
    text = report(capture, "--prompt")
    assert text.returncode == 0, text.stderr
    # The count at exit: frozen objects that died since (their last
    # reference dropped) have left the permanent generation.
    (line,) = [x for x in text.stdout.splitlines() if x.startswith(FREEZE_LINE)]
    assert 0 < int(line[len(FREEZE_LINE) :]) <= frozen, (line, frozen)
    # Killed before its exit report, a program leaves the count unknown.
    killed = tmp_path / "killed"
    killed.mkdir()
    proc, capture = start(killed, tail + "time.sleep(600)\n")
    try:
        assert wait_for_line(proc, 3)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("frozen "), line
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)
    finally:
        proc.kill()
    text = report(capture, "--prompt")
    assert text.returncode == 0, text.stderr
    assert "- GC thresholds and freeze count: unknown\n" in text.stdout, text.stdout


def test_report_while_the_writer_runs(tmp_path):
    proc, capture = start(tmp_path, "time.sleep(600)\n", batches=2)
    try:
        out = wait_for_line(proc, 2)
        objects = report_json(capture)
        text = report(capture)
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
    printed = last_count(out)
    assert objects[0]["state"] == "running"
    assert printed <= summary_of(objects)["count"] <= printed + 1
    assert text.returncode == 0, text.stderr
    assert "State: running" in text.stdout


def test_reports_of_a_busy_writer_are_consistent(tmp_path):
    # The writer collects without pause while reports are taken: each one
    # must be a consistent snapshot, whose generations and buckets add up to
    # its count, and counts never go backwards.
    tail = """
    print("busy", flush=True)
    while True:
        batch(1)
    """
    proc, capture = start(tmp_path, tail, batches=1)
    counts = []
    try:
        wait_for_line(proc, 2)
        # At least five reports, and more until the writer was seen to move
        # on (a loaded machine may not schedule it between two); bounded, so
        # a writer that stopped fails.
        deadline = time.monotonic() + TIMEOUT
        while len(counts) < 5 or (counts[-1] == counts[0] and time.monotonic() < deadline):
            objects = report_json(capture)
            summary = summary_of(objects)
            assert objects[0]["state"] == "running"
            assert summary["count"] == sum(summary[f"gen{g}"]["count"] for g in range(3))
            assert summary["count"] == sum(b["count"] for b in summary["buckets"])
            counts.append(summary["count"])
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
    assert counts == sorted(counts)
    assert counts[-1] > counts[0]


def test_fork_child_never_writes_into_the_parents_file(tmp_path):
    tail = """
    pid = os.fork()
    if pid == 0:
        for i in range(50):
            gc.collect()
        os._exit(0)
    os.waitpid(pid, 0)
    print("count", total() + offset, flush=True)
    """
    proc, capture = start(tmp_path, tail)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    printed = last_count(out)
    # The child's 50 collections are not in the parent's capture.
    assert printed <= summary_of(report_json(capture))["count"] <= printed + 1


# Offsets of docs/capture-format.md, for writing known aggregates into a
# real capture.
AGG, GEN0, GEN_SIZE, HIST = 8560, 8624, 19792, 328


def hist_index(ns: int) -> int:
    """gcm_hist_index, as docs/architecture.md defines the histogram."""
    if ns < 128:
        return ns
    msb = ns.bit_length() - 1
    return 128 + ((msb - 7) << 6) + ((ns >> (msb - 6)) & 63)


def with_pauses(capture: Path, pauses_ns: list[int]) -> Path:
    """A copy of `capture` whose only collections are `pauses_ns`, all in
    generation 0 and none left in the ring."""
    data = bytearray(capture.read_bytes())
    data[AGG:GEN0] = bytes(GEN0 - AGG)
    for g in range(3):
        base = GEN0 + g * GEN_SIZE
        data[base : base + GEN_SIZE] = bytes(GEN_SIZE)
        struct.pack_into("<Q", data, base + 16, 2**64 - 1)
    struct.pack_into(
        "<4Q", data, GEN0, len(pauses_ns), sum(pauses_ns), min(pauses_ns), max(pauses_ns)
    )
    for ns in pauses_ns:
        offset = GEN0 + HIST + 8 * hist_index(ns)
        struct.pack_into("<Q", data, offset, struct.unpack_from("<Q", data, offset)[0] + 1)
    out = capture.with_name("known.gcm")
    out.write_bytes(bytes(data))
    return out


def test_report_time_limits_are_recomputed_and_marked(tmp_path):
    proc, capture = start(tmp_path, "", batches=1)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    known = with_pauses(capture, [1_000_000, 2_000_000, 3_000_000])
    recorded = report_json(known)
    assert recorded[0]["recomputed"] is False
    assert recorded[0]["approximate"] is False
    assert recorded[0]["warnings"] == []
    assert summary_of(recorded)["count"] == 3
    assert summary_of(recorded)["alerts"] == 0  # none reached the recorded 50 ms
    # A threshold between the pauses' histogram buckets is exact.
    exact = report_json(known, "--alert-threshold-ms", "2.5")
    assert exact[0]["recomputed"] is True
    assert exact[0]["approximate"] is False
    assert exact[0]["recorded_alert_threshold_ms"] == 50
    assert summary_of(exact)["alerts"] == 1
    assert summary_of(report_json(known, "--alert-threshold-ms=0"))["alerts"] == 3
    # One inside the bucket of the 2 ms pause is an estimate, and says so.
    cut = report_json(known, "--alert-threshold-ms", "2")
    assert cut[0]["approximate"] is True
    assert any("approximate" in w for w in cut[0]["warnings"])
    assert summary_of(cut)["alerts"] in (1, 2)
    text = report(known, "--alert-threshold-ms", "2")
    assert "Warning: alert counts and duration buckets were recomputed" in text.stdout
    assert text.stdout.count("approximate") == 1
    # The same limits as recorded recompute nothing.
    same = report_json(known, "--alert-threshold-ms", "50", "--duration-buckets=1,5,20,50,100")
    assert same[0]["recomputed"] is False
    # New buckets: every pause lands in exactly one, exactly here.
    buckets = summary_of(report_json(known, "--duration-buckets", "1.5,2.5"))["buckets"]
    assert [(b["le_ms"], b["count"]) for b in buckets] == [(1.5, 1), (2.5, 1), (None, 1)]


def test_folded_and_terminal_formats(tmp_path):
    proc, capture = start(tmp_path, "")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    count = summary_of(report_json(capture))["count"]
    folded = report(capture, "--format", "folded")
    assert folded.returncode == 0, folded.stderr
    # flamegraph.pl input: "frame;frame;frame weight", one per line, from
    # the first line on: no "# " comment, which not every flame graph tool
    # skips.  The capture's facts are the text report's.
    frames = folded.stdout.splitlines()
    assert frames
    for line in frames:
        assert re.fullmatch(r"[^ #].* [0-9]+", line), line
        stack, weight = line.rsplit(" ", 1)
        assert ";Gen " in stack and int(weight) >= 1
    assert "State: exited with status 0" in report(capture, "--stats-only").stdout
    # The chart is a terminal format of its own; plain text has none.
    terminal = report(capture, "--format", "terminal", "--stats-only")
    text = report(capture, "--stats-only")
    assert "by generation ==" in terminal.stdout
    assert "by generation ==" not in text.stdout
    assert f"Total GC collections: {count}" in terminal.stdout


def test_folded_format_of_a_tree_is_its_captures_lines_only(tmp_path):
    # A fork child records into a capture of its own; the tree's folded
    # output is each capture's lines in turn, with no comment line (no
    # capture head) between them: one file a flame graph tool reads whole.
    script = tmp_path / "forks.py"
    script.write_text(
        "import gc, os\n"
        "gc.collect()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    gc.collect(1)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    cap = tmp_path / "cap"
    proc = subprocess.run(
        [str(launcher_path()), "run", "-o", str(cap), "--python", sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    files = captures(tmp_path)
    assert len(files) == 2, files
    tree = subprocess.run(
        [str(launcher_path()), "report", "--format", "folded", *files],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
    )
    assert tree.returncode == 0, tree.stderr
    each = [report(Path(f), "--format", "folded").stdout for f in files]
    assert all(each), each
    assert tree.stdout == "".join(each)
    for line in tree.stdout.splitlines():
        assert re.fullmatch(r"[^ #].* [0-9]+", line), line


def test_existing_file_or_symlink_is_refused(tmp_path):
    target = tmp_path / "victim"
    target.write_text("keep me")
    link = tmp_path / "link.gcm"
    link.symlink_to(target)
    marker = tmp_path / "ran"
    for path in (target, link):
        proc = subprocess.run(
            [str(launcher_path()), "run", "-o", str(path), "-c", f"open({str(marker)!r}, 'w')"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=clean_env(),
        )
        assert proc.returncode == 2
        assert proc.stderr.startswith("error: ") and "capture file" in proc.stderr
        assert not marker.exists()
    assert target.read_text() == "keep me"


def _limit_file_size() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))


def _mount_tmpfs(where: Path) -> bool:
    if os.geteuid() != 0:
        return False
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True
    )
    return proc.returncode == 0


@pytest.mark.parametrize("how", ["file-size-limit", "small-tmpfs"])
def test_full_disk_fails_at_start(tmp_path, how):
    where = tmp_path / "disk"
    where.mkdir()
    preexec = None
    if how == "file-size-limit":
        preexec = _limit_file_size
    elif not _mount_tmpfs(where):
        pytest.skip("cannot mount a tmpfs here (needs root and mount permission)")
    marker = tmp_path / "ran"
    capture = where / "big.gcm"
    try:
        # 65536 events need about 3.2 MB: more than either limit allows.
        proc = subprocess.run(
            [
                str(launcher_path()),
                "run",
                "-o",
                str(capture),
                "--buffer-events",
                "65536",
                "-c",
                f"open({str(marker)!r}, 'w')",
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=clean_env(),
            preexec_fn=preexec,
        )
    finally:
        if how == "small-tmpfs":
            subprocess.run(["umount", str(where)], capture_output=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ")
    assert "capture file" in proc.stderr
    assert not marker.exists(), "the target ran although the capture could not be made"
    assert not capture.exists()


# What `report` must say of each seed of the fuzz corpus: its exit status and
# a phrase of its error (status 2) or of its State: line (status 0).
CORPUS_EXPECTED = {
    "bad-capacity.gcm": (2, "is corrupted: recording block is corrupt"),
    "bad-magic.gcm": (2, "is not a pygcprofiler capture file"),
    "died-mid-record.gcm": (0, "State: gone without a clean exit"),
    "empty.gcm": (2, "is empty"),
    "exited.gcm": (0, "State: exited with status 0 at "),
    "exited-v2.gcm": (0, "State: exited with status 0 at "),
    "exited-v3.gcm": (0, "State: exited with status 0 at "),
    "exited-v4-stacks.gcm": (0, "State: exited with status 0 at "),
    "half-magic.gcm": (2, "is truncated: shorter than its header says"),
    "header-only.gcm": (2, "is truncated: shorter than its header says"),
    "hostile-aggregates.gcm": (0, "State: exited with status 0 at "),
    "hostile-meta.gcm": (0, "State: exited with status 0 at "),
    "hostile-ring.gcm": (0, "State: exited with status 0 at "),
    "hostile-stacks.gcm": (0, "State: exited with status 0 at "),
    "hostile-state.gcm": (0, "State: gone without a clean exit"),
    "killed.gcm": (0, "State: gone without a clean exit"),
    "newer-version.gcm": (2, "has a format version this pygcprofiler cannot read"),
    "other-byte-order.gcm": (2, "was written on a machine of the other byte order"),
    "random.bin": (2, "is not a pygcprofiler capture file"),
    "stacks-past-the-end.gcm": (0, "State: exited with status 0 at "),
    "truncated-ring.gcm": (2, "is truncated: shorter than its header says"),
}


def test_corpus_has_an_expectation_for_every_seed():
    assert sorted(CORPUS_EXPECTED) == sorted(p.name for p in CORPUS.iterdir())


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
def test_corpus_file_report(name, tmp_path):
    status, phrase = CORPUS_EXPECTED[name]
    # A copy, so that a reader never sees the committed file change.
    copy = tmp_path / name
    copy.write_bytes((CORPUS / name).read_bytes())
    # The timeout only bounds a hang; speed is the benchmarks' business.
    proc = subprocess.run(
        [str(launcher_path()), "report", str(copy)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
    )
    assert proc.returncode == status, proc.stderr
    if status == 2:
        assert proc.stderr.startswith("error: ") and proc.stdout == ""
        assert phrase in proc.stderr.splitlines()[0]
    else:
        assert proc.stdout.startswith("Capture: ")
        states = [line for line in proc.stdout.splitlines() if line.startswith("State: ")]
        assert len(states) == 1 and states[0].startswith(phrase), proc.stdout


def test_bad_input_lines(tmp_path):
    missing = report(tmp_path / "missing.gcm")
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    notcap = tmp_path / "notes.txt"
    notcap.write_text("hello\n")
    proc = report(notcap)
    assert proc.returncode == 2
    assert "not a pygcprofiler capture file" in proc.stderr
    usage = report(notcap, "--format", "xml")
    assert usage.returncode == 2 and "'--format'" in usage.stderr
    run_only = report(notcap, "--buffer-events", "16")
    assert run_only.returncode == 2 and "not for 'report'" in run_only.stderr


def test_report_help_goes_to_stdout():
    proc = subprocess.run(
        [str(launcher_path()), "report", "--help"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: pygcprofiler report")
    assert proc.stderr == ""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
