#!/usr/bin/python3
"""CheckFree: a pipeline trained across peers loses a whole stage and rebuilds it from its neighbours.

A toy model of S residual blocks (default 4, each x -> x + tanh(x W + b)
with the same shapes) is trained pipeline-parallel: stage s is held by a
group of P peers (default 2), each peer one replica of the data-parallel
pipeline. Every round, replica r of stage 0 draws a minibatch, the
activations go forward stage to stage with eccl send/recv, the last stage
computes the loss against a fixed teacher network's output, and the
gradients go back. Each stage averages its gradient over its replicas
(all_reduce_batch), clips it, reports its norm to the master
(report_metric), takes an SGD step with momentum, and syncs its weights as
its group's shared state (sync_state).

Midway the parent kills every peer of one stage with SIGKILL. The other
stages abandon the round (an abort flag travels along the pipeline with the
activations and gradients) and wait, syncing their state, for the stage to
come back. Stand-by processes take the lost stage's place: they register for
it, read the neighbours' gradient norms (stage_info), fetch the neighbours'
weights (fetch_group_state of their groups), rebuild the stage's weights as
CheckFree's norm-weighted average (eccl.checkfree.recover_state; an edge
stage copies its only neighbour), check them bit for bit against the
formula computed here in numpy, reset the optimizer and announce the
recovery with the round from which the pipeline trains again
(announce_recovered). Every stage resumes at that round. No checkpoint is
written anywhere.

--lose-neighbour-during-fetch also stops the next stage when the first is
killed and kills it while the replacement is fetching its weights: the
replacement rebuilds its stage from the other neighbour alone, and the next
stage gets replacements of its own.

The parent prints the loss (the last stage's, averaged over the replicas)
after every round, a timeline of the recovery, and exits 0 when training
went on (every stage's replicas hold identical weights at the end and the
loss fell), 1 otherwise or when the run overruns --deadline.

Run from a build tree (Debian's python3 with python3-numpy):

    ECCL_LIBRARY=build/release/lib/libeccl.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 bindings/python/examples/checkfree_pipeline.py
"""

from __future__ import annotations

import argparse
import hashlib
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
import eccl.checkfree as cf

WIDTH = 16            # features of every block's input and output
BATCH = 32            # rows per minibatch and replica
ROWS = 1024           # rows of each replica's data shard
OP_TIMEOUT_MS = 10_000
RESTORE_TIMEOUT_S = 60.0
IDLE_SYNC_S = 0.02    # a waiting stage's pause between syncs
STATUS_OK, STATUS_ABORT = 0.0, 1.0


def group_name(stage: int) -> str:
    return f"checkfree-stage-{stage}"


# ---- the problem: the same in every process ---------------------------------------------

