"""Checks and conversions of the plain arguments every call shares: timeouts and tags."""

from __future__ import annotations

import operator
from typing import Optional

#: Tags name an op on the wire: 0 <= tag < 2**32.
TAG_LIMIT = 1 << 32


def timeout(timeout_ms: Optional[float]) -> int:
    """The C timeout: None (or negative) is -1, the communicator's default; 0 only checks."""
    if timeout_ms is None or timeout_ms < 0:
        return -1
    return int(timeout_ms)


def tag(value: int) -> int:
    """value checked as a tag; ValueError when outside 0 .. 2**32 - 1."""
    value = operator.index(value)
    if not 0 <= value < TAG_LIMIT:
        raise ValueError(f"tag {value} is outside 0 .. 2**32 - 1")
    return value


def optional_uint32(value: Optional[int], name: str) -> Optional[int]:
    """value checked to fit a uint32_t config field (None: keep the default)."""
    if value is None:
        return None
    value = operator.index(value)
    if not 0 <= value < (1 << 32):
        raise ValueError(f"{name}={value} does not fit 0 .. 2**32 - 1")
    return value
