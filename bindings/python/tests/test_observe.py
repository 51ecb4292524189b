"""Communicator.op_stats, link_stats and dump_state (the C API's ecclCommGetOpStats,
ecclCommGetLinkStats and ecclCommDumpState), as tests/c/c_observe_test.c: three
peers on threads run a ring all-reduce and a broadcast; each peer's flight
recorder must show both with the bytes the calls reported, its ring neighbours
and the outcome."""

from __future__ import annotations

import time
from typing import Callable, Iterator

import numpy as np
import pytest

import eccl
from conftest import form_ring, make_comm, ok, on_all, parallel

N = 3
COUNT = 262_144  # 1 MiB of f32: the ring, not the small all-reduce
BROADCAST = 1001


Observed = tuple[list[eccl.Communicator], list[list[eccl.OpInfo]], int]


@pytest.fixture(scope="module")
def observed(master: eccl.Master) -> Iterator[Observed]:
    """A fresh ring of 3 (an empty flight recorder) after an all-reduce (tag 1)
    and a broadcast (tag 2) on every peer: the comms by rank, each peer's
    OpInfo of both ops, and time.time_ns() before them."""
    comms = form_ring(master, "observe", N)
    before = time.time_ns()

    def run(c: eccl.Communicator) -> list[eccl.OpInfo]:
        x = np.full(COUNT, c.rank + 1, dtype=np.float32)
        c.all_reduce(x, tag=1)
        assert (x == N * (N + 1) / 2).all()
        first = c.last_op_info
        b = np.arange(BROADCAST, dtype=np.int32) if c.rank == 0 else np.full(BROADCAST, -1,
                                                                              dtype=np.int32)
        c.broadcast(b, 0, tag=2)
        np.testing.assert_array_equal(b, np.arange(BROADCAST, dtype=np.int32))
        return [first, c.last_op_info]

    try:
        infos = ok(on_all(comms, run))
        yield comms, infos, before
    finally:
        for comm in comms:
            comm.close()


def test_op_stats_records_both_ops(observed: Observed) -> None:
    comms, infos, before = observed
    after = time.time_ns()
    ids = [c.peer_id for c in comms]
    for c, info in zip(comms, infos):
        ops = c.op_stats()
        assert [(op.name, op.tag) for op in ops] == [("allReduce", 1), ("broadcast", 2)]
        prev, next_ = ids[(c.rank - 1) % N], ids[(c.rank + 1) % N]
        for op, op_info in zip(ops, info):
            assert isinstance(op, eccl.OpStats)
            assert op.phase is eccl.OpPhase.DONE
            assert op.result == "ok" and op.error is None
            assert op.world_size == N and op.rank == c.rank
            assert op.revision == c.revision
            assert op.prev == prev and op.next == next_
            assert op.bytes_sent == op_info.bytes_sent
            assert op.bytes_received == op_info.bytes_received
            assert op.started_ns is not None and op.finished_ns is not None
            assert before <= op.submitted_ns <= op.started_ns <= op.finished_ns <= after
            assert op.wait_prev_ns >= 0 and op.wait_next_ns >= 0
        # The ring all-reduce sends 2 (N - 1) blocks of COUNT / N elements (rounded
        # either way: COUNT is no multiple of 3), plus its op headers (OpInfo's
        # bytes_sent counts them: 2 x 56 B with this build; up to 1 KiB allowed).
        block = COUNT // N
        assert 2 * (N - 1) * block * 4 <= ops[0].bytes_sent
        assert ops[0].bytes_sent <= 2 * (N - 1) * (block + 1) * 4 + 1024
        assert ops[0].sequence is not None and ops[1].sequence == ops[0].sequence + 1


def test_link_stats_lists_the_ring_neighbours_first(observed: Observed) -> None:
    comms, infos, _ = observed
    ids = [c.peer_id for c in comms]
    for c, info in zip(comms, infos):
        links = c.link_stats()
        assert len(links) >= 2
        assert all(isinstance(link, eccl.LinkStats) for link in links)
        neighbours = links[:2]
        assert [link.rank for link in neighbours] == [r for r in range(N) if r != c.rank]
        for link in neighbours:
            assert link.open and link.connections == 2
            assert link.peer == ids[link.rank]
            assert link.address.startswith("127.0.0.1:")
            if link.rank == (c.rank + 1) % N:
                assert link.bytes_sent >= info[0].bytes_sent
                assert link.messages_sent > 0
                assert link.send_bytes_per_s > 0.0
            if link.rank == (c.rank - 1) % N:
                assert link.bytes_received >= info[0].bytes_received
                assert link.recv_bytes_per_s > 0.0


def test_dump_state_names_the_ops_and_links(observed: Observed) -> None:
    comms, _, _ = observed
    for c in comms:
        text = c.dump_state()
        assert "allReduce tag 1" in text and "broadcast tag 2" in text
        assert "links (" in text and "(next)" in text
        assert "\0" not in text


def test_a_fresh_comm_has_no_records(master: eccl.Master) -> None:
    with make_comm(master, "observe-fresh") as comm:
        assert comm.op_stats() == []
        assert comm.link_stats() == []
        assert comm.dump_state() != ""


def test_a_timed_out_op_is_recorded_with_its_error(master: eccl.Master) -> None:
    """Ranks 0 and 1 run an all-reduce that rank 2 skips: their records end in
    eccl.Timeout, and rank 0 waited on its prev (rank 2), rank 1 on its next."""
    comms = form_ring(master, "observe-hang", N)
    try:
        xs = [np.ones(COUNT, dtype=np.float32) for _ in comms]
        calls: list[Callable[[], object]] = [
            lambda c=c: c.all_reduce(xs[c.rank], tag=3, timeout_ms=1500) for c in comms[:2]]
        results = parallel(calls, comms)
        assert all(isinstance(r, eccl.Timeout) for r in results), results
        for c in comms[:2]:
            (op,) = c.op_stats()
            assert (op.name, op.tag, op.phase) == ("allReduce", 3, eccl.OpPhase.DONE)
            assert op.result == "Timeout" and op.error is eccl.Timeout
            if c.rank == 0:
                assert op.wait_prev_ns >= 1_000_000_000
            else:
                assert op.wait_next_ns >= 1_000_000_000
        assert comms[2].op_stats() == []
    finally:
        for comm in comms:
            comm.close()


def test_a_closed_comm_raises_invalid_usage(master: eccl.Master) -> None:
    comm = make_comm(master, "observe-closed")
    comm.close()
    for call in (comm.op_stats, comm.link_stats, comm.dump_state):
        with pytest.raises(eccl.InvalidUsage, match="closed"):
            call()


def test_op_phase_mirrors_the_c_enum() -> None:
    assert [p.name for p in eccl.OpPhase] == ["QUEUED", "HEADERS", "DATA", "COMPLETION", "DONE"]
    assert [int(p) for p in eccl.OpPhase] == [0, 1, 2, 3, 4]
