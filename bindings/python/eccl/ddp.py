"""PyTorch DistributedDataParallel over ECCL: a communication hook, and a DDP-free helper.

DDP keeps its own torch process group (gloo will do) for its bookkeeping:
checking the parameters' shapes and broadcasting rank 0's values at
construction, re-bucketing after the first step, the module's buffers before
each forward (broadcast_buffers). The gradients of every backward travel
through an ECCL ring instead:

    import torch, eccl, eccl.ddp

    comm = eccl.Communicator(master, "job", listen="10.0.0.5:0")
    comm.connect()                                   # ... and admitted: a ring
    model = torch.nn.parallel.DistributedDataParallel(net)   # CPU tensors
    state = eccl.ddp.ECCLHookState(comm)
    model.register_comm_hook(state, eccl.ddp.allreduce_hook)
    with state.translate_errors():                   # eccl.PeerLost, ... as themselves
        loss_fn(model(x), y).backward()              # gradients: the ring's average
    optimizer.step()

The average is over the ECCL ring's world size, not the process group's. A
failed all-reduce fails backward(): torch 1.13's DDP raises a RuntimeError
quoting the eccl error, which state.translate_errors() turns back into the
error itself (eccl.PeerLost, eccl.Timeout, ...). Call comm.update_topology()
before the next step; the DDP model goes on as it is. Trainers without
torch.distributed call average_gradients(comm, model) between backward() and
optimizer.step() instead.

torch is imported only by the functions that use it: "import eccl.ddp" needs none.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterable, Iterator, Optional, Union

from eccl import _args
from eccl._buffers import as_buffer
from eccl._communicator import Communicator
from eccl._ops import ReduceOp
from eccl._quant import Quant
from eccl._request import Request

#: The tag of bucket 0 when none is given: bucket i all-reduces with tag
#: DEFAULT_TAG_BASE + i, away from the small tags an application picks itself.
DEFAULT_TAG_BASE = 0xDD00_0000


def _torch() -> Any:
    import torch  # noqa: PLC0415 - lazily: "import eccl" must not need torch

    return torch


class _Pass:
    """The buckets of one backward pass: their errors, by bucket index."""

    __slots__ = ("errors",)

    def __init__(self) -> None:
        self.errors: dict[int, Exception] = {}

    @property
    def error(self) -> Optional[Exception]:
        """The error of the failed bucket of lowest index: the one DDP reports."""
        return self.errors[min(self.errors)] if self.errors else None


class ECCLHookState:
    """The state argument of allreduce_hook: the communicator and how to all-reduce.

    comm: a connected eccl.Communicator, a member of the ring. op: "avg" (the
    ring's mean, what DDP's own all-reduce computes) or "sum". quant: None
    (exact), or a quantization ("minmax:u8", eccl.QuantConfig, ...) that every
    peer passes alike. tag_base: bucket i uses tag tag_base + i; several
    buckets are in flight at once, and their tags must not be the tags of
    other ops this communicator runs meanwhile. timeout_ms: the deadline of
    each bucket's all-reduce (None: the communicator's default).
    """

    def __init__(self, comm: Communicator, op: ReduceOp = "avg", quant: Quant = None,
                 tag_base: int = DEFAULT_TAG_BASE, timeout_ms: Optional[float] = None) -> None:
        self.comm = comm
        self.op = op
        self.quant = quant
        self.tag_base = _args.tag(tag_base)
        self.timeout_ms = timeout_ms
        self._pass = _Pass()

    def tag(self, bucket_index: int) -> int:
        """The tag of a bucket; ValueError past 2**32 - 1."""
        return _args.tag(self.tag_base + bucket_index)

    @property
    def error(self) -> Optional[Exception]:
        """The error of the latest backward pass (eccl.PeerLost, ...), or None: of its
        failed bucket of lowest index, whose error DDP's backward() reports."""
        return self._pass.error

    @contextlib.contextmanager
    def translate_errors(self) -> Iterator[None]:
        """Raises the eccl error itself where DDP raises a RuntimeError for it.

        torch 1.13's DDP reads a failed bucket's future in C++ and raises a
        RuntimeError that only quotes the error ("Unable to cast ecclPeerLost:
        ... to Tensor"). Within this block a RuntimeError that quotes
        state.error becomes that error (eccl.PeerLost, ...), chained to it;
        other exceptions pass unchanged:

            with state.translate_errors():
                loss.backward()
        """
        try:
            yield
        except RuntimeError as raised:
            error = self.error
            if error is None or error is raised or str(error) not in str(raised):
                raise
            raise error from raised

    def __repr__(self) -> str:
        return (f"<eccl.ddp.ECCLHookState op={self.op!r} quant={self.quant!r} "
                f"tag_base={self.tag_base:#x} timeout_ms={self.timeout_ms}>")


