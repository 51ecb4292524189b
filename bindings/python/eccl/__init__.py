"""ECCL, the Elastic Collective Communications Library: Python bindings.

A thin ctypes layer over the C API (include/eccl/eccl.h); no compiled
extension. The library is found through ECCL_LIBRARY (a path to libeccl.so),
else by the system's library search.

    import numpy as np, eccl
    with eccl.Communicator("master-host:29500") as comm:
        comm.connect()
        grads = np.ones(1024, dtype=np.float32)
        comm.all_reduce(grads, op="avg")      # in place, zero-copy

Arrays are numpy arrays or torch CPU tensors, used in place (C-contiguous;
outputs writable). Failing calls raise a subclass of eccl.EcclError named
after the result code (eccl.Timeout, eccl.PeerLost, eccl.InvalidUsage, ...).
eccl.DiLoCo (module eccl.diloco) runs DiLoCo's outer loop over a ring.
eccl.checkfree rebuilds a lost pipeline stage from its neighbours' weights.
"""

from eccl import checkfree
from eccl._cluster_stats import AnomalyFinding, ClusterStats, LinkHealth, PeerHealth
from eccl._communicator import Communicator
from eccl._errors import (
    Aborted,
    AuthError,
    EcclConnectionError,
    EcclError,
    EcclSystemError,
    InternalError,
    InvalidArgument,
    InvalidUsage,
    OutOfMemory,
    PeerLost,
    ProtocolError,
    Timeout,
    Unsupported,
    error_string,
)
from eccl._info import version
from eccl._library import library_path
from eccl._master import Master
from eccl._quant import QuantConfig
from eccl._request import Request
from eccl._types import (
    Event,
    EventKind,
    LinkStats,
    OpInfo,
    OpPhase,
    OpStats,
    PeerId,
    StageInfo,
    StageState,
    SyncInfo,
)
from eccl.diloco import DiLoCo

# The short names of the two errors whose names are Python builtins. Not in
# __all__, so that "from eccl import *" does not shadow the builtins.
ConnectionError = EcclConnectionError  # noqa: A001
SystemError = EcclSystemError  # noqa: A001

__all__ = [
    "Aborted",
    "AnomalyFinding",
    "AuthError",
    "ClusterStats",
    "Communicator",
    "DiLoCo",
    "EcclConnectionError",
    "EcclError",
    "EcclSystemError",
    "Event",
    "EventKind",
    "InternalError",
    "InvalidArgument",
    "InvalidUsage",
    "LinkHealth",
    "LinkStats",
    "Master",
    "OpInfo",
    "OpPhase",
    "OpStats",
    "OutOfMemory",
    "PeerHealth",
    "PeerId",
    "PeerLost",
    "ProtocolError",
    "QuantConfig",
    "Request",
    "StageInfo",
    "StageState",
    "SyncInfo",
    "Timeout",
    "Unsupported",
    "checkfree",
    "error_string",
    "library_path",
    "version",
]
