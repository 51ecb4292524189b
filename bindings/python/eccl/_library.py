"""Loading libeccl and mapping its result codes to Python."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Optional

_lib: Optional[ctypes.CDLL] = None
_path: Optional[str] = None


class EcclError(RuntimeError):
    """A failing ECCL call: the ecclResult_t code and the library's detail text."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{error_string(code)}: {detail}" if detail else error_string(code))
        self.code = code
        self.detail = detail


def _load() -> ctypes.CDLL:
    global _lib, _path
    if _lib is not None:
        return _lib
    path = os.environ.get("ECCL_LIBRARY") or ctypes.util.find_library("eccl")
    if not path:
        raise OSError("libeccl not found: set ECCL_LIBRARY to the path of libeccl.so")
    lib = ctypes.CDLL(path)
    lib.ecclGetVersion.argtypes = [ctypes.POINTER(ctypes.c_int)]
    lib.ecclGetVersion.restype = ctypes.c_int
    lib.ecclGetErrorString.argtypes = [ctypes.c_int]
    lib.ecclGetErrorString.restype = ctypes.c_char_p
    lib.ecclGetLastError.argtypes = []
    lib.ecclGetLastError.restype = ctypes.c_char_p
    _lib, _path = lib, path
    return lib


def _check(code: int) -> None:
    if code != 0:
        raise EcclError(code, _load().ecclGetLastError().decode("utf-8", "replace"))


def library_path() -> str:
    """The path the library was loaded from."""
    _load()
    assert _path is not None
    return _path


def version() -> tuple[int, int, int]:
    """The loaded library's version as (major, minor, patch)."""
    value = ctypes.c_int()
    _check(_load().ecclGetVersion(ctypes.byref(value)))
    return (value.value // 10000, value.value // 100 % 100, value.value % 100)


def error_string(code: int) -> str:
    """The library's name and meaning of a result code."""
    return _load().ecclGetErrorString(code).decode("utf-8", "replace")
