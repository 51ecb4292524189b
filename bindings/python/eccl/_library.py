"""Loading libeccl: the one shared ctypes.CDLL handle of the package."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from typing import Optional

from eccl import _ctypes_api

_lib: Optional[ctypes.CDLL] = None
_path: Optional[str] = None
_lock = threading.Lock()


def lib() -> ctypes.CDLL:
    """The loaded library, with every prototype of _ctypes_api declared.

    Loaded on first use from $ECCL_LIBRARY (a path to libeccl.so), else from
    the system's library search (ctypes.util.find_library("eccl")).
    Raises OSError when neither finds it.
    """
    global _lib, _path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            path = os.environ.get("ECCL_LIBRARY") or ctypes.util.find_library("eccl")
            if not path:
                raise OSError("libeccl not found: set ECCL_LIBRARY to the path of libeccl.so")
            loaded = ctypes.CDLL(path)
            _ctypes_api.declare(loaded)
            _path = path
            _lib = loaded
    return _lib


def library_path() -> str:
    """The path the library was loaded from."""
    lib()
    assert _path is not None
    return _path
