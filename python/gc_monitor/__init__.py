"""pygcprofiler: a production-safe monitor of CPython's garbage collector."""

__version__ = "0.5.0"
