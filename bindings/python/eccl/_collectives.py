"""Collectives and point-to-point calls of a Communicator, on numpy arrays and torch CPU tensors.

Arrays are used in place through their data pointers: inputs and outputs must
be C-contiguous, outputs writable. Every call blocks (releasing the GIL) but
all_reduce_async, which returns an eccl.Request.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any, Optional, Sequence, Union

from eccl import _args
from eccl._buffers import Buffer, as_buffer, output, same_type
from eccl._ctypes_api import (
    ecclCommAttr_t,
    ecclDataType_t,
    ecclOpInfo_t,
    ecclPeerId_t,
    ecclRequest_t,
    ecclTensor_t,
    versioned,
)
from eccl._errors import EcclConnectionError, PeerLost, Timeout
from eccl._handle import CommHandle
from eccl._ops import ReduceOp, reduce_op
from eccl._quant import Quant, quant_config
from eccl._request import Request, reap_orphans
from eccl._types import OpInfo, PeerId

#: A peer argument: its id, or a rank of this communicator's ring.
Peer = Union[PeerId, int]


def _ref(struct: Optional[ctypes.Structure]) -> Any:
    """byref(struct), or None (NULL) for None."""
    return None if struct is None else ctypes.byref(struct)


class CollectivesMixin:
    """all_reduce, broadcast, all_gather, ... of eccl.Communicator."""

    _h: CommHandle
    _local: threading.local

    def lookup_peer(self, rank: int, group: Optional[str] = None,
                    timeout_ms: Optional[float] = None) -> PeerId:
        """The id of the accepted peer at rank of group (None: this comm's group,
        answered locally). Raises eccl.InvalidArgument if no peer has that rank."""
        peer = ecclPeerId_t()
        self._h.call("ecclCommLookupPeer", None if group is None else group.encode(),
                     ctypes.c_int32(rank), ctypes.byref(peer), _args.timeout(timeout_ms))
        return PeerId.from_c(peer)

    @property
    def last_op_info(self) -> Optional[OpInfo]:
        """What the last blocking collective or send/recv of THIS thread on this
        communicator did (bytes, time, world size); None before the first."""
        return getattr(self._local, "info", None)

    def _run(self, function: str, *args: Any) -> None:
        """A blocking op: lib.function(handle, *args, &info), info kept for last_op_info."""
        info = versioned(ecclOpInfo_t)
        try:
            self._h.call(function, *args, ctypes.byref(info))
        finally:
            self._local.info = OpInfo.from_c(info)

    # ---- all-reduce -------------------------------------------------------------------

    def _all_reduce_args(self, x: Any, out: Optional[Any]) -> tuple[Buffer, Buffer]:
        in_place = out is None or out is x
        send = as_buffer(x, name="x", writable=in_place)
        if in_place:
            return send, send
        recv = output(send, out, send.shape)
        if recv.ptr != send.ptr and recv.overlaps(send):
            raise ValueError("out overlaps x without being x: pass out=None for in place")
        return send, recv

    def all_reduce(self, x: Any, op: ReduceOp = "sum", *, out: Optional[Any] = None,
                   quant: Quant = None, tag: int = 0,
                   timeout_ms: Optional[float] = None) -> Any:
        """Reduces x over every peer of the ring; returns the result array.

        In place when out is None or out is x; else into out (same dtype and
        element count). op: "sum", "avg", "prod", "min" or "max". quant: None
        (exact), or "minmax:u8"-style / eccl.QuantConfig (float data only;
        every peer passes the same). Every peer calls it with the same count,
        dtype, op and tag; results are bit-identical on every peer.
        Raises ValueError/TypeError for unusable arrays, eccl errors otherwise
        (eccl.InvalidUsage when peers disagree, eccl.PeerLost, eccl.Timeout...).
        """
        send, recv = self._all_reduce_args(x, out)
        config = quant_config(quant)
        self._run("ecclAllReduce", send.ptr, recv.ptr, send.count, send.dtype, reduce_op(op),
                  _ref(config), _args.tag(tag), _args.timeout(timeout_ms))
        return recv.obj

    def all_reduce_async(self, x: Any, op: ReduceOp = "sum", *, out: Optional[Any] = None,
                         quant: Quant = None, tag: int = 0,
                         timeout_ms: Optional[float] = None) -> Request:
        """all_reduce, queued: returns at once an eccl.Request whose wait() returns
        the result. The Request keeps x and out alive until the op completes; do
        not read or write them before. Up to 4 ops with distinct tags run at once."""
        send, recv = self._all_reduce_args(x, out)
        config = quant_config(quant)
        reap_orphans()
        request = ecclRequest_t()
        self._h.call("ecclAllReduceAsync", send.ptr, recv.ptr, send.count, send.dtype,
                     reduce_op(op), _ref(config), _args.tag(tag), _args.timeout(timeout_ms),
                     ctypes.byref(request))
        return Request(request, recv.obj, (send, recv))

    def all_reduce_batch(self, arrays: Sequence[Any], op: ReduceOp = "sum", *,
                         quant: Quant = None, tag: int = 0,
                         timeout_ms: Optional[float] = None) -> list[Any]:
        """All-reduces several arrays of one dtype in place as ONE all-reduce of their
        concatenation (e.g. a model's gradients); returns them. Every peer passes
        the same list of sizes."""
        buffers = [as_buffer(a, name=f"arrays[{i}]", writable=True) for i, a in enumerate(arrays)]
        if not buffers:
            return []
        for b in buffers[1:]:
            same_type(buffers[0], b, what="all_reduce_batch")
        tensors = (ecclTensor_t * len(buffers))()
        for t, b in zip(tensors, buffers):
            t.sendbuf, t.recvbuf, t.count = b.ptr, b.ptr, b.count
        config = quant_config(quant)
        self._run("ecclAllReduceBatch", tensors, len(buffers), buffers[0].dtype, reduce_op(op),
                  _ref(config), _args.tag(tag), _args.timeout(timeout_ms))
        return [b.obj for b in buffers]

    # ---- other collectives ------------------------------------------------------------

    def broadcast(self, x: Any, root: int, *, tag: int = 0,
                  timeout_ms: Optional[float] = None) -> Any:
        """Copies the array of the peer of rank root into x on every peer (in place); returns x."""
        buf = as_buffer(x, name="x", writable=True)
        self._run("ecclBroadcast", buf.ptr, buf.count, buf.dtype, ctypes.c_int32(root),
                  _args.tag(tag), _args.timeout(timeout_ms))
        return buf.obj

    def all_gather(self, x: Any, *, out: Optional[Any] = None, tag: int = 0,
                   timeout_ms: Optional[float] = None) -> Any:
        """Every peer's x, stacked in rank order: shape (world_size, *x.shape).
        out: an array of that many elements to fill instead of a new one."""
        send = as_buffer(x, name="x", writable=False)
        world = int(self._h.get_attr(ecclCommAttr_t.ECCL_ATTR_WORLD_SIZE, ctypes.c_int32()).value)
        recv = output(send, out, (world, *send.shape))
        self._run("ecclAllGather", send.ptr, recv.ptr, send.count, send.dtype,
                  _args.tag(tag), _args.timeout(timeout_ms))
        return recv.obj

    def _blocks(self, send: Buffer, what: str) -> int:
        """world_size, checked as x's leading dimension."""
        world = int(self._h.get_attr(ecclCommAttr_t.ECCL_ATTR_WORLD_SIZE, ctypes.c_int32()).value)
        if not send.shape or send.shape[0] != world:
            raise ValueError(f"{what}: x must have shape (world_size={world}, ...), one block "
                             f"per rank; it has shape {send.shape} (reshape it to ({world}, -1))")
        return world

    def reduce_scatter(self, x: Any, op: ReduceOp = "sum", *, out: Optional[Any] = None,
                       tag: int = 0, timeout_ms: Optional[float] = None) -> Any:
        """x has shape (world_size, ...): block r is for rank r. Returns op over every
        peer of this rank's block, shape x.shape[1:] (the inverse of all_gather)."""
        send = as_buffer(x, name="x", writable=False)
        world = self._blocks(send, "reduce_scatter")
        recv = output(send, out, send.shape[1:])
        self._run("ecclReduceScatter", send.ptr, recv.ptr, send.count // world, send.dtype,
                  reduce_op(op), _args.tag(tag), _args.timeout(timeout_ms))
        return recv.obj

    def all_to_all(self, x: Any, *, out: Optional[Any] = None, tag: int = 0,
                   timeout_ms: Optional[float] = None) -> Any:
        """x has shape (world_size, ...): block j goes to rank j. Returns an array of
        x's shape whose block r came from rank r."""
        send = as_buffer(x, name="x", writable=False)
        world = self._blocks(send, "all_to_all")
        recv = output(send, out, send.shape)
        if recv.overlaps(send):
            raise ValueError("all_to_all: out must not overlap x")
        self._run("ecclAllToAll", send.ptr, recv.ptr, send.count // world, send.dtype,
                  _args.tag(tag), _args.timeout(timeout_ms))
        return recv.obj

    def barrier(self, *, tag: int = 0, timeout_ms: Optional[float] = None) -> None:
        """Returns once every peer of the ring has entered it."""
        self._run("ecclBarrier", _args.tag(tag), _args.timeout(timeout_ms))

    def should_commit(self, ok: bool, *, tag: int = 0, timeout_ms: Optional[float] = None) -> bool:
        """Per-step agreement (as torchft offers): every peer of the ring votes
        whether its step succeeded; True on every peer only if all voted True.

        A vote that cannot complete because a peer was lost, the deadline passed
        or a channel failed counts as a failed step: every survivor gets such an
        error for the same op (they agree on a failed op's outcome), so every
        survivor returns False and none applies the step; call update_topology()
        before the next one. Other errors (eccl.InvalidUsage, eccl.Aborted, ...)
        are raised."""
        vote = (ctypes.c_int32 * 1)(1 if ok else 0)
        try:
            self._run("ecclAllReduce", ctypes.addressof(vote), ctypes.addressof(vote), 1,
                      ecclDataType_t.ecclInt32, reduce_op("min"), None, _args.tag(tag),
                      _args.timeout(timeout_ms))
        except (PeerLost, Timeout, EcclConnectionError):
            return False
        return vote[0] == 1

    # ---- point-to-point ---------------------------------------------------------------

    def _peer(self, peer: Peer) -> ecclPeerId_t:
        if isinstance(peer, PeerId):
            return peer.to_c()
        if isinstance(peer, int):
            return self.lookup_peer(peer).to_c()
        raise TypeError(f"peer must be an eccl.PeerId or a rank (int), not {type(peer).__name__}")

    def send(self, x: Any, peer: Peer, *, tag: int = 0,
             timeout_ms: Optional[float] = None) -> None:
        """Sends x to peer (a PeerId of any group, or a rank of this ring), which
        receives it with recv() naming this peer, the same tag, count and dtype.
        Returns once the receiver holds the whole message."""
        buf = as_buffer(x, name="x", writable=False)
        self._run("ecclSend", buf.ptr, buf.count, buf.dtype, self._peer(peer), _args.tag(tag),
                  _args.timeout(timeout_ms))

    def recv(self, x: Any, peer: Peer, *, tag: int = 0,
             timeout_ms: Optional[float] = None) -> Any:
        """Receives into x what peer sends with the same tag, count and dtype; returns x."""
        buf = as_buffer(x, name="x", writable=True)
        self._run("ecclRecv", buf.ptr, buf.count, buf.dtype, self._peer(peer), _args.tag(tag),
                  _args.timeout(timeout_ms))
        return buf.obj
