"""eccl.Communicator: a peer's membership in a group, and its lifecycle."""

from __future__ import annotations

import ctypes
import operator
import threading
import weakref
from types import TracebackType
from typing import Callable, Iterator, Optional, TypeVar, Union

from eccl import _args, _library
from eccl._collectives import CollectivesMixin
from eccl._ctypes_api import (
    ecclComm_t,
    ecclCommAttr_t,
    ecclCommConfig_t,
    ecclEvent_t,
    ecclEventKind_t,
    ecclLinkStats_t,
    ecclOpStats_t,
    ecclPeerId_t,
    ecclResult_t,
    ecclStageInfo_t,
    init_versioned,
    versioned,
)
from eccl._errors import InvalidUsage, check
from eccl._event_callback import running_on
from eccl._handle import CommHandle
from eccl._master import Master
from eccl._state import StateMixin
from eccl._types import Event, LinkStats, OpStats, PeerId, StageInfo

_GROUP_MAX = 128  # bytes of a group name (eccl.h: ecclCommConfig_t.group)
_ATTEMPTS = 8  # reads of a list or text that grows between the count and the copy

_S = TypeVar("_S", ecclOpStats_t, ecclLinkStats_t)


class Communicator(CollectivesMixin, StateMixin):
    """A peer of a group: connect, take part in collectives, leave on close().

    Creating it opens its data listener only; connect() joins the group.
    close() (or leaving a with block, or garbage collection) leaves the group
    gracefully; calls still running on other threads are aborted first.

    Threads: events(), abort(), the attributes, send/recv and request waits
    may run on any thread at any time; collectives and update_topology of one
    communicator start in call order, which every peer must make the same.
    """

    def __init__(self, master: Union[str, Master, None] = None, group: Optional[str] = None,
                 *, listen: Optional[str] = None, advertise: Optional[str] = None,
                 connections: Optional[int] = None, timeout_ms: Optional[int] = None,
                 preserve_input: Optional[bool] = None,
                 small_allreduce_bytes: Optional[int] = None,
                 stage: Optional[int] = None, num_stages: Optional[int] = None,
                 secret_file: Optional[str] = None, tls_ca: Optional[str] = None,
                 tls_cert: Optional[str] = None, tls_key: Optional[str] = None,
                 tls_data: Optional[str] = None, transport: Optional[str] = None) -> None:
        """master: "HOST:PORT" or an eccl.Master (None: $ECCL_MASTER). group: the
        group to join (None: $ECCL_GROUP or "default"). listen: the data
        listener "HOST:PORT" (None: "0.0.0.0:0"). advertise: what other peers
        connect to. connections: TCP connections per data channel.
        timeout_ms: default deadline of blocking calls (library default 30000).
        preserve_input: a failed in-place all_reduce restores its input.
        small_allreduce_bytes: all-reduces up to this size use recursive
        doubling (the same on every peer). stage, num_stages: the pipeline
        stage this peer's group holds, 0 <= stage < num_stages <= 4096 (see
        report_metric, stage_info, announce_recovered, EventKind.STAGE_LOST).
        secret_file: the cluster secret (as the master's); tls_ca, tls_cert,
        tls_key: this peer's PEM files for TLS 1.3, all three or none ("":
        none); tls_data: which data channels use TLS, "auto" (beyond
        loopback), "on" or "off". A refused secret or certificate makes
        connect() raise eccl.AuthError. transport: "auto" (shared memory to
        peers on this host, RDMA to others where both ends have a device, TCP
        otherwise), "tcp", "shm" or "rdma".
        None keeps the library's default or its environment variable. Raises
        eccl.InvalidArgument for a bad field."""
        lib = _library.lib()
        code, config = init_versioned(ecclCommConfig_t, lib.ecclCommConfigInit)
        check(code)
        if isinstance(master, Master):
            master = master.address
        for field, text in (("master", master), ("group", group), ("listen_addr", listen),
                            ("advertise_addr", advertise), ("secret_file", secret_file),
                            ("tls_ca_file", tls_ca), ("tls_cert_file", tls_cert),
                            ("tls_key_file", tls_key), ("tls_data", tls_data),
                            ("transport", transport)):
            if text is not None:
                setattr(config, field, text.encode())
        for field, value in (("connections_per_peer", connections), ("timeout_ms", timeout_ms),
                             ("small_allreduce_bytes", small_allreduce_bytes)):
            value = _args.optional_uint32(value, field)
            if value is not None:
                setattr(config, field, value)
        if preserve_input is not None:
            config.preserve_input = 1 if preserve_input else 0
        for field, number in (("stage", stage), ("num_stages", num_stages)):
            if number is not None:
                number = operator.index(number)
                if not -(1 << 31) <= number < (1 << 31):
                    raise ValueError(f"{field}={number} does not fit an int32")
                setattr(config, field, number)
        handle = ecclComm_t()
        check(lib.ecclCommCreate(ctypes.byref(config), ctypes.byref(handle)))
        self._h = CommHandle(handle)
        self._local = threading.local()
        self._finalizer = weakref.finalize(self, self._h.close)

    # ---- lifecycle --------------------------------------------------------------------

    def connect(self, timeout_ms: Optional[float] = None) -> "Communicator":
        """Registers with the master and blocks until admitted: at once in an empty
        group, else at the members' next update_topology. Once per communicator.
        Raises eccl.Timeout (then close it: it cannot connect again),
        eccl.ConnectionError, eccl.Aborted, eccl.InvalidUsage (called twice)."""
        self._h.call("ecclCommConnect", _args.timeout(timeout_ms))
        return self

    def update_topology(self, timeout_ms: Optional[float] = None) -> None:
        """A collective point of the members: admits pending peers, settles
        departures, and returns once the new ring is up (rank, world_size and
        revision are then the new ring's). Also needed after a failed collective."""
        self._h.call("ecclCommUpdateTopology", _args.timeout(timeout_ms))

    def abort(self) -> None:
        """Ends every blocking call and request of this communicator at once with
        eccl.Aborted, and every later one too; then only close() is useful.
        Any thread, any time, idempotent."""
        self._h.abort()

    def close(self) -> None:
        """Leaves the group (the others see EventKind.PEER_LEFT) and frees the
        communicator; calls running on other threads are aborted first. Idempotent.
        Raises eccl.InvalidUsage from inside its own event callback (the
        communicator stays open)."""
        if running_on(self._h):
            raise InvalidUsage(ecclResult_t.ecclInvalidUsage,
                               "close() from inside the communicator's own event callback")
        self._finalizer()

    @property
    def closed(self) -> bool:
        """Whether close() has been called."""
        return self._h.closed

    def __enter__(self) -> "Communicator":
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]],
                 exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.close()

    # ---- attributes -------------------------------------------------------------------

    @property
    def rank(self) -> int:
        """This peer's rank in the ring; -1 until admitted."""
        return int(self._h.get_attr(ecclCommAttr_t.ECCL_ATTR_RANK, ctypes.c_int32()).value)

    @property
    def world_size(self) -> int:
        """Peers in the ring; 0 until admitted."""
        return int(self._h.get_attr(ecclCommAttr_t.ECCL_ATTR_WORLD_SIZE, ctypes.c_int32()).value)

    @property
    def revision(self) -> int:
        """Revision of the committed ring; 0 until admitted."""
        return int(self._h.get_attr(ecclCommAttr_t.ECCL_ATTR_REVISION, ctypes.c_uint64()).value)

    @property
    def group(self) -> str:
        """The group's name."""
        value = self._h.get_attr(ecclCommAttr_t.ECCL_ATTR_GROUP,
                                 ctypes.create_string_buffer(_GROUP_MAX + 1))
        return bytes(value.value).decode()

    @property
    def peer_id(self) -> PeerId:
        """This peer's id."""
        return PeerId.from_c(self._h.get_attr(ecclCommAttr_t.ECCL_ATTR_PEER_ID, ecclPeerId_t()))

    @property
    def peers_pending(self) -> int:
        """Peers waiting for admission at the next update_topology, as the master
        last said (it trails the master by one message)."""
        pending = ctypes.c_int()
        self._h.call("ecclCommPeersPending", ctypes.byref(pending))
        return int(pending.value)

    @property
    def stage(self) -> int:
        """The pipeline stage this peer's group holds; -1 when none."""
        return int(self._h.get_attr(ecclCommAttr_t.ECCL_ATTR_STAGE, ctypes.c_int32()).value)

    @property
    def fetches_serving(self) -> int:
        """Joiners' state fetches (connect_with_state) this member serves right now."""
        return int(self._h.get_attr(ecclCommAttr_t.ECCL_ATTR_FETCHES_SERVING, ctypes.c_int32()).value)

    # ---- events -----------------------------------------------------------------------

    def poll_event(self) -> Optional[Event]:
        """The oldest queued membership event, or None. Never blocks. Besides the
        group's membership (PEER_*), events report lost and restored pipeline
        stages (STAGE_*) and the master's detectors' findings (HUNG_PEER,
        STRAGGLER: see Event.value and Event.threshold). While an event
        callback is set, new events go to it instead (set_event_callback)."""
        event = versioned(ecclEvent_t)
        self._h.call("ecclCommPollEvent", ctypes.byref(event))
        if event.kind == ecclEventKind_t.ECCL_EVENT_NONE:
            return None
        return Event.from_c(event)

    def set_event_callback(self, callback: Optional[Callable[[Event], None]]) -> None:
        """Hands every later event to callback(event) instead of queueing it for
        poll_event() / events(); None removes it, and events are queued again
        (those it was not handed yet first). Events queued before it was set
        stay queued.

        The callback runs on a thread of the communicator's own, one event at a
        time, in order; it must return soon, and may use the calls that never
        block (the attributes, poll_event, op_stats, link_stats, dump_state,
        report_metric, abort, set_event_callback), not close() (eccl.InvalidUsage)
        nor collectives. An exception it raises is printed to stderr with its
        traceback, and delivery goes on. From another thread,
        set_event_callback returns once the previous callback is not running:
        it is never called again after that."""
        self._h.set_event_callback(callback)

    def events(self) -> Iterator[Event]:
        """Yields the queued membership events, oldest first, until the queue is
        empty (it does not wait for new ones). Only members receive events."""
        while True:
            event = self.poll_event()
            if event is None:
                return
            yield event

    # ---- pipeline stages --------------------------------------------------------------

    def report_metric(self, round: int, value: float) -> None:  # noqa: A002 - the C name
        """Reports this stage's metric for a round (e.g. its gradient norm) to the
        master, which keeps the latest per stage. Does not block; a report made
        while the master is unreachable is lost. Raises eccl.InvalidArgument
        (NaN, infinite or negative value), eccl.InvalidUsage (no stage, not
        accepted yet)."""
        round = operator.index(round)
        if not 0 <= round < (1 << 64):
            raise ValueError(f"round={round} does not fit 0 .. 2**64 - 1")
        self._h.call("ecclCommReportMetric", round, float(value))

    def stage_info(self, stage: int, timeout_ms: Optional[float] = None) -> StageInfo:
        """What the master knows about a stage of the pipeline (0..4095): its
        group, state, accepted peers and latest metric. Blocks for the answer.
        Raises eccl.InvalidArgument (stage out of range), eccl.Timeout."""
        stage = operator.index(stage)
        if not 0 <= stage < 4096:
            raise ValueError(f"stage={stage} is outside 0 .. 4095")
        info = versioned(ecclStageInfo_t)
        self._h.call("ecclCommGetStageInfo", stage, ctypes.byref(info), _args.timeout(timeout_ms))
        return StageInfo.from_c(info)

    def announce_recovered(self, round: int,  # noqa: A002 - the C name
                           timeout_ms: Optional[float] = None) -> StageInfo:
        """Announces that this peer holds its stage's weights again (a replacement
        that rebuilt them from its neighbours'): a recovering stage becomes
        active, and every stage peer gets a STAGE_RESTORED event whose revision
        is `round`, the training round from which the stage trains again.
        Announcing an active stage changes nothing. Blocks for the master's
        answer and returns this peer's stage as the master sees it afterwards.
        Raises eccl.InvalidUsage (no stage, not accepted yet), eccl.Timeout."""
        round = operator.index(round)
        if not 0 <= round < (1 << 64):
            raise ValueError(f"round={round} does not fit 0 .. 2**64 - 1")
        info = versioned(ecclStageInfo_t)
        self._h.call("ecclCommAnnounceStageRecovered", round, _args.timeout(timeout_ms),
                     ctypes.byref(info))
        return StageInfo.from_c(info)

    # ---- observability --------------------------------------------------------------

    def _stats_array(self, function: str, cls: type[_S]) -> list[_S]:
        """lib.function's array (ecclCommGetOpStats, ecclCommGetLinkStats): the count
        first, then the copy, with one element to spare to see that none was cut."""
        count = ctypes.c_size_t(0)
        for _ in range(_ATTEMPTS):
            self._h.call(function, None, 0, ctypes.byref(count))
            capacity = count.value + 1
            array = (cls * capacity)()
            array[0].struct_size = ctypes.sizeof(cls)
            self._h.call(function, array, capacity, ctypes.byref(count))
            if count.value < capacity:
                break
        return list(array[:min(count.value, capacity)])

    def op_stats(self) -> list[OpStats]:
        """The flight recorder: the comm's last 64 collectives, oldest first, the
        running and queued ones included with their progress so far. Any thread,
        any time; never blocks."""
        return [OpStats.from_c(op) for op in self._stats_array("ecclCommGetOpStats",
                                                               ecclOpStats_t)]

    def link_stats(self) -> list[LinkStats]:
        """The comm's data channels: its ring neighbours first (by rank), then the
        others (recursive-doubling partners, send/recv peers). Any thread, any time."""
        return [LinkStats.from_c(link) for link in self._stats_array("ecclCommGetLinkStats",
                                                                     ecclLinkStats_t)]

    def dump_state(self) -> str:
        """The comm's state as text: membership, links, and the flight recorder's ops
        with how far each got and which neighbour it waited for. The library also
        logs it (warn level), as it does by itself when a collective times out
        and on SIGUSR1 ($ECCL_DUMP_SIGNAL). Any thread, any time."""
        # Each call logs the state: a buffer that usually fits makes it one call.
        length = ctypes.c_size_t(0)
        capacity = 1 << 16
        for _ in range(_ATTEMPTS):
            text = ctypes.create_string_buffer(capacity)
            self._h.call("ecclCommDumpState", text, capacity, ctypes.byref(length))
            if length.value < capacity:
                break
            capacity = length.value + 1
        return text.value.decode("utf-8", "replace")

    def __repr__(self) -> str:
        if self.closed:
            return "<eccl.Communicator closed>"
        return (f"<eccl.Communicator group={self.group!r} rank={self.rank} "
                f"world_size={self.world_size} peer={self.peer_id.short}>")