def block_forward(h: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One residual block: (output, tanh activations)."""
    a = np.tanh(h @ w + b)
    return h + a, a


def teacher(stages: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The network the pipeline learns (fixed seed)."""
    rng = np.random.default_rng(7)
    return [((rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32),
             (0.3 * rng.standard_normal(WIDTH)).astype(np.float32)) for _ in range(stages)]


def dataset(stages: int, replicas: int) -> tuple[np.ndarray, np.ndarray]:
    """Every replica's shard: inputs and the teacher's outputs (plus a little noise)."""
    rng = np.random.default_rng(1234)
    x = rng.standard_normal((replicas * ROWS, WIDTH)).astype(np.float32)
    y = x
    for w, b in teacher(stages):
        y, _ = block_forward(y, w, b)
    y = y + 0.01 * rng.standard_normal(y.shape).astype(np.float32)
    return x, y.astype(np.float32)


def initial_weights(stage: int) -> dict[str, np.ndarray]:
    """A stage's starting weights (fixed seed per stage: its replicas start alike)."""
    rng = np.random.default_rng(100 + stage)
    return {"w": (0.5 * rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32),
            "b": np.zeros(WIDTH, np.float32)}


def minibatch_rows(replica: int, round_: int) -> np.ndarray:
    """The rows of replica's shard that round_ trains on (stage 0 and the last stage agree)."""
    rng = np.random.default_rng([replica, round_])
    return rng.integers(replica * ROWS, (replica + 1) * ROWS, BATCH)


def checkfree_reference(prev: Optional[np.ndarray], prev_norm: float,
                        next_: Optional[np.ndarray], next_norm: float) -> np.ndarray:
    """CheckFree's formula in plain numpy float32 arithmetic (what ecclStageRecover must equal)."""
    if prev is None or next_ is None:
        only = prev if prev is not None else next_
        assert only is not None
        return only.copy()
    w_prev = np.float32(prev_norm + cf.DEFAULT_EPSILON)
    w_next = np.float32(next_norm + cf.DEFAULT_EPSILON)
    return (w_next * next_ + w_prev * prev) / (w_next + w_prev)


def digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(arrays[name].tobytes())
    return h.hexdigest()


# ---- a stage peer -------------------------------------------------------------------------

class StageEvents:
    """The stage events a peer has seen: which stages are lost now, and the round the
    latest restoration announced."""

    def __init__(self, stage: int, report: Any) -> None:
        self.stage = stage
        self.report = report
        self.lost: set[int] = set()
        self.resume_round = 0

    def poll(self, comm: eccl.Communicator) -> None:
        for event in comm.events():
            if event.kind == eccl.EventKind.STAGE_LOST:
                self.lost.add(event.stage)
                self.report("stage_lost", event.stage)
            elif event.kind == eccl.EventKind.STAGE_RESTORED:
                self.lost.discard(event.stage)
                self.resume_round = max(self.resume_round, event.revision)
                self.report("stage_restored", event.stage, event.revision)


class StagePeer:
    """One replica of one stage: the training loop, the waiting loop and (for a
    replacement) the recovery."""

    def __init__(self, comm: eccl.Communicator, stage: int, options: dict[str, Any],
                 parent: Any) -> None:
        self.comm = comm
        self.stage = stage
        self.stages = options["stages"]
        self.options = options
        self.parent = parent
        self.weights = initial_weights(stage)
        self.momentum = {name: np.zeros_like(a) for name, a in self.weights.items()}
        self.next_round = np.ones(1, np.int64)  # the round this stage runs next
        self.state = {**self.weights, "round": self.next_round}
        self.revision = 0
        self.events = StageEvents(stage, self.report)
        self.x, self.y = dataset(self.stages, options["replicas"])
        self.partners: dict[int, eccl.PeerId] = {}

    @property
    def replica(self) -> int:
        return self.comm.rank

    def report(self, kind: str, *fields: Any) -> None:
        self.parent.send((kind, self.stage, self.replica, time.monotonic(), *fields))

    def sync(self, strategy: str = "popular", timeout_ms: Optional[float] = None) -> eccl.SyncInfo:
        self.revision += 1
        return self.comm.sync_state(self.state, self.revision, strategy, timeout_ms=timeout_ms)

    # -- the pipeline pass --

    def partner(self, stage: int) -> eccl.PeerId:
        """The peer of this replica in another stage (cached until a round fails)."""
        if stage not in self.partners:
            self.partners[stage] = self.comm.lookup_peer(self.replica, group_name(stage))
        return self.partners[stage]

    def exchange(self, send: bool, message: np.ndarray, stage: int, tag: int) -> bool:
        """Sends message to (or receives it from) this replica's peer of stage; False
        when that fails (a lost peer: the caller aborts the round)."""
        try:
            peer = self.partner(stage)
            if send:
                self.comm.send(message, peer, tag=tag)
            else:
                self.comm.recv(message, peer, tag=tag)
            return True
        except (eccl.PeerLost, eccl.Timeout, eccl.ConnectionError):
            return False
        except eccl.InvalidArgument:  # the master knows no such peer (any more)
            return False

    def pipeline_pass(self, round_: int) -> tuple[bool, Optional[float], dict[str, np.ndarray]]:
        """Forward and backward of this replica's minibatch through this stage.

        Every stage takes part in all four exchanges of a round (receive forward,
        send forward, receive backward, send backward) whatever happened, with an
        abort flag in the message's last element, so that a lost stage ends the
        round everywhere at once and nobody waits for a message that will not come.
        Returns (ok, loss of the last stage, gradients)."""
        s, last = self.stage, self.stages - 1
        forward_tag, backward_tag = (2 * round_) % (1 << 32), (2 * round_ + 1) % (1 << 32)
        message = np.zeros(BATCH * WIDTH + 1, np.float32)
        rows = minibatch_rows(self.replica, round_)
        ok = True
        if s == 0:
            h_in = self.x[rows]
        else:
            ok = self.exchange(False, message, s - 1, forward_tag) and message[-1] == STATUS_OK
            h_in = message[:-1].reshape(BATCH, WIDTH).copy() if ok else np.zeros_like(self.x[rows])
        h_out, act = block_forward(h_in, self.weights["w"], self.weights["b"])
        loss = None
        if s < last:
            message[:-1] = h_out.ravel()
            message[-1] = STATUS_OK if ok else STATUS_ABORT
            ok = self.exchange(True, message, s + 1, forward_tag) and ok
            received = self.exchange(False, message, s + 1, backward_tag)
            ok = ok and received and message[-1] == STATUS_OK
            g_out = message[:-1].reshape(BATCH, WIDTH).copy() if ok else np.zeros_like(h_out)
        else:
            diff = h_out - self.y[rows]
            loss = float(np.mean(diff * diff))
            g_out = (2.0 / diff.size) * diff
        g_z = g_out * (1 - act * act)
        grads = {"w": h_in.T @ g_z, "b": g_z.sum(axis=0)}
        if s > 0:
            message[:-1] = (g_out + g_z @ self.weights["w"].T).ravel()
            message[-1] = STATUS_OK if ok else STATUS_ABORT
            self.exchange(True, message, s - 1, backward_tag)  # its failure is the receiver's
        return ok, loss, grads

    def apply(self, round_: int, grads: dict[str, np.ndarray]) -> None:
        """Averages the gradient over the stage's replicas, clips it, reports its norm
        (CheckFree's weight for this stage) and takes the SGD step."""
        names = sorted(grads)
        arrays = [grads[n].astype(np.float32) for n in names]
        self.comm.all_reduce_batch(arrays, op="avg")
        norm = float(np.sqrt(sum(float(np.sum(a.astype(np.float64) ** 2)) for a in arrays)))
        scale = min(1.0, self.options["clip"] / max(norm, 1e-12))
        self.comm.report_metric(round_, norm * scale)
        lr, mu = np.float32(self.options["lr"]), np.float32(self.options["momentum"])
        for name, g in zip(names, arrays):
            self.momentum[name] *= mu
            self.momentum[name] += np.float32(scale) * g
            self.weights[name] -= lr * self.momentum[name]

    # -- the loops --

    def await_pipeline(self) -> None:
        """Until every stage's group holds all its replicas (the first round looks them up)."""
        deadline = time.monotonic() + 30
        for stage in range(self.stages):
            while self.comm.stage_info(stage).accepted < self.options["replicas"]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"stage {stage} did not fill up within 30 s")
                time.sleep(0.01)

    def train(self) -> None:
        """Rounds until options["rounds"]; a failed round waits for the lost stage."""
        rounds = self.options["rounds"]
        while int(self.next_round[0]) <= rounds:
            round_ = int(self.next_round[0])
            self.events.poll(self.comm)
            ok, loss, grads = self.pipeline_pass(round_)
            committed = self.comm.should_commit(ok)
            if committed:
                self.apply(round_, grads)
            self.next_round[0] = round_ + 1
            self.sync()
            self.report("round", round_, committed, loss)
            if not committed:
                self.wait_for_restoration()
        self.report("done", digest(self.weights))

    def wait_for_restoration(self) -> None:
        """After a failed round: keeps syncing the stage's state (a replacement fetches
        it from these syncs) until every lost stage was restored, then jumps to the
        round the restoration announced. The replicas agree on both with votes."""
        self.partners.clear()
        deadline = time.monotonic() + RESTORE_TIMEOUT_S
        while True:
            self.events.poll(self.comm)
            ready = not self.events.lost and self.events.resume_round >= int(self.next_round[0])
            if self.comm.should_commit(ready):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"stage {self.stage}: a round failed and no lost stage was "
                                   f"restored within {RESTORE_TIMEOUT_S:.0f} s "
                                   f"(lost: {sorted(self.events.lost)})")
            self.sync()
            time.sleep(IDLE_SYNC_S)
        resume = self.comm.all_reduce(np.array([self.events.resume_round], np.int64), op="max")
        self.next_round[0] = int(resume[0])
        self.report("resumed", int(resume[0]))

    # -- a replacement's recovery --

    def recover(self) -> None:
        """Rebuilds this (new) stage's weights from its neighbours', announces it."""
        if self.replica == 0:
            self.rebuild()
        # The other replicas receive rank 0's rebuilt weights and round (they wait for
        # as long as rank 0 may wait for its neighbours).
        info = self.sync("send" if self.replica == 0 else "receive",
                         timeout_ms=RESTORE_TIMEOUT_S * 1000)
        for name in self.momentum:
            self.momentum[name][...] = 0  # CheckFree resets the optimizer state
        round_ = int(self.next_round[0])
        self.comm.announce_recovered(round_)
        self.report("announced", round_, info.bytes_received)
        # Another stage still lost (rank 0 may know before the event reaches the others):
        # wait with the rest of the pipeline. A vote, so that the replicas agree.
        self.events.poll(self.comm)
        if not self.comm.should_commit(not self.events.lost - {self.stage}):
            self.wait_for_restoration()

    def neighbour_state(self, stage: int) -> Optional[tuple[dict[str, np.ndarray], float]]:
        """Stage's weights and round (fetched from its group) and its latest gradient
        norm, or None when that stage is lost (also when it is lost during the fetch)."""
        deadline = time.monotonic() + RESTORE_TIMEOUT_S
        while True:
            info = self.comm.stage_info(stage)
            # A recovering previous stage is waited for: its replacement does not wait for
            # this one. A recovering next stage counts as lost, so that two neighbouring
            # replacements never wait for each other.
            recovering = info.state == eccl.StageState.RECOVERING
            if info.state == eccl.StageState.LOST or (recovering and stage > self.stage):
                self.report("neighbour_lost", stage)
                self.events.lost.add(stage)
                return None
            if info.state == eccl.StageState.ACTIVE and info.metric is not None:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"stage {stage} did not become usable: {info}")
            time.sleep(0.05)
        fetched = {name: np.zeros_like(a) for name, a in self.state.items()}
        self.report("fetching", stage)
        try:
            sync = self.comm.fetch_group_state(info.group, fetched,
                                               bytes_per_s=self.options["fetch_bytes_per_s"])
        except (eccl.PeerLost, eccl.InvalidArgument):  # its group emptied (or is gone)
            self.report("neighbour_lost", stage)
            self.events.lost.add(stage)
            return None
        self.report("fetched", stage, sync.bytes_received, info.metric, info.metric_round)
        return fetched, info.metric

    def rebuild(self) -> None:
        prev = self.neighbour_state(self.stage - 1) if self.stage > 0 else None
        next_ = self.neighbour_state(self.stage + 1) if self.stage < self.stages - 1 else None
        if prev is None and next_ is None:
            raise RuntimeError(f"stage {self.stage}: both neighbours are lost; CheckFree "
                               "cannot rebuild two neighbouring stages at once")
        prev_w, prev_norm = prev if prev is not None else (None, 0.0)
        next_w, next_norm = next_ if next_ is not None else (None, 0.0)
        names = list(self.weights)
        recovered = cf.recover_state(
            None if prev_w is None else {n: prev_w[n] for n in names}, prev_norm,
            None if next_w is None else {n: next_w[n] for n in names}, next_norm,
            out=self.weights)
        exact = all(np.array_equal(recovered[n].view(np.uint32), checkfree_reference(
            None if prev_w is None else prev_w[n], prev_norm,
            None if next_w is None else next_w[n], next_norm).view(np.uint32)) for n in names)
        if not exact:
            raise RuntimeError("ecclStageRecover differs from the CheckFree formula")
        # Train again from the furthest round a neighbour reached: no stage is past it.
        rounds = [int(w["round"][0]) for w in (prev_w, next_w) if w is not None]
        self.next_round[0] = max(rounds)
        self.report("rebuilt", [s for s, w in ((self.stage - 1, prev_w), (self.stage + 1, next_w))
                                if w is not None], prev_norm, next_norm)


