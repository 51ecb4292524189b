"""Communicator.set_event_callback (ecclCommSetEventCallback): while a callback
is set, events go to it, on a thread of the communicator's own, and are not
queued; an exception it raises is printed, not propagated into C; close() from
inside it is refused; once it is removed, events are queued again."""

from __future__ import annotations

import threading
from typing import Callable

import pytest

import eccl
from conftest import make_comm, ok, on_all, parallel, wait_until

Ring = Callable[..., list[eccl.Communicator]]
GROUP = "event-callback-python"


def test_events_go_to_the_callback_until_it_is_removed(
        master: eccl.Master, ring_factory: Ring, capsys: pytest.CaptureFixture[str]) -> None:
    comms = ring_factory(GROUP, 2)
    for comm in comms:
        list(comm.events())  # the ring's formation
    seen: list[eccl.Event] = []
    threads: set[int] = set()
    close_errors: list[BaseException] = []
    ranks: list[int] = []

    def record(event: eccl.Event) -> None:
        seen.append(event)
        threads.add(threading.get_ident())
        ranks.append(comms[0].rank)  # a non-blocking call from inside works
        try:
            comms[0].close()
        except eccl.InvalidUsage as error:
            close_errors.append(error)

    comms[0].set_event_callback(record)
    joiner = make_comm(master, GROUP)
    try:
        connect = threading.Thread(target=joiner.connect, daemon=True)
        connect.start()
        wait_until(lambda: any(e.kind == eccl.EventKind.PEER_JOINED and e.peer == joiner.peer_id
                               for e in seen), timeout_s=20, what="PEER_JOINED in the callback")
        assert comms[0].poll_event() is None  # handed to the callback, not queued
        assert threads and threading.get_ident() not in threads
        assert close_errors and not comms[0].closed  # close() from inside: refused
        assert ranks and set(ranks) == {0}
        ok(on_all(comms, lambda c: c.update_topology()))
        connect.join(timeout=20)
        assert joiner.world_size == 3

        # A callback that raises: printed to stderr, the process and the comm carry on.
        raised: list[eccl.Event] = []

        def failing(event: eccl.Event) -> None:
            raised.append(event)
            raise RuntimeError("the callback failed on purpose")

        comms[0].set_event_callback(failing)
        leaving = joiner.peer_id
        joiner.close()
        wait_until(lambda: any(e.peer == leaving for e in raised), timeout_s=10,
                   what="the joiner's departure in the failing callback")
        comms[0].set_event_callback(None)
        assert "the callback failed on purpose" in capsys.readouterr().err
        assert comms[0].poll_event() is None

        # Removed: the next departure is queued, and no callback hears of it.
        handed = len(raised) + len(seen)
        gone = comms[1].peer_id
        comms[1].close()
        queued: list[eccl.Event] = []

        def left() -> bool:
            queued.extend(comms[0].events())
            return any(e.kind == eccl.EventKind.PEER_LEFT and e.peer == gone for e in queued)

        wait_until(left, timeout_s=10, what="PEER_LEFT queued after the callback was removed")
        assert len(raised) + len(seen) == handed
    finally:
        joiner.close()


def test_removing_from_another_thread_waits_for_a_running_callback(ring_factory: Ring) -> None:
    comms = ring_factory(GROUP + "-wait", 2)
    entered = threading.Event()
    release = threading.Event()
    finished: list[bool] = []

    def slow(event: eccl.Event) -> None:
        entered.set()
        release.wait(timeout=10)
        finished.append(True)

    comms[0].set_event_callback(slow)
    comms[1].close()  # PEER_LEFT for comms[0]'s callback
    assert entered.wait(timeout=10), "the callback did not run"
    # Remove it while it runs; it returns only once release is set.
    results = parallel([lambda: comms[0].set_event_callback(None),
                        lambda: (threading.Timer(0.3, release.set).start(), None)[1]])
    ok(results)
    assert finished == [True]  # set_event_callback(None) returned after the callback did
