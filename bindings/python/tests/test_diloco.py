"""eccl.DiLoCo among communicators of one process (threads), as the C++ loop tests do.

A toy linear regression (each peer its own shard, H steps of plain SGD in
numpy float32) against numpy references of the synchronous and the
one-step-delayed outer loop; a peer lost between and during rounds (its
survivors retry, and with lr=1, momentum=0 and inner steps that move every
parameter by exactly -1 the outer parameters count the applied rounds); a
joiner admitted while two members train; bfloat16 torch tensors; bad input.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any, Callable, Sequence

import numpy as np
import pytest

import eccl
from conftest import make_comm, ok, parallel
from eccl.diloco import DiLoCo, Rounds, StepInfo

Ring = Callable[..., list[eccl.Communicator]]

K = 3          # peers of the regression runs
D = 8          # features
N = 64         # rows per shard
H = 5          # inner steps per round
ROUNDS = 6
ETA = 0.1      # inner SGD step size
LR, MU = 0.8, 0.2  # outer Nesterov step
TIMEOUT_MS = 10_000  # each all-reduce / update / sync of the test loops

Params = list[np.ndarray]  # [w (D,), b (1,)]


# ---- the toy problem and its references ---------------------------------------------------

def shards(k: int = K) -> list[tuple[np.ndarray, np.ndarray]]:
    """k data shards of one linear model with noise; shard p is shifted by 0.2 p."""
    rng = np.random.default_rng(7)
    w_true = rng.standard_normal(D).astype(np.float32)
    out = []
    for p in range(k):
        x = (rng.standard_normal((N, D)) + 0.2 * p).astype(np.float32)
        y = (x @ w_true + 0.3 + 0.1 * rng.standard_normal(N)).astype(np.float32)
        out.append((x, y))
    return out


SHARDS = shards()


def fresh_params() -> Params:
    return [np.zeros(D, np.float32), np.zeros(1, np.float32)]


def inner_steps(params: Params, shard: tuple[np.ndarray, np.ndarray], h: int = H) -> None:
    """h steps of SGD on the shard's mean squared error, in place (the loop's memory)."""
    w, b = params
    x, y = shard
    scale = np.float32(ETA * 2 / len(y))
    for _ in range(h):
        residual = x @ w + b[0] - y
        w -= scale * (x.T @ residual)
        b -= scale * residual.sum(keepdims=True)


def loss(params: Params) -> float:
    """Mean squared error over every shard."""
    x = np.concatenate([s[0] for s in SHARDS])
    y = np.concatenate([s[1] for s in SHARDS])
    return float(np.mean((x @ params[0] + params[1][0] - y) ** 2))


class Outer:
    """The outer parameters and momentum of the reference: one Nesterov step per average."""

    def __init__(self, lr: float, mu: float) -> None:
        self.lr, self.mu = np.float32(lr), np.float32(mu)
        self.params = fresh_params()
        self.momentum = [np.zeros_like(p) for p in self.params]

    def step(self, deltas: Sequence[Params]) -> None:
        for i, (p, m) in enumerate(zip(self.params, self.momentum)):
            g = sum(d[i] for d in deltas) / np.float32(len(deltas))
            m[...] = self.mu * m + g
            p -= self.lr * (g + self.mu * m)


def reference_sync(rounds: int) -> list[Params]:
    """The synchronous loop on K workers: the outer parameters after each round."""
    outer = Outer(LR, MU)
    history = []
    for _ in range(rounds):
        deltas = []
        for p in range(K):
            local = [q.copy() for q in outer.params]
            inner_steps(local, SHARDS[p])
            deltas.append([o - q for o, q in zip(outer.params, local)])
        outer.step(deltas)
        history.append([q.copy() for q in outer.params])
    return history


def reference_async(rounds: int) -> tuple[list[list[Params]], Params]:
    """The delayed loop on K workers: each worker's parameters after each round's
    step (round t applied at the end of round t+1, that round's progress carried
    over), and the outer parameters after the final flush."""
    outer = Outer(LR, MU)
    local = [fresh_params() for _ in range(K)]
    start = [fresh_params() for _ in range(K)]
    pending: list[Params] = []
    history = []
    for _ in range(rounds):
        deltas = []
        for p in range(K):
            inner_steps(local[p], SHARDS[p])
            deltas.append([s - q for s, q in zip(start[p], local[p])])
            start[p] = [q.copy() for q in local[p]]
        if pending:
            outer.step(pending)
            for p in range(K):
                local[p] = [o - d for o, d in zip(outer.params, deltas[p])]
                start[p] = [q.copy() for q in local[p]]
        pending = deltas
        history.append([[q.copy() for q in worker] for worker in local])
    outer.step(pending)  # the flush
    return history, [q.copy() for q in outer.params]


# ---- helpers -------------------------------------------------------------------------------

def start_all(comms: Sequence[eccl.Communicator], params: Sequence[Any],
              **options: Any) -> list[DiLoCo]:
    """A DiLoCo on every member at once (a collective)."""
    options.setdefault("timeout_ms", TIMEOUT_MS)
    return ok(parallel([lambda c=c, p=p: DiLoCo(c, p, **options)
                        for c, p in zip(comms, params)], comms))


def round_on(who: Sequence[int], loops: Sequence[DiLoCo], comms: Sequence[eccl.Communicator],
             inner: Callable[[int], None]) -> list[StepInfo]:
    """One round on the listed peers at once: inner(i), then step()."""
    def one(i: int) -> StepInfo:
        inner(i)
        return loops[i].step()

    return ok(parallel([lambda i=i: one(i) for i in who], comms))


def flush_on(who: Sequence[int], loops: Sequence[DiLoCo],
             comms: Sequence[eccl.Communicator]) -> list[StepInfo]:
    return ok(parallel([lambda i=i: loops[i].flush() for i in who], comms))


def assert_parity(params: Sequence[Sequence[Any]], who: Sequence[int]) -> None:
    """The listed peers' parameters are identical bit for bit."""
    for i in who:
        for mine, first in zip(params[i], params[who[0]]):
            assert _bytes(mine) == _bytes(first), f"peer {i} differs from peer {who[0]}"


