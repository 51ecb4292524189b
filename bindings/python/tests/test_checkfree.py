"""eccl.checkfree against numpy (and torch for bfloat16) computing the documented formula:
bit-identical results, edge stages, named state, and the errors."""

from __future__ import annotations

import pathlib
import re
from typing import Any, Optional

import numpy as np
import pytest

import eccl
from eccl.checkfree import DEFAULT_EPSILON, recover_stage, recover_state

HEADER = pathlib.Path(__file__).resolve().parents[3] / "include" / "eccl" / "eccl.h"

#: dtype -> (working type, unsigned view of the same width)
WORKING = {np.float32: (np.float32, np.uint32), np.float64: (np.float64, np.uint64),
           np.float16: (np.float32, np.uint16)}


def reference(prev: np.ndarray, prev_norm: float, next_: np.ndarray, next_norm: float,
              epsilon: float = DEFAULT_EPSILON) -> np.ndarray:
    """The formula in numpy: T(w) of the norm + epsilon in float64, then in T, NaN canonical."""
    work, _ = WORKING[prev.dtype.type]
    w_prev = work(prev_norm + epsilon)
    w_next = work(next_norm + epsilon)
    with np.errstate(all="ignore"):
        r = (w_next * next_.astype(work) + w_prev * prev.astype(work)) / (w_next + w_prev)
    r[np.isnan(r)] = work(np.nan)  # canonical: positive quiet NaN
    return r.astype(prev.dtype)


def bits(a: np.ndarray) -> np.ndarray:
    return a.view(WORKING[a.dtype.type][1])


def random_array(dtype: Any, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    values = rng.uniform(-2, 2, size=shape) * np.exp2(rng.integers(-10, 10, size=shape))
    return values.astype(dtype)


def test_the_default_epsilon_is_the_headers() -> None:
    found = re.search(r"#define ECCL_STAGE_RECOVER_DEFAULT_EPSILON\s+(\S+)", HEADER.read_text())
    assert found is not None
    assert float(found.group(1)) == DEFAULT_EPSILON
    assert eccl.checkfree.recover_stage is recover_stage


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(1,), (7,), (33,), (4, 25), (1001,)])
def test_bit_identical_to_numpy(dtype: Any, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(shape))
    prev, next_ = random_array(dtype, shape, rng), random_array(dtype, shape, rng)
    for prev_norm, next_norm, epsilon in [(0.3, 2.5, DEFAULT_EPSILON), (0.0, 0.0, 1e-6),
                                          (1e30, 1e-30, 0.0), (7.0, 7.0, 0.0)]:
        out = recover_stage(prev, prev_norm, next_, next_norm, epsilon=epsilon)
        assert out.dtype == dtype and out.shape == shape
        want = reference(prev, prev_norm, next_, next_norm, epsilon)
        assert np.array_equal(bits(out), bits(want)), (prev_norm, next_norm, epsilon)


def test_nan_and_infinity_follow_the_formula() -> None:
    inf, nan = np.inf, np.float32(np.nan)
    prev = np.array([nan, inf, inf, 1.0, -inf], np.float32)
    next_ = np.array([1.0, 1.0, -inf, 2.0, -inf], np.float32)
    out = recover_stage(prev, 1.0, next_, 2.0, epsilon=0.0)
    assert np.array_equal(bits(out), bits(reference(prev, 1.0, next_, 2.0, 0.0)))
    assert bits(out)[0] == 0x7FC00000 and out[1] == inf and np.isnan(out[2])
    assert out[3] == np.float32(5.0) / np.float32(3.0) and out[4] == -inf


def test_weights_follow_the_norms() -> None:
    prev, next_ = np.zeros(3, np.float64), np.full(3, 4.0)
    assert np.array_equal(recover_stage(prev, 1.0, next_, 3.0, epsilon=0.0), np.full(3, 3.0))


def test_bfloat16_torch_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(4)
    prev = (torch.rand(513, generator=gen) * 8 - 4).to(torch.bfloat16)
    next_ = (torch.rand(513, generator=gen) * 8 - 4).to(torch.bfloat16)
    out = recover_stage(prev, 0.25, next_, 1.5)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.bfloat16
    w_prev = torch.tensor(0.25 + DEFAULT_EPSILON, dtype=torch.float64).float()
    w_next = torch.tensor(1.5 + DEFAULT_EPSILON, dtype=torch.float64).float()
    want = ((w_next * next_.float() + w_prev * prev.float()) / (w_next + w_prev)).to(torch.bfloat16)
    assert torch.equal(out.view(torch.int16), want.view(torch.int16))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_an_edge_stage_copies_its_neighbour(dtype: Any) -> None:
    rng = np.random.default_rng(1)
    only = random_array(dtype, (5, 3), rng)
    assert np.array_equal(bits(recover_stage(only, 3.0, None, 0.0)), bits(only))
    assert np.array_equal(bits(recover_stage(None, 0.0, only, 1e300)), bits(only))
    with pytest.raises(eccl.InvalidArgument, match="prev_norm"):
        recover_stage(only, -1.0, None, 0.0)  # norms are validated all the same


