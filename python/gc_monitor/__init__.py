"""pygcprofiler: a production-safe monitor of CPython's garbage collector.

PYTEST_DONT_REWRITE: pytest marks every package that has a pytest11 entry
point for assertion rewriting, and warns about one that is already imported;
under ``pygcprofiler run -m pytest`` the bootstrap has imported this package
before pytest starts, and ``-W error`` would turn that warning into a failed
run.  The package has no assertions worth rewriting.
"""

from __future__ import annotations

# Nothing is imported at start-up: the bootstrap runs before the target, and
# the pytest plugin is loaded by every pytest run once the package is
# installed.  mypy reads the name below.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from gc_monitor.monitor import GCMonitor

__version__ = "0.5.0"
__all__ = ["GCMonitor", "__version__"]


def __getattr__(name: str) -> type[GCMonitor]:
    # GCMonitor loads the C extension, so it is imported on first use only.
    if name == "GCMonitor":
        from gc_monitor.monitor import GCMonitor

        return GCMonitor
    raise AttributeError(f"module 'gc_monitor' has no attribute {name!r}")