def _bytes(x: Any) -> bytes:
    if isinstance(x, np.ndarray):
        return x.tobytes()
    import torch

    return x.detach().view(torch.int16).numpy().tobytes()


def assert_close(got: Params, want: Params, what: str) -> None:
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=what)


def close_all(loops: Sequence[DiLoCo | None]) -> None:
    for loop in loops:
        if loop is not None:
            loop.close()


# ---- synchronous and delayed rounds against the references ----------------------------------

def test_sync_rounds_match_the_reference(ring_factory: Ring) -> None:
    comms = ring_factory("dlc-sync", K)
    params = [fresh_params() for _ in comms]
    loops = start_all(comms, params, lr=LR, momentum=MU, mode="sync")
    try:
        assert [d.rounds for d in loops] == [Rounds(0, 0)] * K
        reference = reference_sync(ROUNDS)
        for r in range(1, ROUNDS + 1):
            infos = round_on(range(K), loops, comms, lambda i: inner_steps(params[i], SHARDS[i]))
            for info in infos:
                assert (info.round, info.applied, info.contributors, info.attempts) == (r, r, 3, 1)
                assert not info.synced and info.wall_time_s > 0
            assert_parity(params, range(K))
            assert_close(params[0], reference[r - 1], f"round {r}")
        assert loss(params[0]) < 0.05 * loss(fresh_params())
        assert flush_on(range(K), loops, comms)[0].attempts == 0  # nothing in flight
        assert all(d.rounds == Rounds(ROUNDS, ROUNDS) for d in loops)
    finally:
        close_all(loops)


