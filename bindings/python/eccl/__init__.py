"""ECCL, the Elastic Collective Communications Library: Python bindings.

A thin ctypes layer over the C API (include/eccl/eccl.h); no compiled
extension. The library is found through ECCL_LIBRARY (a path to libeccl.so),
else by the system's library search.
"""

from eccl._library import EcclError, error_string, library_path, version

__all__ = ["EcclError", "error_string", "library_path", "version"]
