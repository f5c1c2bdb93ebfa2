"""The launcher's bootstrap: runs the target exactly as ``python <target>`` would.

``pygcprofiler run [options] <target words>`` execs::

    <python> -c "...; gc_monitor._bootstrap.main(<fd>)" <target words>

with the configuration in the PYGCPROFILER_CONFIG environment variable and
<fd> the descriptor for the start lines (2, or the --log-file).
main() removes that variable (with --follow-children it puts the recorder's
configuration back for the interpreters the target starts, see _autostart),
starts the monitor before the target imports
anything, rewrites sys.argv, sys.orig_argv and sys.path[0] to what a direct
run would have, runs the target the way CPython's own main does (a script in
__main__, a directory or zip through runpy like ``python dir``, ``-m`` through
runpy._run_module_as_main like ``python -m``, ``-c`` as ``python -c``), and
then finishes like the interpreter: print an uncaught exception through
sys.excepthook without the bootstrap's frames, wait for non-daemon threads,
write the report, and exit with python's status.  A SIGTERM or SIGHUP whose
inherited action was the default writes the report and then kills the
process by the same signal; multiprocessing's fork workers report through a
multiprocessing.util finalizer (both through _reporter.Reporter).

Only os and sys are imported here at start-up (both are already loaded);
everything else is imported when, and only if, the target form needs it, so
the target's sys.modules stays close to a direct run's.  Importing this module
does nothing else: main() is the launcher's to call.
"""

from __future__ import annotations

import os
import stat
import sys

# typing and types are not loaded at start-up: importing them here would
# cost time and show up in the target's sys.modules.  mypy reads the names.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType, TracebackType
    from typing import Any, NoReturn

    from gc_monitor.monitor import GCMonitor

# The builtin _signal is already loaded at start-up (signal.py would import
# enum and more); it has the functions the bootstrap needs, and signal.py's
# types describe them.
if TYPE_CHECKING:
    import signal as _signal
else:
    import _signal

_LAUNCHER_NAMES = ("sys", "b")
_EXIT_USAGE = 2
_EXIT_BUDGET = 3

