"""DiLoCo's outer loop over an ECCL ring: eccl.DiLoCo.

DiLoCo (distributed low-communication training) lets each peer train on its
own for H inner steps, with its own optimiser, and then meet the others at a
round boundary: every peer all-reduces its pseudo-gradient (the round's start
minus its parameters), the average takes a Nesterov momentum step on the
outer parameters (m = mu*m + g; outer -= lr*(g + mu*m), as torch.optim.SGD
with nesterov=True), and every peer carries on from the new outer
parameters. The C loop (ecclDiloco*, include/eccl/eccl.h) does the boundary;
this module hands it the parameters, zero-copy:

    import numpy as np, eccl

    comm = eccl.Communicator(master, "job", listen="10.0.0.5:0")
    comm.connect()                         # ... and admitted: a member of the ring
    w = np.zeros((64, 8), np.float32)      # the model: arrays the inner steps
    b = np.zeros(8, np.float32)            # update in place
    with eccl.DiLoCo(comm, [w, b], lr=0.7, momentum=0.9, mode="async") as outer:
        while outer.rounds.launched < ROUNDS:
            for _ in range(H):             # H inner steps of the peer's own optimiser
                gw, gb = gradients(w, b, next(batches))
                w -= 0.01 * gw             # in place (w = w - ... would rebind w)
                b -= 0.01 * gb
            info = outer.step()            # the round boundary: w and b move onto the
                                           # new outer parameters (info: a StepInfo)
        outer.flush()                      # apply the round in flight, then evaluate

mode="sync" waits for the all-reduce at each boundary; mode="async" applies
each round one boundary late, carrying the progress of the round in between
over, so the network works while the next round computes. A peer lost at a
boundary costs a retry on the survivors (StepInfo.attempts > 1), not the
round: no round is lost or applied twice. A new peer calls DiLoCo.join on a
fresh (not connected) communicator; the members admit it at a round boundary
they agree on and send it the outer parameters, the momentum, the round
counters and the extra_state entries (StepInfo.synced on the members).

Parameters are numpy float32 arrays (or bfloat16 of an extension dtype such
as ml_dtypes) or torch CPU tensors of float32 or bfloat16, all of one dtype,
C-contiguous and writable; the loop reads and writes their memory in the
constructor (or join), step() and flush() only, and keeps them alive while it
lives. Closing the communicator closes its loops first.
"""

from __future__ import annotations

import ctypes
import operator
import threading
import weakref
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Iterable, Mapping, NamedTuple, Optional, Union

from eccl import _args, _library
from eccl._buffers import Buffer, as_buffer
from eccl._communicator import Communicator
from eccl._ctypes_api import (
    ecclDataType_t,
    ecclDiloco_t,
    ecclDilocoConfig_t,
    ecclDilocoInfo_t,
    ecclDilocoMode_t,
    ecclDilocoParam_t,
    ecclResult_t,
    ecclSharedStateEntry_t,
    init_versioned,
    versioned,
)
from eccl._errors import InvalidUsage, check
from eccl._handle import CommHandle
from eccl._state import _CState

__all__ = ["DiLoCo", "Mode", "Rounds", "StepInfo"]

#: When a round's average is applied: "sync", "async" (or the enum).
Mode = Union[str, ecclDilocoMode_t]

_MODES: dict[str, ecclDilocoMode_t] = {
    "sync": ecclDilocoMode_t.ecclDilocoSync,
    "async": ecclDilocoMode_t.ecclDilocoAsync,
}

#: The element types the loop works on.
_DTYPES = (ecclDataType_t.ecclFloat32, ecclDataType_t.ecclBfloat16)


def mode_code(mode: Mode) -> ecclDilocoMode_t:
    """The ecclDilocoMode_t of a mode name; ValueError for an unknown one."""
    if isinstance(mode, ecclDilocoMode_t):
        return mode
    found = _MODES.get(str(mode).lower())
    if found is None:
        raise ValueError(f"unknown DiLoCo mode {mode!r}: use 'sync' or 'async'")
    return found


