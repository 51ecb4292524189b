"""eccl.Master.cluster_stats() (ecclMasterGetClusterStats): the master's counters
and its anomaly detectors' view, read while the master serves on its thread.

A ring of three runs all-reduces; the stats must show its three peers with
their ops and its ring links moving bytes. Arrays that start too small grow
until one snapshot fits. A closed master refuses. The hung-peer finding is
checked in test_anomaly_events.py, on the master that finds it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

import eccl
from eccl import _cluster_stats
from conftest import ok, on_all, wait_until

Ring = Callable[..., list[eccl.Communicator]]
GROUP = "cluster-stats-python"
OPS = 3


def _ring_seen(stats: eccl.ClusterStats, comms: list[eccl.Communicator], ops: int,
               moving: bool) -> bool:
    """The ring's peers with `ops` ops done, and its links r -> r + 1 (carrying bytes if
    moving)."""
    group = comms[0].group
    peers = {p.peer: p for p in stats.peers if p.group == group}
    links = {(link.sender, link.receiver): link for link in stats.links if link.group == group}
    ids = [c.peer_id for c in comms]
    if set(peers) != set(ids):
        return False
    for rank, peer in enumerate(ids):
        link = links.get((peer, ids[(rank + 1) % len(ids)]))
        if peers[peer].ops_completed < ops or link is None:
            return False
        if moving and not link.bytes_per_s > 0:
            return False
    return True


def _run_ops(master: eccl.Master, comms: list[eccl.Communicator]) -> None:
    # A link's rate is the growth of its byte count between the master's first
    # and latest reports in its window: the ops must come after a first report.
    wait_until(lambda: _ring_seen(master.cluster_stats(), comms, 0, False), timeout_s=20,
               what="the ring's first reports in cluster_stats()")
    for tag in range(1, OPS + 1):
        # 1 MiB: the ring all-reduce, whose data crosses the ring links.
        ok(on_all(comms, lambda c, t=tag: c.all_reduce(np.ones(262144, dtype=np.float32),
                                                       tag=t)))


def test_cluster_stats_show_the_ring(master: eccl.Master, ring_factory: Ring) -> None:
    comms = ring_factory(GROUP)
    _run_ops(master, comms)
    wait_until(lambda: _ring_seen(master.cluster_stats(), comms, OPS, True), timeout_s=20,
               what="the ring's peers and links in cluster_stats()")
    stats = master.cluster_stats()
    assert stats.counters["registrations"] >= 3 and stats.counters["commits"] >= 1
    assert stats.counters["peer_reports"] > 0 and stats.counters["heartbeats"] > 0
    assert "anomaly_evictions" in stats.counters and "struct_size" not in stats.counters
    for peer in (p for p in stats.peers if p.group == GROUP):
        assert peer.ops_failed == 0 and not (peer.hung or peer.straggler or peer.slow_node)
    for link in (x for x in stats.links if x.group == GROUP):
        assert 0.0 <= link.busy_share <= 1.0 and not link.frozen
    assert all(f.group != GROUP for f in stats.findings)


def test_small_arrays_grow_until_the_snapshot_fits(master: eccl.Master, ring_factory: Ring,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    comms = ring_factory(GROUP + "-grow")
    wait_until(lambda: _ring_seen(master.cluster_stats(), comms, 0, False), timeout_s=20,
               what="the ring in cluster_stats()")
    full = master.cluster_stats()
    monkeypatch.setattr(_cluster_stats, "_INITIAL_CAPACITIES", (1, 1, 1))
    grown = master.cluster_stats()
    # Another group's peers may come and go between the snapshots: compare this ring's.
    assert ({p.peer for p in grown.peers if p.group == GROUP + "-grow"}
            == {p.peer for p in full.peers if p.group == GROUP + "-grow"})
    assert len(grown.links) >= 3


def test_a_closed_master_refuses() -> None:
    master = eccl.Master("127.0.0.1:0")
    stats = master.cluster_stats()  # serving, no peer yet: empty
    assert (stats.peers, stats.links, stats.findings) == ([], [], [])
    master.close()
    with pytest.raises(eccl.InvalidUsage):
        master.cluster_stats()
