"""Plain Python values the API returns: PeerId, Event, OpInfo, SyncInfo, StageInfo,
OpStats and LinkStats."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

from eccl._ctypes_api import (
    ecclEvent_t,
    ecclEventKind_t,
    ecclLinkStats_t,
    ecclOpInfo_t,
    ecclOpPhase_t,
    ecclOpStats_t,
    ecclPeerId_t,
    ecclResult_t,
    ecclStageInfo_t,
    ecclStageState_t,
    ecclSyncInfo_t,
)
from eccl._errors import EcclError, error_class


@dataclass(frozen=True)
class PeerId:
    """A peer's identifier: 16 bytes, unique in the cluster. str() gives 32 hex digits."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 16:
            raise ValueError(f"a peer id has 16 bytes, not {len(self.raw)}")

    def __str__(self) -> str:
        return self.raw.hex()

    def __repr__(self) -> str:
        return f"PeerId('{self.raw.hex()}')"

    @property
    def short(self) -> str:
        """The first 8 hex digits, as ECCL's error texts name peers."""
        return self.raw.hex()[:8]

    @classmethod
    def from_c(cls, value: ecclPeerId_t) -> "PeerId":
        """The PeerId of a C ecclPeerId_t."""
        return cls(bytes(value.bytes))

    def to_c(self) -> ecclPeerId_t:
        """This id as a C ecclPeerId_t."""
        value = ecclPeerId_t()
        value.bytes[:] = list(self.raw)
        return value


class EventKind(enum.IntEnum):
    """What a membership event says about its peer (or stage)."""

    PEER_JOINED = ecclEventKind_t.ECCL_EVENT_PEER_JOINED  #: registered (pending until admitted)
    PEER_LEFT = ecclEventKind_t.ECCL_EVENT_PEER_LEFT      #: left gracefully (closed its comm)
    PEER_LOST = ecclEventKind_t.ECCL_EVENT_PEER_LOST      #: stopped answering
    PEER_EVICTED = ecclEventKind_t.ECCL_EVENT_PEER_EVICTED  #: removed by the master
    #: the last peer of a pipeline stage's group is gone (only stage comms hear it)
    STAGE_LOST = ecclEventKind_t.ECCL_EVENT_STAGE_LOST
    #: a peer of a lost stage rebuilt its weights and announced it (announce_recovered);
    #: the event's revision is the round it passed
    STAGE_RESTORED = ecclEventKind_t.ECCL_EVENT_STAGE_RESTORED
    #: the master's detectors found the peer hung: its ring neighbours were blocked on it
    #: for the master's --hung-ms while it was in no collective (by default PEER_EVICTED
    #: follows); value: how long they were blocked (ms), threshold: --hung-ms
    HUNG_PEER = ecclEventKind_t.ECCL_EVENT_HUNG_PEER
    #: the master's detectors found the peer straggling: over the master's window its
    #: ring neighbours waited for it far longer than for the others (reported only,
    #: unless the master evicts stragglers); value: that wait (ms, summed over its
    #: neighbours), threshold: what it had to reach
    STRAGGLER = ecclEventKind_t.ECCL_EVENT_STRAGGLER
    #: the master's detectors found the ring link peer -> link_to slow: its sender's bytes
    #: waited on it (in the kernel) far longer than on the ring's other links
    #: (reported only); value: that share of the master's window (0..1)
    SLOW_LINK = ecclEventKind_t.ECCL_EVENT_SLOW_LINK
    #: ... found the peer a slow node: every ring link to and from it is that busy
    #: (reported only, unless the master evicts slow nodes); value: the least share
    SLOW_NODE = ecclEventKind_t.ECCL_EVENT_SLOW_NODE
    #: ... found the link peer -> link_to frozen: bytes wait on it and none moved for
    #: value ms (reported only)
    FROZEN_LINK = ecclEventKind_t.ECCL_EVENT_FROZEN_LINK


@dataclass(frozen=True)
class Event:
    """A membership event of the communicator's group."""

    kind: EventKind  #: what happened
    peer: PeerId     #: the peer it happened to (all zero for stage events)
    #: the group's revision when the master announced it (0: another group, STAGE_LOST);
    #: for STAGE_RESTORED the round the announcer passed to announce_recovered
    revision: int
    stage: int = -1  #: the stage of STAGE_LOST / STAGE_RESTORED; -1 otherwise
    #: the evidence of an anomaly event (HUNG_PEER and later, see them); 0.0 otherwise
    value: float = 0.0
    #: what value had to reach to raise the anomaly event; 0.0 otherwise
    threshold: float = 0.0
    #: SLOW_LINK / FROZEN_LINK: the link's receiving end (peer is its sender); else None
    link_to: Optional[PeerId] = None

    @classmethod
    def from_c(cls, event: ecclEvent_t) -> "Event":
        """The Event of a filled ecclEvent_t (of a kind other than ECCL_EVENT_NONE)."""
        return cls(kind=EventKind(event.kind), peer=PeerId.from_c(event.peer),
                   revision=int(event.revision), stage=int(event.stage),
                   value=float(event.value), threshold=float(event.threshold),
                   link_to=_peer_or_none(event.link_to))