def worker(stage: int, replacement: bool, options: dict[str, Any], master: str,
           parent: Any) -> None:
    """A founding peer of stage, or (replacement) a stand-by that waits for "go"."""
    try:
        if replacement and (not parent.poll(options["deadline"]) or parent.recv() != "go"):
            return
        with eccl.Communicator(master, group_name(stage), listen="127.0.0.1:0",
                               timeout_ms=OP_TIMEOUT_MS, stage=stage,
                               num_stages=options["stages"]) as comm:
            join_ring(comm, options["replicas"])
            peer = StagePeer(comm, stage, options, parent)
            if replacement:
                peer.report("admitted")
                peer.recover()
            else:
                peer.sync()  # the founding replicas start alike (and are checked to)
                peer.await_pipeline()
            peer.train()
            parent.poll(options["deadline"])  # stay until every peer is done ("release")
    except BaseException:  # noqa: BLE001 - reported to the parent
        try:
            parent.send(("error", stage, -1, time.monotonic(), traceback.format_exc()))
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

class Run:
    """The parent's view: processes, the loss per round, the recovery timeline."""

    def __init__(self, options: dict[str, Any], master: str) -> None:
        self.options = options
        self.context = multiprocessing.get_context("spawn")  # no forked threads
        self.master = master
        self.processes: dict[Any, tuple[int, bool, Any]] = {}  # conn -> (stage, standby, process)
        self.losses: dict[int, list[float]] = {}
        self.printed = 0
        self.timeline: list[tuple[float, str]] = []
        self.kill_time: Optional[float] = None
        self.lost_seen: dict[int, float] = {}
        self.first_commit_after: Optional[tuple[int, float]] = None
        self.resume_round: Optional[int] = None
        self.done: dict[tuple[int, int], str] = {}  # (stage, replica) -> weights' sha256
        self.standby: dict[int, list[Any]] = {}
        self.killed: set[int] = set()  # stages
        self.killed_pids: set[int] = set()
        self.stopped: set[int] = set()
        self.restored: set[int] = set()

    def spawn(self, stage: int, standby: bool) -> None:
        mine, theirs = self.context.Pipe()
        process = self.context.Process(target=worker, daemon=True,
                                       args=(stage, standby, self.options, self.master, theirs))
        process.start()
        theirs.close()  # EOF on our end when the worker dies
        self.processes[mine] = (stage, standby, process)
        if standby:
            self.standby.setdefault(stage, []).append(mine)

    def stage_processes(self, stage: int) -> list[Any]:
        return [p for s, standby, p in self.processes.values()
                if s == stage and not standby and p.is_alive()]

    def note(self, when: float, text: str) -> None:
        assert self.kill_time is not None
        self.timeline.append((when, text))
        print(f"  +{(when - self.kill_time) * 1000:7.1f} ms  {text}", flush=True)

    def kill_stage(self, stage: int) -> None:
        pids = [p.pid for p in self.stage_processes(stage)]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        self.killed.add(stage)
        self.killed_pids.update(pids)
        self.note(time.monotonic(), f"killed stage {stage} (pids {pids}) with SIGKILL")

    def release_standby(self, stage: int) -> None:
        for conn in self.standby.pop(stage, []):
            conn.send("go")
            self.processes[conn] = (stage, False, self.processes[conn][2])
        self.note(time.monotonic(), f"stand-by peers take over stage {stage}")

    def print_rounds(self, upto: int) -> None:
        """Prints the loss of the rounds up to upto that were not printed yet (a round
        with fewer reports than replicas was abandoned, or is the last one)."""
        for r in range(self.printed + 1, upto + 1):
            if r in self.losses:
                print(f"round {r} loss {np.mean(self.losses[r]):.5f}", flush=True)
            self.printed = r

    def on_report(self, conn: Any, report: tuple[Any, ...]) -> None:
        kind, stage, replica, when = report[:4]
        fields = report[4:]
        victim, options = self.options["kill_stage"], self.options
        if kind == "error":
            raise RuntimeError(f"stage {stage}:\n{fields[0]}")
        if kind == "round":
            round_, committed, loss = fields
            if loss is not None:  # the last stage's replicas report rounds in order
                self.print_rounds(round_ - 1)
            if committed and loss is not None:
                self.losses.setdefault(round_, []).append(loss)
                if len(self.losses[round_]) == options["replicas"]:
                    self.print_rounds(round_)
            if committed and self.resume_round is not None and self.first_commit_after is None \
                    and round_ >= self.resume_round:
                self.first_commit_after = (round_, when)
                self.note(when, f"training resumed: stage {stage} committed round {round_}")
            if stage == victim and round_ >= options["kill_at"] and self.kill_time is None:
                self.kill_time = time.monotonic()
                print(f"after round {round_}:", flush=True)
                if options["lose_neighbour_during_fetch"]:
                    for process in self.stage_processes(victim + 1):
                        os.kill(process.pid, signal.SIGSTOP)
                    self.stopped.add(victim + 1)
                    self.note(time.monotonic(), f"stopped stage {victim + 1} with SIGSTOP")
                self.kill_stage(victim)
        elif kind == "stage_lost":
            (lost,) = fields
            if lost not in self.lost_seen:
                self.lost_seen[lost] = when
                self.note(when, f"STAGE_LOST({lost}) seen by stage {stage}")
                self.release_standby(lost)
        elif kind == "stage_restored":
            lost, round_ = fields
            if stage != lost and lost not in self.restored:
                self.restored.add(lost)
                self.note(when, f"STAGE_RESTORED({lost}) seen by stage {stage}: "
                                f"resume at round {round_}")
                self.resume_round = max(self.resume_round or 0, round_)
        elif kind == "admitted":
            self.note(when, f"replacement of stage {stage} admitted (replica {replica})")
        elif kind == "fetching":
            (source,) = fields
            self.note(when, f"stage {stage} fetches stage {source}'s weights")
            if source in self.stopped and source not in self.killed:
                time.sleep(0.2)  # the fetch is waiting for the stopped group's next sync
                self.kill_stage(source)
        elif kind == "fetched":
            source, received, norm, metric_round = fields
            self.note(when, f"stage {stage} fetched stage {source}: {received} bytes, gradient "
                            f"norm {norm:.4f} (round {metric_round})")
        elif kind == "neighbour_lost":
            (source,) = fields
            self.note(when, f"stage {stage}: neighbour stage {source} is lost; rebuilding "
                            "from the other one")
        elif kind == "rebuilt":
            sources, prev_norm, next_norm = fields
            how = ("norm-weighted average" if len(sources) == 2 else "copy (one neighbour)")
            self.note(when, f"stage {stage} rebuilt from stages {sources}: {how}, equal to "
                            "the CheckFree formula bit for bit")
        elif kind == "announced":
            round_, _ = fields
            if replica == 0:
                self.note(when, f"stage {stage} announced its recovery: resume at round "
                                f"{round_}")
        elif kind == "done":
            self.done[(stage, replica)] = fields[0]

    def collect(self) -> None:
        """Handles reports until every stage's replicas are done (or an error/deadline)."""
        deadline = time.monotonic() + self.options["deadline"]
        expected = self.options["stages"] * self.options["replicas"]
        while len(self.done) < expected:
            waiting = [c for c, (_, standby, _) in self.processes.items() if not c.closed]
            ready = multiprocessing.connection.wait(waiting,
                                                    max(0.0, deadline - time.monotonic()))
            if not ready:
                raise RuntimeError(f"the run did not finish within {self.options['deadline']} s")
            for conn in ready:
                stage, standby, process = self.processes[conn]
                try:
                    report = conn.recv()
                except EOFError:
                    conn.close()
                    if process.pid in self.killed_pids:
                        continue
                    raise RuntimeError(f"a peer of stage {stage} exited "
                                       f"(code {process.exitcode})")
                self.on_report(conn, report)
        self.print_rounds(self.options["rounds"])

    def stop(self) -> None:
        for conn, (_, _, process) in self.processes.items():
            try:
                if not conn.closed:
                    conn.send("release")
            except OSError:
                pass
        for _, _, process in self.processes.values():
            if process.is_alive() and process.pid is not None:
                try:
                    os.kill(process.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)


