"""Process trees: per-process captures, --follow-children, and the merged report.

With ``-o FILE`` every fork child records into its own capture FILE.<pid>
(FILE.<pid>.<n> when that name is taken), made by the after-fork hook before
the child runs Python code.  With --follow-children, interpreters the target
starts (subprocess, multiprocessing spawn and forkserver) are monitored
through the start-up hook installed with the package, and record into
FILE.<pid> or report to gc.<pid>.log.  ``pygcprofiler report FILE*`` merges
them into one report of the tree.  Every multiprocessing test names its start
method: 3.14 changed the default on Linux from fork to forkserver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from gcm_testing import (
    JSON,
    TIMEOUT,
    by_pid,
    captures,
    clean_env,
    launcher_path,
    run,
    summaries,
    tagged,
    write_script,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def report(files, *options, cwd=None):
    """The stdout of `pygcprofiler report OPTIONS FILES`, which must succeed."""
    proc = run([launcher_path(), "report", *options, *files], cwd=cwd or Path(files[0]).parent)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def tree_of(files):
    """The {"type": "tree"} object of a merged JSON report, and every line."""
    lines = [json.loads(line) for line in report(files, "--json", "--stats-only").splitlines()]
    assert lines[-1]["type"] == "tree", lines[-1]
    assert [obj for obj in lines if obj["type"] == "tree"] == [lines[-1]]
    return lines[-1], lines


# ---------------------------------------------------------------------------
# Fork children of a -o run


FORK_TWO = """
    import gc, os, sys, warnings
    warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
    for _ in range(5):
        gc.collect()
    children = []
    # One after the other, so that the second child's capture is the later one.
    for n in (2, 3):
        pid = os.fork()
        if pid == 0:
            for _ in range(n):
                gc.collect()
            sys.exit(4 if n == 3 else 0)
        children.append(pid)
        os.waitpid(pid, 0)
    print("children", *children)
    print("parent", os.getpid())
"""


def test_fork_children_get_their_own_capture_and_one_merged_report(tmp_path):
    script = write_script(tmp_path, FORK_TWO)
    proc = run([launcher_path(), "run", *JSON, "-o", "cap", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first, second = tagged(proc.stdout, "children")
    (parent,) = tagged(proc.stdout, "parent")
    names = {Path(p).name for p in captures(tmp_path)}
    assert names == {"cap", f"cap.{first}", f"cap.{second}"}
    for name in names:
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600

    tree, lines = tree_of(captures(tmp_path))
    procs = by_pid(tree)
    assert list(procs) == [parent, first, second]  # parents first, then by start
    assert procs[parent]["children"] == [first, second]
    assert procs[first]["ppid"] == procs[second]["ppid"] == parent
    assert procs[first]["depth"] == 1 and procs[first]["parent_index"] == 0
    # Each capture holds that process's own collections only.
    assert procs[parent]["collections"] >= 5
    assert procs[first]["collections"] == 2
    assert procs[second]["collections"] == 3
    assert (procs[first]["ended"], procs[first]["exit_status"]) == ("exited", 0)
    assert (procs[second]["ended"], procs[second]["exit_status"]) == ("exited", 4)
    total = sum(p["collections"] for p in procs.values())
    assert tree["totals"]["collections"] == total
    assert tree["totals"]["processes"] == 3
    assert tree["totals"]["max_ms"] == max(p["max_ms"] for p in procs.values())
    # One summary per process, each after its own capture object.
    found = [obj["pid"] for obj in lines if obj["type"] == "summary"]
    assert found == [parent, first, second]
    assert [obj["pid"] for obj in lines if obj["type"] == "capture"] == found


def test_merged_text_report_has_the_table_then_each_section(tmp_path):
    script = write_script(tmp_path, FORK_TWO)
    proc = run([launcher_path(), "run", *JSON, "-o", "cap", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first, second = tagged(proc.stdout, "children")
    (parent,) = tagged(proc.stdout, "parent")
    text = report(captures(tmp_path), "--stats-only")
    head, _, rest = text.partition("\n\n")
    rows = head.splitlines()
    assert rows[0] == "=== PROCESS TREE: 3 processes ==="
    assert rows[1].split()[:4] == ["PID", "PPID", "LIFETIME", "COLLECTIONS"]
    assert [int(r.split()[0]) for r in rows[2:5]] == [parent, first, second]
    assert rows[3].startswith(f"  {first} ")  # a child is indented below its parent
    assert "exited 4" in rows[4]
    assert rows[5].startswith("Totals across the tree: ")
    # Then every process's own section, in the same order.
    sections = [line for line in rest.splitlines() if line.startswith("Writer: pid ")]
    assert [int(s.split()[2]) for s in sections] == [parent, first, second]


def test_a_child_that_execs_right_after_fork_recorded_nothing(tmp_path):
    script = write_script(
        tmp_path,
        """
        import gc, os, sys
        gc.collect()
        pid = os.fork()
        if pid == 0:
            os.execv("/bin/true", ["/bin/true"])
        os.waitpid(pid, 0)
        print("child", pid)
        """,
    )
    proc = run([launcher_path(), "run", *JSON, "-o", "cap", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (child,) = tagged(proc.stdout, "child")
    tree, _ = tree_of(captures(tmp_path))
    assert by_pid(tree)[child]["ended"] == "recorded_nothing"
    assert by_pid(tree)[child]["collections"] == 0
    text = report(captures(tmp_path), "--stats-only")
    (row,) = [line for line in text.splitlines() if line.lstrip().startswith(f"{child} ")]
    assert "recorded nothing" in row


def test_report_refuses_an_unreadable_file_among_several(tmp_path):
    script = write_script(tmp_path, "import gc; gc.collect()\n")
    proc = run([launcher_path(), "run", *JSON, "-o", "cap", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "cap.1").write_text("not a capture\n")
    bad = run([launcher_path(), "report", "cap", "cap.1"], cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert "'cap.1' is not a pygcprofiler capture file" in bad.stderr


# ---------------------------------------------------------------------------
# --follow-children


SUBPROCESS = """
    import gc, os, subprocess, sys
    gc.collect()
    code = (
        "import gc, os, sys\\n"
        "for _ in range(4): gc.collect()\\n"
        "print('env', int('PYGCPROFILER_CONFIG' in os.environ), flush=True)\\n"
        "print('grandchild', os.getpid(), flush=True)\\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd="/"
    )
    sys.stdout.write(done.stdout)
    print("child-stderr", len(done.stderr))
    print("parent", os.getpid())
