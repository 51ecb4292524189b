"""The loaded library's version."""

from __future__ import annotations

import ctypes

from eccl import _library
from eccl._errors import check


def version() -> tuple[int, int, int]:
    """The loaded library's version as (major, minor, patch)."""
    value = ctypes.c_int()
    check(_library.lib().ecclGetVersion(ctypes.byref(value)))
    return (value.value // 10000, value.value // 100 % 100, value.value % 100)
