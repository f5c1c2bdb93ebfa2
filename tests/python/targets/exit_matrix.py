"""A program whose report is interrupted by signals: test_exit_paths.py runs it.

    python exit_matrix.py WAY SIGNALS MODE [threads]

WAY is how the report starts (how the process, or the child that reports,
ends), SIGNALS what lands inside the report, MODE "monitored" (under the
launcher, or with a library GCMonitor) or "plain" (plain python, no monitor).

Inside the report: the report flushes sys.stdout before it writes, and
sys.stdout here is a wrapper whose flush() calls land() once armed; the
program arms it just before the report starts.  Under plain python land() is
called where the report would have ended: from an atexit hook (python's
finalisation), from a multiprocessing finalizer of the same priority as the
report's, or right where stop_monitoring() would have been called.

Each process that must report prints "reporter PID"; a parent prints
"child_status N" for the child that ended by the WAY under test.
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import subprocess
import sys
import threading
import time

WAY, SIGNALS, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
THREADS = len(sys.argv) > 4 and sys.argv[4] == "threads"
MONITORED = MODE == "monitored"
LIBRARY = WAY.startswith("lib_")

alarms = 0


def on_alarm(signum, frame):
    global alarms
    alarms += 1
    if alarms >= 50:
        signal.setitimer(signal.ITIMER_REAL, 0)


# The library monitor of the lib_* ways (monitored), for "handler_stops".
MONITOR = None


def stop_and_exit(signum, frame):
    # The natural way to get a report on SIGTERM from the library, which
    # installs no handler.
    if MONITOR is not None:
        MONITOR.stop_monitoring()
    sys.exit(7)


def install_handlers():
    """The program's own handlers, per SIGNALS."""
    if SIGNALS == "handler_exit":
        # The common one-liner of container programs.
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))
    elif SIGNALS == "handler_stops":
        signal.signal(signal.SIGTERM, stop_and_exit)
    elif SIGNALS == "alarm":
        signal.signal(signal.SIGALRM, on_alarm)


def land():
    """Sends what SIGNALS names to this process."""
    me = os.getpid()
    if SIGNALS in ("term", "handler_exit", "handler_stops"):
        os.kill(me, signal.SIGTERM)
    elif SIGNALS == "term_twice":
        os.kill(me, signal.SIGTERM)
        os.kill(me, signal.SIGTERM)
    elif SIGNALS == "hup":
        os.kill(me, signal.SIGHUP)
    elif SIGNALS == "int":
        os.kill(me, signal.SIGINT)
    elif SIGNALS == "alarm":
        signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    elif SIGNALS == "fork_thread":
        thread = threading.Thread(target=fork_and_wait)
        thread.start()
        thread.join()
    else:
        raise SystemExit(f"unknown SIGNALS {SIGNALS!r}")


def fork_and_wait():
    """Forks from a thread other than the main one (which is inside the report,
    when monitored); the child records, then is sent SIGTERM.  Under the
    launcher it reports before it dies; the library installs no handler."""
    pid = os.fork()
    if pid == 0:
        if not LIBRARY:
            os.write(1, f"reporter {os.getpid()}\n".encode())
        gc.collect()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
        os._exit(99)  # SIGTERM was ignored
    _, status = os.waitpid(pid, 0)
    os.write(1, f"child_status {os.waitstatus_to_exitcode(status)}\n".encode())


class ArmedStdout:
    """sys.stdout whose next flush() lands the signals, once armed."""

    def __init__(self, stream):
        self.stream = stream
        self.armed = False

    def write(self, text):
        return self.stream.write(text)

    def flush(self):
        if self.armed:
            self.armed = False
            land()
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def arm():
    """Lands the signals inside the coming report (monitored) or where it
    would have ended (plain: an atexit hook, python's finalisation)."""
    if MONITORED:
        sys.stdout.armed = True
    elif SIGNALS == "fork_thread":
        # Python 3.12 starts no thread in an atexit hook: fork now, at the
        # end of the target, which is where the report starts.
        land()
    else:
        atexit.register(land)


# Set at exit: the allocating threads stop before python finalises (daemon
# threads still allocating then can crash CPython 3.10 in plain python too),
# but after the launcher's report, which comes before the atexit hooks.
stop_churning = threading.Event()


def churn():
    junk = []
    while not stop_churning.is_set():
        a, b = [], []
        a.append(b)
        b.append(a)
        junk.append(a)
        if len(junk) > 1000:
            junk.clear()


def start_threads():
    if THREADS:
        threads = [threading.Thread(target=churn, daemon=True) for _ in range(4)]
        for thread in threads:
            thread.start()

        def stop():
            stop_churning.set()
            for thread in threads:
                thread.join()

        atexit.register(stop)


