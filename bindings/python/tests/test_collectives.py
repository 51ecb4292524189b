"""Collectives among three communicators of one process (threads), on numpy arrays
and torch CPU tensors: exact results, in place and out of place, async requests."""

from __future__ import annotations

import numpy as np
import pytest

import eccl
from conftest import ok, on_all, parallel

N = 3
BIG = 50_000  # f32: 200 kB, past small_allreduce_bytes: the pipelined ring
SMALL = 17    # recursive doubling


def seeded(rank: int, count: int, dtype: type) -> np.ndarray:
    """Integer-valued data of a rank, exact in every dtype the tests use."""
    return ((np.arange(count) % 251) * (rank + 1) - 100 * rank).astype(dtype)


@pytest.mark.parametrize("count", [SMALL, BIG])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.float64, np.int8, np.uint32])
def test_all_reduce_sum_is_exact(ring: list[eccl.Communicator], count: int, dtype: type) -> None:
    inputs = [seeded(c.rank, count, dtype) for c in ring]
    results = ok(parallel([lambda c=c, x=x: c.all_reduce(x) for c, x in zip(ring, inputs)], ring))
    expected = sum(seeded(r, count, dtype) for r in range(N)).astype(dtype)
    for x, result in zip(inputs, results):
        assert result is x  # in place
        assert result.dtype == dtype
        np.testing.assert_array_equal(result, expected)


def test_all_reduce_int64_keeps_large_values(ring: list[eccl.Communicator]) -> None:
    base = np.int64(2**52 + 1)
    inputs = [np.full(1000, base * (c.rank + 1), dtype=np.int64) for c in ring]
    ok(on_all(ring, lambda c: c.all_reduce(inputs[c.rank])))
    for x in inputs:
        assert (x == base * 6).all()


def test_all_reduce_avg(ring: list[eccl.Communicator]) -> None:
    floats = [np.full(SMALL, 3.0 * (c.rank + 1), dtype=np.float32) for c in ring]
    ints = [np.array([-7, 1, 2, 9] if c.rank == 0 else [c.rank] * 4, dtype=np.int64)
            for c in ring]
    ok(on_all(ring, lambda c: c.all_reduce(floats[c.rank], op="avg")))
    ok(on_all(ring, lambda c: c.all_reduce(ints[c.rank], op="avg")))
    for x in floats:
        np.testing.assert_array_equal(x, np.full(SMALL, 6.0, dtype=np.float32))
    # sums -4, 4, 5, 12 over 3 peers; integers truncate toward zero.
    for x in ints:
        np.testing.assert_array_equal(x, np.array([-1, 1, 1, 4], dtype=np.int64))


@pytest.mark.parametrize("op,expected", [("min", 0), ("max", 2), ("prod", 0)])
def test_all_reduce_min_max_prod(ring: list[eccl.Communicator], op: str, expected: int) -> None:
    inputs = [np.full(SMALL, c.rank, dtype=np.int32) for c in ring]
    ok(on_all(ring, lambda c: c.all_reduce(inputs[c.rank], op=op)))
    for x in inputs:
        assert (x == expected).all()


def test_all_reduce_out_of_place_reads_a_read_only_input(ring: list[eccl.Communicator]) -> None:
    inputs = [seeded(c.rank, BIG, np.float32) for c in ring]
    for x in inputs:
        x.flags.writeable = False
    outs = [np.zeros(BIG, dtype=np.float32) for _ in ring]
    results = ok(on_all(ring, lambda c: c.all_reduce(inputs[c.rank], out=outs[c.rank])))
    expected = sum(seeded(r, BIG, np.float32) for r in range(N))
    for r in range(N):
        assert results[r] is outs[r]
        np.testing.assert_array_equal(outs[r], expected)
        np.testing.assert_array_equal(inputs[r], seeded(r, BIG, np.float32))


def test_all_reduce_float16(ring: list[eccl.Communicator]) -> None:
    inputs = [np.full((4, 8), c.rank + 0.5, dtype=np.float16) for c in ring]
    ok(on_all(ring, lambda c: c.all_reduce(inputs[c.rank])))
    for x in inputs:
        assert x.shape == (4, 8) and (x == np.float16(4.5)).all()


def test_all_reduce_reports_op_info(ring: list[eccl.Communicator]) -> None:
    x = [np.ones(BIG, dtype=np.float32) for _ in ring]
    infos = ok(on_all(ring, lambda c: (c.all_reduce(x[c.rank]), c.last_op_info)[1]))
    for info in infos:
        assert info.world_size == N
        assert info.bytes_sent > 0 and info.bytes_received > 0 and info.wall_time_ns > 0


def test_quantized_all_reduce_is_close_and_identical(ring: list[eccl.Communicator]) -> None:
    rng = np.random.default_rng(7)
    data = [rng.uniform(-1, 1, BIG).astype(np.float32) for _ in ring]
    exact = sum(d.astype(np.float64) for d in data)
    for quant in ("minmax:u8", eccl.QuantConfig("zps", "u16", 256), "minmax:bf16"):
        inputs = [d.copy() for d in data]
        ok(on_all(ring, lambda c: c.all_reduce(inputs[c.rank], quant=quant)))
        # A priori bound: N (N + 1) / 2 * X / (2^bits - 1) with X = 1 (eccl.h).
        assert np.abs(inputs[0] - exact).max() < N * (N + 1) / 2 / 255 * 2
        for x in inputs[1:]:
            np.testing.assert_array_equal(x, inputs[0])


