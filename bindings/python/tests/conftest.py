"""Fixtures of the binding tests: one master per session and rings of communicators
on threads of this process, over 127.0.0.1 with ephemeral ports.

Every wait is bounded: ops time out after OP_TIMEOUT_MS and helper threads are
joined with a deadline (a hung thread fails the test and aborts its comms).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator, Sequence

import pytest

import eccl

#: Default deadline of every blocking call of the test communicators.
OP_TIMEOUT_MS = 20_000
#: How long a test waits for its threads.
JOIN_TIMEOUT_S = 60.0


def wait_until(predicate: Callable[[], bool], timeout_s: float = 20.0,
               what: str = "condition") -> None:
    """Polls predicate every 5 ms until it holds; AssertionError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.005)


def parallel(calls: Sequence[Callable[[], Any]],
             comms: Sequence[eccl.Communicator] = ()) -> list[Any]:
    """Runs each call on a thread of its own; returns their results in order.

    Each result is the call's return value or the exception it raised (the
    caller asserts on them). A thread still running after JOIN_TIMEOUT_S aborts
    comms (so it ends) and fails the test.
    """
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        for comm in comms:
            comm.abort()
        raise AssertionError(f"threads still running after {JOIN_TIMEOUT_S} s (comms aborted)")
    return results


def ok(results: Sequence[Any]) -> list[Any]:
    """results, re-raising the first exception among them."""
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)


def on_all(comms: Sequence[eccl.Communicator], fn: Callable[[eccl.Communicator], Any]) -> list[Any]:
    """fn(comm) on every comm at once (threads); the results, exceptions included."""
    return parallel([lambda c=c: fn(c) for c in comms], comms)


def make_comm(master: eccl.Master, group: str, **options: Any) -> eccl.Communicator:
    """A communicator of group on 127.0.0.1 (2 connections per peer, OP_TIMEOUT_MS)."""
    options.setdefault("timeout_ms", OP_TIMEOUT_MS)
    return eccl.Communicator(master, group, listen="127.0.0.1:0", connections=2, **options)


def form_ring(master: eccl.Master, group: str, n: int = 3) -> list[eccl.Communicator]:
    """n connected communicators of one ring, as tests/c/c_cluster.h's joinTestRing:
    the first connects alone; the others connect on threads while it waits for
    them to be pending and admits them with one update_topology. Sorted by rank."""
    comms = [make_comm(master, group) for _ in range(n)]
    comms[0].connect()
    joiners = [lambda c=c: c.connect() for c in comms[1:]]

    def admit() -> None:
        wait_until(lambda: comms[0].peers_pending == n - 1, what=f"{n - 1} pending peers")
        comms[0].update_topology()

    ok(parallel([admit, *joiners], comms))
    assert sorted(c.rank for c in comms) == list(range(n))
    assert all(c.world_size == n for c in comms)
    return sorted(comms, key=lambda c: c.rank)


@pytest.fixture(scope="session")
def master() -> Iterator[eccl.Master]:
    """The session's master (heartbeat 100 ms: a lost peer is noticed within 0.4 s)."""
    with eccl.Master("127.0.0.1:0", heartbeat_ms=100) as m:
        yield m


@pytest.fixture
def ring_factory(master: eccl.Master) -> Iterator[Callable[..., list[eccl.Communicator]]]:
    """form_ring(master, group, n) whose communicators close at the test's end."""
    made: list[eccl.Communicator] = []

    def factory(group: str, n: int = 3) -> list[eccl.Communicator]:
        comms = form_ring(master, group, n)
        made.extend(comms)
        return comms

    yield factory
    for comm in made:
        comm.close()


@pytest.fixture(scope="module")
def ring(master: eccl.Master, request: pytest.FixtureRequest) -> Iterator[list[eccl.Communicator]]:
    """A ring of 3 shared by the tests of one module (its group: the module's name)."""
    comms = form_ring(master, request.module.__name__, 3)
    yield comms
    for comm in comms:
        comm.close()