class StageState(enum.IntEnum):
    """What the master knows about a pipeline stage."""

    UNKNOWN = ecclStageState_t.ECCL_STAGE_UNKNOWN  #: no group holds it
    ACTIVE = ecclStageState_t.ECCL_STAGE_ACTIVE    #: a group holds it, not lost nor recovering
    LOST = ecclStageState_t.ECCL_STAGE_LOST        #: every peer of its group is gone
    #: lost, then a replacement was accepted; nobody announced the weights rebuilt yet
    RECOVERING = ecclStageState_t.ECCL_STAGE_RECOVERING


@dataclass(frozen=True)
class StageInfo:
    """A pipeline stage as the master knows it (Communicator.stage_info)."""

    stage: int                     #: the stage asked about
    state: StageState              #: unknown, active, lost or recovering
    group: str                     #: the group holding it ("" when unknown)
    accepted: int                  #: accepted peers of that group now
    metric_round: Optional[int]    #: the round of its latest metric (None: no metric yet)
    metric: Optional[float]        #: that metric's value
    metric_peer: Optional[PeerId]  #: the peer that reported it

    @classmethod
    def from_c(cls, info: ecclStageInfo_t) -> "StageInfo":
        """The StageInfo of a filled ecclStageInfo_t."""
        has = bool(info.has_metric)
        return cls(stage=int(info.stage), state=StageState(info.state),
                   group=bytes(info.group).split(b"\0", 1)[0].decode(),
                   accepted=int(info.accepted),
                   metric_round=int(info.metric_round) if has else None,
                   metric=float(info.metric) if has else None,
                   metric_peer=PeerId.from_c(info.metric_peer) if has else None)


@dataclass(frozen=True)
class OpInfo:
    """What one collective or point-to-point call did on this peer."""

    bytes_sent: int      #: payload sent: op headers and data
    bytes_received: int  #: payload received
    wall_time_ns: int    #: from the call to its return
    world_size: int      #: peers that took part

    @classmethod
    def from_c(cls, info: ecclOpInfo_t) -> "OpInfo":
        """The OpInfo of a filled ecclOpInfo_t."""
        return cls(bytes_sent=info.bytes_sent, bytes_received=info.bytes_received,
                   wall_time_ns=info.wall_time_ns, world_size=info.world_size)


@dataclass(frozen=True)
class SyncInfo:
    """What a shared-state sync (or a connect with state) did on this peer."""

    revision: int             #: the group's revision after the sync
    bytes_sent: int           #: entry bytes this peer served to others
    bytes_received: int       #: entry bytes it received
    entries_fixed: int        #: entries it received (its content differed)
    rounds: int               #: transfer rounds it took part in
    wall_time_ns: int         #: from the call to its return
    wire_bytes_sent: int      #: what crossed the wire for bytes_sent (less when compressed)
    wire_bytes_received: int  #: what crossed the wire for bytes_received

    @classmethod
    def from_c(cls, info: ecclSyncInfo_t) -> "SyncInfo":
        """The SyncInfo of a filled ecclSyncInfo_t."""
        return cls(revision=info.revision, bytes_sent=info.bytes_sent,
                   bytes_received=info.bytes_received, entries_fixed=info.entries_fixed,
                   rounds=info.rounds, wall_time_ns=info.wall_time_ns,
                   wire_bytes_sent=info.wire_bytes_sent,
                   wire_bytes_received=info.wire_bytes_received)


def _peer_or_none(value: ecclPeerId_t) -> Optional[PeerId]:
    """The PeerId of value, None when it is all zero (no peer)."""
    raw = bytes(value.bytes)
    return None if raw == bytes(16) else PeerId(raw)


def _text(value: bytes) -> str:
    """A NUL-terminated char array field as str."""
    return value.split(b"\0", 1)[0].decode("utf-8", "replace")


#: The eccl exception classes by name (OpStats.result -> OpStats.error).
_ERRORS_BY_NAME: dict[str, type[EcclError]] = {
    error_class(code).__name__: error_class(code)
    for code in ecclResult_t
    if code not in (ecclResult_t.ecclSuccess, ecclResult_t.ecclNumResults)
}


