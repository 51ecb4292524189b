"""Shared state of a Communicator: sync_state and connect_with_state.

The state is a dict of name -> array (numpy or torch CPU, C-contiguous and
writable: ECCL writes the popular content straight into it).
"""

from __future__ import annotations

import ctypes
import dataclasses
import operator
from typing import Any, Iterable, Mapping, Optional, Union

from eccl import _args
from eccl._buffers import Buffer, as_buffer
from eccl._ctypes_api import (
    ecclSharedState_t,
    ecclSharedStateEntry_t,
    ecclSyncInfo_t,
    ecclSyncStrategy_t,
    versioned,
)
from eccl._handle import CommHandle
from eccl._types import SyncInfo

#: How a peer takes part in a sync: "popular", "send" or "receive" (or the enum).
Strategy = Union[str, ecclSyncStrategy_t]

_STRATEGIES: dict[str, ecclSyncStrategy_t] = {
    "popular": ecclSyncStrategy_t.ecclSyncEnforcePopular,
    "send": ecclSyncStrategy_t.ecclSyncSendOnly,
    "receive": ecclSyncStrategy_t.ecclSyncReceiveOnly,
}

#: Most entries a state may have (eccl.h: ecclSharedState_t.nentries).
MAX_ENTRIES = 4096


def strategy_code(strategy: Strategy) -> ecclSyncStrategy_t:
    """The ecclSyncStrategy_t of a strategy name; ValueError for an unknown one."""
    if isinstance(strategy, ecclSyncStrategy_t):
        return strategy
    found = _STRATEGIES.get(str(strategy).lower())
    if found is None:
        raise ValueError(f"unknown sync strategy {strategy!r}: "
                         "use 'popular', 'send' or 'receive'")
    return found


class _CState:
    """An ecclSharedState_t over a dict of arrays; keeps names and arrays alive."""

    def __init__(self, state: Mapping[str, Any], revision: int,
                 allow_unequal: Iterable[str]) -> None:
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict of name -> array, not {type(state).__name__}")
        if len(state) > MAX_ENTRIES:
            raise ValueError(f"state has {len(state)} entries; at most {MAX_ENTRIES}")
        revision = operator.index(revision)
        if not 0 <= revision < (1 << 64):
            raise ValueError(f"revision {revision} is outside 0 .. 2**64 - 1")
        unequal = set(allow_unequal)
        unknown = unequal - set(state)
        if unknown:
            raise ValueError(f"allow_unequal names entries the state lacks: {sorted(unknown)}")
        self.names: list[bytes] = []
        self.buffers: list[Buffer] = []
        for name, array in state.items():
            if not isinstance(name, str):
                raise TypeError(f"state names are str, not {type(name).__name__} ({name!r})")
            self.names.append(name.encode())
            self.buffers.append(as_buffer(array, name=f"state[{name!r}]", writable=True))
        self.entries = (ecclSharedStateEntry_t * max(1, len(self.buffers)))()
        for entry, encoded, buf, key in zip(self.entries, self.names, self.buffers, state):
            entry.name = encoded
            entry.data = buf.ptr
            entry.count = buf.count
            entry.dtype = buf.dtype
            entry.allow_content_inequality = 1 if key in unequal else 0
        self.c = versioned(ecclSharedState_t, revision=revision,
                           entries=ctypes.cast(self.entries,
                                               ctypes.POINTER(ecclSharedStateEntry_t)),
                           nentries=len(self.buffers))


