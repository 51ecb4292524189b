"""Quantized all-reduce settings: QuantConfig and its "algorithm:wire[:block]" spelling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from eccl._ctypes_api import (
    ecclQuantAlgorithm_t,
    ecclQuantConfig_t,
    ecclWireType_t,
    versioned,
)

_ALGORITHMS: dict[str, ecclQuantAlgorithm_t] = {
    "none": ecclQuantAlgorithm_t.ecclQuantNone,
    "minmax": ecclQuantAlgorithm_t.ecclQuantMinMax,
    "min_max": ecclQuantAlgorithm_t.ecclQuantMinMax,
    "zps": ecclQuantAlgorithm_t.ecclQuantZeroPointScale,
    "zeropoint": ecclQuantAlgorithm_t.ecclQuantZeroPointScale,
    "zero_point_scale": ecclQuantAlgorithm_t.ecclQuantZeroPointScale,
}

_WIRES: dict[str, ecclWireType_t] = {
    "u8": ecclWireType_t.ecclWireUint8,
    "uint8": ecclWireType_t.ecclWireUint8,
    "i8": ecclWireType_t.ecclWireInt8,
    "int8": ecclWireType_t.ecclWireInt8,
    "u16": ecclWireType_t.ecclWireUint16,
    "uint16": ecclWireType_t.ecclWireUint16,
    "f16": ecclWireType_t.ecclWireFloat16,
    "float16": ecclWireType_t.ecclWireFloat16,
    "bf16": ecclWireType_t.ecclWireBfloat16,
    "bfloat16": ecclWireType_t.ecclWireBfloat16,
}

#: Elements per block of statistics when none is given.
DEFAULT_BLOCK_SIZE = 1024


@dataclass(frozen=True)
class QuantConfig:
    """How an all-reduce quantizes what it sends (eccl.h: ecclQuantConfig_t).

    algorithm: "minmax" (per block, min and max map onto the wire's integers),
    "zps" / "zero_point_scale" (a scale and an integer zero point; zeros stay
    exact) or "none". wire: "u8", "i8", "u16" (per-block statistics), "f16" or
    "bf16" (a plain conversion). block_size: elements per block, 16..2**20, a
    multiple of 16. Only float16/bfloat16/float32/float64 data can be quantized,
    and every peer of an op must pass the same config.
    """

    algorithm: str = "minmax"
    wire: str = "u8"
    block_size: int = DEFAULT_BLOCK_SIZE

    def __post_init__(self) -> None:
        if self.algorithm.lower() not in _ALGORITHMS:
            raise ValueError(f"unknown quantization algorithm {self.algorithm!r}: "
                             "use 'minmax', 'zps' or 'none'")
        if self.wire.lower() not in _WIRES:
            raise ValueError(f"unknown wire type {self.wire!r}: "
                             "use 'u8', 'i8', 'u16', 'f16' or 'bf16'")

    @classmethod
    def parse(cls, spec: str) -> "QuantConfig":
        """QuantConfig from "algorithm:wire" or "algorithm:wire:block_size" ("minmax:u8",
        "zps:i8:256"), or "none"."""
        parts = spec.strip().split(":")
        if parts == ["none"]:
            return cls(algorithm="none")
        if len(parts) not in (2, 3):
            raise ValueError(f"quantization {spec!r} is not 'algorithm:wire[:block_size]' "
                             "(e.g. 'minmax:u8' or 'zps:i8:256')")
        block = DEFAULT_BLOCK_SIZE
        if len(parts) == 3:
            try:
                block = int(parts[2])
            except ValueError:
                raise ValueError(f"quantization {spec!r}: block size {parts[2]!r} is not an "
                                 "integer") from None
        return cls(algorithm=parts[0], wire=parts[1], block_size=block)

    def to_c(self) -> ecclQuantConfig_t:
        """The ecclQuantConfig_t of this config."""
        return versioned(ecclQuantConfig_t,
                         algorithm=_ALGORITHMS[self.algorithm.lower()],
                         wire_type=_WIRES[self.wire.lower()],
                         block_size=self.block_size)


#: What a quant argument may be.
Quant = Union[None, str, QuantConfig]


def quant_config(quant: Quant) -> Optional[ecclQuantConfig_t]:
    """The C config of a quant argument; None for None (an exact all-reduce)."""
    if quant is None:
        return None
    if isinstance(quant, str):
        quant = QuantConfig.parse(quant)
    if not isinstance(quant, QuantConfig):
        raise TypeError(f"quant must be None, a string like 'minmax:u8' or an eccl.QuantConfig, "
                        f"not {type(quant).__name__}")
    return quant.to_c()
