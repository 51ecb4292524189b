#!/usr/bin/python3
"""DiLoCo across processes with eccl.DiLoCo: a peer killed and a new one joining midway.

K worker processes (default 4) on 127.0.0.1 train a small two-layer network
(8 -> 16 tanh -> 1) on their own shard of a synthetic regression data set
made here with fixed seeds: H inner steps of minibatch SGD, then the outer
DiLoCo step (eccl.DiLoCo: Nesterov on the averaged pseudo-gradients). The
parent runs the master and prints the mean loss (over the whole data set) of
the peers' parameters after every round. Midway it kills one worker with
SIGKILL (the survivors retry that round among themselves) and lets a new
process join (DiLoCo.join: it is admitted at a round boundary, receives the
outer state and the shared step counter, and takes over the dead worker's
shard). At the end every peer flushes and reports a hash of its parameters;
the parent checks they are identical and exits 0 (1 on any failure, or when
the run overruns --deadline; the workers are killed on the way out).

Run from a build tree (Debian's python3 with python3-numpy; --torch also
python3-torch):

    ECCL_LIBRARY=build/release/lib/libeccl.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 bindings/python/examples/diloco_numpy.py --mode async

--torch trains the same network as torch tensors with torch.optim.SGD as
the inner optimiser.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
import traceback
from typing import Any, Optional

import numpy as np

import eccl

GROUP = "diloco-demo"
FEATURES, HIDDEN = 8, 16
ROWS = 256           # per shard
BATCH = 32           # rows per inner step
INNER_LR = 0.1       # inner SGD step size
OP_TIMEOUT_MS = 10_000
EXTRA_ROUNDS = 40    # rounds the members wait at most past --rounds for the joiner


# ---- the problem: the same in every process ---------------------------------------------

def dataset(shards: int) -> tuple[np.ndarray, np.ndarray]:
    """All shards' rows (fixed seed): y = sin(x . a) + 0.5 x . b + noise."""
    rng = np.random.default_rng(1234)
    a = rng.standard_normal(FEATURES) / np.sqrt(FEATURES)
    b = rng.standard_normal(FEATURES) / np.sqrt(FEATURES)
    x = rng.standard_normal((shards * ROWS, FEATURES))
    y = np.sin(x @ a) + 0.5 * (x @ b) + 0.05 * rng.standard_normal(shards * ROWS)
    return x.astype(np.float32), y.astype(np.float32)[:, None]


def init_numpy() -> list[np.ndarray]:
    """The network's parameters (fixed seed): W1, b1, W2, b2."""
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((FEATURES, HIDDEN)) / np.sqrt(FEATURES)).astype(np.float32),
            np.zeros(HIDDEN, np.float32),
            (rng.standard_normal((HIDDEN, 1)) / np.sqrt(HIDDEN)).astype(np.float32),
            np.zeros(1, np.float32)]