def test_members_with_different_options_all_fail(ring_factory: Ring) -> None:
    comms = ring_factory("dlc-options", 2)
    params = [fresh_params() for _ in comms]
    results = parallel([lambda: DiLoCo(comms[0], params[0], lr=0.7),
                        lambda: DiLoCo(comms[1], params[1], lr=0.5)], comms)
    for result in results:
        assert isinstance(result, eccl.InvalidUsage), result
        assert "options differ" in str(result)


def test_async_rounds_match_the_delayed_reference(ring_factory: Ring) -> None:
    reference, final = reference_async(ROUNDS)
    # The synchronous run on a ring of its own: its final loss, for comparison.
    sync_comms = ring_factory("dlc-async-vs-sync", K)
    sync_params = [fresh_params() for _ in sync_comms]
    sync_loops = start_all(sync_comms, sync_params, lr=LR, momentum=MU, mode="sync")
    try:
        for _ in range(ROUNDS):
            round_on(range(K), sync_loops, sync_comms,
                     lambda i: inner_steps(sync_params[i], SHARDS[i]))
    finally:
        close_all(sync_loops)
    sync_loss = loss(sync_params[0])

    comms = ring_factory("dlc-async", K)
    params = [fresh_params() for _ in comms]
    loops = start_all(comms, params, lr=LR, momentum=MU, mode="async")
    try:
        for r in range(1, ROUNDS + 1):
            infos = round_on(range(K), loops, comms, lambda i: inner_steps(params[i], SHARDS[i]))
            for info in infos:
                assert (info.round, info.applied) == (r, r - 1)  # applied one round late
                assert info.contributors == (3 if r > 1 else 0)
                assert info.attempts == 1
            for p in range(K):
                assert_close(params[p], reference[r - 1][p], f"round {r} peer {p}")
        infos = flush_on(range(K), loops, comms)
        assert all((i.round, i.applied, i.contributors) == (ROUNDS, ROUNDS, 3) for i in infos)
        assert_parity(params, range(K))
        assert_close(params[0], final, "after the flush")
        assert all(d.rounds == Rounds(ROUNDS, ROUNDS) for d in loops)
    finally:
        close_all(loops)
    async_loss = loss(params[0])
    assert abs(async_loss - sync_loss) <= 0.05 * sync_loss, (async_loss, sync_loss)


# ---- a peer lost ---------------------------------------------------------------------------

def unit_params() -> Params:
    return [np.ones(600, np.float32), np.ones(424, np.float32)]


def unit_step(params: Params) -> None:
    """Moves every parameter by exactly -1: every round's average is then exactly 1."""
    for p in params:
        p -= np.float32(1)


def assert_rounds_counted(params: Params, rounds: int) -> None:
    """With lr 1 and momentum 0 the outer parameters moved by exactly 1 per applied round."""
    for p in params:
        assert (p == np.float32(1 - rounds)).all(), (rounds, np.unique(p))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("when", ["between", "during"])