def test_out_and_in_place() -> None:
    rng = np.random.default_rng(2)
    prev, next_ = random_array(np.float32, (64,), rng), random_array(np.float32, (64,), rng)
    want = reference(prev, 1.0, next_, 2.0)
    out = np.empty_like(prev)
    assert recover_stage(prev, 1.0, next_, 2.0, out=out) is out
    assert np.array_equal(bits(out), bits(want))
    assert recover_stage(prev, 1.0, next_, 2.0, out=prev) is prev  # in place on a neighbour
    assert np.array_equal(bits(prev), bits(want))


def layers(rng: np.random.Generator, scale: float = 1.0) -> dict[str, np.ndarray]:
    return {"w1": random_array(np.float32, (8, 4), rng) * np.float32(scale),
            "b1": random_array(np.float32, (4,), rng),
            "w2": random_array(np.float32, (4, 8), rng)}


def test_recover_state_applies_the_formula_to_every_layer() -> None:
    rng = np.random.default_rng(3)
    prev, next_ = layers(rng), layers(rng, 2.0)
    recovered = recover_state(prev, 0.5, next_, 4.0)
    assert list(recovered) == ["w1", "b1", "w2"]
    for name in prev:
        assert np.array_equal(bits(recovered[name]), bits(reference(prev[name], 0.5, next_[name],
                                                                    4.0)))
    own = {name: np.zeros_like(t) for name, t in prev.items()}
    assert recover_state(prev, 0.5, next_, 4.0, out=own)["b1"] is own["b1"]
    assert np.array_equal(own["w2"], recovered["w2"])
    first = recover_state(None, 0.0, next_, 4.0)  # the first stage of the pipeline
    assert all(np.array_equal(first[n], next_[n]) and first[n] is not next_[n] for n in next_)


@pytest.mark.parametrize("change, match", [
    (lambda t: t.pop("b1"), r"missing \['b1'\]"),
    (lambda t: t.update(extra=np.zeros(2, np.float32)), r"extra \['extra'\]"),
    (lambda t: t.update(w2=np.zeros((8, 4), np.float32)), r"'w2': prev has shape \(4, 8\)"),
])
def test_recover_state_refuses_mismatched_layers(change: Any, match: str) -> None:
    rng = np.random.default_rng(4)
    prev, next_ = layers(rng), layers(rng)
    own = {name: np.zeros_like(t) for name, t in prev.items()}
    change(next_)
    with pytest.raises(ValueError, match=match):
        recover_state(prev, 1.0, next_, 1.0, out=own)
    assert all(not t.any() for t in own.values())  # nothing written


def _raises(error: type[Exception], match: str, prev: Optional[Any], next_: Optional[Any],
            **kwargs: Any) -> None:
    kwargs.setdefault("prev_norm", 1.0)
    kwargs.setdefault("next_norm", 1.0)
    with pytest.raises(error, match=match):
        recover_stage(prev, kwargs.pop("prev_norm"), next_, kwargs.pop("next_norm"), **kwargs)


def test_errors() -> None:
    a, b = np.ones(6, np.float32), np.ones(6, np.float32)
    _raises(ValueError, "both None", None, None)
    _raises(TypeError, "dtypes differ", a, b.astype(np.float64))
    _raises(ValueError, "shape", a, b.reshape(2, 3))
    _raises(TypeError, "floating point", np.ones(6, np.int32), np.ones(6, np.int32))
    _raises(ValueError, "out has shape", a, b, out=np.empty(5, np.float32))
    _raises(TypeError, "out", a, b, out=np.empty(6, np.float64))
    read_only = np.ones(6, np.float32)
    read_only.setflags(write=False)
    _raises(ValueError, "read-only", a, b, out=read_only)
    buf = np.zeros(8, np.float32)
    _raises(ValueError, "overlaps", buf[:6], b, out=buf[2:])
    _raises(TypeError, "real number", a, b, prev_norm="1.0")
    _raises(eccl.InvalidArgument, "prev_norm", a, b, prev_norm=float("nan"))
    _raises(eccl.InvalidArgument, "next_norm", a, b, next_norm=-2.0)
    _raises(eccl.InvalidArgument, "epsilon", a, b, epsilon=float("inf"))
    _raises(eccl.InvalidArgument, "sum to 0", a, b, prev_norm=0.0, next_norm=0.0, epsilon=0.0)
    _raises(eccl.InvalidArgument, "overflow", a, b, prev_norm=1e300)
    assert recover_stage(a, np.float64(1.0), b, np.array(2.0))[0] == 1.0  # numpy scalars work
