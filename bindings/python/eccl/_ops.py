"""Reduction names: "sum", "avg", "prod", "min", "max" (or an ecclRedOp_t) to ecclRedOp_t."""

from __future__ import annotations

from typing import Union

from eccl._ctypes_api import ecclRedOp_t

#: What an op argument may be: a name or the enum.
ReduceOp = Union[str, ecclRedOp_t]

_NAMES: dict[str, ecclRedOp_t] = {
    "sum": ecclRedOp_t.ecclSum,
    "avg": ecclRedOp_t.ecclAvg,
    "mean": ecclRedOp_t.ecclAvg,
    "prod": ecclRedOp_t.ecclProd,
    "product": ecclRedOp_t.ecclProd,
    "min": ecclRedOp_t.ecclMin,
    "max": ecclRedOp_t.ecclMax,
}


def reduce_op(op: ReduceOp) -> ecclRedOp_t:
    """The ecclRedOp_t of op; ValueError for an unknown name."""
    if isinstance(op, ecclRedOp_t):
        return op
    if isinstance(op, str):
        found = _NAMES.get(op.lower())
        if found is not None:
            return found
    raise ValueError(f"unknown reduction {op!r}: use one of 'sum', 'avg', 'prod', 'min', 'max'")
