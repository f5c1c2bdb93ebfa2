"""The start-up hook of ``pygcprofiler run --follow-children``.

The package installs ``pygcprofiler-follow-children.pth`` next to itself in
site-packages.  site.py runs its one line at the start of every interpreter
that processes that directory; only when PYGCPROFILER_FOLLOW is set does the
line import this module and call _start(), so any other run of python pays
for one dictionary look-up.  Importing this module starts nothing: a program
or a tool may import it for its own reasons, and the bootstrap imports it for
pass_on().

The launcher's bootstrap sets that variable (to its pid) together with
PYGCPROFILER_CONFIG (the recorder's configuration, with absolute paths) when
--follow-children was given, and only then: without the flag it removes the
configuration before the target runs.  An interpreter started below it
(multiprocessing spawn and forkserver, uvicorn's workers, subprocess running
python, the django and werkzeug reloaders) then comes here before its own
code: it records into FILE.<pid> (``-o FILE``) and reports to gc.<pid>.log
(``--log-file gc.log``), never into a stderr its parent may read when it has a
capture (else to stderr labelled with its pid), through the same Reporter as
the first process (_reporter: signals, multiprocessing fork workers).

A followed interpreter that cannot load the extension (another Python version
sharing the site directory) writes one warning line and runs unmonitored:
following must never make a program fail.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gc_monitor.monitor import GCMonitor

# site.py may run the .pth line more than once in one interpreter: in a venv,
# venv() and then addsitepackages() both read the venv's site-packages.  The
# import that started the monitor used to happen once by itself; the call
# does not, and a second one must not start a second monitor.
_called = False


def pass_on(monitor: GCMonitor) -> None:
    """Hands the configuration to the interpreters this process will start.

    Called by the bootstrap after it started monitoring, and here in each
    followed child, so grandchildren are followed too.  The recorder's text
    has every path made absolute, since a child may start anywhere.
    """
    from gc_monitor import _core

    os.environ[_core.CONFIG_ENV] = monitor.config_text
    os.environ[_core.FOLLOW_ENV] = str(os.getpid())


def _warn(message: str) -> None:
    try:
        sys.stderr.write(f"pygcprofiler: warning: {message}\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def _start() -> None:
    """Starts monitoring this interpreter if a --follow-children run started it.

    Called by the .pth line only, and only when PYGCPROFILER_FOLLOW is set.
    The core is imported first, since it names the variables: an
    interpreter that cannot load it is told so and runs unmonitored.
    """
    global _called
    if _called:
        return
    _called = True
    where = f"pid {os.getpid()} ({sys.executable}, python {sys.version.split()[0]})"
    try:
        from gc_monitor import _core
    except Exception as err:  # ImportError, or a broken build: never fail the program
        _warn(f"{where} runs unmonitored: cannot import gc_monitor._core: {err}")
        return
    text = os.environ.get(_core.CONFIG_ENV)
    # The encoder writes the flag as this one item (gcm_config_encode).
    if (
        not text
        or _core.FOLLOW_ENV not in os.environ
        or "follow-children=1" not in text.split(";")
    ):
        return
    from gc_monitor._reporter import Reporter
    from gc_monitor.monitor import GCMonitor

    try:
        monitor = GCMonitor._for_followed_child(text)
    except Exception as err:  # a full disk, a bad configuration: the program still runs
        _warn(f"{where} runs unmonitored: {err}")
        return
    pass_on(monitor)
    reporter = Reporter(monitor)
    reporter.install_signal_handlers()
    reporter.watch_self_signals()
    reporter.watch_multiprocessing()