def numpy_loss(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    w1, b1, w2, b2 = params
    return float(np.mean((np.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2))


def numpy_sgd_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
    """One SGD step on the minibatch's mean squared error, in place."""
    w1, b1, w2, b2 = params
    h = np.tanh(x @ w1 + b1)
    d_out = (2.0 / len(y)) * (h @ w2 + b2 - y)
    d_h = (d_out @ w2.T) * (1 - h * h)
    lr = np.float32(INNER_LR)
    w2 -= lr * (h.T @ d_out)
    b2 -= lr * d_out.sum(axis=0)
    w1 -= lr * (x.T @ d_h)
    b1 -= lr * d_h.sum(axis=0)


class Model:
    """The network as numpy arrays, or as a torch module with torch.optim.SGD (--torch)."""

    def __init__(self, use_torch: bool) -> None:
        self.torch: Any = None
        if use_torch:
            import torch

            torch.set_num_threads(1)
            self.torch = torch
            self.net = torch.nn.Sequential(torch.nn.Linear(FEATURES, HIDDEN), torch.nn.Tanh(),
                                           torch.nn.Linear(HIDDEN, 1))
            with torch.no_grad():  # the same values as the numpy model's
                for param, value in zip(self.params_in_numpy_order(), init_numpy()):
                    param.copy_(torch.from_numpy(value.T.copy() if value.ndim == 2 else value))
            self.optimizer = torch.optim.SGD(self.net.parameters(), lr=INNER_LR)
            self.params: list[Any] = list(self.net.parameters())  # updated in place by DiLoCo
        else:
            self.params = init_numpy()

    def params_in_numpy_order(self) -> list[Any]:
        first, _, second = self.net
        return [first.weight, first.bias, second.weight, second.bias]

    def sgd_step(self, x: np.ndarray, y: np.ndarray) -> None:
        if self.torch is None:
            numpy_sgd_step(self.params, x, y)
            return
        self.optimizer.zero_grad()
        out = self.net(self.torch.from_numpy(x))
        self.torch.nn.functional.mse_loss(out, self.torch.from_numpy(y)).backward()
        self.optimizer.step()

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        if self.torch is None:
            return numpy_loss(self.params, x, y)
        with self.torch.no_grad():
            out = self.net(self.torch.from_numpy(x))
            return float(self.torch.nn.functional.mse_loss(out, self.torch.from_numpy(y)))

    def digest(self) -> str:
        """sha256 of every parameter's bytes."""
        h = hashlib.sha256()
        for p in self.params:
            h.update(p.detach().numpy().tobytes() if self.torch is not None else p.tobytes())
        return h.hexdigest()


# ---- a worker process ---------------------------------------------------------------------

def worker(index: int, shard: int, joiner: bool, options: dict[str, Any], master: str,
           parent: Any) -> None:
    """One peer: a founding member of the ring, or (joiner) a new peer that waits for "go".

    parent: this worker's own end of a pipe to the parent (events up, "go" and
    "release" down). Not a Queue shared by every worker: a worker killed while
    it writes to a shared queue would leave the queue's lock held for good.
    """
    try:
        model = Model(options["torch"])
        x, y = dataset(options["peers"])
        mine = slice(shard * ROWS, (shard + 1) * ROWS)
        # The caller's own state travels to a joiner with the outer state: here the
        # global count of inner steps, which seeds the minibatches.
        step_count = np.zeros(1, np.int64)
        extra = {"inner_steps": step_count}
        kwargs = dict(lr=options["outer_lr"], momentum=options["outer_momentum"],
                      mode=options["mode"], timeout_ms=OP_TIMEOUT_MS, extra_state=extra)
        with eccl.Communicator(master, GROUP, listen="127.0.0.1:0",
                               timeout_ms=OP_TIMEOUT_MS) as comm:
            if joiner:
                if not parent.poll(options["deadline"]) or parent.recv() != "go":
                    return
                loop = eccl.DiLoCo.join(comm, model.params, **kwargs)
                parent.send(("joined", index, loop.rounds.launched, comm.world_size))
            else:
                join_ring(comm, options["peers"])
                loop = eccl.DiLoCo(comm, model.params, **kwargs)
            seen_joiner = joiner
            with loop:
                # Until the planned rounds are done and (members) the joiner is in,
                # or at most EXTRA_ROUNDS more: counters and flags that every
                # member sees alike, so that all leave the loop at one boundary.
                while True:
                    launched = loop.rounds.launched
                    if launched >= options["rounds"] and (
                            seen_joiner or launched >= options["rounds"] + EXTRA_ROUNDS):
                        break
                    started = time.monotonic()
                    for _ in range(options["inner_steps"]):
                        rng = np.random.default_rng([shard, int(step_count[0])])
                        rows = rng.integers(mine.start, mine.stop, BATCH)
                        model.sgd_step(x[rows], y[rows])
                        step_count += 1
                    # The rest of a round's compute time, simulated.
                    time.sleep(max(0.0, options["round_s"] - (time.monotonic() - started)))
                    info = loop.step()
                    seen_joiner = seen_joiner or info.synced
                    parent.send(("round", index, info.round, model.loss(x, y), info.attempts,
                                 info.synced, comm.world_size))
                loop.flush()
                parent.send(("done", index, loop.rounds.applied, model.loss(x, y),
                             model.digest()))
                # Stay in the ring until every peer has flushed ("release"): then leave.
                parent.poll(options["deadline"])
    except BaseException:  # noqa: BLE001 - reported to the parent
        try:
            parent.send(("error", index, traceback.format_exc()))
        except OSError:  # the parent is gone
            pass


def join_ring(comm: eccl.Communicator, peers: int) -> None:
    """Connects; the first peer admitted admits the others (as allreduce_demo.py)."""
    comm.connect()
    deadline = time.monotonic() + 30
    while comm.world_size < peers:  # only the first peer gets here: it admits the others
        if time.monotonic() > deadline:
            raise TimeoutError("the other peers did not register")
        if comm.peers_pending == peers - comm.world_size:
            comm.update_topology()
        else:
            time.sleep(0.01)


# ---- the parent ---------------------------------------------------------------------------

class Rounds:
    """The per-round reports, printed once two later rounds have been reported (every
    peer's report of the round is in by then), each followed by its events' lines."""

    def __init__(self) -> None:
        self.losses: dict[int, list[float]] = {}
        self.notes: dict[int, set[str]] = {}
        self.events: dict[int, list[str]] = {}
        self.printed = 0

    def event(self, round_: int, line: str) -> None:
        """A line to print after round_'s (at once if that one is out already)."""
        if round_ <= self.printed:
            print(line, flush=True)
        else:
            self.events.setdefault(round_, []).append(line)

    def add(self, round_: int, loss: float, attempts: int, synced: bool) -> None:
        self.losses.setdefault(round_, []).append(loss)
        notes = self.notes.setdefault(round_, set())
        if attempts > 1:
            notes.add("retried on the survivors")
        if synced:
            notes.add("a new peer was admitted")
        self.flush(upto=round_ - 2)

    def flush(self, upto: Optional[int] = None) -> None:
        last = max(self.losses, default=0) if upto is None else upto
        for r in range(self.printed + 1, last + 1):
            if r in self.losses:
                losses = self.losses[r]
                note = f" ({', '.join(sorted(self.notes[r]))})" if self.notes[r] else ""
                print(f"round {r} loss {np.mean(losses):.4f} peers {len(losses)}{note}",
                      flush=True)
            for line in self.events.pop(r, []):
                print(line, flush=True)
            self.printed = r


def run(options: dict[str, Any]) -> int:
    peers, rounds = options["peers"], options["rounds"]
    kill_at = options["kill_at"] or max(1, rounds // 3)
    join_at = options["join_at"] or max(kill_at + 1, rounds // 2)
    deadline = time.monotonic() + options["deadline"]
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked threads
    victim, newcomer = peers - 1, peers  # the newcomer takes over the victim's shard
    with eccl.Master("127.0.0.1:0", heartbeat_ms=100) as master:
        print(f"libeccl {'.'.join(map(str, eccl.version()))}, master on {master.address}, "
              f"{peers} peers, mode {options['mode']}, {rounds} rounds of "
              f"{options['inner_steps']} inner steps{' (torch)' if options['torch'] else ''}",
              flush=True)
        pipes = {i: context.Pipe() for i in range(peers + 1)}  # (parent's end, worker's end)
        processes = {
            i: context.Process(target=worker, daemon=True,
                               args=(i, min(i, victim), i == newcomer, options,
                                     master.address, pipes[i][1]))
            for i in range(peers + 1)
        }
        for i, process in processes.items():
            process.start()
            pipes[i][1].close()  # the worker's end lives in the worker: EOF when it dies
        ends: dict[Any, int] = {pipes[i][0]: i for i in processes}
        victim_pid = processes[victim].pid
        assert victim_pid is not None  # started
        table = Rounds()
        done: dict[int, tuple[int, float, str]] = {}
        killed = joined = going = False
        try:
            while len(done) < peers:  # the survivors and the newcomer
                ready: list[Any] = multiprocessing.connection.wait(
                    list(ends), timeout=max(0.0, deadline - time.monotonic()))
                if not ready:
                    print(f"FAILED: the run did not finish within {options['deadline']:.0f} s")
                    return 1
                for conn in ready:
                    index = ends[conn]
                    try:
                        event = conn.recv()
                    except EOFError:
                        del ends[conn]
                        if index == victim and killed:
                            continue
                        print(f"FAILED: peer {index} exited (code {processes[index].exitcode})")
                        return 1
                    kind = event[0]
                    if kind == "error":
                        print(f"FAILED: peer {index}:\n{event[2]}")
                        return 1
                    if kind == "round":
                        _, _, round_, loss, attempts, synced, _world = event
                        table.add(round_, loss, attempts, synced)
                        if index == victim and round_ >= kill_at and not killed:
                            os.kill(victim_pid, signal.SIGKILL)
                            killed = True
                            table.event(round_, f"killed peer {victim} (pid "
                                        f"{victim_pid}) with SIGKILL after its "
                                        f"round {round_}")
                        if round_ >= join_at and not going:
                            pipes[newcomer][0].send("go")
                            going = True
                            table.event(round_, f"peer {newcomer} starts joining after "
                                                f"round {round_}")
                    elif kind == "joined":
                        _, _, launched, world = event
                        joined = True
                        table.event(launched, f"peer {newcomer} joined at round {launched} "
                                              f"(world size {world}), takes over shard {victim}")
                    elif kind == "done":
                        _, _, applied, loss, digest = event
                        done[index] = (applied, loss, digest)
        finally:
            for end in ends:
                try:
                    end.send("release")  # every peer has flushed (or the run failed): leave
                except OSError:
                    pass
            table.flush()
            for process in processes.values():
                process.join(max(0.1, min(5.0, deadline - time.monotonic())))
                if process.is_alive():
                    process.kill()
                    process.join(5)
    if not (killed and joined):
        print(f"FAILED: killed {killed}, joined {joined}")
        return 1
    digests = {digest for _, _, digest in done.values()}
    applied = {a for a, _, _ in done.values()}
    final = done[min(done)]
    print(f"final: {len(done)} peers, rounds applied {sorted(applied)}, loss {final[1]:.4f}, "
          f"parameters sha256 {final[2][:16]}")
    if len(digests) != 1 or len(applied) != 1:
        print("FAILED: the peers' parameters differ")
        return 1
    print(f"parity ok: peers {sorted(done)} hold identical parameters")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["sync", "async"], default="sync")
    parser.add_argument("--peers", type=int, default=4, help="founding peers (default 4)")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--inner-steps", type=int, default=10, help="H (default 10)")
    parser.add_argument("--outer-lr", type=float, default=0.7, help="default 0.7")
    parser.add_argument("--outer-momentum", type=float, default=0.5,
                        help="Nesterov momentum (default 0.5: the DiLoCo paper's 0.9 "
                             "overshoots on this small problem)")
    parser.add_argument("--round-ms", type=float, default=50,
                        help="least duration of a round's compute (simulated; default 50)")
    parser.add_argument("--kill-at", type=int, default=0,
                        help="kill a peer after this round (default rounds/3)")
    parser.add_argument("--join-at", type=int, default=0,
                        help="a new peer joins after this round (default rounds/2)")
    parser.add_argument("--deadline", type=float, default=120, help="seconds for the whole run")
    parser.add_argument("--torch", action="store_true",
                        help="torch tensors and torch.optim.SGD for the inner steps")
    args = parser.parse_args(argv)
    if args.peers < 2 or args.rounds < 3:
        parser.error("needs --peers >= 2 and --rounds >= 3")
    if args.torch:
        try:
            importlib.import_module("torch")
        except ImportError:
            print("--torch: torch does not import; run without --torch")
            return 1
    options = dict(mode=args.mode, peers=args.peers, rounds=args.rounds,
                   inner_steps=args.inner_steps, round_s=args.round_ms / 1000,
                   kill_at=args.kill_at, join_at=args.join_at, deadline=args.deadline,
                   torch=args.torch, outer_lr=args.outer_lr,
                   outer_momentum=args.outer_momentum)
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