# Characters that never need quoting in a shell word (the start line shows
# the command the way a user would type it).
_SHELL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def _fail(message: str) -> NoReturn:
    """Reports bad input the launcher's way: one line, a hint, exit 2.

    A path in the message may hold bytes that are not UTF-8 (surrogates
    here): they are shown as \\xNN, as the launcher and the reports show them.
    """
    try:
        raw = message.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        raw = message.encode("utf-8", "backslashreplace")
    try:
        shown = raw.decode("utf-8", "backslashreplace")
        sys.stderr.write(f"error: {shown}\ntry 'pygcprofiler --help'\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    raise SystemExit(_EXIT_USAGE)


def _quote(word: str) -> str:
    if word and all(c in _SHELL_SAFE for c in word):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"


def _split_target(words: list[str]) -> tuple[str, str, list[str]]:
    """Splits the target words the way python's command line does.

    Returns (kind, target, args) where kind is "module", "code" or "script".
    The launcher has already checked the words, so this cannot fail.
    """
    first = words[0]
    if first == "--":
        # `run -- -x.py`: after "--" the next word is a script, as for python.
        return "script", words[1], words[2:]
    for flag, kind in (("-m", "module"), ("-c", "code")):
        if first == flag:
            return kind, words[1], words[2:]
        if first.startswith(flag):
            return kind, first[2:], words[1:]
    return "script", first, words[1:]


def _safe_path() -> bool:
    # -P and PYTHONSAFEPATH (3.11+): python then adds nothing for the target.
    return bool(getattr(sys.flags, "safe_path", 0))


def _set_path0(entry: str) -> None:
    """Puts the target's entry first on sys.path (the -c program removed '')."""
    if not _safe_path():
        sys.path.insert(0, entry)


def _get_importer(path: str) -> object:
    """PyImport_GetImporter: the path hook that accepts `path`, cached, or None."""
    cache = sys.path_importer_cache
    if path in cache:
        return cache[path]
    cache[path] = None
    for hook in sys.path_hooks:
        try:
            importer = hook(path)
        except ImportError:
            continue
        cache[path] = importer
        return importer
    return None


def _abspath(path: str) -> str:
    # Python joins the cwd without normalising ("./app.py" stays in __file__).
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


def _run_module_as_main(name: str, alter_argv: bool) -> None:
    import runpy

    run: Any = getattr(runpy, "_run_module_as_main")  # noqa: B009 (private, untyped)
    run(name, alter_argv)


def _compile(source: str | bytes, filename: str) -> CodeType:
    """compile(source, filename, "exec", dont_inherit=True), as python's main
    compiles a -c program (a script goes through _core.run_source_file).

    The builtin would first set up the interpreter's AST classes, which
    python's own main never does and which cost more start-up time than the
    rest of the bootstrap; the core's version skips that (src/ext/module.c).
    """
    from gc_monitor import _core

    return _core.compile_exec(source, filename)


def _run_file(filename: str, main_globals: dict[str, Any]) -> None:
    """Runs a script file the way python's main does.

    A file ending in .pyc, or starting with this interpreter's bytecode magic,
    is loaded as compiled code; anything else is run as source by the core
    through python's own file reader (src/ext/module.c), so a coding cookie
    and a BOM are honoured and a NUL byte or undeclared non-UTF-8 bytes get
    python's own messages.
    """
    # The loaders and the magic come from the frozen import machinery, where
    # python's own main takes them; importing importlib.machinery or
    # importlib.util would load modules that a direct run never loads.
    external: Any = sys.modules["_frozen_importlib_external"]
    magic: bytes = external.MAGIC_NUMBER

    # Like python's main, look for the magic only in a file that can be read
    # twice: a FIFO or /dev/stdin read here would lose what its writer sent.
    compiled = filename.endswith(".pyc")
    data = b""
    if compiled or stat.S_ISREG(os.stat(filename).st_mode):
        with open(filename, "rb") as f:
            head = f.read(2)
            compiled = compiled or head == magic[:2]
            data = head + f.read() if compiled else b""
    if compiled:
        import marshal

        if data[:4] != magic:
            raise RuntimeError("Bad magic number in .pyc file")
        main_globals["__loader__"] = external.SourcelessFileLoader("__main__", filename)
        code = marshal.loads(data[16:])
        if not isinstance(code, type(_fail.__code__)):
            raise RuntimeError("Bad code object in .pyc file")
        exec(code, main_globals)
        return
    main_globals["__loader__"] = external.SourceFileLoader("__main__", filename)
    from gc_monitor import _core

    _core.run_source_file(filename, main_globals)


def _import_sets_cached() -> bool:
    """Whether this interpreter still gives modules a ``__cached__`` attribute.

    Python's main sets ``__main__.__cached__ = None`` for a script exactly
    when its import system still sets ``__cached__`` on the modules it
    loads: 3.15 dropped both together, in favour of ``__spec__.cached``.  So
    the import system is asked directly, through the frozen importlib that
    is already loaded (a spec with a location and a cached path, made into
    a module that goes nowhere), rather than through a version table.
    """
    bootstrap: Any = sys.modules["_frozen_importlib"]
    spec = bootstrap.ModuleSpec("__main__", None, origin="/probe.py")
    spec.has_location = True
    spec.cached = "/__pycache__/probe.pyc"
    module = bootstrap.module_from_spec(spec)
    return "__cached__" in vars(module)


def _run_script(target: str, main_globals: dict[str, Any]) -> None:
    filename = _abspath(target)
    if _get_importer(filename) is not None:
        # A directory or zip: python puts it first on sys.path (even with -P)
        # and runs its __main__ module through runpy, without touching argv.
        sys.path.insert(0, filename)
        _run_module_as_main("__main__", False)
        return
    _set_path0(os.path.dirname(os.path.realpath(filename)))
    main_globals["__file__"] = filename
    if _import_sets_cached():
        main_globals["__cached__"] = None
    try:
        _run_file(filename, main_globals)
    finally:
        # Python removes them again once the script is done.
        main_globals.pop("__file__", None)
        main_globals.pop("__cached__", None)


def _show_code_lines(code: CodeType, source: str) -> None:
    """Gives tracebacks the -c program's lines, as python 3.13+ does for -c.

    Python keeps the source of its -c program in linecache, where the
    bootstrap's own -c program is now: the target's takes its place (under
    "<string>" on 3.13, under its code object after that).
    """
    linecache: Any = sys.modules.get("linecache")
    register = getattr(linecache, "_register_code", None)
    if register is None:  # before 3.13: python shows no line of -c code either
        return
    if "<string>" in linecache.cache:
        register("<string>", source, "<string>")
    else:
        register(code, source, "<string>")


def _run_target(kind: str, target: str, args: list[str], main_globals: dict[str, Any]) -> None:
    if kind == "code":
        sys.argv = ["-c", *args]
        _set_path0("")
        try:
            # python's main refuses a command that is not valid UTF-8 (the
            # bytes came back from argv as surrogates) with this line first.
            target.encode("utf-8")
        except UnicodeEncodeError:
            sys.stderr.write("Unable to decode the command from the command line:\n")
            raise
        code = _compile(target, "<string>")
        _show_code_lines(code, target)
        exec(code, main_globals)
    elif kind == "module":
        # runpy replaces "-m" with the module's file once it has found it.
        sys.argv = ["-m", *args]
        _set_path0(os.getcwd())
        _run_module_as_main(target, True)
    else:
        sys.argv = [target, *args]
        _run_script(target, main_globals)


def _strip_traceback(tb: TracebackType | None) -> TracebackType | None:
    """Drops the bootstrap's own frames from the front of a traceback.

    What remains is what a direct run shows: the target's frames, and for
    -m or a directory the runpy frames that ``python -m`` shows as well.
    """
    own = _strip_traceback.__code__.co_filename
    while tb is not None and tb.tb_frame.f_code.co_filename == own:
        tb = tb.tb_next
    return tb


def _print_uncaught(exc: BaseException) -> None:
    """Prints an uncaught exception as PyErr_Print does, through sys.excepthook."""
    tb = _strip_traceback(exc.__traceback__)
    exc.__traceback__ = tb
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
    if sys.version_info >= (3, 12):
        setattr(sys, "last_exc", exc)  # noqa: B010 (3.12+ only)
    hook = getattr(sys, "excepthook", None)
    try:
        if hook is None:
            sys.stderr.write("sys.excepthook is missing\n")
            sys.__excepthook__(type(exc), exc, tb)
        else:
            hook(type(exc), exc, tb)
    except BaseException as err:  # python reports a failing hook too
        try:
            sys.stderr.write("Error in sys.excepthook:\n")
            sys.__excepthook__(type(err), err, _strip_traceback(err.__traceback__))
            sys.stderr.write("\nOriginal exception was:\n")
            sys.__excepthook__(type(exc), exc, tb)
        except BaseException:  # stderr itself is gone: nothing left to tell
            pass


def _system_exit_status(exc: SystemExit) -> object:
    """The status python exits with for `exc`, printing a non-int code as python does."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    try:
        stream = sys.stderr
        if stream is not None:
            stream.write(str(code))
            stream.write("\n")
        else:
            os.write(2, f"{code}\n".encode(errors="backslashreplace"))
    except (OSError, ValueError, AttributeError):
        pass
    return 1


def _wait_for_threads() -> None:
    """Joins non-daemon threads as Py_FinalizeEx does, so their collections count."""
    threading = sys.modules.get("threading")
    if threading is None:
        return
    try:
        threading._shutdown()
    except BaseException as err:  # python only reports it
        try:
            import traceback

            sys.stderr.write("Exception ignored on threading shutdown:\n")
            traceback.print_exception(type(err), err, err.__traceback__)
        except BaseException:
            pass


def _budget_status(monitor: GCMonitor) -> int:
    """Exit status 3 when a --fail-on rule is broken, else 0; for a target that succeeded.

    The report already shows every rule's verdict (src/report/budget.c); when
    it went to a --log-file, the broken rules are also written to stderr, so
    a CI log says why the job failed.
    """
    recorder = monitor._recorder
    broken = recorder.check_budgets()
    messages = [str(rule["message"]) for rule in broken]
    # A program that took the monitor out of gc.callbacks hid collections
    # from every rule: the run cannot be said to meet its budget.
    missed = int(monitor.snapshot().get("missed_collections", 0))
    if missed and recorder.fail_on_count:
        messages.insert(
            0,
            "not checked: the program took the monitor out of gc.callbacks, so "
            f"{missed} collections were not recorded; the rules below saw only the rest",
        )
    if not messages:
        return 0
    if recorder.log_file is not None:
        try:
            for message in messages:
                sys.stderr.write(f"GMEM BUDGET | {message}\n")
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            pass
    return _EXIT_BUDGET


def _show_ignored(exc: BaseException | None) -> None:
    """Treats what a signal handler raised once the target had finished as python does.

    Python is finalising then (joining threads, running atexit hooks): it
    shows such an exception and exits with the status it already had; a
    SystemExit or KeyboardInterrupt there changes nothing either.
    """
    if exc is None or isinstance(exc, (SystemExit, KeyboardInterrupt)):
        return
    try:
        import traceback

        from gc_monitor._exitpath import without_own_frames

        exc = without_own_frames(exc)
        sys.stderr.write("Exception ignored in a signal handler at exit:\n")
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    except BaseException:  # stderr itself is gone: nothing left to tell
        pass


def _reraise_printed(exc: BaseException) -> NoReturn:
    """Lets python finish an exception the bootstrap already printed its own way.

    Re-raising the same exception out of the -c program makes the
    interpreter do what it does with an exception out of a script: an
    unhandled KeyboardInterrupt runs the normal finalisation (atexit
    handlers, flushing) and then kills the process with SIGINT, so a shell
    sees 130; with -i or PYTHONINSPECT any exception, SystemExit included,
    leads into the interactive prompt and python's status after it.  A
    one-shot hook keeps python from printing the traceback twice.
    """
    previous = sys.excepthook

    def _already_printed(
        etype: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if value is not exc:
            previous(etype, value, tb)

    sys.excepthook = _already_printed
    raise exc


def _start(text: str, words: list[str], start_fd: int) -> GCMonitor:
    """Starts recording, and writes the start lines to `start_fd`."""
    from gc_monitor import _core
    from gc_monitor.monitor import GCMonitor

    try:
        monitor = GCMonitor._from_config_text(text)
    except ValueError as err:
        _fail(str(err))
    except MemoryError:
        # The target has not started, so this is still the launcher's
        # one-line refusal rather than a traceback.
        _fail("not enough memory for the event ring: try a smaller '--buffer-events'")
    except OSError as err:
        # The message already quotes its subject (the capture file's path).
        _fail(f"cannot start monitoring: {err}")
    orig_argv: list[str] | None = getattr(sys, "orig_argv", None)
    interpreter = orig_argv[0] if orig_argv else sys.executable
    command = " ".join(_quote(w) for w in [interpreter, *words])
    if orig_argv is not None:
        sys.orig_argv = [interpreter, *words]
    # ps and pgrep -f then show `python <target words>` too (src/ext/cmdline.c).
    _core.drop_launcher_words()
    try:
        _core.render_start(text, command, start_fd)
    except (OSError, ValueError):
        pass
    return monitor


def main(start_fd: int = 2) -> None:
    """Runs the target named by sys.argv[1:] under the monitor and ends like python.

    `start_fd` is where the start lines go: 2, or the --log-file, which the
    launcher opened (above 2) and left open across the exec for this; it is
    closed before the target runs, so the target never inherits it.
    """
    main_module = sys.modules["__main__"]
    main_globals = main_module.__dict__
    # The launcher's -c program (src/cli/run.c) bound these two names; a
    # direct run's __main__ has neither.
    for name in _LAUNCHER_NAMES:
        main_globals.pop(name, None)

    words = sys.argv[1:]
    try:
        # The core first: a wrong interpreter fails here, before the target,
        # and the core names the variable that holds the configuration.
        try:
            from gc_monitor import _core
        except ImportError as err:
            _fail(f"cannot import gc_monitor._core in '{sys.executable}': {err}")
        text = os.environ.pop(_core.CONFIG_ENV, None)
        if text is None or not words:
            _fail("gc_monitor._bootstrap is started by 'pygcprofiler run', not directly")
        kind, target, args = _split_target(words)
        monitor = _start(text, words, start_fd)
    finally:
        if start_fd > 2:
            os.close(start_fd)
    if monitor._recorder.follow_children:
        # --follow-children: the configuration goes back into the
        # environment for the interpreters the target starts (_autostart).
        from gc_monitor._autostart import pass_on

        pass_on(monitor)
    from gc_monitor._reporter import Reporter

    reporter = Reporter(monitor)
    reporter.install_signal_handlers()
    reporter.watch_self_signals()
    reporter.watch_multiprocessing()

    status: object = 0
    interrupted: KeyboardInterrupt | None = None
    # -i or PYTHONINSPECT at start-up: python prints even a SystemExit out
    # of the program as a traceback and goes on to the interactive prompt.
    inspect = bool(sys.flags.inspect)
    uncaught: BaseException | None = None
    try:
        _run_target(kind, target, args, main_globals)
    except SystemExit as exc:
        if inspect:
            _print_uncaught(exc)
            uncaught = exc
        else:
            status = _system_exit_status(exc)
    except KeyboardInterrupt as exc:
        _print_uncaught(exc)
        interrupted = exc
    except BaseException as exc:  # python prints every uncaught exception
        _print_uncaught(exc)
        status = 1
        uncaught = exc

    # The program's main code is over: from here python would finalise
    # (join threads first), so the collections left have the cause shutdown.
    _core.mark_shutdown()
    _wait_for_threads()
    _show_ignored(reporter.report())
    if interrupted is not None:
        _core.note_exit_signal(_signal.SIGINT)
        _reraise_printed(interrupted)
    if inspect and uncaught is not None:
        _reraise_printed(uncaught)
    if status == 0:
        status = _budget_status(monitor)
    # The capture learns the status from exit(3) itself (src/ext/exit.c),
    # after the program's own atexit hooks have had their say.
    if status != 0 and not inspect:
        # (With -i a broken --fail-on rule is in the report only: python's
        # status is the interactive prompt's.)
        raise SystemExit(status)
    # A program that ended well ends the -c program the same way, so python
    # goes on as after a script: to the interactive prompt when -i,
    # PYTHONINSPECT, or a PYTHONINSPECT the program set asks for it.
