"""The start-up hook of ``pygcprofiler run --follow-children``.

The package installs ``pygcprofiler-follow-children.pth`` next to itself in
site-packages.  site.py runs its one line at the start of every interpreter
that processes that directory; the line imports this module only when
PYGCPROFILER_FOLLOW is set, so any other run of python pays for one
dictionary look-up.

The launcher's bootstrap sets that variable (to its pid) together with
PYGCPROFILER_CONFIG (the recorder's configuration, with absolute paths) when
--follow-children was given, and only then: without the flag it removes the
configuration before the target runs.  An interpreter started below it
(multiprocessing spawn and forkserver, uvicorn's workers, subprocess running
python, the django and werkzeug reloaders) then comes here before its own
code: it records into FILE.<pid> (``-o FILE``) and reports to gc.<pid>.log
(``--log-file gc.log``), never into a stderr its parent may read when it has a
capture (else to stderr labelled with its pid), through the same _Reporter as
the first process (signals, multiprocessing fork workers).

A followed interpreter that cannot load the extension (another Python version
sharing the site directory) writes one warning line and runs unmonitored:
following must never make a program fail.
"""

from __future__ import annotations

import os
import sys

_CONFIG_ENV = "PYGCPROFILER_CONFIG"
_FOLLOW_ENV = "PYGCPROFILER_FOLLOW"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gc_monitor.monitor import GCMonitor


def pass_on(monitor: GCMonitor) -> None:
    """Hands the configuration to the interpreters this process will start.

    Called by the bootstrap after it started monitoring, and here in each
    followed child, so grandchildren are followed too.  The recorder's text
    has every path made absolute, since a child may start anywhere.
    """
    os.environ[_CONFIG_ENV] = monitor.config_text
    os.environ[_FOLLOW_ENV] = str(os.getpid())


def _warn(message: str) -> None:
    try:
        sys.stderr.write(f"pygcprofiler: warning: {message}\n")
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def _start() -> None:
    text = os.environ.get(_CONFIG_ENV)
    # The encoder writes the flag as this one item (gcm_config_encode).
    if not text or _FOLLOW_ENV not in os.environ or "follow-children=1" not in text.split(";"):
        return
    where = f"pid {os.getpid()} ({sys.executable}, python {sys.version.split()[0]})"
    try:
        from gc_monitor import _core  # noqa: F401 (the import is the check)
    except Exception as err:  # ImportError, or a broken build: never fail the program
        _warn(f"{where} runs unmonitored: cannot import gc_monitor._core: {err}")
        return
    from gc_monitor._bootstrap import _Reporter
    from gc_monitor.monitor import GCMonitor

    try:
        monitor = GCMonitor._for_followed_child(text)
    except Exception as err:  # a full disk, a bad configuration: the program still runs
        _warn(f"{where} runs unmonitored: {err}")
        return
    pass_on(monitor)
    reporter = _Reporter(monitor)
    reporter.install_signal_handlers()
    reporter.watch_multiprocessing()


_start()