"""


def test_without_follow_children_nothing_leaks_into_a_subprocess(tmp_path):
    script = write_script(tmp_path, SUBPROCESS)
    proc = run([launcher_path(), "run", *JSON, "-o", "cap", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (parent,) = tagged(proc.stdout, "parent")
    assert tagged(proc.stdout, "env") == [0]
    assert tagged(proc.stdout, "child-stderr") == [0]
    assert [Path(p).name for p in captures(tmp_path)] == ["cap"]
    assert set(summaries(proc.stderr)) == {parent}


def test_follow_children_monitors_a_subprocess_python(tmp_path):
    script = write_script(tmp_path, SUBPROCESS)
    # A relative -o: the child starts in "/", and still records beside it.
    proc = run(
        [launcher_path(), "run", *JSON, "--follow-children", "-o", "cap", script], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    (parent,) = tagged(proc.stdout, "parent")
    (child,) = tagged(proc.stdout, "grandchild")
    assert tagged(proc.stdout, "env") == [1]
    # With -o the child's report is its capture: nothing goes into a stderr
    # that its parent reads.
    assert tagged(proc.stdout, "child-stderr") == [0]
    assert {Path(p).name for p in captures(tmp_path)} == {"cap", f"cap.{child}"}
    tree, _ = tree_of(captures(tmp_path))
    procs = by_pid(tree)
    assert list(procs) == [parent, child]
    assert procs[child]["ppid"] == parent
    assert procs[child]["collections"] >= 4
    assert (procs[child]["ended"], procs[child]["exit_status"]) == ("exited", 0)
    assert "for _ in range(4)" in procs[child]["command"]
    # The child's stderr went to the parent's pipe, not ours: its report did too.
    assert set(summaries(proc.stderr)) == {parent}


def test_follow_children_reports_to_derived_log_files(tmp_path):
    script = write_script(
        tmp_path,
        """
        import gc, os, subprocess, sys
        code = "import gc, os; gc.collect(); gc.collect(); print(os.getpid())"
        child = int(subprocess.run([sys.executable, "-c", code], check=True,
                                   capture_output=True, text=True, cwd="/").stdout)
        print("child", child)
        print("parent", os.getpid())
        """,
    )
    proc = run(
        [launcher_path(), "run", *JSON, "--follow-children", "--log-file", "gc.log", script],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (parent,) = tagged(proc.stdout, "parent")
    (child,) = tagged(proc.stdout, "child")
    assert set(summaries((tmp_path / "gc.log").read_text())) == {parent}
    path = tmp_path / f"gc.{child}.log"
    assert path.stat().st_mode & 0o777 == 0o600
    found = summaries(path.read_text())
    assert set(found) == {child}
    assert found[child]["gen2"]["count"] == 2


def test_follow_children_text_report_of_a_child_is_labelled(tmp_path):
    script = write_script(
        tmp_path,
        """
        import os, subprocess, sys
        subprocess.run([sys.executable, "-c", "import gc; gc.collect()"], check=True)
        print("parent", os.getpid())
        """,
    )
    proc = run([launcher_path(), "run", "--stats-only", "--follow-children", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (parent,) = tagged(proc.stdout, "parent")
    labels = [line for line in proc.stderr.splitlines() if line.startswith("GMEM Report of pid")]
    assert len(labels) == 1, proc.stderr
    assert labels[0].endswith(f"(started by pid {parent})")


POOL = """
    import gc, multiprocessing, os, sys

    def work(n):
        for _ in range(n):
            gc.collect()
        return os.getpid()

    if __name__ == "__main__":
        ctx = multiprocessing.get_context(sys.argv[1])
        pool = ctx.Pool(2)
        pids = set(pool.map(work, [3] * 8, chunksize=1))
        pool.close()
        pool.join()
        print("workers", *sorted(pids))
        print("parent", os.getpid())
