"""The ways into a process's report that the library alone lacks.

The launcher's bootstrap (the first process) and the start-up hook of
--follow-children (every interpreter below it) each make one Reporter for the
monitor they started.  It adds a SIGTERM or SIGHUP that would otherwise kill
the process silently, and the finalizer of a multiprocessing fork worker,
which never runs atexit; the bootstrap also calls report() when the target
is over.  Importing this module does nothing: it only defines them.
"""

from __future__ import annotations

import os
import sys

from gc_monitor import _core, _exitpath
from gc_monitor.monitor import _REENTERED

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

    from gc_monitor.monitor import GCMonitor

# The builtin _signal is already loaded at start-up (signal.py would import
# enum and more); it has the functions needed here, and signal.py's types
# describe them.
if TYPE_CHECKING:
    import signal as _signal
else:
    import _signal

# Signals whose default action ends the process without python noticing, so
# that no report would be written.  SIGINT is not among them: python turns it
# into KeyboardInterrupt, which the bootstrap reports.  Any other signal
# (SIGUSR1 to begin with) is the program's business alone.
_REPORT_SIGNALS = ("SIGTERM", "SIGHUP")
# Signals whose default action ends the process, for a program that sends
# one to itself (watch_self_signals).
_SELF_FATAL_SIGNALS = (
    "SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGABRT",
    "SIGPIPE",
)