def summarize(run: Run, options: dict[str, Any]) -> int:
    """Checks the outcome and prints the figures; 0 when training went on."""
    stages, replicas = options["stages"], options["replicas"]
    for stage in range(stages):
        digests = {run.done[(stage, r)] for r in range(replicas)}
        if len(digests) != 1:
            print(f"FAILED: the replicas of stage {stage} hold different weights")
            return 1
    print(f"parity ok: every stage's {replicas} replicas hold identical weights")
    losses = {r: float(np.mean(v)) for r, v in run.losses.items()}
    if run.first_commit_after is None or not run.lost_seen:
        print("FAILED: no stage was lost, or training did not resume")
        return 1
    lost_at = min(run.lost_seen.values())
    resumed_round, resumed_at = run.first_commit_after
    print(f"time from STAGE_LOST to training resumed: {(resumed_at - lost_at) * 1000:.0f} ms "
          f"(first round after the recovery: {resumed_round})")
    before = [losses[r] for r in sorted(losses) if r < options["kill_at"] + 1][-5:]
    after = [r for r in sorted(losses) if r >= resumed_round]
    level = float(np.mean(before))
    back = next((i for i, r in enumerate(after)
                 if np.mean([losses[q] for q in after[i:i + 3]]) <= level), None)
    jump = max((losses[r] for r in after[:3]), default=float("nan"))
    print(f"loss before the failure {level:.5f} (mean of 5 rounds), highest of the 3 rounds "
          f"after it {jump:.5f}, back to the pre-failure level after "
          f"{'never' if back is None else back} rounds")
    first = float(np.mean([losses[r] for r in sorted(losses)[:5]]))
    final = float(np.mean([losses[r] for r in sorted(losses)[-5:]]))
    print(f"loss: first 5 rounds {first:.5f}, last 5 rounds {final:.5f}")
    if not final < first:
        print("FAILED: the loss did not fall")
        return 1
    print("ok: training continued after the stage was rebuilt without a checkpoint")
    return 0


