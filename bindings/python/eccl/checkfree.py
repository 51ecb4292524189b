"""CheckFree: rebuilding a lost pipeline stage from its neighbours' weights.

When every peer of pipeline stage s is gone, its weights are recomputed from
stage s-1 (prev) and stage s+1 (next), weighted by those stages' reported
gradient norms (ecclStageRecover, include/eccl/eccl.h), element by element in
T = float32 for float32/float16/bfloat16 and float64 for float64:

    w_prev = T(prev_norm + epsilon)        # the sum in float64
    w_next = T(next_norm + epsilon)
    out    = (w_next * next + w_prev * prev) / (w_next + w_prev)

float16/bfloat16 are computed in float32 and rounded to nearest even; a NaN
result is the canonical quiet NaN. The first or last stage has one neighbour
(pass None for the other): it becomes a copy of it (CheckFree+).

    import eccl.checkfree as cf
    layers = cf.recover_state(prev_layers, prev_norm, next_layers, next_norm)

Arrays are numpy arrays or torch CPU tensors of one floating-point dtype,
C-contiguous; out is written in place (it may be prev or next itself).
"""

from __future__ import annotations

import numbers
from typing import Any, Mapping, Optional

from eccl import _library
from eccl._buffers import Buffer, as_buffer, empty_like, same_type
from eccl._ctypes_api import ecclDataType_t
from eccl._errors import check

__all__ = ["DEFAULT_EPSILON", "recover_stage", "recover_state"]

#: ECCL_STAGE_RECOVER_DEFAULT_EPSILON: keeps a neighbour whose gradient norm is 0 weighing.
DEFAULT_EPSILON = 1e-6

_FLOATS = (ecclDataType_t.ecclFloat32, ecclDataType_t.ecclFloat64, ecclDataType_t.ecclFloat16,
           ecclDataType_t.ecclBfloat16)


def _norm(value: Any, name: str) -> float:
    """value as a Python float (the library checks it is finite and >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        item = getattr(value, "item", None)  # a 0-d numpy array or torch tensor
        if item is None or getattr(value, "ndim", 1) != 0:
            raise TypeError(f"{name} must be a real number, not {type(value).__qualname__}")
        value = item()
    return float(value)


class _Call:
    """The checked operands of one ecclStageRecover."""

    def __init__(self, prev: Any, next: Any, out: Any, where: str) -> None:  # noqa: A002
        if prev is None and next is None:
            raise ValueError(f"{where}prev and next are both None: a stage needs at least "
                             "one neighbour")
        self.prev = None if prev is None else as_buffer(prev, name=f"{where}prev", writable=False)
        self.next = None if next is None else as_buffer(next, name=f"{where}next", writable=False)
        like = self.prev if self.prev is not None else self.next
        assert like is not None
        if like.dtype not in _FLOATS:
            raise TypeError(f"{where}neighbours have dtype {like.dtype.name[4:]}: stage weights "
                            "are floating point (float32, float64, float16, bfloat16)")
        if self.prev is not None and self.next is not None:
            same_type(self.prev, self.next, what=f"{where}prev and next")
            if self.prev.shape != self.next.shape:
                raise ValueError(f"{where}prev has shape {self.prev.shape} and next "
                                 f"{self.next.shape}: a stage's neighbours have the same layers")
        if out is None:
            out = empty_like(like, like.shape)
        self.out: Buffer = as_buffer(out, name=f"{where}out", writable=True)
        same_type(like, self.out, what=f"{where}out")
        if self.out.shape != like.shape:
            raise ValueError(f"{where}out has shape {self.out.shape}, the neighbours "
                             f"{like.shape}")
        for neighbour in (self.prev, self.next):
            if (neighbour is not None and neighbour.ptr != self.out.ptr
                    and self.out.overlaps(neighbour)):
                raise ValueError(f"{where}out overlaps a neighbour without being it: pass the "
                                 "neighbour itself (in place) or a separate array")

    def run(self, prev_norm: float, next_norm: float, epsilon: float) -> Any:
        lib = _library.lib()
        check(lib.ecclStageRecover(
            None if self.prev is None else self.prev.ptr, prev_norm,
            None if self.next is None else self.next.ptr, next_norm,
            self.out.ptr, self.out.count, self.out.dtype, epsilon))
        return self.out.obj


def recover_stage(prev: Any, prev_norm: Any, next: Any, next_norm: Any,  # noqa: A002
                  out: Optional[Any] = None, epsilon: float = DEFAULT_EPSILON) -> Any:
    """One tensor of the lost stage from its neighbours' tensors; returns out.

    prev, next: stage s-1's and s+1's tensor (same shape and dtype), or None
    for the missing neighbour of an edge stage (its norm is then ignored, but
    must still be finite and >= 0). out: where to write (same shape and
    dtype; may be prev or next itself), or None for a new array.
    Raises TypeError/ValueError for unusable arrays and eccl.InvalidArgument
    for norms or epsilon that are negative or not finite, or weights that
    the working type cannot hold or that sum to 0.
    """
    call = _Call(prev, next, out, "")
    return call.run(_norm(prev_norm, "prev_norm"), _norm(next_norm, "next_norm"),
                    _norm(epsilon, "epsilon"))


def recover_state(prev_tensors: Optional[Mapping[str, Any]], prev_norm: Any,
                  next_tensors: Optional[Mapping[str, Any]], next_norm: Any,
                  epsilon: float = DEFAULT_EPSILON,
                  out: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """recover_stage on every named tensor of a stage (its layers); returns name -> tensor.

    prev_tensors, next_tensors: the neighbours' tensors by name, with the same
    names and shapes; None for the missing neighbour of an edge stage. out:
    the recovering stage's own tensors by the same names, written in place, or
    None for new ones. Every name and shape is checked before anything is
    written: ValueError names the missing, extra or mismatched tensor.
    """
    if prev_tensors is None and next_tensors is None:
        raise ValueError("prev_tensors and next_tensors are both None: a stage needs at least "
                         "one neighbour")
    source = prev_tensors if prev_tensors is not None else next_tensors
    assert source is not None
    names = list(source.keys())
    for label, tensors in (("next_tensors", next_tensors), ("out", out)):
        if tensors is not None and set(tensors.keys()) != set(names):
            missing = sorted(set(names) - set(tensors.keys()))
            extra = sorted(set(tensors.keys()) - set(names))
            raise ValueError(f"{label} does not name the same tensors as the neighbours: "
                             f"missing {missing}, extra {extra}")
    calls = {name: _Call(None if prev_tensors is None else prev_tensors[name],
                         None if next_tensors is None else next_tensors[name],
                         None if out is None else out[name], f"{name!r}: ")
             for name in names}
    norms = (_norm(prev_norm, "prev_norm"), _norm(next_norm, "next_norm"),
             _norm(epsilon, "epsilon"))
    return {name: call.run(*norms) for name, call in calls.items()}