def test_survivors_carry_on_after_a_peer_is_lost(ring_factory: Ring, mode: str,
                                                 when: str) -> None:
    comms = ring_factory(f"dlc-lost-{mode}-{when}", 3)
    params = [unit_params() for _ in comms]
    loops: list[Any] = start_all(comms, params, lr=1.0, momentum=0.0, mode=mode)
    try:
        for _ in range(2):
            round_on(range(3), loops, comms, lambda i: unit_step(params[i]))
        flush_on(range(3), loops, comms)  # rounds 1-2 applied everywhere ("async")

        victim = comms[2]

        def kill() -> None:  # as a crash looks to the others: its ops end, its connections close
            victim.abort()
            victim.close()  # closes its DiLoCo first

        reports: list[list[StepInfo]] = [[], []]
        if when == "between":
            kill()
            first = round_on([0, 1], loops, comms, lambda i: unit_step(params[i]))
        else:
            # The survivors' all-reduce is in flight when the victim dies: "sync"
            # blocks in step() meanwhile, "async" returned from it at once.
            timer = threading.Timer(0.3, kill)
            timer.start()
            first = round_on([0, 1], loops, comms, lambda i: unit_step(params[i]))
            timer.join(10)
        assert loops[2].closed
        for i, info in enumerate(first):
            reports[i].append(info)
        for _ in range(2):
            for i, info in enumerate(round_on([0, 1], loops, comms,
                                              lambda i: unit_step(params[i]))):
                reports[i].append(info)
        for i, info in enumerate(flush_on([0, 1], loops, comms)):
            reports[i].append(info)

        for i in (0, 1):
            retried = [info for info in reports[i] if info.attempts > 1]
            assert retried, f"peer {i}: no boundary was retried: {reports[i]}"
            assert retried[0].contributors == 2, retried[0]
            assert all(info.contributors in (0, 2) for info in reports[i]), reports[i]
        # The survivors' failing boundary: at once in "sync", one late in "async".
        failing = 0 if mode == "sync" else 1
        assert reports[0][failing].attempts > 1 and reports[1][failing].attempts > 1
        assert_parity(params, [0, 1])
        assert [d.rounds for d in loops[:2]] == [Rounds(5, 5)] * 2
        assert_rounds_counted(params[0], 5)  # rounds 1-5, none lost, none twice
        assert comms[0].world_size == 2
    finally:
        close_all(loops)


# ---- a joiner -------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_joiner_receives_the_outer_state(master: eccl.Master, ring_factory: Ring,
                                           mode: str) -> None:
    group = f"dlc-join-{mode}"
    members = ring_factory(group, 2)
    joiner_comm = make_comm(master, group)
    comms = [*members, joiner_comm]
    params = [unit_params() for _ in range(3)]
    params[2][0][:] = 123.0  # a joiner's own values count for nothing
    extra: list[dict[str, np.ndarray]] = [
        {"cursor": np.array([7], np.int64), "inner_momentum": np.arange(5, dtype=np.float32)}
        for _ in range(2)]
    extra.append({"cursor": np.zeros(1, np.int64), "inner_momentum": np.zeros(5, np.float32)})
    options: dict[str, Any] = dict(lr=1.0, momentum=0.0, mode=mode, timeout_ms=TIMEOUT_MS)
    loops: list[Any] = [*ok(parallel([lambda i=i: DiLoCo(members[i], params[i], extra_state=extra[i],
                                                         **options) for i in (0, 1)], members)),
                        None]
    joined: list[Any] = []
    try:
        round_on([0, 1], loops, comms, lambda i: unit_step(params[i]))

        def join() -> None:
            try:
                joined.append(DiLoCo.join(joiner_comm, params[2], extra_state=extra[2],
                                          **options))
            except BaseException as error:  # noqa: BLE001 - handed to the test
                joined.append(error)

        thread = threading.Thread(target=join, daemon=True)
        thread.start()
        # The members train on until they admit the joiner at a boundary they agree on.
        deadline = time.monotonic() + 20
        admitted = False
        while not admitted:
            assert time.monotonic() < deadline, "the joiner was not admitted within 20 s"
            for i in (0, 1):
                extra[i]["cursor"][0] += 1  # the caller's own state moves on each round
            infos = round_on([0, 1], loops, comms, lambda i: unit_step(params[i]))
            admitted = any(info.synced for info in infos)
            assert all(info.synced for info in infos) == admitted, infos
            time.sleep(0.01)
        thread.join(30)
        assert not thread.is_alive(), "DiLoCo.join did not return"
        assert isinstance(joined[0], DiLoCo), joined[0]
        loops[2] = joined[0]
        assert loops[2].rounds == loops[0].rounds == loops[1].rounds
        assert joiner_comm.world_size == 3
        for name, array in extra[0].items():
            np.testing.assert_array_equal(extra[2][name], array, err_msg=name)
        if mode == "sync":  # no round in flight: everyone is on the outer parameters
            assert_parity(params, [0, 1, 2])

        infos = round_on([0, 1, 2], loops, comms, lambda i: unit_step(params[i]))
        if mode == "sync":
            assert all(info.contributors == 3 for info in infos), infos
        infos = flush_on([0, 1, 2], loops, comms)
        if mode == "async":  # the round launched after the joiner arrived
            assert all(info.contributors == 3 for info in infos), infos
        assert_parity(params, [0, 1, 2])
        launched, applied = loops[0].rounds
        assert launched == applied and all(d.rounds == (launched, applied) for d in loops)
        assert_rounds_counted(params[0], applied)
    finally:
        close_all(loops)
        joiner_comm.close()


