#!/usr/bin/python3
"""PyTorch DistributedDataParallel with its gradients all-reduced by ECCL (eccl.ddp).

Three worker processes on 127.0.0.1 each train a toy model on their shard of
a batch: DDP over a gloo process group (which DDP uses only for its own
bookkeeping) with eccl.ddp.allreduce_hook, so that every bucket of gradients
is averaged by an ECCL ring. The parent runs the master, prints the loss of every step, and
checks that the workers' parameters are identical and match one process
training on the whole batch. Exits 0 on success. Run from a build tree
(Debian's python3 with python3-torch):

    ECCL_LIBRARY=build/release/lib/libeccl.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 bindings/python/examples/ddp_train.py
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import queue
import sys
import tempfile
import time
import traceback
from typing import Any

import eccl
import eccl.ddp  # imports torch only when used

PEERS = 3
STEPS = 5
ROWS = 16          # per worker
DEADLINE_S = 90.0  # for the whole run


def toy_problem() -> tuple[Any, Any, Any]:
    """The model (fixed seed) and the whole batch, the same in every process."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    x = torch.randn(PEERS * ROWS, 8)
    y = x.sum(dim=1, keepdim=True).sin()
    return model, x, y


def train(model: Any, x: Any, y: Any, hook_state: Any = None) -> list[float]:
    """STEPS steps of SGD on the mean squared error; returns the losses."""
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        if hook_state is None:
            loss.backward()
        else:
            with hook_state.translate_errors():  # raises eccl.PeerLost, ... itself
                loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return losses


def join_ring(comm: eccl.Communicator) -> None:
    """Connects; the first peer admitted admits the others (as allreduce_demo.py)."""
    comm.connect()
    deadline = time.monotonic() + 30
    while comm.world_size < PEERS:  # only the first peer gets here: it admits the others
        if time.monotonic() > deadline:
            raise TimeoutError("the other peers did not register")
        if comm.peers_pending == PEERS - comm.world_size:
            comm.update_topology()
        else:
            time.sleep(0.01)


def worker(rank: int, master: str, store: str, results: Any) -> None:
    """One process of the job: its gloo group for DDP, its ECCL peer for the gradients."""
    try:
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # gloo on 127.0.0.1 only
        import torch
        import torch.distributed as dist

        torch.set_num_threads(1)
        dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank,
                                world_size=PEERS, timeout=datetime.timedelta(seconds=30))
        with eccl.Communicator(master, "ddp-train", listen="127.0.0.1:0",
                               timeout_ms=10_000) as comm:
            join_ring(comm)
            net, x, y = toy_problem()
            model: Any = torch.nn.parallel.DistributedDataParallel(net)
            state = eccl.ddp.ECCLHookState(comm)  # "avg" over the ECCL ring
            model.register_comm_hook(state, eccl.ddp.allreduce_hook)
            shard = slice(rank * ROWS, (rank + 1) * ROWS)
            losses = train(model, x[shard], y[shard], state)
            flat = torch.cat([p.detach().flatten() for p in model.parameters()])
            results.put((rank, losses, flat.numpy().tobytes(), None))
        dist.destroy_process_group()
    except BaseException:  # noqa: BLE001 - reported to the parent
        results.put((rank, None, None, traceback.format_exc()))


def run_workers(master: eccl.Master) -> dict[int, tuple[list[float], bytes]]:
    """Starts the workers and collects their results, within DEADLINE_S."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked threads
    results = context.Queue()
    deadline = time.monotonic() + DEADLINE_S
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "gloo-store")
        workers = [context.Process(target=worker, args=(r, master.address, store, results))
                   for r in range(PEERS)]
        for process in workers:
            process.start()
        collected: dict[int, tuple[list[float], bytes]] = {}
        try:
            while len(collected) < PEERS:
                rank, losses, params, error = results.get(
                    timeout=max(0.1, deadline - time.monotonic()))
                if error is not None:
                    raise SystemExit(f"worker {rank} failed:\n{error}")
                collected[rank] = (losses, params)
        except queue.Empty:
            raise SystemExit(f"workers {sorted(set(range(PEERS)) - set(collected))} did not "
                             f"finish within {DEADLINE_S:.0f} s") from None
        finally:
            for process in workers:
                process.join(max(0.1, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
    return collected


def main() -> int:
    import torch

    print(f"libeccl {'.'.join(map(str, eccl.version()))} from {eccl.library_path()}")
    with eccl.Master("127.0.0.1:0") as master:
        print(f"master on {master.address}, {PEERS} workers")
        collected = run_workers(master)
    for step in range(STEPS):
        per_rank = [collected[r][0][step] for r in range(PEERS)]
        print(f"step {step}: loss {sum(per_rank) / PEERS:.6f} "
              f"(ranks: {', '.join(f'{v:.6f}' for v in per_rank)})")

    params = [collected[r][1] for r in range(PEERS)]
    if any(p != params[0] for p in params[1:]):
        print("FAILED: the workers' parameters differ")
        return 1
    reference, x, y = toy_problem()  # one process, the whole batch
    reference_losses = train(reference, x, y)
    ours = torch.frombuffer(bytearray(params[0]), dtype=torch.float32)
    theirs = torch.cat([p.detach().flatten() for p in reference.parameters()])
    if not torch.allclose(ours, theirs, rtol=1e-5, atol=1e-6):
        print(f"FAILED: parameters differ from single-process training by up to "
              f"{(ours - theirs).abs().max().item():.3g}")
        return 1
    print(f"parity ok: {PEERS} workers identical bit for bit; single-process final loss "
          f"{reference_losses[-1]:.6f}, max parameter difference "
          f"{(ours - theirs).abs().max().item():.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
