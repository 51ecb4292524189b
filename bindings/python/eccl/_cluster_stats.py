"""What Master.cluster_stats() returns: the master's counters and its anomaly
detectors' view of the cluster (ecclMasterGetClusterStats), as plain values."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Optional, TypeVar

from eccl._ctypes_api import (
    ecclAnomalyFinding_t,
    ecclClusterStats_t,
    ecclLinkHealth_t,
    ecclMaster_t,
    ecclOpPhase_t,
    ecclPeerHealth_t,
    versioned,
)
from eccl._errors import check
from eccl._types import EventKind, OpPhase, PeerId, _peer_or_none, _text

_ATTEMPTS = 8  # snapshots taken while the arrays keep growing between calls
#: The first capacities for peers, links and findings (a test makes them small).
_INITIAL_CAPACITIES = (16, 64, 64)


@dataclass(frozen=True)
class PeerHealth:
    """An accepted peer, from the reports it sends the master with its heartbeats."""

    peer: PeerId
    group: str
    ops_completed: int
    ops_failed: int
    #: how far its oldest running collective got; None: it runs none
    running_phase: Optional[OpPhase]
    running_tag: int            #: that collective's tag (0: none)
    running_ms: int             #: how long it has been running
    waiting_on: Optional[PeerId]  #: the neighbour it is blocked on (None: none)
    waiting_ms: int             #: how long it has been blocked on waiting_on
    late_ms: float              #: how late it was to its neighbours' ops over the window
    hung: bool
    straggler: bool
    slow_node: bool

    @classmethod
    def from_c(cls, p: ecclPeerHealth_t) -> "PeerHealth":
        done = p.running_phase == ecclOpPhase_t.ECCL_OP_DONE  # DONE: it runs none
        running = None if done else OpPhase(p.running_phase)
        return cls(peer=PeerId.from_c(p.peer), group=_text(p.group),
                   ops_completed=int(p.ops_completed), ops_failed=int(p.ops_failed),
                   running_phase=running, running_tag=int(p.running_tag),
                   running_ms=int(p.running_ms), waiting_on=_peer_or_none(p.waiting_on),
                   waiting_ms=int(p.waiting_ms), late_ms=float(p.late_ms), hung=bool(p.hung),
                   straggler=bool(p.straggler), slow_node=bool(p.slow_node))


@dataclass(frozen=True)
class LinkHealth:
    """A ring link (sender -> receiver) over the master's window."""

    sender: PeerId      #: ecclLinkHealth_t.from
    receiver: PeerId    #: ecclLinkHealth_t.to
    group: str
    bytes_per_s: float
    busy_share: float   #: share of the window its sender's bytes waited on it (0..1)
    stalled_ms: int     #: bytes wait and none has moved for this long (0: moving)
    slow: bool
    frozen: bool

    @classmethod
    def from_c(cls, link: ecclLinkHealth_t) -> "LinkHealth":
        return cls(sender=PeerId.from_c(getattr(link, "from")), receiver=PeerId.from_c(link.to),
                   group=_text(link.group), bytes_per_s=float(link.bytes_per_s),
                   busy_share=float(link.busy_share), stalled_ms=int(link.stalled_ms),
                   slow=bool(link.slow), frozen=bool(link.frozen))


@dataclass(frozen=True)
class AnomalyFinding:
    """One of the detectors' latest findings: what its group's peers got as an Event."""

    kind: EventKind     #: HUNG_PEER, STRAGGLER, SLOW_LINK, SLOW_NODE or FROZEN_LINK
    peer: PeerId
    link_to: Optional[PeerId]  #: a link finding's receiving end; None for the others
    group: str
    value: float
    threshold: float
    age_ms: int         #: how long ago it was found
    evidence: str       #: one sentence saying why

    @classmethod
    def from_c(cls, f: ecclAnomalyFinding_t) -> "AnomalyFinding":
        return cls(kind=EventKind(f.kind), peer=PeerId.from_c(f.peer),
                   link_to=_peer_or_none(f.link_to), group=_text(f.group),
                   value=float(f.value), threshold=float(f.threshold), age_ms=int(f.age_ms),
                   evidence=_text(f.evidence))


@dataclass(frozen=True)
class ClusterStats:
    """One snapshot of the master (Master.cluster_stats)."""

    incarnation: int
    #: the master's totals by ecclClusterStats_t's field names ("registrations",
    #: "heartbeats", "peer_reports", "hung_peers", "anomaly_evictions", ...)
    counters: dict[str, int]
    peers: list[PeerHealth]
    links: list[LinkHealth]
    findings: list[AnomalyFinding]  #: the latest (at most 64), oldest first


_S = TypeVar("_S", ecclPeerHealth_t, ecclLinkHealth_t, ecclAnomalyFinding_t)


def _array(cls: type[_S], capacity: int) -> "ctypes.Array[_S]":
    array = (cls * max(capacity, 1))()
    array[0].struct_size = ctypes.sizeof(cls)
    return array


def read_cluster_stats(lib: Any, handle: ecclMaster_t) -> ClusterStats:
    """lib.ecclMasterGetClusterStats, growing each array until one snapshot fits in all
    three. Raises the mapped error of a failing call."""
    capacities = list(_INITIAL_CAPACITIES)
    for _ in range(_ATTEMPTS):
        stats = versioned(ecclClusterStats_t)
        peers, links, findings = (_array(ecclPeerHealth_t, capacities[0]),
                                  _array(ecclLinkHealth_t, capacities[1]),
                                  _array(ecclAnomalyFinding_t, capacities[2]))
        counts = [ctypes.c_size_t(0) for _ in range(3)]
        check(lib.ecclMasterGetClusterStats(handle, ctypes.byref(stats),
                                            peers, len(peers), ctypes.byref(counts[0]),
                                            links, len(links), ctypes.byref(counts[1]),
                                            findings, len(findings), ctypes.byref(counts[2])))
        wanted = [c.value for c in counts]
        if all(n <= cap for n, cap in zip(wanted, (len(peers), len(links), len(findings)))):
            break
        # Room for what this snapshot held, and a little for the next one's growth.
        capacities = [max(cap, n + n // 4 + 1) for cap, n in zip(capacities, wanted)]
    counter_names = [name for name, _ in ecclClusterStats_t._fields_[2:]]
    return ClusterStats(
        incarnation=int(stats.incarnation),
        counters={name: int(getattr(stats, name)) for name in counter_names},
        peers=[PeerHealth.from_c(p) for p in peers[:min(wanted[0], len(peers))]],
        links=[LinkHealth.from_c(link) for link in links[:min(wanted[1], len(links))]],
        findings=[AnomalyFinding.from_c(f) for f in findings[:min(wanted[2], len(findings))]])