# DDP (torch 1.13: DistributedDataParallel._check_comm_hook) compares the
# annotations of the hook's `bucket` parameter and of its return value with
# dist.GradBucket and torch.futures.Future[torch.Tensor] themselves; the
# strings that "from __future__ import annotations" leaves, or any other
# type, make register_comm_hook raise ValueError. Without torch at import time
# they can only stay unannotated: bucket is a torch.distributed.GradBucket and
# the result a torch.futures.Future[torch.Tensor].
def allreduce_hook(state: ECCLHookState, bucket):  # type: ignore[no-untyped-def]
    """A DDP communication hook: all-reduces bucket.buffer() through state.comm.

    For model.register_comm_hook(state, eccl.ddp.allreduce_hook). The bucket's
    flat CPU tensor (float32, float64, float16 or bfloat16) is all-reduced in
    place, without a copy, by an asynchronous all-reduce tagged
    state.tag(bucket.index()); a thread of its own waits for it and completes
    the returned torch.futures.Future with the buffer, or with the error
    (eccl.PeerLost, eccl.Timeout, ...; ValueError for a CUDA or strided
    buffer): future.wait() raises it, and DDP's backward() raises a
    RuntimeError quoting it (state.translate_errors() raises it itself). After
    an eccl error call state.comm.update_topology() before the next step: the
    DDP model itself stays usable.
    """
    torch = _torch()
    if bucket.index() == 0:  # DDP hands the buckets over in index order
        state._pass = _Pass()
    this_pass = state._pass
    future = torch.futures.Future()
    try:
        request = _launch(state, bucket)
    except Exception as error:  # noqa: BLE001 - raised by backward(), as DDP's own errors
        # Not raised here: out of the hook it reaches backward() as a
        # RuntimeError all the same (torch 1.13), and it leaves the reducer
        # unfinalized, so that every later backward() of the model fails
        # ("Expected to have finished reduction in the prior iteration").
        this_pass.errors[bucket.index()] = error
        future.set_exception(error)
        return future
    # Asynchronous: the hook returns while the all-reduce runs, so DDP hands
    # the next bucket over (up to 4 run at once, eccl.h) and backward goes on
    # computing. torch 1.13's reducer waits for the futures only at the end of
    # backward, without the GIL, so a waiter thread can complete them.
    threading.Thread(target=_complete, args=(request, future, this_pass, bucket.index()),
                     daemon=True, name=f"eccl-ddp-bucket-{bucket.index()}").start()
    return future


def _launch(state: ECCLHookState, bucket: Any) -> Request:
    """Starts the all-reduce of a bucket; ValueError/TypeError for an unusable buffer."""
    buffer = bucket.buffer()
    # Checked here too, so that the error names the bucket (a CUDA tensor: stage on host).
    as_buffer(buffer, name=f"bucket {bucket.index()}'s buffer()", writable=True)
    return state.comm.all_reduce_async(buffer, op=state.op, quant=state.quant,
                                       tag=state.tag(bucket.index()),
                                       timeout_ms=state.timeout_ms)


def _complete(request: Request, future: Any, this_pass: _Pass, index: int) -> None:
    """Waits for request (bounded by its op's timeout) and completes future with its outcome."""
    try:
        result = request.wait()
    except Exception as error:  # noqa: BLE001 - handed to the future
        this_pass.errors[index] = error  # first: backward() may raise as soon as the future fails
        future.set_exception(error)
    else:
        future.set_result(result)


def average_gradients(comm: Communicator, module_or_params: Union[Any, Iterable[Any]],
                      op: ReduceOp = "avg", *, quant: Quant = None, tag: int = 0,
                      timeout_ms: Optional[float] = None) -> None:
    """All-reduces the .grad of every parameter in place, without DDP or torch.distributed.

    module_or_params: a torch.nn.Module or an iterable of parameters. Call it
    between backward() and optimizer.step(), on every peer with the same
    model. Parameters that require grad but have none get a zero .grad first,
    so that every peer reduces the same list. The gradients of each dtype go
    as one batched all-reduce (comm.all_reduce_batch), dtypes in first-seen
    order, all with this tag. Raises the eccl error of a failed all-reduce.
    """
    torch = _torch()
    if isinstance(module_or_params, torch.nn.Module):
        module_or_params = module_or_params.parameters()
    by_dtype: dict[Any, list[Any]] = {}
    for param in module_or_params:
        if not param.requires_grad:
            continue
        if param.grad is None:
            param.grad = torch.zeros_like(param)
        by_dtype.setdefault(param.grad.dtype, []).append(param.grad)
    for grads in by_dtype.values():
        comm.all_reduce_batch(grads, op=op, quant=quant, tag=tag, timeout_ms=timeout_ms)