class OpPhase(enum.IntEnum):
    """How far a collective got (OpStats.phase)."""

    QUEUED = ecclOpPhase_t.ECCL_OP_QUEUED    #: submitted, waiting for its turn on the comm
    HEADERS = ecclOpPhase_t.ECCL_OP_HEADERS  #: exchanging op headers with its neighbours
    DATA = ecclOpPhase_t.ECCL_OP_DATA        #: moving data
    COMPLETION = ecclOpPhase_t.ECCL_OP_COMPLETION  #: its data is complete; agreeing on the outcome
    DONE = ecclOpPhase_t.ECCL_OP_DONE        #: returned: see result


@dataclass(frozen=True)
class OpStats:
    """One collective of the communicator's flight recorder (Communicator.op_stats).

    Times are nanoseconds since the Unix epoch (time.time_ns()).
    """

    sequence: Optional[int]  #: the comm's op number, in start order (None: still queued)
    name: str                #: "allReduce", "broadcast", ...
    tag: int                 #: the op's tag
    revision: int            #: the ring's revision it ran at
    rank: int                #: this peer's rank in that ring; -1 if it never had one
    world_size: int          #: that ring's size; 0 if it never had one
    prev: Optional[PeerId]   #: the peer it received from (None: none)
    next: Optional[PeerId]   #: the peer it sent to (None: none)
    submitted_ns: int        #: when it was called
    started_ns: Optional[int]   #: when it left the queue (None: not yet)
    finished_ns: Optional[int]  #: when it returned (None: not yet)
    phase: OpPhase           #: how far it got; DONE once it returned
    #: None while it runs; then "ok", or the name of the eccl exception its
    #: error raised ("Timeout", "PeerLost", ...), as repr(eccl.Request) shows it
    result: Optional[str]
    bytes_sent: int          #: data it sent (so far)
    bytes_received: int      #: data it received (so far)
    #: time its thread was blocked on a transfer from prev (to next): a large
    #: share names the neighbour it waited for; 0 outside ring collectives
    wait_prev_ns: int
    wait_next_ns: int

    @property
    def error(self) -> Optional[type[EcclError]]:
        """The eccl exception class of its failure; None while running or once it succeeded."""
        return _ERRORS_BY_NAME.get(self.result) if self.result is not None else None

    @classmethod
    def from_c(cls, op: ecclOpStats_t) -> "OpStats":
        """The OpStats of a filled ecclOpStats_t."""
        phase = OpPhase(op.phase)
        result: Optional[str] = None
        if phase == OpPhase.DONE:
            result = ("ok" if op.result == ecclResult_t.ecclSuccess
                      else error_class(op.result).__name__)
        return cls(sequence=None if op.sequence == (1 << 64) - 1 else int(op.sequence),
                   name=_text(op.name), tag=int(op.tag), revision=int(op.revision),
                   rank=int(op.rank), world_size=int(op.world_size),
                   prev=_peer_or_none(op.prev), next=_peer_or_none(op.next),
                   submitted_ns=int(op.submitted_unix_ns),
                   started_ns=int(op.started_unix_ns) or None,
                   finished_ns=int(op.finished_unix_ns) or None,
                   phase=phase, result=result,
                   bytes_sent=int(op.bytes_sent), bytes_received=int(op.bytes_received),
                   wait_prev_ns=int(op.wait_prev_ns), wait_next_ns=int(op.wait_next_ns))


@dataclass(frozen=True)
class LinkStats:
    """A data channel of the communicator to another peer (Communicator.link_stats)."""

    peer: PeerId             #: the peer at the other end
    address: str             #: its "ip:port"
    rank: Optional[int]      #: its rank in this comm's ring (None: outside the ring)
    open: bool               #: True while the channel works; False once it failed or closed
    connections: int         #: TCP connections striped under it
    bytes_sent: int          #: message bytes sent since it opened
    bytes_received: int      #: message bytes received since it opened
    messages_sent: int       #: messages (chunks and headers) sent
    messages_received: int   #: messages received
    hedged_chunks: int       #: late chunks re-sent on another of its connections
    #: bytes per second the recorded successful ops moved to (from) this peer as
    #: their next (prev) neighbour, over their durations; 0.0 when none used it
    send_bytes_per_s: float
    recv_bytes_per_s: float

    @classmethod
    def from_c(cls, link: ecclLinkStats_t) -> "LinkStats":
        """The LinkStats of a filled ecclLinkStats_t."""
        return cls(peer=PeerId.from_c(link.peer), address=_text(link.address),
                   rank=None if link.rank < 0 else int(link.rank), open=bool(link.open),
                   connections=int(link.connections), bytes_sent=int(link.bytes_sent),
                   bytes_received=int(link.bytes_received),
                   messages_sent=int(link.messages_sent),
                   messages_received=int(link.messages_received),
                   hedged_chunks=int(link.hedged_chunks),
                   send_bytes_per_s=float(link.send_bytes_per_s),
                   recv_bytes_per_s=float(link.recv_bytes_per_s))
