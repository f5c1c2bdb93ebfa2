"""Fork: a child reports only its own collections, and never writes into its parent's events.

Each test runs its program in a fresh interpreter, because the child must
exit the way real programs do (sys.exit, atexit) without taking pytest along.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")


def _summaries(stderr: str) -> list[dict]:
    out = []
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("{"):
            obj = json.loads(line)
            if obj.get("type") == "summary":
                out.append(obj)
    return out


def test_child_exiting_with_sys_exit_reports_only_its_own_collections(run_python):
    proc = run_python(
        """
        import gc, os, sys, warnings
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
        from gc_monitor import GCMonitor
        gc.disable()
        monitor = GCMonitor(json_output=True)
        for _ in range(5):
            gc.collect()
        pid = os.fork()
        if pid == 0:
            for _ in range(2):
                gc.collect()
            print("child", os.getpid(), flush=True)
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        gc.collect()
        monitor.stop_monitoring()
        print("parent", os.getpid(), flush=True)
        """
    )
    pids = dict(line.split() for line in proc.stdout.splitlines())
    child, parent = int(pids["child"]), int(pids["parent"])
    by_pid = {s["pid"]: s for s in _summaries(proc.stderr)}
    assert set(by_pid) == {child, parent}
    assert by_pid[parent]["count"] == 6
    # The child's report starts from its own fork: none of the parent's five.
    # Interpreter shutdown may add a collection of its own.
    assert by_pid[child]["count"] in (2, 3)
    assert by_pid[child]["gen2"]["count"] == by_pid[child]["count"]


def test_collections_in_after_fork_hooks_never_reach_the_parents_block(run_python):
    proc = run_python(
        """
        import gc, json, os, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        monitors = []
        seen_in_hook = []

        def collect_in_child():
            # Registered before gc_monitor is imported, so it runs before the
            # monitor's own hook: the recorder is still detached here.
            for _ in range(3):
                gc.collect()
            seen_in_hook.append(monitors[0].snapshot())

        os.register_at_fork(after_in_child=collect_in_child)
        from gc_monitor import GCMonitor
        gc.disable()
        monitors.append(GCMonitor())
        for _ in range(4):
            gc.collect()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            fresh = monitors[0].snapshot()
            gc.collect()
            after = monitors[0].stop_monitoring(write_report=False)
            os.write(w, json.dumps([seen_in_hook[0], fresh, after, os.getpid()]).encode())
            os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            data = f.read()
        os.waitpid(pid, 0)
        parent = monitors[0].stop_monitoring(write_report=False)
        print(json.dumps({"child": json.loads(data), "parent": parent, "pid": os.getpid()}))
        """
    )
    result = json.loads(proc.stdout)
    in_hook, fresh, after, child_pid = result["child"]
    # Even before the monitor's own hook ran, a snapshot in the child shows
    # the child alone: none of the parent's four events, and the three
    # collections made while detached counted as dropped, not recorded.
    assert in_hook["pid"] == child_pid != result["pid"]
    assert in_hook["count"] == 0
    assert in_hook["dropped_stops"] == 3
    # The hook found the recorder already on its own block and left it alone.
    assert fresh["pid"] == child_pid
    assert fresh["count"] == 0
    assert fresh["dropped_stops"] == 3
    assert after["count"] == 1
    assert result["parent"]["count"] == 4
    assert result["parent"]["dropped_stops"] == 0


def test_child_killed_with_os_exit_leaves_the_parent_report_alone(run_python):
    proc = run_python(
        """
        import gc, os, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        from gc_monitor import GCMonitor
        gc.disable()
        monitor = GCMonitor(json_output=True)
        gc.collect()
        pid = os.fork()
        if pid == 0:
            gc.collect()
            os._exit(0)
        os.waitpid(pid, 0)
        monitor.stop_monitoring()
        """
    )
    summaries = _summaries(proc.stderr)
    assert len(summaries) == 1
    assert summaries[0]["count"] == 1


def test_fork_from_c_without_python_hooks_still_reports_the_child_alone(run_python):
    proc = run_python(
        """
        import ctypes, gc, json, os, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        from gc_monitor import GCMonitor
        gc.disable()
        monitor = GCMonitor()
        for _ in range(3):
            gc.collect()
        r, w = os.pipe()
        # libc's fork(): pthread_atfork handlers run, os.register_at_fork hooks do not.
        pid = ctypes.CDLL(None, use_errno=True).fork()
        if pid == 0:
            for _ in range(2):
                gc.collect()
            first = monitor.snapshot()
            gc.collect()
            second = monitor.stop_monitoring(write_report=False)
            os.write(w, json.dumps([first, second, os.getpid()]).encode())
            os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            data = json.loads(f.read())
        os.waitpid(pid, 0)
        print(json.dumps({"child": data, "parent": monitor.stop_monitoring(write_report=False)}))
        """
    )
    result = json.loads(proc.stdout)
    first, second, child_pid = result["child"]
    assert first["pid"] == second["pid"] == child_pid
    assert first["count"] == 0
    assert first["dropped_stops"] == 2
    assert second["count"] == 1
    assert result["parent"]["count"] == 3