def say(*words):
    print(*words, flush=True)


def end_like_way(way):
    """Ends the current process the way WAY names (first-process ways)."""
    arm()
    if way == "normal":
        return
    if way == "sys_exit":
        sys.exit(5)
    if way == "exception":
        raise RuntimeError("the target fails")
    if way == "keyboard_interrupt":
        raise KeyboardInterrupt
    if way == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
    elif way == "sighup":
        os.kill(os.getpid(), signal.SIGHUP)
    raise SystemExit(f"unknown way {way!r}")


def worker_body():
    """The body of a multiprocessing worker: its report is a finalizer
    (fork, forkserver) or an atexit hook (spawn)."""
    if not isinstance(sys.stdout, ArmedStdout):
        # spawn and forkserver import this file as __mp_main__: no main().
        sys.stdout = ArmedStdout(sys.stdout)
    install_handlers()
    say("reporter", os.getpid())
    for _ in range(3):
        gc.collect()
    if not MONITORED:
        import multiprocessing.util as util

        if WAY == "mp_spawn":
            atexit.register(land)
        else:
            # Where the fork worker's report would have been.
            util.Finalize(None, land, exitpriority=-100)
    elif WAY == "mp_spawn":
        # The followed worker reports from its atexit hook: arm in one that
        # runs just before it.
        atexit.register(lambda: setattr(sys.stdout, "armed", True))
    else:
        import multiprocessing.util as util

        # The report is a finalizer of priority -100; this one runs just
        # before it (and after the worker's own flush of its streams, which
        # 3.13 does before it runs the finalizers).
        util.Finalize(None, lambda: setattr(sys.stdout, "armed", True), exitpriority=-99)


def run_multiprocessing(method):
    import multiprocessing

    ctx = multiprocessing.get_context(method)
    proc = ctx.Process(target=worker_body)
    proc.start()
    proc.join(60)
    if proc.exitcode is None:
        proc.kill()
        say("child_status hung")
    else:
        say("child_status", proc.exitcode)


def followed_child_code():
    return (
        "import atexit, sys\n"
        f"sys.argv = [{__file__!r}, 'child', {SIGNALS!r}, {MODE!r}]\n"
        f"exec(compile(open({__file__!r}).read(), {__file__!r}, 'exec'))\n"
    )


def child_of_subprocess():
    """A python the program started: followed under --follow-children."""
    install_handlers()
    say("reporter", os.getpid())
    gc.collect()
    if MONITORED:
        atexit.register(lambda: setattr(sys.stdout, "armed", True))
    else:
        atexit.register(land)


def main():
    sys.stdout = ArmedStdout(sys.stdout)
    if WAY == "child":
        child_of_subprocess()
        return
    global MONITOR
    monitor = None
    if LIBRARY and MONITORED:
        from gc_monitor import GCMonitor

        monitor = MONITOR = GCMonitor(json_output=True, stats_only=True)
    install_handlers()
    start_threads()
    gc.collect()
    if not LIBRARY:
        say("reporter", os.getpid())

    if WAY == "fork":
        pid = os.fork()
        if pid == 0:
            say("reporter", os.getpid())
            gc.collect()
            arm()
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        say("child_status", os.waitstatus_to_exitcode(status))
        return
    if WAY.startswith("mp_"):
        run_multiprocessing(WAY[3:])
        return
    if WAY == "subprocess":
        proc = subprocess.run([sys.executable, "-c", followed_child_code()], timeout=60)
        say("child_status", proc.returncode)
        return
    if WAY == "lib_atexit":
        say("reporter", os.getpid())
        if MONITORED:
            # atexit runs last-in first-out: this runs just before the
            # monitor's hook (python flushes stdout once the script is done).
            atexit.register(lambda: setattr(sys.stdout, "armed", True))
        else:
            atexit.register(land)
        return
    if WAY == "lib_stop":
        say("reporter", os.getpid())
        if MONITORED:
            sys.stdout.armed = True
            monitor.stop_monitoring()
        else:
            land()
        say("after_stop")
        return
    if WAY == "lib_with":
        say("reporter", os.getpid())
        if MONITORED:
            from gc_monitor import GCMonitor

            monitor.stop_monitoring(write_report=False)
            with GCMonitor(json_output=True, stats_only=True) as MONITOR:
                gc.collect()
                sys.stdout.armed = True
        else:
            gc.collect()
            land()
        say("after_with")
        return
    end_like_way(WAY)


if __name__ == "__main__":
    main()