class StateMixin:
    """sync_state, connect_with_state and fetch_group_state of eccl.Communicator."""

    _h: CommHandle

    def sync_state(self, state: Mapping[str, Any], revision: int,
                   strategy: Strategy = "popular", *, timeout_ms: Optional[float] = None,
                   allow_unequal: Iterable[str] = ()) -> SyncInfo:
        """Makes every member's state identical, bit for bit; a collective of the ring.

        state: name -> array, the same names, dtypes and sizes on every member;
        arrays that differ from the group's popular content are overwritten in
        place. revision: this peer's revision (each sync moves by one).
        strategy: "popular" (take the popular copy), "send" (this copy is
        authoritative, e.g. after loading a checkpoint) or "receive" (a fresh
        joiner: its content never counts). allow_unequal: names of entries
        peers may hold differently (nothing is sent for them).
        Returns a SyncInfo; its revision is the group's new revision.
        Raises eccl.InvalidUsage (peers disagree on the entries or revision:
        the text names them), eccl.PeerLost, eccl.Timeout, eccl.Aborted.
        """
        cstate = _CState(state, revision, allow_unequal)
        info = versioned(ecclSyncInfo_t)
        self._h.call("ecclSyncSharedState", ctypes.byref(cstate.c), strategy_code(strategy),
                     _args.timeout(timeout_ms), ctypes.byref(info))
        return dataclasses.replace(SyncInfo.from_c(info), revision=cstate.c.revision)

    def connect_with_state(self, state: Mapping[str, Any], revision: int = 0, *,
                           fetch_mbit: float = 0, timeout_ms: Optional[float] = None,
                           allow_unequal: Iterable[str] = ()) -> SyncInfo:
        """connect() for a peer joining a group that keeps shared state.

        While pending, this peer fetches into state the result of the group's
        next successful sync (members keep running their collectives), and is
        admitted at the members' next update_topology once it holds it.
        Afterwards take part in the next sync with strategy="receive".
        fetch_mbit: pace of the whole fetch in Mbit/s (0: unpaced). In a group
        without members the peer is admitted at once and nothing is fetched.
        Returns a SyncInfo whose revision is the state's (the snapshot's).
        After an error destroy the communicator (it is never admitted).
        """
        if fetch_mbit < 0:
            raise ValueError(f"fetch_mbit={fetch_mbit} is negative (0: unpaced)")
        cstate = _CState(state, revision, allow_unequal)
        info = versioned(ecclSyncInfo_t)
        self._h.call("ecclCommConnectWithState", ctypes.byref(cstate.c),
                     int(fetch_mbit * 125_000), _args.timeout(timeout_ms), ctypes.byref(info))
        return dataclasses.replace(SyncInfo.from_c(info), revision=cstate.c.revision)

    def fetch_group_state(self, group: str, tensors: Mapping[str, Any], bytes_per_s: int = 0,
                          timeout_ms: Optional[float] = None, *,
                          allow_unequal: Iterable[str] = ()) -> SyncInfo:
        """Fetches into tensors a snapshot of ANOTHER group's shared state.

        The snapshot is that group's next successful sync; its members send it
        striped and paced at bytes_per_s in total (0: unpaced) while they go
        on, and every entry is verified by its hash. This peer joins nothing
        (pending or accepted, of any group). tensors: name -> array with the
        group's names, dtypes and sizes. Returns a SyncInfo whose revision is
        the snapshot's. Raises eccl.InvalidArgument (no such group),
        eccl.InvalidUsage (entries differ from the group's: the text names the
        entry; another fetch runs; not connected), eccl.PeerLost (the group has
        no members, or entries did not arrive: fetch again), eccl.Timeout.
        """
        if not isinstance(group, str):
            raise TypeError(f"group must be a str, not {type(group).__name__}")
        encoded = group.encode()
        if not 1 <= len(encoded) <= 128:
            raise ValueError(f"group name is {len(encoded)} bytes; it must be 1..128")
        bytes_per_s = operator.index(bytes_per_s)
        if not 0 <= bytes_per_s < (1 << 64):
            raise ValueError(f"bytes_per_s={bytes_per_s} is outside 0 .. 2**64 - 1 (0: unpaced)")
        cstate = _CState(tensors, 0, allow_unequal)
        info = versioned(ecclSyncInfo_t)
        self._h.call("ecclCommFetchGroupState", encoded, ctypes.byref(cstate.c), bytes_per_s,
                     _args.timeout(timeout_ms), ctypes.byref(info))
        return dataclasses.replace(SyncInfo.from_c(info), revision=cstate.c.revision)