def run(options: dict[str, Any]) -> int:
    stages, replicas = options["stages"], options["replicas"]
    # Killed peers close their connections: the master notices at once. The heartbeat
    # (a hung peer is lost after a few) only has to outlast the stopped stage's pause.
    with eccl.Master("127.0.0.1:0", heartbeat_ms=1000) as master:
        print(f"libeccl {'.'.join(map(str, eccl.version()))}, master on {master.address}, "
              f"{stages} stages x {replicas} replicas, {options['rounds']} rounds; stage "
              f"{options['kill_stage']} is killed after round {options['kill_at']}", flush=True)
        state = Run(options, master.address)
        try:
            for stage in range(stages):
                for _ in range(replicas):
                    state.spawn(stage, standby=False)
            lost = [options["kill_stage"]]
            if options["lose_neighbour_during_fetch"]:
                lost.append(options["kill_stage"] + 1)
            for stage in lost:
                for _ in range(replicas):
                    state.spawn(stage, standby=True)
            state.collect()
            return summarize(state, options)
        except RuntimeError as error:
            print(f"FAILED: {error}", flush=True)
            return 1
        finally:
            state.stop()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stages", type=int, default=4, help="pipeline stages (default 4)")
    parser.add_argument("--replicas", type=int, default=2, help="peers per stage (default 2)")
    parser.add_argument("--rounds", type=int, default=80)
    parser.add_argument("--kill-stage", type=int, default=-1,
                        help="the stage to kill (default: the middle one)")
    parser.add_argument("--kill-at", type=int, default=0,
                        help="kill it after this round (default rounds/2)")
    parser.add_argument("--lose-neighbour-during-fetch", action="store_true",
                        help="also lose the next stage while the replacement fetches it")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    parser.add_argument("--fetch-mbit", type=float, default=0,
                        help="pace of the replacement's fetches (0: unpaced)")
    parser.add_argument("--deadline", type=float, default=120, help="seconds for the whole run")
    args = parser.parse_args(argv)
    kill_stage = args.stages // 2 if args.kill_stage < 0 else args.kill_stage
    if args.stages < 2 or args.replicas < 1 or args.rounds < 10:
        parser.error("needs --stages >= 2, --replicas >= 1, --rounds >= 10")
    if not 0 <= kill_stage < args.stages:
        parser.error(f"--kill-stage must be 0..{args.stages - 1}")
    if args.lose_neighbour_during_fetch and not 0 < kill_stage < args.stages - 1:
        parser.error("--lose-neighbour-during-fetch needs a stage with two neighbours")
    options = dict(stages=args.stages, replicas=args.replicas, rounds=args.rounds,
                   kill_stage=kill_stage, kill_at=args.kill_at or args.rounds // 2,
                   lose_neighbour_during_fetch=args.lose_neighbour_during_fetch, lr=args.lr,
                   momentum=args.momentum, clip=args.clip,
                   fetch_bytes_per_s=int(args.fetch_mbit * 125_000), deadline=args.deadline)
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