class Reporter:
    """Gives this process's report the ways in that the library alone lacks.

    The ways in are the end of the target (the bootstrap's main), a SIGTERM
    or SIGHUP that would otherwise kill the process silently, and the
    finalizer of a multiprocessing fork worker; the monitor's atexit hook and
    the library's calls are the others.  All of them go through
    GCMonitor._stop(), whose state machine writes the report once per process
    and holds signals back while it is written (_exitpath).  A fork child
    inherits the reporter and writes its own report.
    """

    def __init__(self, monitor: GCMonitor) -> None:
        self.monitor = monitor
        self.installed: list[int] = []
        self.handler = self._on_signal
        monitor._after_report = self._hand_back

    def report(self) -> BaseException | None:
        """Writes the report unless it is written; returns what a signal
        handler raised meanwhile, for the caller to treat as python would."""
        try:
            _turn, _final, raised = self.monitor._stop()
        except BaseException as exc:  # the program's outcome matters more
            return exc
        return raised

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        _core.nudge_done(signum)
        try:
            # Signals that arrive while it reports are dropped: the process
            # dies by this one, as it would have before they came.
            turn, _final, _raised = self.monitor._stop(deliver=False)
            # This handler interrupted the report of its own thread: the
            # signal takes effect once that report is written.
            if turn == _REENTERED and _exitpath.defer(signum):
                return
        except BaseException:  # dying by the signal matters more
            pass
        _core.die_by_signal(signum)

    def install_signal_handlers(self) -> None:
        """Takes SIGTERM and SIGHUP only where their inherited action is the default.

        An ignored signal (nohup) stays ignored, and a program that installs
        its own handler later (uvicorn, gunicorn) simply replaces ours.
        """
        for name in _REPORT_SIGNALS:
            signum: int | None = getattr(_signal, name, None)
            if signum is None:
                continue
            try:
                if _signal.getsignal(signum) == _signal.SIG_DFL:
                    _signal.signal(signum, self.handler)
                    self.installed.append(signum)
                    # Python acts on a signal between bytecodes: one noted just
                    # before a blocking call would wait for it to return.
                    _core.nudge_signal(signum)
            except (OSError, ValueError):
                pass

    def _hand_back(self) -> None:
        """Once the report is written, hands our signals back to their default action.

        What replaces our handler is a C one that marks a capture "killed by"
        the signal and then lets the default action end the process: unlike a
        Python handler it also acts late in finalisation, when python runs
        none.  Outside the main thread the Python handler stays, and dies by
        the signal the same way.
        """
        mine: list[int] = []
        for signum in self.installed:
            try:
                if _signal.getsignal(signum) == self.handler:
                    mine.append(signum)
            except (OSError, ValueError):
                pass
        try:
            _core.arm_exit_signals(mine)
        except BaseException:  # not the main thread, or a pending handler raised
            return
        self.installed = []

    def watch_self_signals(self) -> None:
        """Reports a process that sends itself a signal that will end it.

        A program that shuts down gracefully on SIGTERM and then re-raises it
        (uvicorn: signal.raise_signal after putting back the handler it
        replaced) dies by the signal's default action: no report, no exit
        status, and, when the report was written earlier, our C handler that
        marks the capture already replaced by SIG_DFL.  So os.kill, os.killpg
        and signal.raise_signal are wrapped: when the signal's action is the
        default one that ends the process, the report is written (once) and
        the capture marked "killed by" the signal just before it is sent.
        Anything else passes through untouched.
        """
        fatal = {getattr(_signal, name, None) for name in _SELF_FATAL_SIGNALS}
        fatal.discard(None)
        reporter = self

        def before(pid: int, signum: int) -> None:
            if signum not in fatal or pid not in (0, os.getpid()):
                return
            try:
                if _signal.getsignal(signum) != _signal.SIG_DFL:
                    return
                if signum in _signal.pthread_sigmask(_signal.SIG_BLOCK, ()):
                    return
                reporter.report()
                _core.note_exit_signal(signum)
            except BaseException:  # the program's own call matters more
                pass

        def before_kill(pid: int, signum: int, /) -> None:
            before(pid, signum)

        def before_raise(signum: int, /) -> None:
            before(0, signum)

        def before_killpg(pgid: int, signum: int, /) -> None:
            try:
                own = pgid in (0, os.getpgrp())
            except OSError:
                own = False
            if own:
                before(0, signum)

        # C callables: no frame of ours in a traceback that passes through them.
        kill = _core.called_after("kill", before_kill, os.kill)
        killpg = _core.called_after("killpg", before_killpg, os.killpg)
        real_raise = _signal.raise_signal
        raise_signal = _core.called_after("raise_signal", before_raise, real_raise)
        os.killpg = killpg
        os.kill = kill
        # signal.py copies _signal's names when it is imported: both, so the
        # program finds the wrapper whether it imported signal already or not.
        _signal.raise_signal = raise_signal
        imported: Any = sys.modules.get("signal")
        if imported is not None and getattr(imported, "raise_signal", None) is real_raise:
            imported.raise_signal = raise_signal

    def watch_multiprocessing(self) -> None:
        """Reports multiprocessing's fork workers, which never run atexit.

        A worker ends with os._exit (3.8-3.12) or after atexit._clear()
        (3.13+); what it does run is multiprocessing.util's finalizers, after
        clearing the ones it inherited and calling the after-fork callbacks.
        So just before a fork, if the program has imported multiprocessing
        (we never import it ourselves), an after-fork callback is registered
        once; in the worker it registers the report as a finalizer.  spawn
        and forkserver workers are new interpreters, monitored only with
        --follow-children (_autostart).
        """
        registered: list[bool] = []

        def before_fork() -> None:
            util: Any = sys.modules.get("multiprocessing.util")
            if registered or util is None:
                return
            registered.append(True)
            try:
                util.register_after_fork(self, _register_worker_report)
            except Exception:  # an unexpected multiprocessing: no worker reports
                pass

        os.register_at_fork(before=before_fork)


def _register_worker_report(reporter: Reporter) -> None:
    """Runs in a multiprocessing fork worker: the report becomes a finalizer.

    A negative exit priority runs it after multiprocessing's own finalizers
    (queue feeder threads and the like), so their collections are counted.
    """
    util: Any = sys.modules.get("multiprocessing.util")
    if util is not None:
        hook = _core.reraising(_worker_exit)
        util.Finalize(None, hook, args=(reporter,), exitpriority=-100)


def _worker_exit(reporter: Reporter) -> BaseException | None:
    """A fork worker's last words: its report, then its capture marked as ended.

    The worker then leaves by os._exit, which skips the exit handler that
    records a status (src/ext/exit.c); the status multiprocessing passes to
    os._exit is a local of its own by now, so the capture says "exited, status
    unknown" rather than leave readers to take the worker for killed.  What a
    signal handler raised during the report comes out of the finalizer (the
    reraising wrapper raises what this returns), where multiprocessing treats
    it as it would without us.
    """
    raised = reporter.report()
    try:
        reporter.monitor._recorder.mark_exited(None)
    except BaseException:  # the worker's outcome matters more
        pass
    if isinstance(raised, (SystemExit, KeyboardInterrupt)):
        return _exitpath.without_own_frames(raised)
    return None
