"""Turning numpy arrays and torch CPU tensors into (pointer, count, dtype) for C.

No copies: a C-contiguous array is handed over by its data pointer. Whatever
ECCL cannot use as it is (a strided view, a read-only output, a CUDA tensor,
an unknown dtype) is a ValueError or TypeError that says what to do instead.
numpy is optional for torch users and torch is never imported here: a tensor
is recognised only when torch is already loaded.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from eccl._ctypes_api import ecclDataType_t

try:
    import numpy as _np
except ImportError:  # pragma: no cover - torch-only use needs no numpy
    _np = None  # type: ignore[assignment]

# numpy dtype (kind, itemsize) -> ECCL dtype. bfloat16 has no numpy dtype of its
# own; an extension dtype named "bfloat16" (e.g. ml_dtypes) is accepted by name.
_NUMPY_DTYPES: dict[tuple[str, int], ecclDataType_t] = {
    ("i", 1): ecclDataType_t.ecclInt8,
    ("u", 1): ecclDataType_t.ecclUint8,
    ("i", 2): ecclDataType_t.ecclInt16,
    ("u", 2): ecclDataType_t.ecclUint16,
    ("i", 4): ecclDataType_t.ecclInt32,
    ("u", 4): ecclDataType_t.ecclUint32,
    ("i", 8): ecclDataType_t.ecclInt64,
    ("u", 8): ecclDataType_t.ecclUint64,
    ("f", 2): ecclDataType_t.ecclFloat16,
    ("f", 4): ecclDataType_t.ecclFloat32,
    ("f", 8): ecclDataType_t.ecclFloat64,
}

# torch dtype name -> ECCL dtype (torch 1.13 has no uint16/32/64; newer ones do).
_TORCH_DTYPES: dict[str, ecclDataType_t] = {
    "int8": ecclDataType_t.ecclInt8,
    "uint8": ecclDataType_t.ecclUint8,
    "int16": ecclDataType_t.ecclInt16,
    "uint16": ecclDataType_t.ecclUint16,
    "int32": ecclDataType_t.ecclInt32,
    "uint32": ecclDataType_t.ecclUint32,
    "int64": ecclDataType_t.ecclInt64,
    "uint64": ecclDataType_t.ecclUint64,
    "float16": ecclDataType_t.ecclFloat16,
    "bfloat16": ecclDataType_t.ecclBfloat16,
    "float32": ecclDataType_t.ecclFloat32,
    "float64": ecclDataType_t.ecclFloat64,
}

_SUPPORTED = ("int8, uint8, int16, uint16, int32, uint32, int64, uint64, float16, "
              "bfloat16 (torch), float32, float64")


@dataclass(frozen=True)
class Buffer:
    """An array or tensor as the C API sees it. Holding it keeps obj alive."""

    obj: Any                  #: the numpy array or torch tensor itself
    ptr: int                  #: address of its first element
    count: int                #: elements
    dtype: ecclDataType_t     #: ECCL element type
    itemsize: int             #: bytes per element
    shape: tuple[int, ...]    #: the array's shape

    @property
    def nbytes(self) -> int:
        """Bytes of data."""
        return self.count * self.itemsize

    def overlaps(self, other: "Buffer") -> bool:
        """Whether the two buffers share any byte."""
        return (self.nbytes > 0 and other.nbytes > 0 and self.ptr < other.ptr + other.nbytes
                and other.ptr < self.ptr + self.nbytes)


def _torch() -> Any:
    return sys.modules.get("torch")


def is_tensor(x: Any) -> bool:
    """Whether x is a torch tensor (only if torch is already imported)."""
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def as_buffer(x: Any, *, name: str, writable: bool) -> Buffer:
    """x (numpy array or torch CPU tensor) as a Buffer, without copying.

    name: the argument's name in error messages. writable: ECCL writes to it.
    Raises TypeError (not an array, unsupported dtype) or ValueError (not
    C-contiguous, read-only output, non-native byte order, a CUDA tensor).
    """
    if is_tensor(x):
        return _tensor_buffer(x, name=name)
    if _np is not None and isinstance(x, _np.ndarray):
        return _numpy_buffer(x, name=name, writable=writable)
    raise TypeError(f"{name} must be a numpy.ndarray or a torch CPU tensor, "
                    f"not {type(x).__module__}.{type(x).__qualname__}")


def _numpy_buffer(x: Any, *, name: str, writable: bool) -> Buffer:
    dtype = x.dtype
    if dtype.name == "bfloat16" and dtype.itemsize == 2:
        code = ecclDataType_t.ecclBfloat16
    else:
        found = _NUMPY_DTYPES.get((dtype.kind, dtype.itemsize))
        if found is None:
            raise TypeError(f"{name} has dtype {dtype}, which ECCL does not reduce or move; "
                            f"supported: {_SUPPORTED}")
        code = found
    if not dtype.isnative:
        raise ValueError(f"{name} has non-native byte order ({dtype.str}): "
                         f"convert it with {name}.astype({dtype.newbyteorder('=').str!r})")
    if not x.flags.c_contiguous:
        raise ValueError(f"{name} is not C-contiguous (shape {x.shape}, strides {x.strides}): "
                         "ECCL works on the array's memory in place; pass a contiguous array "
                         "(numpy.ascontiguousarray makes a copy: use that copy's result)")
    if writable and not x.flags.writeable:
        raise ValueError(f"{name} is read-only, but ECCL writes its result there: "
                         "pass a writable array (or out=)")
    return Buffer(obj=x, ptr=int(x.ctypes.data), count=int(x.size), dtype=code,
                  itemsize=dtype.itemsize, shape=tuple(x.shape))


def _tensor_buffer(x: Any, *, name: str) -> Buffer:
    torch = _torch()
    if x.device.type != "cpu":
        raise ValueError(f"{name} is a tensor on {x.device}: ECCL moves host memory only. "
                         f"Stage it on the host (host = {name}.cpu()), pass host, and copy the "
                         f"result back ({name}.copy_(host))")
    if x.layout != torch.strided:
        raise ValueError(f"{name} has layout {x.layout}: only dense (strided) tensors work")
    if not x.is_contiguous():
        raise ValueError(f"{name} is not contiguous (shape {tuple(x.shape)}, strides "
                         f"{x.stride()}): ECCL works on the tensor's memory in place; pass a "
                         ".contiguous() tensor and use that tensor's result")
    dtype_name = str(x.dtype).replace("torch.", "")
    code = _TORCH_DTYPES.get(dtype_name)
    if code is None:
        raise TypeError(f"{name} has dtype {x.dtype}, which ECCL does not reduce or move; "
                        f"supported: {_SUPPORTED}")
    return Buffer(obj=x, ptr=int(x.data_ptr()), count=int(x.numel()), dtype=code,
                  itemsize=int(x.element_size()), shape=tuple(x.shape))


def empty_like(like: Buffer, shape: Sequence[int]) -> Any:
    """A new uninitialised array of like's kind (numpy or torch CPU) and dtype."""
    if is_tensor(like.obj):
        return _torch().empty(tuple(shape), dtype=like.obj.dtype)
    return _np.empty(tuple(shape), dtype=like.obj.dtype)


def same_type(a: Buffer, b: Buffer, *, what: str) -> None:
    """Raises TypeError unless a and b have the same ECCL dtype."""
    if a.dtype != b.dtype:
        raise TypeError(f"{what}: dtypes differ ({a.dtype.name[4:]} and {b.dtype.name[4:]})")


def output(x: Buffer, out: Optional[Any], shape: Sequence[int], *, name: str = "out") -> Buffer:
    """The output buffer of a collective: out (checked: dtype and element count), or a new one."""
    count = 1
    for n in shape:
        count *= int(n)
    if out is None:
        return as_buffer(empty_like(x, shape), name=name, writable=True)
    result = as_buffer(out, name=name, writable=True)
    same_type(x, result, what=name)
    if result.count != count:
        raise ValueError(f"{name} holds {result.count} elements, the result needs {count} "
                         f"(shape {tuple(shape)})")
    return result