@dataclass(frozen=True)
class StepInfo:
    """What one step() or flush() did on this peer."""

    round: int          #: rounds launched so far (this one included)
    applied: int        #: rounds applied to the outer parameters so far
    contributors: int   #: peers averaged in the last round this call applied (0: none)
    attempts: int       #: all-reduces this call started (re-runs and an async launch included)
    synced: bool        #: a peer joined and the state was synced during this call
    blocked_s: float    #: seconds spent waiting for the network (0 when hidden)
    wall_time_s: float  #: seconds from the call to its return
    state_revision: int  #: the group's shared-state revision after the call

    @classmethod
    def from_c(cls, info: ecclDilocoInfo_t) -> "StepInfo":
        """The StepInfo of a filled ecclDilocoInfo_t."""
        return cls(round=int(info.round), applied=int(info.applied),
                   contributors=int(info.contributors), attempts=int(info.attempts),
                   synced=bool(info.synced), blocked_s=info.blocked_ns / 1e9,
                   wall_time_s=info.wall_time_ns / 1e9,
                   state_revision=int(info.state_revision))


class Rounds(NamedTuple):
    """The loop's round counters."""

    launched: int  #: rounds whose pseudo-gradients were launched
    applied: int   #: rounds applied to the outer parameters


# ---- the C loop and its lifetime ---------------------------------------------------------

# eccl.h: a loop must be destroyed before its communicator. Closing the
# Communicator (close(), its with block, garbage collection, exit) therefore
# first closes the loops still open on it: _attach registers them with the
# communicator's handle (CommHandle.before_close), and a step that runs
# meanwhile on another thread is aborted.
_registry_lock = threading.Lock()


