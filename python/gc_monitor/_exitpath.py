"""Signals held back while the main thread writes a report.

A report is written once per process; which way in comes first (the end of
the program, a signal, an atexit hook, a multiprocessing finalizer, the
library's stop_monitoring()) is settled in C by Recorder.report_begin() and
report_end(), a state machine with no lock (docs/architecture.md, "The
report's state machine").  What C cannot settle is Python's signal handlers:
CPython runs them in the main thread between any two bytecodes, so while the
main thread writes a report a handler could run inside it and raise
SystemExit or KeyboardInterrupt out of it (the report is lost), re-enter it,
or a default action could kill the process before the report is out.

hold() swaps every handler that could do so for one that only notes the
signal; release() puts them back and then delivers what arrived, in order:
each signal takes effect once the report is written, exactly as python would
have acted on it then.  Only the main thread holds: handlers never run in
another thread, so a report written there needs nothing.

A fork child of a process that was holding (another thread forked) inherits
the swapped handlers: the at-fork hook gives it the real ones back, and the
noting handler does the same for a fork made from C, which skips the hook.
"""

from __future__ import annotations

import os
import sys

from gc_monitor import _core

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal
    from types import FrameType, TracebackType
    from typing import Any
else:
    import _signal

# Signals whose default action ends the process: held too, so that the report
# is written before one of them kills it.  Not the synchronous faults
# (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT): they cannot wait.
_HELD_DEFAULTS = frozenset(
    getattr(_signal, name)
    for name in ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM")
    if hasattr(_signal, name)
)

# A pending signal's handler runs inside signal.signal() itself; a swap it
# interrupts is tried again, a few times at most.
_SWAP_TRIES = 3

_OWN_DIR = os.path.dirname(os.path.abspath(__file__))


class _Hold:
    """The handlers a report swapped out, and the signals that arrived meanwhile."""

    __slots__ = ("arrived", "pid", "raised", "saved")

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.saved: dict[int, Any] = {}
        self.arrived: list[int] = []
        self.raised: BaseException | None = None

    def note(self, signum: int, frame: FrameType | None) -> None:
        if os.getpid() != self.pid:
            # A fork child that a fork from C left with our handler.
            _after_fork_child()
            _signal.raise_signal(signum)
            return
        if signum not in self.arrived:
            self.arrived.append(signum)

    def keep(self, exc: BaseException) -> None:
        if self.raised is None:
            self.raised = exc


# The hold of the report this process's main thread is writing, if any.
_active: _Hold | None = None
_fork_hook_registered = False


def _in_main_thread() -> bool:
    # Without threading imported, no thread was started the usual way; the
    # first swap's ValueError still catches any other.
    threading: Any = sys.modules.get("threading")
    if threading is None:
        return True
    try:
        return bool(threading.main_thread().ident == threading.get_ident())
    except Exception:
        return False


def _swap(held: _Hold, signum: int, handler: Any) -> bool:
    """Installs `handler` for `signum`; False when this thread may not (not the main one)."""
    for _ in range(_SWAP_TRIES):
        try:
            _signal.signal(signum, handler)
        except ValueError:
            return False
        except (OSError, RuntimeError):
            return True
        except BaseException as exc:  # a pending handler ran inside signal.signal()
            held.keep(exc)
            continue
        return True
    return True


def hold() -> _Hold | None:
    """Holds back the handlers that could interrupt a report of the calling thread.

    Returns the hold for release(), or None when nothing needs holding: in a
    thread other than the main one, or when a report of this thread holds
    them already.  Never raises.
    """
    global _active, _fork_hook_registered
    if _active is not None or not _in_main_thread():
        return None
    held = _Hold()
    try:
        signums = sorted(_signal.valid_signals())
    except (AttributeError, OSError, ValueError):
        return None
    # Set first: a handler that runs during the swaps finds the hold.
    _active = held
    for signum in signums:
        try:
            current = _signal.getsignal(signum)
        except (OSError, ValueError):
            continue
        if current is None or current == _signal.SIG_IGN:
            continue
        if current == _signal.SIG_DFL and signum not in _HELD_DEFAULTS:
            continue
        if not _swap(held, signum, held.note):
            break
        held.saved[signum] = current
    if not _fork_hook_registered:
        os.register_at_fork(after_in_child=_after_fork_child)
        _fork_hook_registered = True
    return held


def defer(signum: int) -> bool:
    """Delivers `signum` once the report being written by this thread is done.

    For the bootstrap's own handler, when it finds that it interrupted that
    report.  Returns False when no report of this process holds signals.
    """
    held = _active
    if held is None or held.pid != os.getpid():
        return False
    if signum not in held.arrived:
        held.arrived.append(signum)
    return True


def release(held: _Hold, deliver: bool = True) -> BaseException | None:
    """Puts back the handlers `held` swapped out, then delivers the signals that arrived.

    A signal whose handler is the default action ends the process here (its
    capture marked "killed by"); any other runs its handler.  Returns the
    first exception a handler raised, for the caller to raise where python
    would have: never raises it itself.  With `deliver` false the signals
    are dropped: the caller is about to die by an earlier one, as python
    would have died before they came.
    """
    global _active
    for signum, handler in held.saved.items():
        try:
            if _signal.getsignal(signum) != held.note:
                continue  # the program chose another handler meanwhile
        except (OSError, ValueError):
            continue
        _swap(held, signum, handler)
    if _active is held:
        _active = None
    for signum in held.arrived if deliver else ():
        try:
            handler = _signal.getsignal(signum)
            if handler == _signal.SIG_DFL:
                _core.die_by_signal(signum)
            elif handler is not None and handler != _signal.SIG_IGN:
                _signal.raise_signal(signum)
        except BaseException as exc:
            held.keep(exc)
    return held.raised


def _after_fork_child() -> None:
    """Gives a fork child the handlers its parent's report had swapped out.

    The signals that had arrived were the parent's, not the child's.
    """
    global _active
    held = _active
    if held is None or held.pid == os.getpid():
        return
    _active = None
    for signum, handler in held.saved.items():
        try:
            if _signal.getsignal(signum) == held.note:
                _signal.signal(signum, handler)
        except BaseException:  # the child's own handlers are its business
            pass


def without_own_frames(exc: BaseException) -> BaseException:
    """`exc` with the frames of this package dropped from its traceback.

    A handler's exception delivered after a report is shown as python shows
    one from an atexit hook or a finalizer: the user's frames, not ours.
    """
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and os.path.dirname(tb.tb_frame.f_code.co_filename) == _OWN_DIR:
        tb = tb.tb_next
    return exc.with_traceback(tb)
