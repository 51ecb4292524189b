"""eccl.ddp: the DDP communication hook and average_gradients, on three ranks that are
threads of this process (each with its own DistributedDataParallel over a gloo
process group of its own, on 127.0.0.1), and examples/ddp_train.py."""

from __future__ import annotations

import copy
import datetime
import os
import pathlib
import subprocess
import sys
import threading
import time
from typing import Any, Callable

import pytest

import eccl
from conftest import ok, on_all, parallel, wait_until

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
import eccl.ddp  # noqa: E402 - after the skip: it imports torch when used

N = 3
EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "ddp_train.py"
Ring = Callable[..., list[eccl.Communicator]]


class FakeBucket:
    """What allreduce_hook uses of a torch.distributed.GradBucket."""

    def __init__(self, buffer: Any, index: int = 0) -> None:
        self._buffer, self._index = buffer, index

    def buffer(self) -> Any:
        return self._buffer

    def index(self) -> int:
        return self._index


def gloo_group(store: Any, rank: int, size: int = N) -> Any:
    """A gloo process group of its own (not the default group) on 127.0.0.1 only."""
    options = dist.ProcessGroupGloo._Options()
    options._devices = [dist.ProcessGroupGloo.create_device(hostname="127.0.0.1")]
    options._timeout = datetime.timedelta(seconds=30)
    return dist.ProcessGroupGloo(store, rank, size, options)


def make_ddp(net: Any, group: Any, state: eccl.ddp.ECCLHookState) -> Any:
    """DDP over group with the ECCL hook; after the first step its buckets are small (several)."""
    model = torch.nn.parallel.DistributedDataParallel(copy.deepcopy(net), process_group=group,
                                                      bucket_cap_mb=0.001)
    model.register_comm_hook(state, eccl.ddp.allreduce_hook)
    return model


def toy_net(seed: int = 0) -> Any:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))


def toy_data(seed: int, rows: int) -> tuple[Any, Any]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(rows, 6, generator=generator), torch.randn(rows, 3, generator=generator)


def step(model: Any, x: Any, y: Any) -> float:
    """One forward/backward of the mean squared error; returns the loss."""
    model.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    return float(loss)


# ---- the hook on its own -------------------------------------------------------------


def test_import_eccl_ddp_does_not_import_torch() -> None:
    code = "import sys, eccl, eccl.ddp; assert 'torch' not in sys.modules, 'torch imported'"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, env=dict(os.environ))
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_hook_result_is_the_exact_average(ring: list[eccl.Communicator], dtype: str) -> None:
    # Integer-valued gradients: rank r holds base * (r + 1), the average is exactly 2 base.
    sizes = [5, 3000, 17]  # three buckets in flight at once, with tags tag_base + 0, 1, 2
    bases = [((torch.arange(n) % 50) - 25).to(getattr(torch, dtype)) for n in sizes]
    buffers = [[b * (c.rank + 1) for b in bases] for c in ring]

    def rank(c: eccl.Communicator) -> list[Any]:
        state = eccl.ddp.ECCLHookState(c)
        futures = [eccl.ddp.allreduce_hook(state, FakeBucket(buf, i))
                   for i, buf in enumerate(buffers[c.rank])]
        return [f.wait() for f in futures]

    for c, results in zip(ring, ok(on_all(ring, rank))):
        for buf, result, base in zip(buffers[c.rank], results, bases):
            assert result.data_ptr() == buf.data_ptr()  # in place, zero copy
            assert result.dtype == base.dtype and torch.equal(result, base * 2)


def test_bad_buckets_fail_the_future(ring: list[eccl.Communicator]) -> None:
    strided = torch.zeros(4, 4)[:, 1]
    cases = [
        (FakeBucket(strided, 0), "bucket 0's buffer.. is not contiguous"),
        # CUDA is not here: a meta tensor takes the same device check.
        (FakeBucket(torch.zeros(8, device="meta"), 1), "bucket 1's .* Stage it on the host"),
        (FakeBucket(torch.zeros(8), 2), "outside 0 .. 2..32 - 1"),  # tag_base + 2: too large
    ]
    for bucket, message in cases:
        state = eccl.ddp.ECCLHookState(ring[0], tag_base=2**32 - 2)
        future = eccl.ddp.allreduce_hook(state, bucket)
        assert future.done()
        with pytest.raises(ValueError, match=message):
            future.wait()
        assert isinstance(state.error, ValueError)
        # What DDP's backward() raises for it, turned back into the error itself.
        with pytest.raises(ValueError, match=message) as caught:
            with state.translate_errors():
                raise RuntimeError(f"Unable to cast {state.error} to Tensor")
        assert isinstance(caught.value.__cause__, RuntimeError)
        with pytest.raises(RuntimeError, match="^unrelated$"):  # not quoting it: unchanged
            with state.translate_errors():
                raise RuntimeError("unrelated")
    with pytest.raises(ValueError, match="tag"):
        eccl.ddp.ECCLHookState(ring[0], tag_base=2**32)


