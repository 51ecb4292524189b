"""A fork()ed child and its parent's communicators and master: refused there,
closed without harm to the parent (as a child that exits normally closes them)."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Callable

import numpy as np

import eccl
from conftest import on_all, ok, parallel

Ring = Callable[..., list[eccl.Communicator]]

CHILD_DEADLINE_S = 20.0


def _child(master: eccl.Master, comms: list[eccl.Communicator]) -> int:
    """What the child does; its exit status (0: as expected)."""
    try:
        comms[0].all_reduce(np.ones(4, dtype=np.float32))
        return 2  # the parent's comm worked here
    except eccl.InvalidUsage as error:
        if "fork" not in error.detail:
            return 3
    except BaseException:  # noqa: BLE001 - any other outcome fails the test
        return 4
    started = time.monotonic()
    for comm in comms:
        comm.close()  # a barrier is in flight on comms[0]'s (parent's) thread
    master.close()  # the parent's master serves on
    return 0 if time.monotonic() - started < 5.0 else 5


def _exit_status(pid: int) -> int:
    """The child's exit status; it is killed (and -1 returned) past the deadline."""
    deadline = time.monotonic() + CHILD_DEADLINE_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -1


def test_a_forked_child_cannot_use_nor_harm_the_parents_ring(master: eccl.Master,
                                                             ring_factory: Ring) -> None:
    comms = ring_factory("forked", 2)
    arrays = [np.full(1000, c.rank + 1, dtype=np.float32) for c in comms]
    ok(on_all(comms, lambda c: c.all_reduce(arrays[c.rank])))
    # In flight across the fork: comms[1] joins it only once the child is gone.
    outcome: list[object] = []
    barrier = threading.Thread(target=lambda: outcome.append(comms[0].barrier()), daemon=True)
    barrier.start()
    time.sleep(0.1)

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _child(master, comms)
        finally:
            os._exit(code)
    assert _exit_status(pid) == 0

    (joined,) = parallel([comms[1].barrier], comms)
    barrier.join(10)
    assert not barrier.is_alive() and outcome == [None] and joined is None
    ok(on_all(comms, lambda c: c.update_topology()))  # through the master
    arrays = [np.full(1000, c.rank + 1, dtype=np.float32) for c in comms]
    ok(on_all(comms, lambda c: c.all_reduce(arrays[c.rank])))
    assert all((a == 3).all() for a in arrays)
    assert [c.world_size for c in comms] == [2, 2]