# ---- bfloat16 torch tensors -----------------------------------------------------------------

def test_bf16_torch_parameters_stay_identical(ring_factory: Ring) -> None:
    torch = pytest.importorskip("torch")
    comms = ring_factory("dlc-bf16", 2)
    torch.manual_seed(0)
    models = [torch.nn.Linear(16, 4).to(torch.bfloat16) for _ in comms]
    models[1].load_state_dict(models[0].state_dict())
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.05) for m in models]
    data = [(torch.randn(32, 16).to(torch.bfloat16), torch.randn(32, 4).to(torch.bfloat16))
            for _ in comms]

    def inner(i: int) -> None:
        for _ in range(3):
            optimizers[i].zero_grad()
            x, y = data[i]
            ((models[i](x) - y) ** 2).mean().backward()  # torch 1.13: no bf16 mse_loss on CPU
            optimizers[i].step()

    params = [list(m.parameters()) for m in models]
    loops = start_all(comms, params, mode="async")
    try:
        before = [p.detach().clone() for p in params[0]]
        for _ in range(4):
            round_on([0, 1], loops, comms, inner)
        flush_on([0, 1], loops, comms)
        assert_parity(params, [0, 1])
        assert any(not torch.equal(p, q) for p, q in zip(params[0], before))
        assert loops[0].rounds == Rounds(4, 4)
    finally:
        close_all(loops)


# ---- arguments and lifecycle ----------------------------------------------------------------

def test_config_defaults_are_the_headers() -> None:
    from eccl import _ctypes_api as api
    from eccl import _library

    code, config = api.init_versioned(api.ecclDilocoConfig_t, _library.lib().ecclDilocoConfigInit)
    assert code == 0
    assert (config.outer_lr, config.outer_momentum) == (pytest.approx(0.7), pytest.approx(0.9))
    assert config.mode == api.ecclDilocoMode_t.ecclDilocoSync
    assert (config.tag, config.timeout_ms, config.max_attempts) == (0x44694C6F, -1, 4)
    assert not config.extra_state and config.nextra == 0 and config.state_revision == 0


@pytest.fixture
def solo(master: eccl.Master) -> Any:
    """A connected communicator alone in its group: a ring of one."""
    with make_comm(master, "dlc-solo") as comm:
        comm.connect()
        yield comm


def test_bad_parameters_are_refused(solo: eccl.Communicator) -> None:
    f32 = np.ones(8, np.float32)
    readonly = np.ones(8, np.float32)
    readonly.flags.writeable = False
    cases: tuple[tuple[Any, type[Exception], str], ...] = (
        ([], ValueError, "empty"),
        ([f32, np.ones(8, np.float64)], ValueError, "same dtype"),
        ([np.ones(8, np.float64)], ValueError, "float32 or bfloat16"),
        ([np.ones(8, np.int32)], ValueError, "float32 or bfloat16"),
        ([np.ones(16, np.float32)[::2]], ValueError, "contiguous"),
        ([readonly], ValueError, "read-only"),
        ([f32, f32], ValueError, "share memory"),
        ([np.ones((4, 4), np.float32)[:, 1:], f32], ValueError, "contiguous"),
        ([[1.0, 2.0]], TypeError, "numpy.ndarray"),
        ({"w": f32}, TypeError, "not a dict"),
        ([np.zeros(0, np.float32)], ValueError, "no elements"),
    )
    for params, error, text in cases:
        with pytest.raises(error, match=text):
            DiLoCo(solo, params)
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="same dtype"):
        DiLoCo(solo, [torch.ones(4), torch.ones(4, dtype=torch.bfloat16)])
    with pytest.raises(ValueError, match="contiguous"):
        DiLoCo(solo, [torch.ones(4, 4).t()])