class _Loop:
    """An owned ecclDiloco_t, the memory it uses, and the rule that Destroy races with nothing.

    One call runs at a time (another thread's call waits for it); each holds
    its communicator's handle as in use, so that Communicator.close() aborts
    it and waits for it. Holds no reference to the DiLoCo (it is the finalizer).
    """

    def __init__(self, comm_h: CommHandle, keepalive: Any) -> None:
        self.handle: Optional[ecclDiloco_t] = None
        self.comm_h = comm_h
        self.keepalive = keepalive  # parameters, extra entries, config: the C loop uses them
        self.registry: Optional[set[_Loop]] = None
        self._cond = threading.Condition(threading.Lock())
        self._busy = False     # a call (or the destroy) is running
        self._closing = False  # close() has begun

    @property
    def closed(self) -> bool:
        """Whether close() has begun."""
        return self._closing

    def _enter(self, need_handle: bool) -> Optional[ecclDiloco_t]:
        with self._cond:
            while self._busy and not self._closing:
                self._cond.wait()
            if self._closing or (need_handle and self.handle is None):
                raise InvalidUsage(ecclResult_t.ecclInvalidUsage, "the DiLoCo loop is closed")
            self._busy = True
            return self.handle

    def _leave(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    def call(self, function: str, *args: Any) -> None:
        """lib.function(loop, *args); raises the mapped error of a failing result."""
        lib = _library.lib()
        handle = self._enter(need_handle=True)
        try:
            self.comm_h.acquire()  # eccl.InvalidUsage once the communicator is closing
            try:
                code = getattr(lib, function)(handle, *args)
            finally:
                self.comm_h.release()
        finally:
            self._leave()
        check(code)  # on this thread, with no ECCL call since: its last-error text

    def create(self, function: str, *args: Any) -> None:
        """lib.function(comm, *args, &loop): ecclDilocoCreate or ecclDilocoJoin."""
        lib = _library.lib()
        self._enter(need_handle=False)
        try:
            comm = self.comm_h.acquire()
            try:
                handle = ecclDiloco_t()
                code = getattr(lib, function)(comm, *args, ctypes.byref(handle))
            finally:
                self.comm_h.release()
            if code == ecclResult_t.ecclSuccess:
                with self._cond:
                    self.handle = handle
        finally:
            self._leave()
        check(code)

    def close(self, abort: bool = False) -> None:
        """Destroys the loop once no call runs; idempotent.

        abort: a call running on another thread is ended by aborting the
        communicator (its own close is under way); else it is waited for
        (bounded by the loop's timeouts). Destroy itself waits for the
        all-reduce in flight (mode "async"), bounded by its timeout.
        """
        with self._cond:
            self._closing = True
            if self._busy and abort:
                try:
                    self.comm_h.abort()
                except Exception:  # noqa: BLE001 - the comm is gone: the call ends anyway
                    pass
            while self._busy:
                self._cond.wait()
            handle, self.handle = self.handle, None
            if handle is not None:
                self._busy = True  # destroying: a concurrent close() waits for it
        code = ecclResult_t.ecclSuccess
        if handle is not None:
            try:
                code = _library.lib().ecclDilocoDestroy(handle)
            finally:
                with self._cond:
                    self._busy = False
                    self.keepalive = None
                    self._cond.notify_all()
        with _registry_lock:
            if self.registry is not None:
                self.registry.discard(self)
                self.registry = None
        check(code)


def _close_loops(loops: set[_Loop]) -> None:
    """Closes a communicator's DiLoCo loops (run as it begins to close)."""
    with _registry_lock:
        pending = list(loops)
    for loop in pending:
        try:
            loop.close(abort=True)
        except Exception:  # noqa: BLE001 - the communicator must close all the same
            pass


def _attach(comm: Communicator, loop: _Loop) -> None:
    """Makes comm's close close loop first (eccl.h: a loop dies before its comm)."""
    with _registry_lock:
        loops: Optional[set[_Loop]] = comm.__dict__.get("_diloco_loops")
        if loops is None:
            loops = set()
            comm._h.before_close(lambda: _close_loops(loops))
            comm._diloco_loops = loops  # type: ignore[attr-defined]
        loops.add(loop)
        loop.registry = loops


# ---- arguments ---------------------------------------------------------------------------

def _param_buffers(params: Iterable[Any]) -> list[Buffer]:
    """The parameters as Buffers: one dtype (f32 or bf16), contiguous, writable, disjoint."""
    if isinstance(params, Mapping):
        raise TypeError("params is a list of arrays or tensors, not a dict "
                        "(pass list(state_dict.values()) or model.parameters())")
    try:
        items = list(params)
    except TypeError:
        raise TypeError(f"params must be a list of arrays or tensors, not "
                        f"{type(params).__name__}") from None
    if not items:
        raise ValueError("params is empty: DiLoCo needs at least one parameter array")
    buffers = [as_buffer(x, name=f"params[{i}]", writable=True) for i, x in enumerate(items)]
    dtype = buffers[0].dtype
    if dtype not in _DTYPES:
        raise ValueError(f"params[0] has dtype {dtype.name[4:].lower()}: DiLoCo works on "
                         "float32 or bfloat16 parameters")
    for i, buf in enumerate(buffers):
        if buf.dtype != dtype:
            raise ValueError(f"params[{i}] has dtype {buf.dtype.name[4:].lower()}, params[0] "
                             f"{dtype.name[4:].lower()}: every parameter must have the same "
                             "dtype (float32 or bfloat16)")
    if sum(buf.count for buf in buffers) == 0:
        raise ValueError("params hold no elements")
    ordered = sorted((buf for buf in buffers if buf.count), key=lambda buf: buf.ptr)
    for a, b in zip(ordered, ordered[1:]):
        if a.overlaps(b):
            raise ValueError("two of the params share memory (the same array twice, or views "
                             "of one array): each element must belong to one parameter")
    return buffers


def _config(lr: float, momentum: float, mode: Mode, tag: Optional[int],
            timeout_ms: Optional[float], max_attempts: int, extra: Optional[_CState],
            state_revision: int) -> ecclDilocoConfig_t:
    """An ecclDilocoConfig_t: the library's defaults, then the arguments."""
    code, config = init_versioned(ecclDilocoConfig_t, _library.lib().ecclDilocoConfigInit)
    check(code)
    config.outer_lr = float(lr)
    config.outer_momentum = float(momentum)
    config.mode = mode_code(mode)
    if tag is not None:
        config.tag = _args.tag(tag)
    config.timeout_ms = _args.timeout(timeout_ms)
    attempts = _args.optional_uint32(max_attempts, "max_attempts")
    assert attempts is not None
    if attempts < 1:
        raise ValueError(f"max_attempts={attempts}: at least 1")
    config.max_attempts = attempts
    revision = operator.index(state_revision)
    if not 0 <= revision < (1 << 64):
        raise ValueError(f"state_revision {revision} is outside 0 .. 2**64 - 1")
    config.state_revision = revision
    if extra is not None and extra.buffers:
        config.extra_state = ctypes.cast(extra.entries, ctypes.POINTER(ecclSharedStateEntry_t))
        config.nextra = len(extra.buffers)
    return config


# ---- DiLoCo ------------------------------------------------------------------------------

class DiLoCo:
    """DiLoCo's outer loop over a communicator's ring, on parameters updated in place.

    Each peer trains on its own between two step() calls (its own optimiser,
    H inner steps on the same parameter arrays); step() is the round
    boundary, a collective of the ring. close() (or leaving a with block, or
    garbage collection, or closing the communicator) frees the loop; the
    communicator stays the caller's.

    Between two steps the communicator may run other collectives (with
    other tags than the loop's), but not update_topology or sync_state: the
    loop admits joiners and settles departures itself.
    """

    def __init__(self, comm: Communicator, params: Iterable[Any], lr: float = 0.7,
                 momentum: float = 0.9, mode: Mode = "sync", *, tag: Optional[int] = None,
                 timeout_ms: Optional[float] = None, max_attempts: int = 4,
                 extra_state: Optional[Mapping[str, Any]] = None,
                 state_revision: int = 0) -> None:
        """Starts the loop on a member of the ring; a collective of the members.

        Every member calls it with the same parameter shapes, dtype and
        options. The members' parameters are made identical (the most common
        content wins) and become the outer parameters.

        comm: a connected eccl.Communicator, a member of the ring. params:
        numpy arrays or torch CPU tensors, float32 or bfloat16, all of one
        dtype, C-contiguous and writable; used in place (zero-copy) and kept
        alive by the loop. lr: the outer learning rate (> 0). momentum:
        Nesterov momentum in [0, 1). mode: "sync" (apply each round at its own
        boundary) or "async" (one boundary late, hiding the all-reduce behind
        the next round's compute). tag: the tag of the loop's all-reduces
        (< 2**32; None: the library's 0x44694c6f); no other op of comm may use
        it. timeout_ms: deadline of each all-reduce, update and sync (None:
        the communicator's). max_attempts: tries of a boundary through
        failures (>= 1). extra_state: name -> array of the caller's own
        state (e.g. the inner optimiser's, a data cursor) that a joiner
        receives with the outer state; names must not start with
        "eccl.diloco."; synced (popular content wins) at the start too.
        state_revision: the group's shared-state revision (0 if it never ran
        sync_state, else its last revision).

        Raises ValueError or TypeError for unusable params or options (the
        message says which), eccl.InvalidArgument for options the library
        refuses (lr, momentum, an extra name), eccl.InvalidUsage when comm is
        not a ring member (a new peer uses DiLoCo.join) or the members
        disagree, and the sync's errors (eccl.PeerLost, eccl.Timeout, ...).
        """
        self._start("ecclDilocoCreate", comm, params, lr, momentum, mode, tag, timeout_ms,
                    max_attempts, extra_state, state_revision)

    @classmethod
    def join(cls, comm: Communicator, params: Iterable[Any], lr: float = 0.7,
             momentum: float = 0.9, mode: Mode = "sync", *, tag: Optional[int] = None,
             timeout_ms: Optional[float] = None, max_attempts: int = 4,
             extra_state: Optional[Mapping[str, Any]] = None,
             state_revision: int = 0) -> "DiLoCo":
        """A new peer joins a running loop; comm is created and not connected.

        Connects comm, waits to be admitted (the members admit a waiting peer
        at the round boundary after one of them notices it: one or two of
        their rounds), receives the outer parameters, momentum, round counters
        and the extra_state entries into the given arrays, and returns with
        params on the outer parameters, in step with the members: next, H
        inner steps, then step(). The arguments are the members' (params of
        the same shapes and dtype; their content counts for nothing).
        Raises as the constructor, and connect()'s errors; after an error
        close the communicator (it is unusable).
        """
        self = cls.__new__(cls)
        self._start("ecclDilocoJoin", comm, params, lr, momentum, mode, tag, timeout_ms,
                    max_attempts, extra_state, state_revision)
        return self

    def _start(self, function: str, comm: Communicator, params: Iterable[Any], lr: float,
               momentum: float, mode: Mode, tag: Optional[int], timeout_ms: Optional[float],
               max_attempts: int, extra_state: Optional[Mapping[str, Any]],
               state_revision: int) -> None:
        if not isinstance(comm, Communicator):
            raise TypeError(f"comm must be an eccl.Communicator, not {type(comm).__name__}")
        buffers = _param_buffers(params)
        extra = None if extra_state is None else _CState(extra_state, 0, ())
        config = _config(lr, momentum, mode, tag, timeout_ms, max_attempts, extra,
                         state_revision)
        cparams = (ecclDilocoParam_t * len(buffers))()
        for entry, buf in zip(cparams, buffers):
            entry.data = buf.ptr
            entry.count = buf.count
        self._comm = comm
        self._params = [buf.obj for buf in buffers]
        self._extra = dict(extra_state) if extra_state is not None else {}
        self._mode = _mode_name(config.mode)
        loop = _Loop(comm._h, (buffers, extra, config, cparams))
        _attach(comm, loop)
        self._loop = loop
        self._finalizer = weakref.finalize(self, loop.close)
        try:
            loop.create(function, cparams, len(buffers), buffers[0].dtype, ctypes.byref(config))
        except BaseException:
            self._finalizer()
            raise

    # ---- rounds -------------------------------------------------------------------------

    def step(self) -> StepInfo:
        """The round boundary, after this round's inner steps; a collective of the ring.

        "sync": all-reduces the round's pseudo-gradient, applies the outer
        step, and moves the parameters onto the new outer parameters.
        "async": launches this round's all-reduce and applies the previous
        round's, keeping this round's progress on top. A failed all-reduce
        is retried on the survivors (attempts > 1); joiners waiting are
        admitted and synced here (synced). Raises what max_attempts retries
        did not overcome (eccl.PeerLost, eccl.Timeout,
        eccl.ConnectionError), eccl.InvalidUsage (peers disagree),
        eccl.Aborted; after an error the loop is unusable: close it.
        """
        info = versioned(ecclDilocoInfo_t)
        self._loop.call("ecclDilocoStep", ctypes.byref(info))
        return StepInfo.from_c(info)

    def flush(self) -> StepInfo:
        """Applies the round in flight ("async"), so that the parameters hold every
        launched round's average plus the progress made since the last step:
        before an evaluation, a checkpoint, or the end of training. A collective
        (every member calls it at the same boundary); "sync" returns at once.
        Raises as step()."""
        info = versioned(ecclDilocoInfo_t)
        self._loop.call("ecclDilocoFlush", ctypes.byref(info))
        return StepInfo.from_c(info)

    @property
    def rounds(self) -> Rounds:
        """(launched, applied): rounds launched and rounds applied so far (waits
        for a step running on another thread)."""
        launched, applied = ctypes.c_uint64(), ctypes.c_uint64()
        self._loop.call("ecclDilocoRounds", ctypes.byref(launched), ctypes.byref(applied))
        return Rounds(int(launched.value), int(applied.value))

    # ---- attributes ---------------------------------------------------------------------

    @property
    def comm(self) -> Communicator:
        """The communicator the loop runs on."""
        return self._comm

    @property
    def params(self) -> list[Any]:
        """The parameter arrays, as given (the loop updates them in place)."""
        return list(self._params)

    @property
    def extra_state(self) -> dict[str, Any]:
        """The extra_state entries, as given."""
        return dict(self._extra)

    @property
    def mode(self) -> str:
        """"sync" or "async"."""
        return self._mode

    # ---- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Frees the loop, first waiting for its all-reduce in flight (bounded by
        its timeout; flush() first to apply it) and for a call running on another
        thread. The communicator stays open. Idempotent."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        """Whether close() has been called (or the communicator closed)."""
        return self._loop.closed

    def __enter__(self) -> "DiLoCo":
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]],
                 exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.close()

    def __repr__(self) -> str:
        if not hasattr(self, "_loop"):
            return "<eccl.DiLoCo (not started)>"
        if self.closed:
            return f"<eccl.DiLoCo {self._mode} closed>"
        return f"<eccl.DiLoCo {self._mode} params={len(self._params)}>"


def _mode_name(code: int) -> str:
    return "async" if code == ecclDilocoMode_t.ecclDilocoAsync else "sync"