def test_average_gradients(ring: list[eccl.Communicator]) -> None:
    def rank(c: eccl.Communicator) -> Any:
        net = torch.nn.Linear(3, 2)
        net.scale = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))  # a second batch
        net.unused = torch.nn.Parameter(torch.ones(2))  # no grad: zeros are reduced
        net.frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)
        net.weight.grad = torch.full((2, 3), float(c.rank + 1))
        net.bias.grad = torch.arange(2.0) * (c.rank + 1)
        net.scale.grad = torch.full((4,), -(c.rank + 1.0), dtype=torch.float64)
        eccl.ddp.average_gradients(c, net, tag=7)
        return net

    for net in ok(on_all(ring, rank)):
        assert torch.equal(net.weight.grad, torch.full((2, 3), 2.0))
        assert torch.equal(net.bias.grad, torch.arange(2.0) * 2)
        assert torch.equal(net.scale.grad, torch.full((4,), -2.0, dtype=torch.float64))
        assert torch.equal(net.unused.grad, torch.zeros(2))
        assert net.frozen.grad is None


# ---- DistributedDataParallel with the hook -------------------------------------------


def test_ddp_with_the_hook_matches_single_process_training(
        ring: list[eccl.Communicator], monkeypatch: pytest.MonkeyPatch) -> None:
    # DDP's first bucket after the rebuild holds up to 1 MB: make it small, for several buckets.
    monkeypatch.setattr(dist, "_DEFAULT_FIRST_BUCKET_BYTES", 256, raising=False)
    steps, rows = 4, 8
    net = toy_net()
    x, y = toy_data(1, N * rows)  # rank r trains on rows r*rows .. (r+1)*rows - 1
    store = dist.HashStore()

    def rank(c: eccl.Communicator) -> tuple[Any, list[float], dict[str, Any]]:
        model = make_ddp(net, gloo_group(store, c.rank), eccl.ddp.ECCLHookState(c))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        shard = slice(c.rank * rows, (c.rank + 1) * rows)
        losses = []
        for _ in range(steps):
            losses.append(step(model, x[shard], y[shard]))
            optimizer.step()
        return model.module, losses, model._get_ddp_logging_data()

    results = ok(on_all(ring, rank))
    reference = copy.deepcopy(net)  # one process, the whole batch, the mean loss
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        step(reference, x, y)
        optimizer.step()
    first = list(results[0][0].parameters())
    for module, losses, logging_data in results:
        assert len(str(logging_data.get("rebuilt_bucket_sizes", "")).split(",")) >= 2
        assert losses[-1] < losses[0]
        for mine, theirs, ref in zip(module.parameters(), first, reference.parameters()):
            assert torch.equal(mine, theirs)  # bit for bit on every rank
            torch.testing.assert_close(mine, ref, rtol=1e-6, atol=1e-6)


def test_a_departure_fails_backward_and_the_survivors_go_on(ring_factory: Ring) -> None:
    comms = ring_factory("ddp-departure")
    net = toy_net(2)
    x, y = toy_data(3, 4 * N)
    store = dist.HashStore()
    left = threading.Event()
    finished = threading.Barrier(N, timeout=30)  # rank 2's gloo group lives till then
    leaving = comms[2].peer_id

    def survivor(c: eccl.Communicator, model: Any, state: eccl.ddp.ECCLHookState,
                 shard: slice) -> tuple[Exception, float, Any, Any]:
        left.wait(30)
        wait_until(lambda: any(e.kind == eccl.EventKind.PEER_LEFT and e.peer == leaving
                               for e in c.events()), timeout_s=10, what="PEER_LEFT")
        started = time.monotonic()
        with pytest.raises(eccl.PeerLost) as caught:
            with state.translate_errors():
                step(model, x[shard], y[shard])
        elapsed = time.monotonic() - started
        # The ring goes on with two peers, the DDP model as it was: averages over 2.
        c.update_topology()
        assert c.world_size == 2
        local = copy.deepcopy(model.module)
        step(local, x[shard], y[shard])
        step(model, x[shard], y[shard])
        return caught.value, elapsed, [p.grad for p in local.parameters()], \
            [p.grad for p in model.parameters()]

    def rank(c: eccl.Communicator) -> Any:
        r = c.rank
        state = eccl.ddp.ECCLHookState(c, timeout_ms=10_000)
        model = make_ddp(net, gloo_group(store, r), state)
        shard = slice(r * 4, (r + 1) * 4)
        for _ in range(2):  # the second forward rebuilds the buckets: DDP's last gloo call
            step(model, x[shard], y[shard])
        if r == 2:
            c.close()  # leaves the group mid-training
            left.set()
            finished.wait()
            return None
        try:
            return survivor(c, model, state, shard)
        finally:
            finished.wait()

    results = ok(parallel([lambda c=c: rank(c) for c in comms], comms))
    for error, elapsed, _, _ in results[:2]:
        assert isinstance(error, eccl.PeerLost) and elapsed < 30
        assert isinstance(error.__cause__, RuntimeError) and "ecclPeerLost" in str(error.__cause__)
    local_grads = [r[2] for r in results[:2]]
    for _, _, _, grads in results[:2]:
        for got, g0, g1 in zip(grads, *local_grads):
            assert torch.equal(got, (g0 + g1) / 2)


def test_ddp_train_example_runs() -> None:
    run = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ))
    assert run.returncode == 0, run.stdout + run.stderr
    assert sum(line.startswith("step ") for line in run.stdout.splitlines()) >= 3
    assert "parity ok" in run.stdout