def test_two_async_all_reduces_in_flight(ring: list[eccl.Communicator]) -> None:
    a = [seeded(c.rank, BIG, np.float32) for c in ring]
    b = [seeded(c.rank, SMALL, np.int64) for c in ring]

    def both(c: eccl.Communicator) -> tuple[np.ndarray, np.ndarray, eccl.Request]:
        first = c.all_reduce_async(a[c.rank], tag=1)
        second = c.all_reduce_async(b[c.rank], op="max", tag=2)
        return second.wait(), first.wait(), first

    results = ok(on_all(ring, both))
    expected_a = sum(seeded(r, BIG, np.float32) for r in range(N))
    expected_b = np.maximum.reduce([seeded(r, SMALL, np.int64) for r in range(N)])
    for r, (got_b, got_a, request) in enumerate(results):
        assert got_a is a[r] and got_b is b[r]
        np.testing.assert_array_equal(got_a, expected_a)
        np.testing.assert_array_equal(got_b, expected_b)
        assert request.done() and request.info is not None and request.info.world_size == N
        assert request.wait() is got_a  # a completed request answers again


def test_async_wait_with_a_timeout(ring: list[eccl.Communicator]) -> None:
    x = [np.ones(SMALL, dtype=np.float32) for _ in ring]
    requests = [ring[0].all_reduce_async(x[0], tag=3)]
    with pytest.raises(eccl.Timeout):
        requests[0].wait(timeout_ms=50)  # the others have not called it yet
    assert not requests[0].done()
    requests += [c.all_reduce_async(x[c.rank], tag=3) for c in ring[1:]]
    for request in requests:
        request.wait(timeout_ms=20_000)
    assert all((v == N).all() for v in x)


def test_all_reduce_batch(ring: list[eccl.Communicator]) -> None:
    arrays = [[np.full(5, c.rank, dtype=np.float64), np.full((2, 3), 1.0, dtype=np.float64)]
              for c in ring]
    ok(on_all(ring, lambda c: c.all_reduce_batch(arrays[c.rank])))
    for first, second in arrays:
        assert (first == 3).all() and (second == 3).all()


def test_broadcast(ring: list[eccl.Communicator]) -> None:
    inputs = [seeded(c.rank, BIG, np.float32) for c in ring]
    ok(on_all(ring, lambda c: c.broadcast(inputs[c.rank], root=1)))
    for x in inputs:
        np.testing.assert_array_equal(x, seeded(1, BIG, np.float32))


def test_all_gather(ring: list[eccl.Communicator]) -> None:
    results = ok(on_all(ring, lambda c: c.all_gather(np.full((2, 3), c.rank, dtype=np.int16))))
    for result in results:
        assert result.shape == (N, 2, 3) and result.dtype == np.int16
        for r in range(N):
            assert (result[r] == r).all()


def test_reduce_scatter(ring: list[eccl.Communicator]) -> None:
    # x[j] on peer p: 10 * j + p; rank j receives sum over p = 30 j + 3.
    results = ok(on_all(ring, lambda c: c.reduce_scatter(
        (np.arange(N)[:, None] * 10 + c.rank + np.zeros((N, 4))).astype(np.float32))))
    for c, result in zip(ring, results):
        assert result.shape == (4,)
        assert (result == 30 * c.rank + 3).all()


def test_all_to_all(ring: list[eccl.Communicator]) -> None:
    # Block j of peer p holds 10 p + j; rank r receives 10 p + r from each p.
    results = ok(on_all(ring, lambda c: c.all_to_all(
        (10 * c.rank + np.arange(N)).astype(np.int32).reshape(N, 1))))
    for c, result in zip(ring, results):
        assert result.ravel().tolist() == [10 * p + c.rank for p in range(N)]


def test_barrier(ring: list[eccl.Communicator]) -> None:
    assert ok(on_all(ring, lambda c: c.barrier(tag=5))) == [None] * N


def test_send_recv_by_rank_and_by_id(ring: list[eccl.Communicator]) -> None:
    sent = np.arange(1000, dtype=np.float64)
    received = np.zeros(1000, dtype=np.float64)
    receiver_id = ring[2].peer_id

    def send() -> eccl.OpInfo:
        ring[0].send(sent, receiver_id, tag=9)
        return ring[0].last_op_info  # of this thread

    info, result = ok(parallel([send, lambda: ring[2].recv(received, 0, tag=9)], ring))
    assert result is received
    np.testing.assert_array_equal(received, sent)
    assert ring[0].lookup_peer(2) == receiver_id
    assert info.world_size == 2 and info.bytes_sent >= sent.nbytes


def test_torch_cpu_tensors(ring: list[eccl.Communicator]) -> None:
    torch = pytest.importorskip("torch")
    tensors = [torch.arange(1000, dtype=torch.float32) * (c.rank + 1) for c in ring]
    halves = [torch.full((64,), float(c.rank + 1), dtype=torch.bfloat16) for c in ring]
    ok(on_all(ring, lambda c: c.all_reduce(tensors[c.rank])))
    ok(on_all(ring, lambda c: c.all_reduce(halves[c.rank])))
    for t, h in zip(tensors, halves):
        assert torch.equal(t, torch.arange(1000, dtype=torch.float32) * 6)
        assert torch.equal(h, torch.full((64,), 6.0, dtype=torch.bfloat16))
    gathered = ok(on_all(ring, lambda c: c.all_gather(torch.tensor([c.rank], dtype=torch.int64))))
    assert isinstance(gathered[0], torch.Tensor)
    assert gathered[0].ravel().tolist() == list(range(N))
