"""Failures: peers that disagree, abort, close with calls in flight, departures as events."""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np
import pytest

import eccl
from conftest import make_comm, ok, on_all, parallel, wait_until

Ring = Callable[..., list[eccl.Communicator]]


# Small all-reduces run by recursive doubling (a peer that sees another's header
# passes a mismatch notice on to its later partners), large ones by the pipelined
# ring: every peer fails with ecclInvalidUsage naming the count either way.
@pytest.mark.parametrize("big", [False, True], ids=["doubling", "ring"])
def test_mismatched_count_is_invalid_usage_on_every_peer(ring_factory: Ring, big: bool) -> None:
    comms = ring_factory(f"mismatch-{big}")
    base = 40_000 if big else 8
    arrays = [np.ones(base * (2 if c.rank == 0 else 1), dtype=np.float32) for c in comms]
    results = on_all(comms, lambda c: c.all_reduce(arrays[c.rank]))
    for result in results:
        assert isinstance(result, eccl.InvalidUsage), result
        assert result.code == 2 and "count" in result.detail
    # The ring recovers with an update.
    ok(on_all(comms, lambda c: c.update_topology()))
    arrays = [np.ones(base, dtype=np.float32) for _ in comms]
    ok(on_all(comms, lambda c: c.all_reduce(arrays[c.rank])))
    assert all((a == 3).all() for a in arrays)


def test_an_op_after_abort_is_aborted(master: eccl.Master) -> None:
    with make_comm(master, "aborted") as comm:
        comm.connect()  # alone in its group: admitted at once
        assert comm.world_size == 1
        comm.abort()
        comm.abort()  # idempotent
        with pytest.raises(eccl.Aborted) as caught:
            comm.all_reduce(np.ones(4, dtype=np.float32))
        assert caught.value.code == 9
        with pytest.raises(eccl.Aborted):
            comm.barrier()
        with pytest.raises(eccl.Aborted):
            comm.all_reduce_async(np.ones(4, dtype=np.float32)).wait(timeout_ms=5000)


def test_abort_ends_a_blocked_call(ring_factory: Ring) -> None:
    comms = ring_factory("abort-blocked", 2)
    x = np.ones(16, dtype=np.float32)
    timer = threading.Timer(0.2, comms[0].abort)  # comms[1] never joins the op
    timer.start()
    started = time.monotonic()
    (result,) = parallel([lambda: comms[0].all_reduce(x)], comms)
    timer.join()
    assert isinstance(result, eccl.Aborted), result
    assert time.monotonic() - started < 10


def test_close_aborts_calls_in_flight(ring_factory: Ring) -> None:
    comms = ring_factory("close-in-flight", 2)
    outcome: list[object] = []
    entered = threading.Event()

    def blocked() -> None:
        entered.set()
        try:
            outcome.append(comms[0].barrier())
        except eccl.EcclError as error:
            outcome.append(error)

    thread = threading.Thread(target=blocked, daemon=True)
    thread.start()
    entered.wait(5)
    time.sleep(0.1)
    comms[0].close()  # aborts the barrier, waits for it, then destroys
    thread.join(10)
    assert not thread.is_alive()
    assert isinstance(outcome[0], eccl.Aborted), outcome
    assert comms[0].closed
    with pytest.raises(eccl.InvalidUsage, match="closed"):
        comms[0].barrier()
    comms[0].close()  # idempotent


def test_a_peer_that_leaves_is_an_event_on_the_others(ring_factory: Ring) -> None:
    comms = ring_factory("events")
    for comm in comms:
        list(comm.events())  # the joins of the ring's formation
    leaving = comms[2].peer_id
    comms[2].close()
    for comm in comms[:2]:
        seen: list[eccl.Event] = []

        def left(c: eccl.Communicator = comm) -> bool:
            seen.extend(c.events())
            return any(e.kind == eccl.EventKind.PEER_LEFT and e.peer == leaving for e in seen)

        wait_until(left, timeout_s=10, what="a PEER_LEFT event")
        event = next(e for e in seen if e.kind == eccl.EventKind.PEER_LEFT)
        assert isinstance(event.peer, eccl.PeerId) and event.revision > 0
    # The survivors go on as a ring of two.
    ok(on_all(comms[:2], lambda c: c.update_topology()))
    assert [c.world_size for c in comms[:2]] == [2, 2]


def test_connect_times_out_without_a_master(master: eccl.Master) -> None:
    # A port nobody listens on: the master address of a closed master.
    gone = eccl.Master("127.0.0.1:0")
    address = gone.address
    gone.close()
    with eccl.Communicator(address, "nowhere", listen="127.0.0.1:0") as comm:
        with pytest.raises((eccl.Timeout, eccl.EcclConnectionError)):
            comm.connect(timeout_ms=300)


def test_should_commit_agrees_on_every_vote(ring_factory: Ring) -> None:
    comms = ring_factory("commit")
    assert ok(on_all(comms, lambda c: c.should_commit(True))) == [True] * 3
    assert ok(on_all(comms, lambda c: c.should_commit(c.rank != 1))) == [False] * 3
    assert ok(on_all(comms, lambda c: c.should_commit(True))) == [True] * 3


def test_should_commit_is_false_on_the_survivors_of_a_departure(ring_factory: Ring) -> None:
    comms = ring_factory("commit-departure")
    comms[2].close()  # its step never ends: the others must not apply theirs
    assert ok(on_all(comms[:2], lambda c: c.should_commit(True, timeout_ms=10_000))) == [False] * 2
    ok(on_all(comms[:2], lambda c: c.update_topology()))
    assert ok(on_all(comms[:2], lambda c: c.should_commit(True))) == [True] * 2
