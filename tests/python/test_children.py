"""Child processes under `pygcprofiler run`: each fork child reports itself.

A child that ends through interpreter shutdown (os.fork + sys.exit) or as a
multiprocessing fork worker (os._exit, atexit cleared on 3.13+) writes its own
report, labelled with its pid and holding only its own collections.  With
--log-file the child writes a derived file (gc.<pid>.log), created afresh,
never through a planted symlink.  Every multiprocessing test names its start
method: 3.14 changed the default on Linux from fork to forkserver.
"""

from __future__ import annotations

import os
import sys

import pytest
from gcm_testing import JSON, launcher_path, run, summaries, tagged, write_script

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def launch(tmp_path, script, *options, args=()):
    return run([launcher_path(), "run", *(options or JSON), script, *args], cwd=tmp_path)


FORK_SYS_EXIT = """
    import gc, os, sys, warnings
    warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
    for _ in range(5):
        gc.collect()
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            gc.collect()
            gc.collect()
            sys.exit(0)
        children.append(pid)
    for pid in children:
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    print("children", *children)
    print("parent", os.getpid())
"""


def test_fork_children_exiting_normally_report_themselves(tmp_path):
    script = write_script(tmp_path, FORK_SYS_EXIT)
    proc = launch(tmp_path, script)
    assert proc.returncode == 0, proc.stderr
    children = tagged(proc.stdout, "children")
    (parent,) = tagged(proc.stdout, "parent")
    found = summaries(proc.stderr)
    assert set(found) == {parent, *children}
    assert found[parent]["gen2"]["count"] == 5
    for child in children:
        # Two of its own; none of the parent's five.
        assert found[child]["gen2"]["count"] == 2


def test_fork_children_write_derived_log_files(tmp_path):
    script = write_script(tmp_path, FORK_SYS_EXIT)
    log = tmp_path / "gc.log"
    proc = launch(tmp_path, script, *JSON, "--log-file", str(log))
    assert proc.returncode == 0, proc.stderr
    children = tagged(proc.stdout, "children")
    (parent,) = tagged(proc.stdout, "parent")
    assert summaries(proc.stderr) == {}
    # The parent's file keeps the start line and the parent's report only.
    assert set(summaries(log.read_text())) == {parent}
    assert '"type":"start"' in log.read_text()
    names = {p.name for p in tmp_path.iterdir() if p.name.startswith("gc.")}
    assert names == {"gc.log", *(f"gc.{c}.log" for c in children)}
    for child in children:
        path = tmp_path / f"gc.{child}.log"
        assert path.stat().st_mode & 0o777 == 0o600
        assert set(summaries(path.read_text())) == {child}


def test_child_log_file_never_follows_a_planted_symlink(tmp_path):
    # The parent plants a symlink at the child's derived name before the child
    # may finish; the child must write gc.<pid>.1.log and leave the victim alone.
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    script = write_script(
        tmp_path,
        f"""
        import gc, os, sys, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            os.read(r, 1)
            gc.collect()
            sys.exit(0)
        os.symlink({str(victim)!r}, f"gc.{{pid}}.log")
        os.write(w, b"x")
        os.waitpid(pid, 0)
        print("child", pid)
        """,
    )
    proc = launch(tmp_path, script, *JSON, "--log-file", "gc.log")
    assert proc.returncode == 0, proc.stderr
    (child,) = tagged(proc.stdout, "child")
    assert victim.read_text() == "untouched\n"
    assert (tmp_path / f"gc.{child}.log").is_symlink()
    assert set(summaries((tmp_path / f"gc.{child}.1.log").read_text())) == {child}


POOL = """
    import gc, multiprocessing, os, sys

    def work(n):
        for _ in range(n):
            gc.collect()
        return os.getpid()

    if __name__ == "__main__":
        ctx = multiprocessing.get_context(sys.argv[1])
        pool = ctx.Pool(2)
        pids = pool.map(work, [3] * 6, chunksize=1)
        if sys.argv[2] == "close":
            pool.close()
        else:
            pool.terminate()  # SIGTERM to the workers
        pool.join()
        print("tasks", *pids)
        print("parent", os.getpid())
"""


@pytest.mark.parametrize("ending", ["close", "terminate"])
def test_multiprocessing_fork_pool_workers_report(tmp_path, ending):
    script = write_script(tmp_path, POOL)
    proc = launch(tmp_path, script, args=("fork", ending))
    assert proc.returncode == 0, proc.stderr
    tasks = tagged(proc.stdout, "tasks")
    (parent,) = tagged(proc.stdout, "parent")
    found = summaries(proc.stderr)
    workers = set(found) - {parent}
    assert parent in found
    assert set(tasks) <= workers
    assert len(workers) == 2
    for worker in workers:
        # Three collections per task it ran; the parent's are not there.
        assert found[worker]["gen2"]["count"] >= 3 * tasks.count(worker)


