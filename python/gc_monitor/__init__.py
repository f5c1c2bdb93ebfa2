"""pygcprofiler: a production-safe monitor of CPython's garbage collector."""

from gc_monitor.monitor import GCMonitor

__version__ = "0.5.0"
__all__ = ["GCMonitor", "__version__"]
