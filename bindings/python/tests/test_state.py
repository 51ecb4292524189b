"""sync_state, connect_with_state and fetch_group_state among communicators of one process."""

from __future__ import annotations

import threading
import time

import numpy as np

import eccl
from conftest import OP_TIMEOUT_MS, form_ring, make_comm, ok, on_all, wait_until

WEIGHTS = 4099


def fresh_state(zero: bool = False) -> dict[str, np.ndarray]:
    """The state of one peer: three entries of three dtypes."""
    return {
        "weights": np.zeros(WEIGHTS, np.float32) if zero else np.arange(WEIGHTS, dtype=np.float32) / 2,
        "step": np.array([0 if zero else 1234], dtype=np.int64),
        "halves": np.zeros(7, np.float16) if zero else np.arange(7, dtype=np.float16) + 1,
    }


def test_sync_state_fixes_a_flipped_value(ring: list[eccl.Communicator]) -> None:
    states = [fresh_state() for _ in ring]
    # The first sync: every peer at revision 3, one of them a RECEIVE_ONLY joiner with zeros.
    states[2] = fresh_state(zero=True)
    strategies = ["popular", "popular", "receive"]
    infos = ok(on_all(ring, lambda c: c.sync_state(states[c.rank], 3, strategies[c.rank])))
    assert [info.revision for info in infos] == [3, 3, 3]
    assert infos[2].entries_fixed == 3
    assert infos[2].bytes_received == WEIGHTS * 4 + 8 + 14
    for state in states:
        for name, array in fresh_state().items():
            np.testing.assert_array_equal(state[name], array)

    # The next sync (revision 4): one flipped value on rank 1 is put back.
    states[1]["weights"][17] = -1.0
    infos = ok(on_all(ring, lambda c: c.sync_state(states[c.rank], 4)))
    for state, info in zip(states, infos):
        assert state["weights"][17] == 8.5
        assert info.revision == 4
        assert info.wall_time_ns > 0
    assert infos[1].entries_fixed == 1
    assert infos[1].bytes_received == WEIGHTS * 4
    assert infos[0].entries_fixed == 0 and infos[2].entries_fixed == 0
    assert sum(info.bytes_sent for info in infos) == WEIGHTS * 4


def test_sync_state_rejects_disagreeing_entries(ring: list[eccl.Communicator]) -> None:
    states = [fresh_state() for _ in ring]
    del states[0]["halves"]
    results = on_all(ring, lambda c: c.sync_state(states[c.rank], 5))
    for result in results:
        assert isinstance(result, eccl.InvalidUsage), result
        assert "halves" in result.detail


def test_connect_with_state_fetches_before_admission(master: eccl.Master) -> None:
    group = "state-joiner"
    members = form_ring(master, group, 2)
    joiner = make_comm(master, group)
    try:
        states = [fresh_state() for _ in members]
        revision = 1
        ok(on_all(members, lambda c: c.sync_state(states[c.rank], revision)))

        joined = fresh_state(zero=True)
        outcome: list[object] = []

        def join() -> None:
            try:
                outcome.append(joiner.connect_with_state(joined, fetch_mbit=0,
                                                         timeout_ms=OP_TIMEOUT_MS))
            except eccl.EcclError as error:
                outcome.append(error)

        thread = threading.Thread(target=join, daemon=True)
        thread.start()
        # The members keep syncing (each sync moves the revision by one) until
        # the joiner holds a snapshot and counts as pending.
        deadline = time.monotonic() + 20
        while members[0].peers_pending == 0:
            assert time.monotonic() < deadline, "the joiner never became pending"
            revision += 1
            ok(on_all(members, lambda c: c.sync_state(states[c.rank], revision)))
            time.sleep(0.05)
        for member in members:
            wait_until(lambda m=member: m.peers_pending == 1, what="the joiner pending")
        ok(on_all(members, lambda c: c.update_topology()))
        thread.join(30)
        assert not thread.is_alive()
        info = outcome[0]
        assert isinstance(info, eccl.SyncInfo), info
        assert info.entries_fixed == 3
        assert info.bytes_received == WEIGHTS * 4 + 8 + 14
        assert info.revision > 1
        assert joiner.world_size == 3
        for name, array in states[0].items():
            np.testing.assert_array_equal(joined[name], array)
    finally:
        joiner.close()
        for member in members:
            member.close()


def test_fetch_group_state_fetches_another_groups_state(master: eccl.Master) -> None:
    members = form_ring(master, "state-source", 2)
    fetcher = make_comm(master, "state-fetcher")
    try:
        fetcher.connect()
        states = [fresh_state() for _ in members]
        fetched = fresh_state(zero=True)
        with np.testing.assert_raises(eccl.InvalidArgument):
            fetcher.fetch_group_state("no-such-group", fetched, timeout_ms=OP_TIMEOUT_MS)
        with np.testing.assert_raises(ValueError):
            fetcher.fetch_group_state("", fetched)
        with np.testing.assert_raises(ValueError):
            fetcher.fetch_group_state("state-source", fetched, bytes_per_s=-1)
        outcome: list[object] = []

        def fetch() -> None:
            try:
                outcome.append(fetcher.fetch_group_state("state-source", fetched,
                                                         bytes_per_s=50_000_000,
                                                         timeout_ms=OP_TIMEOUT_MS))
            except eccl.EcclError as error:
                outcome.append(error)

        thread = threading.Thread(target=fetch, daemon=True)
        thread.start()
        # The members sync round after round; one of those syncs is the snapshot.
        revision = 0
        deadline = time.monotonic() + 20
        while thread.is_alive():
            assert time.monotonic() < deadline, "the fetch never ended"
            revision += 1
            states[0]["step"][0] = states[1]["step"][0] = revision
            ok(on_all(members, lambda c: c.sync_state(states[c.rank], revision)))
            time.sleep(0.05)
        thread.join(30)
        info = outcome[0]
        assert isinstance(info, eccl.SyncInfo), info
        assert 1 <= info.revision <= revision
        assert info.entries_fixed == 3
        assert info.bytes_received == WEIGHTS * 4 + 8 + 14
        # The snapshot is exactly the members' state of its revision.
        assert fetched["step"][0] == info.revision
        np.testing.assert_array_equal(fetched["weights"], states[0]["weights"])
        np.testing.assert_array_equal(fetched["halves"], states[0]["halves"])
        assert fetcher.world_size == 1 and members[0].world_size == 2
    finally:
        fetcher.close()
        for member in members:
            member.close()