def test_multiprocessing_fork_process_reports(tmp_path):
    script = write_script(
        tmp_path,
        """
        import gc, multiprocessing, os, sys

        def work():
            for _ in range(4):
                gc.collect()
            print("worker", os.getpid(), flush=True)

        if __name__ == "__main__":
            gc.collect()
            p = multiprocessing.get_context("fork").Process(target=work)
            p.start()
            p.join()
            print("exitcode", p.exitcode)
            print("parent", os.getpid())
        """,
    )
    log = tmp_path / "gc.log"
    proc = launch(tmp_path, script, *JSON, "--log-file", str(log))
    assert proc.returncode == 0, proc.stderr
    assert tagged(proc.stdout, "exitcode") == [0]
    (worker,) = tagged(proc.stdout, "worker")
    (parent,) = tagged(proc.stdout, "parent")
    assert set(summaries(log.read_text())) == {parent}
    child = summaries((tmp_path / f"gc.{worker}.log").read_text())
    assert set(child) == {worker}
    assert child[worker]["gen2"]["count"] == 4


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawned_workers_run_unmonitored(tmp_path, method):
    # New interpreters do not start through the bootstrap: only the parent is
    # reported (--follow-children is the option that covers them).
    script = write_script(tmp_path, POOL)
    proc = launch(tmp_path, script, args=(method, "close"))
    assert proc.returncode == 0, proc.stderr
    (parent,) = tagged(proc.stdout, "parent")
    assert set(summaries(proc.stderr)) == {parent}


def test_fork_child_ending_with_os_exit_is_not_reported(tmp_path):
    # Nothing runs after os._exit outside multiprocessing: documented, and the
    # parent's report is still its own.
    script = write_script(
        tmp_path,
        """
        import gc, os, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
        if pid == 0:
            gc.collect()
            os._exit(3)
        _, status = os.waitpid(pid, 0)
        print("status", os.WEXITSTATUS(status))
        print("parent", os.getpid())
        """,
    )
    proc = launch(tmp_path, script)
    assert proc.returncode == 0, proc.stderr
    assert tagged(proc.stdout, "status") == [3]
    (parent,) = tagged(proc.stdout, "parent")
    assert set(summaries(proc.stderr)) == {parent}


def test_sys_exit_status_of_a_child_is_its_own(tmp_path):
    script = write_script(
        tmp_path,
        """
        import os, sys, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
        if pid == 0:
            sys.exit(5)
        _, status = os.waitpid(pid, 0)
        print("status", os.WEXITSTATUS(status))
        """,
    )
    plain = run([sys.executable, script], cwd=tmp_path)
    under = launch(tmp_path, script)
    assert tagged(plain.stdout, "status") == tagged(under.stdout, "status") == [5]
    assert under.returncode == plain.returncode == 0


def test_text_reports_of_children_name_their_pid(tmp_path):
    # The text format has no pid of its own: a child's report says whose it is.
    script = write_script(tmp_path, FORK_SYS_EXIT)
    proc = launch(tmp_path, script, "--stats-only")
    assert proc.returncode == 0, proc.stderr
    children = tagged(proc.stdout, "children")
    (parent,) = tagged(proc.stdout, "parent")
    labels = [line for line in proc.stderr.splitlines() if line.startswith("GMEM Report of pid")]
    assert sorted(labels) == sorted(
        f"GMEM Report of pid {child} (forked from pid {parent})" for child in children
    )
    assert proc.stderr.count("=== GC MONITORING SUMMARY ===") == 3


def test_log_files_stay_where_named_after_chdir(tmp_path):
    # gunicorn --chdir and daemons change directory before they exit: the
    # reports still go where the relative --log-file pointed at start.
    (tmp_path / "elsewhere").mkdir()
    script = write_script(
        tmp_path,
        """
        import gc, os, sys, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        gc.collect()
        os.chdir("elsewhere")
        pid = os.fork()
        if pid == 0:
            gc.collect()
            sys.exit(0)
        os.waitpid(pid, 0)
        print("child", pid)
        print("parent", os.getpid())
        """,
    )
    proc = launch(tmp_path, script, *JSON, "--log-file", "gc.log")
    assert proc.returncode == 0, proc.stderr
    (child,) = tagged(proc.stdout, "child")
    (parent,) = tagged(proc.stdout, "parent")
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert set(summaries((tmp_path / "gc.log").read_text())) == {parent}
    assert set(summaries((tmp_path / f"gc.{child}.log").read_text())) == {child}