def test_bad_options_are_refused(master: eccl.Master, solo: eccl.Communicator) -> None:
    w = np.ones(8, np.float32)
    cases: tuple[tuple[dict[str, Any], type[Exception]], ...] = (
        (dict(mode="bogus"), ValueError),
        (dict(tag=1 << 32), ValueError),
        (dict(max_attempts=0), ValueError),
        (dict(state_revision=-1), ValueError),
        (dict(lr=-1.0), eccl.InvalidArgument),
        (dict(lr=float("nan")), eccl.InvalidArgument),
        (dict(momentum=1.0), eccl.InvalidArgument),
        (dict(extra_state={"eccl.diloco.mine": np.ones(1, np.float32)}), eccl.InvalidArgument),
        (dict(extra_state={"x": np.ones(4, np.float32)[::2]}), ValueError),
    )
    for options, error in cases:
        with pytest.raises(error):
            DiLoCo(solo, [w], **options)
    with pytest.raises(TypeError, match="Communicator"):
        DiLoCo("127.0.0.1:1", [w])  # type: ignore[arg-type]
    # A comm that is not a ring member yet must join instead.
    with make_comm(master, "dlc-outsider") as outsider:
        with pytest.raises(eccl.InvalidUsage, match="ring member"):
            DiLoCo(outsider, [w])
    closed = make_comm(master, "dlc-closed")
    closed.close()
    with pytest.raises(eccl.InvalidUsage, match="closed"):
        DiLoCo(closed, [w])


def test_lifecycle_on_a_ring_of_one(master: eccl.Master, solo: eccl.Communicator) -> None:
    w = np.ones(8, np.float32)
    with DiLoCo(solo, [w], lr=1.0, momentum=0.0, mode="async", tag=5) as loop:
        assert loop.mode == "async" and loop.params[0] is w and loop.comm is solo
        assert "async" in repr(loop)
        unit_step([w])
        info = loop.step()
        assert (info.round, info.applied, info.contributors) == (1, 0, 0)
        assert loop.flush().applied == 1
        assert (w == 0).all()
    assert loop.closed
    loop.close()  # idempotent
    with pytest.raises(eccl.InvalidUsage, match="closed"):
        loop.step()
    with pytest.raises(eccl.InvalidUsage, match="closed"):
        loop.rounds

    # Garbage collection frees a loop; closing its communicator closes it first.
    DiLoCo(solo, [np.ones(8, np.float32)], state_revision=1)
    gc.collect()
    with make_comm(master, "dlc-lifecycle") as comm:
        comm.connect()
        loop = DiLoCo(comm, [np.ones(8, np.float32)])
        loop.step()
    assert loop.closed and comm.closed
    with pytest.raises(eccl.InvalidUsage, match="closed"):
        loop.step()


def test_close_of_the_communicator_aborts_a_step_in_flight(ring_factory: Ring) -> None:
    comms = ring_factory("dlc-close", 2)
    params = [unit_params() for _ in comms]
    loops = start_all(comms, params)
    try:
        outcome: list[Any] = []
        # Peer 1 never steps: peer 0's step blocks until its comm is closed under it.
        thread = threading.Thread(target=lambda: outcome.append(_step_or_error(loops[0])),
                                  daemon=True)
        thread.start()
        time.sleep(0.2)
        started = time.monotonic()
        comms[0].close()
        thread.join(10)
        assert not thread.is_alive()
        assert time.monotonic() - started < 5
        assert isinstance(outcome[0], eccl.Aborted), outcome
        assert loops[0].closed and comms[0].closed
    finally:
        close_all(loops)


def _step_or_error(loop: DiLoCo) -> Any:
    try:
        return loop.step()
    except eccl.EcclError as error:
        return error
