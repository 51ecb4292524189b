"""Plain Python values the API returns: PeerId, Event, OpInfo, SyncInfo, StageInfo."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

from eccl._ctypes_api import (
    ecclEventKind_t,
    ecclOpInfo_t,
    ecclPeerId_t,
    ecclStageInfo_t,
    ecclStageState_t,
    ecclSyncInfo_t,
)


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
    """What a membership event says about its peer."""

    PEER_JOINED = ecclEventKind_t.ECCL_EVENT_PEER_JOINED  #: registered (pending until admitted)
    PEER_LEFT = ecclEventKind_t.ECCL_EVENT_PEER_LEFT      #: left gracefully (closed its comm)
    PEER_LOST = ecclEventKind_t.ECCL_EVENT_PEER_LOST      #: stopped answering
    PEER_EVICTED = ecclEventKind_t.ECCL_EVENT_PEER_EVICTED  #: removed by the master
    #: the last peer of a pipeline stage's group is gone (only stage comms hear it)
    STAGE_LOST = ecclEventKind_t.ECCL_EVENT_STAGE_LOST
    #: a peer of a lost stage rebuilt its weights and announced it (announce_recovered);
    #: the event's revision is the round it passed
    STAGE_RESTORED = ecclEventKind_t.ECCL_EVENT_STAGE_RESTORED


@dataclass(frozen=True)
class Event:
    """A membership event of the communicator's group."""

    kind: EventKind  #: what happened
    peer: PeerId     #: the peer it happened to (all zero for stage events)
    #: the group's revision when the master announced it (0: another group, STAGE_LOST);
    #: for STAGE_RESTORED the round the announcer passed to announce_recovered
    revision: int
    stage: int = -1  #: the stage of STAGE_LOST / STAGE_RESTORED; -1 otherwise


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