"""


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_pool_workers_are_in_the_tree(tmp_path, method):
    if method not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    script = write_script(tmp_path, POOL)
    proc = run(
        [launcher_path(), "run", *JSON, "--follow-children", "-o", "cap", script, method],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    workers = tagged(proc.stdout, "workers")
    (parent,) = tagged(proc.stdout, "parent")
    tree, _ = tree_of(captures(tmp_path))
    procs = by_pid(tree)
    assert tree["processes"][0]["pid"] == parent
    for worker in workers:
        # Its own work only: three collections a task, at least one task.
        assert procs[worker]["collections"] >= 3, procs[worker]
        # Below the parent: directly (fork, spawn) or through the forkserver.
        ancestors = []
        at = procs[worker]
        while at["parent_index"] is not None:
            at = tree["processes"][at["parent_index"]]
            ancestors.append(at["pid"])
        assert ancestors[-1] == parent
        assert len(ancestors) == (2 if method == "forkserver" else 1)
    if method == "spawn":
        # A spawned worker exits through python's shutdown: its status is known.
        assert {procs[w]["ended"] for w in workers} == {"exited"}
    if method == "fork":
        # A fork worker marks its capture ended after its report, then leaves
        # by os._exit with a status it cannot see: exited, status unknown.
        assert {(procs[w]["ended"], procs[w]["exit_status"]) for w in workers} == {
            ("exited", None)
        }
        table = report(captures(tmp_path), "--stats-only").splitlines()
        for worker in workers:
            (row,) = [line for line in table if line.split()[:1] == [str(worker)]]
            assert "exited (os._exit)" in row, table


def other_python():
    """An installed CPython of another minor version, or None."""
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    root = Path("/root/.pyenv/versions")
    if not root.is_dir():
        return None
    for version in sorted(root.iterdir()):
        parts = version.name.split(".")
        python = version / "bin" / "python"
        if (
            len(parts) == 3
            and parts[0] == "3"
            and parts[1].isdigit()
            and int(parts[1]) >= 9
            and not version.name.startswith(mine + ".")
            and python.exists()
        ):
            return python
    return None


def test_a_followed_python_that_cannot_load_core_warns_once_and_runs(tmp_path):
    # A .pth file is read only from a site directory (PYTHONPATH entries are
    # not), so another interpreter meets ours only through a site directory
    # shared between versions, as Debian's dist-packages is: addsitedir()
    # stands in for that here.  Its python cannot load our _core.
    other = other_python()
    if other is None:
        pytest.skip("no CPython of another version installed")
    site = sysconfig.get_paths()["purelib"]
    if not (Path(site) / "pygcprofiler-follow-children.pth").exists():
        pytest.fail(f"the start-up hook is not installed in {site}")
    script = write_script(
        tmp_path,
        f"""
        import os, subprocess, sys
        code = ("import site, sys; site.addsitedir({site!r}); "
                "print('other ran', sys.version_info[1])")
        done = subprocess.run([{str(other)!r}, "-c", code], capture_output=True, text=True)
        sys.stdout.write(done.stdout)
        sys.stdout.write("status %d\\n" % done.returncode)
        sys.stdout.write("child stderr " + repr(done.stderr) + "\\n")
        """,
    )
    proc = run(
        [launcher_path(), "run", *JSON, "--follow-children", "-o", "cap", script], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "other ran " in proc.stdout, proc.stdout
    assert tagged(proc.stdout, "status") == [0]
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("child stderr ")]
    child_stderr = eval(line[len("child stderr ") :])  # noqa: S307 (our own repr)
    warnings = child_stderr.splitlines()
    assert len(warnings) == 1, child_stderr
    assert warnings[0].startswith("pygcprofiler: warning: pid ")
    assert "runs unmonitored: cannot import gc_monitor._core" in warnings[0]
    assert [Path(p).name for p in captures(tmp_path)] == ["cap"]


def test_the_hook_does_nothing_outside_a_followed_run(tmp_path):
    # The variable alone, as a user might leave it in a shell, starts nothing.
    env = clean_env(PYGCPROFILER_CONFIG="follow-children=1")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; print(sorted(m for m in sys.modules if 'gc_mon' in m))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[]\n"
    assert proc.stderr == ""


def test_a_launcher_inside_a_followed_child_starts_one_monitor(tmp_path):
    # The inner launcher's own interpreter must not be started by the hook
    # as well: exactly one summary of the inner program, in its own stderr.
    script = write_script(
        tmp_path,
        f"""
        import subprocess, sys
        inner = subprocess.run([{str(launcher_path())!r}, "run", "--json", "--stats-only",
                                "-c", "import gc, os; gc.collect(); print('inner', os.getpid())"],
                               capture_output=True, text=True)
        sys.stdout.write(inner.stdout)
        sys.stdout.write("inner-stderr " + repr(inner.stderr) + "\\n")
        """,
    )
    proc = run([launcher_path(), "run", *JSON, "--follow-children", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (inner,) = tagged(proc.stdout, "inner")
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("inner-stderr ")]
    inner_stderr = eval(line[len("inner-stderr ") :])  # noqa: S307 (our own repr)
    assert set(summaries(inner_stderr)) == {inner}


def test_merged_report_of_captures_whose_pids_form_a_cycle(tmp_path):
    # Captures are untrusted: two that name each other as parent (and a
    # third, its own parent) must still give one table, each listed once.
    script = write_script(tmp_path, "import gc; gc.collect()\n")
    proc = run([launcher_path(), "run", *JSON, "-o", "cap", script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = (tmp_path / "cap").read_bytes()
    pid_at, ppid_at = 40, 48  # gcm_header.pid and .ppid (docs/capture-format.md)
    files = []
    for n, (pid, ppid) in enumerate([(1001, 1002), (1002, 1001), (1003, 1003)]):
        patched = bytearray(data)
        patched[pid_at : pid_at + 8] = pid.to_bytes(8, sys.byteorder, signed=True)
        patched[ppid_at : ppid_at + 8] = ppid.to_bytes(8, sys.byteorder, signed=True)
        path = tmp_path / f"cycle.{n}"
        path.write_bytes(bytes(patched))
        files.append(str(path))
    tree, _ = tree_of(files)
    assert sorted(p["pid"] for p in tree["processes"]) == [1001, 1002, 1003]
    assert tree["totals"]["processes"] == 3
    text = report(files, "--stats-only")
    assert text.startswith("=== PROCESS TREE: 3 processes ===\n")


def test_fork_child_of_a_followed_python_records_its_exit_status(tmp_path):
    # No bootstrap on the grandchild's stack: its exit status reaches its
    # capture through exit(3) alone.
    child_code = (
        "import gc, os, sys\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    gc.collect()\n"
        "    sys.exit(3)\n"
        "os.waitpid(pid, 0)\n"
        "print('forked', pid, flush=True)\n"
        "print('followed', os.getpid(), flush=True)\n"
    )
    script = write_script(
        tmp_path,
        f"""
        import subprocess, sys
        out = subprocess.run([sys.executable, "-c", {child_code!r}], check=True,
                             capture_output=True, text=True).stdout
        sys.stdout.write(out)
        """,
    )
    proc = run(
        [launcher_path(), "run", *JSON, "--follow-children", "-o", "cap", script], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    (followed,) = tagged(proc.stdout, "followed")
    (forked,) = tagged(proc.stdout, "forked")
    tree, _ = tree_of(captures(tmp_path))
    procs = by_pid(tree)
    assert procs[forked]["ppid"] == followed
    assert procs[forked]["depth"] == 2
    assert (procs[forked]["ended"], procs[forked]["exit_status"]) == ("exited", 3)
    assert procs[forked]["collections"] >= 1
    assert (procs[followed]["ended"], procs[followed]["exit_status"]) == ("exited", 0)
