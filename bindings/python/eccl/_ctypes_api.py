"""ctypes mirrors of the C API's structs and enums, and the functions' prototypes.

Everything here follows include/eccl/eccl.h literally (C names included), so
that tests/test_layout.py can compare it with what a C compiler makes of the
header: every struct's size and field offsets, every enum's values. The rest
of the package uses these mirrors and never spells a C type itself.
"""

from __future__ import annotations

import ctypes
import enum
from ctypes import (
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_ubyte,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any, Sequence, TypeVar

# C enums are int-sized on every ABI ECCL supports; fields of an enum type are c_int.
c_enum = c_int

# ---- Enums ---------------------------------------------------------------------------


class ecclResult_t(enum.IntEnum):
    """The result codes of the API's functions."""

    ecclSuccess = 0
    ecclInvalidArgument = 1
    ecclInvalidUsage = 2
    ecclSystemError = 3
    ecclInternalError = 4
    ecclConnectionError = 5
    ecclProtocolError = 6
    ecclTimeout = 7
    ecclPeerLost = 8
    ecclAborted = 9
    ecclOutOfMemory = 10
    ecclUnsupported = 11
    ecclAuthError = 12
    ecclNumResults = 13


class ecclCommAttr_t(enum.IntEnum):
    """Attributes readable with ecclCommGetAttr."""

    ECCL_ATTR_RANK = 1
    ECCL_ATTR_WORLD_SIZE = 2
    ECCL_ATTR_GROUP = 3
    ECCL_ATTR_PEER_ID = 4
    ECCL_ATTR_REVISION = 5
    ECCL_ATTR_PEERS_PENDING = 6
    ECCL_ATTR_FETCHES_SERVING = 7
    ECCL_ATTR_STAGE = 8


class ecclEventKind_t(enum.IntEnum):
    """Membership events, as ecclCommPollEvent reports them."""

    ECCL_EVENT_NONE = 0
    ECCL_EVENT_PEER_JOINED = 1
    ECCL_EVENT_PEER_LEFT = 2
    ECCL_EVENT_PEER_LOST = 3
    ECCL_EVENT_PEER_EVICTED = 4
    ECCL_EVENT_STAGE_LOST = 5
    ECCL_EVENT_STAGE_RESTORED = 6
    ECCL_EVENT_HUNG_PEER = 7
    ECCL_EVENT_STRAGGLER = 8
    ECCL_EVENT_SLOW_LINK = 9
    ECCL_EVENT_SLOW_NODE = 10
    ECCL_EVENT_FROZEN_LINK = 11


class ecclStageState_t(enum.IntEnum):
    """What the master knows about a pipeline stage."""

    ECCL_STAGE_UNKNOWN = 0
    ECCL_STAGE_ACTIVE = 1
    ECCL_STAGE_LOST = 2
    ECCL_STAGE_RECOVERING = 3


class ecclOpPhase_t(enum.IntEnum):
    """How far a collective got (ecclOpStats_t.phase)."""

    ECCL_OP_QUEUED = 0
    ECCL_OP_HEADERS = 1
    ECCL_OP_DATA = 2
    ECCL_OP_COMPLETION = 3
    ECCL_OP_DONE = 4


class ecclDataType_t(enum.IntEnum):
    """Element types of collective buffers."""

    ecclInt8 = 0
    ecclUint8 = 1
    ecclInt16 = 2
    ecclUint16 = 3
    ecclInt32 = 4
    ecclUint32 = 5
    ecclInt64 = 6
    ecclUint64 = 7
    ecclFloat16 = 8
    ecclBfloat16 = 9
    ecclFloat32 = 10
    ecclFloat64 = 11


class ecclRedOp_t(enum.IntEnum):
    """Reductions."""

    ecclSum = 0
    ecclAvg = 1
    ecclProd = 2
    ecclMin = 3
    ecclMax = 4


class ecclQuantAlgorithm_t(enum.IntEnum):
    """How an all-reduce quantizes the data it sends."""

    ecclQuantNone = 0
    ecclQuantMinMax = 1
    ecclQuantZeroPointScale = 2


class ecclWireType_t(enum.IntEnum):
    """What each element becomes on the wire."""

    ecclWireUint8 = 0
    ecclWireInt8 = 1
    ecclWireUint16 = 2
    ecclWireFloat16 = 3
    ecclWireBfloat16 = 4


class ecclSyncStrategy_t(enum.IntEnum):
    """How a peer takes part in ecclSyncSharedState."""

    ecclSyncEnforcePopular = 0
    ecclSyncSendOnly = 1
    ecclSyncReceiveOnly = 2


class ecclDilocoMode_t(enum.IntEnum):
    """When a DiLoCo round's average is applied."""

    ecclDilocoSync = 0
    ecclDilocoAsync = 1


#: Every mirrored enum, by its C name (the layout test walks this).
ENUMS: dict[str, type[enum.IntEnum]] = {
    cls.__name__: cls
    for cls in (
        ecclResult_t,
        ecclCommAttr_t,
        ecclEventKind_t,
        ecclStageState_t,
        ecclOpPhase_t,
        ecclDataType_t,
        ecclRedOp_t,
        ecclQuantAlgorithm_t,
        ecclWireType_t,
        ecclSyncStrategy_t,
        ecclDilocoMode_t,
    )
}

# ---- Structs -------------------------------------------------------------------------

# Opaque handles: ecclMaster_t, ecclComm_t, ecclRequest_t, ecclDiloco_t.
ecclMaster_t = c_void_p
ecclComm_t = c_void_p
ecclRequest_t = c_void_p
ecclDiloco_t = c_void_p


class ecclMasterConfig_t(Structure):
    """A master's settings (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("listen_addr", c_char_p),
        ("heartbeat_ms", c_uint32),
        ("miss_limit", c_uint32),
        ("channel_setup_timeout_ms", c_uint32),
        ("register_timeout_ms", c_uint32),
        ("token_key_file", c_char_p),
        ("hung_ms", c_uint32),
        ("anomaly_window_ms", c_uint32),
        ("confirm_ms", c_uint32),
        ("frozen_ms", c_uint32),
        ("eviction_cooldown_ms", c_uint32),
        ("evict_hung", c_int32),
        ("evict_stragglers", c_int32),
        ("evict_slow_nodes", c_int32),
        ("straggler_share", c_double),
        ("straggler_factor", c_double),
        ("link_busy_share", c_double),
        ("link_busy_factor", c_double),
        ("rejoin_backoff_ms", c_uint32),
        ("rejoin_backoff_max_ms", c_uint32),
        ("secret_file", c_char_p),
        ("tls_ca_file", c_char_p),
        ("tls_cert_file", c_char_p),
        ("tls_key_file", c_char_p),
    ]


class ecclPeerId_t(Structure):
    """A peer's identifier: 16 random bytes."""

    _fields_ = [("bytes", c_ubyte * 16)]


class ecclCommConfig_t(Structure):
    """A communicator's settings (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("master", c_char_p),
        ("group", c_char_p),
        ("listen_addr", c_char_p),
        ("advertise_addr", c_char_p),
        ("connections_per_peer", c_uint32),
        ("timeout_ms", c_uint32),
        ("preserve_input", c_uint32),
        ("small_allreduce_bytes", c_uint32),
        ("stage", c_int32),
        ("num_stages", c_int32),
        ("secret_file", c_char_p),
        ("tls_ca_file", c_char_p),
        ("tls_cert_file", c_char_p),
        ("tls_key_file", c_char_p),
        ("tls_data", c_char_p),
        ("transport", c_char_p),
    ]


class ecclEvent_t(Structure):
    """A membership event (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("kind", c_enum),
        ("peer", ecclPeerId_t),
        ("revision", c_uint64),
        ("stage", c_int32),
        ("value", c_double),
        ("threshold", c_double),
        ("link_to", ecclPeerId_t),
    ]


#: ecclEventCallback_t: void (*)(const ecclEvent_t* event, void* user_data).
ecclEventCallback_t = ctypes.CFUNCTYPE(None, POINTER(ecclEvent_t), c_void_p)


class ecclStageInfo_t(Structure):
    """A pipeline stage as the master knows it (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("stage", c_int32),
        ("state", c_enum),
        ("group", c_char * 129),
        ("accepted", c_int32),
        ("has_metric", c_int32),
        ("metric_round", c_uint64),
        ("metric", c_double),
        ("metric_peer", ecclPeerId_t),
    ]


class ecclOpStats_t(Structure):
    """One collective in the comm's flight recorder (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("sequence", c_uint64),
        ("name", c_char * 24),
        ("tag", c_uint64),
        ("revision", c_uint64),
        ("rank", c_int32),
        ("world_size", c_int32),
        ("prev", ecclPeerId_t),
        ("next", ecclPeerId_t),
        ("submitted_unix_ns", c_int64),
        ("started_unix_ns", c_int64),
        ("finished_unix_ns", c_int64),
        ("phase", c_enum),
        ("result", c_enum),
        ("bytes_sent", c_uint64),
        ("bytes_received", c_uint64),
        ("wait_prev_ns", c_uint64),
        ("wait_next_ns", c_uint64),
    ]


class ecclLinkStats_t(Structure):
    """A data channel of the comm to another peer (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("peer", ecclPeerId_t),
        ("address", c_char * 64),
        ("rank", c_int32),
        ("open", c_int32),
        ("connections", c_int32),
        ("bytes_sent", c_uint64),
        ("bytes_received", c_uint64),
        ("messages_sent", c_uint64),
        ("messages_received", c_uint64),
        ("hedged_chunks", c_uint64),
        ("send_bytes_per_s", c_double),
        ("recv_bytes_per_s", c_double),
    ]


class ecclClusterStats_t(Structure):
    """The master's counters (versioned: struct_size)."""

    _fields_ = [("struct_size", c_size_t), ("incarnation", c_uint64)] + [
        (name, c_uint64) for name in (
            "registrations", "rejected_registrations", "heartbeats", "votes", "commits",
            "losses", "leaves", "evictions", "lookups", "op_reports", "state_syncs",
            "state_syncs_failed", "state_fetches", "stage_metrics", "stage_queries",
            "stages_lost", "stages_restored", "stage_announcements", "peer_reports",
            "hung_peers", "stragglers", "slow_links", "slow_nodes", "frozen_links",
            "anomaly_evictions", "rejoins_refused")
    ]


class ecclPeerHealth_t(Structure):
    """An accepted peer as the master's detectors see it (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("peer", ecclPeerId_t),
        ("group", c_char * 129),
        ("ops_completed", c_uint64),
        ("ops_failed", c_uint64),
        ("running_phase", c_enum),
        ("running_tag", c_uint64),
        ("running_ms", c_uint32),
        ("waiting_on", ecclPeerId_t),
        ("waiting_ms", c_uint32),
        ("late_ms", c_double),
        ("hung", c_int32),
        ("straggler", c_int32),
        ("slow_node", c_int32),
    ]


class ecclLinkHealth_t(Structure):
    """A ring link from its sender's reports (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("from", ecclPeerId_t),
        ("to", ecclPeerId_t),
        ("group", c_char * 129),
        ("bytes_per_s", c_double),
        ("busy_share", c_double),
        ("stalled_ms", c_uint32),
        ("slow", c_int32),
        ("frozen", c_int32),
    ]


class ecclAnomalyFinding_t(Structure):
    """One of the master's latest findings (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("kind", c_enum),
        ("peer", ecclPeerId_t),
        ("link_to", ecclPeerId_t),
        ("group", c_char * 129),
        ("value", c_double),
        ("threshold", c_double),
        ("age_ms", c_uint64),
        ("evidence", c_char * 512),
    ]


class ecclOpInfo_t(Structure):
    """What one collective did (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("bytes_sent", c_uint64),
        ("bytes_received", c_uint64),
        ("wall_time_ns", c_uint64),
        ("world_size", c_int32),
    ]


class ecclQuantConfig_t(Structure):
    """A quantization config for the all-reduce calls (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("algorithm", c_enum),
        ("wire_type", c_enum),
        ("block_size", c_uint32),
    ]


class ecclTensor_t(Structure):
    """One tensor of ecclAllReduceBatch."""

    _fields_ = [
        ("sendbuf", c_void_p),
        ("recvbuf", c_void_p),
        ("count", c_size_t),
    ]


class ecclSharedStateEntry_t(Structure):
    """One named tensor of the shared state."""

    _fields_ = [
        ("name", c_char_p),
        ("data", c_void_p),
        ("count", c_size_t),
        ("dtype", c_enum),
        ("allow_content_inequality", c_int),
    ]


class ecclSharedState_t(Structure):
    """The shared state of one peer (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("revision", c_uint64),
        ("entries", POINTER(ecclSharedStateEntry_t)),
        ("nentries", c_size_t),
    ]


class ecclSyncInfo_t(Structure):
    """What a sync did on this peer (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("bytes_sent", c_uint64),
        ("bytes_received", c_uint64),
        ("entries_fixed", c_uint32),
        ("rounds", c_uint32),
        ("revision", c_uint64),
        ("wall_time_ns", c_uint64),
        ("wire_bytes_sent", c_uint64),
        ("wire_bytes_received", c_uint64),
    ]


class ecclDilocoParam_t(Structure):
    """One tensor of a DiLoCo loop's parameters."""

    _fields_ = [
        ("data", c_void_p),
        ("count", c_size_t),
    ]


class ecclDilocoConfig_t(Structure):
    """Options of a DiLoCo loop (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("outer_lr", c_float),
        ("outer_momentum", c_float),
        ("mode", c_enum),
        ("tag", c_uint64),
        ("timeout_ms", c_int64),
        ("max_attempts", c_uint32),
        ("extra_state", POINTER(ecclSharedStateEntry_t)),
        ("nextra", c_size_t),
        ("state_revision", c_uint64),
    ]


class ecclDilocoInfo_t(Structure):
    """What one ecclDilocoStep or ecclDilocoFlush did (versioned: struct_size)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("round", c_uint64),
        ("applied", c_uint64),
        ("contributors", c_uint32),
        ("attempts", c_uint32),
        ("synced", c_int),
        ("blocked_ns", c_uint64),
        ("wall_time_ns", c_uint64),
        ("state_revision", c_uint64),
    ]


#: Every mirrored struct, by its C name (the layout test walks this).
STRUCTS: dict[str, type[Structure]] = {
    cls.__name__: cls
    for cls in (
        ecclMasterConfig_t,
        ecclPeerId_t,
        ecclCommConfig_t,
        ecclEvent_t,
        ecclStageInfo_t,
        ecclOpStats_t,
        ecclLinkStats_t,
        ecclClusterStats_t,
        ecclPeerHealth_t,
        ecclLinkHealth_t,
        ecclAnomalyFinding_t,
        ecclOpInfo_t,
        ecclQuantConfig_t,
        ecclTensor_t,
        ecclSharedStateEntry_t,
        ecclSharedState_t,
        ecclSyncInfo_t,
        ecclDilocoParam_t,
        ecclDilocoConfig_t,
        ecclDilocoInfo_t,
    )
}

#: The structs that begin with struct_size (eccl.h, "Versioned structs").
VERSIONED = (
    ecclMasterConfig_t,
    ecclCommConfig_t,
    ecclEvent_t,
    ecclStageInfo_t,
    ecclOpStats_t,
    ecclLinkStats_t,
    ecclClusterStats_t,
    ecclPeerHealth_t,
    ecclLinkHealth_t,
    ecclAnomalyFinding_t,
    ecclOpInfo_t,
    ecclQuantConfig_t,
    ecclSharedState_t,
    ecclSyncInfo_t,
    ecclDilocoConfig_t,
    ecclDilocoInfo_t,
)


_S = TypeVar("_S", bound=Structure)


def versioned(cls: type[_S], **fields: Any) -> _S:
    """A zeroed instance of a versioned struct with struct_size = its ctypes size."""
    if cls not in VERSIONED:
        raise TypeError(f"{cls.__name__} is not a versioned struct")
    return cls(struct_size=ctypes.sizeof(cls), **fields)


# ---- Functions -----------------------------------------------------------------------

_R = c_int  # ecclResult_t
_P = POINTER

#: name -> (restype, argtypes), for every function the package calls.
PROTOTYPES: dict[str, tuple[Any, Sequence[Any]]] = {
    "ecclGetVersion": (_R, [_P(c_int)]),
    "ecclGetErrorString": (c_char_p, [c_enum]),
    "ecclGetLastError": (c_char_p, []),
    "ecclInit": (_R, []),
    # Master
    "ecclMasterConfigInit": (_R, [_P(ecclMasterConfig_t)]),
    "ecclMasterCreate": (_R, [_P(ecclMasterConfig_t), _P(ecclMaster_t)]),
    "ecclMasterGetPort": (_R, [ecclMaster_t, _P(c_uint16)]),
    "ecclMasterRun": (_R, [ecclMaster_t]),
    "ecclMasterStop": (_R, [ecclMaster_t]),
    "ecclMasterDestroy": (_R, [ecclMaster_t]),
    # Communicator
    "ecclCommConfigInit": (_R, [_P(ecclCommConfig_t)]),
    "ecclCommCreate": (_R, [_P(ecclCommConfig_t), _P(ecclComm_t)]),
    "ecclCommConnect": (_R, [ecclComm_t, c_int64]),
    "ecclCommUpdateTopology": (_R, [ecclComm_t, c_int64]),
    "ecclCommPeersPending": (_R, [ecclComm_t, _P(c_int)]),
    "ecclCommGetAttr": (_R, [ecclComm_t, c_enum, c_void_p, c_size_t]),
    "ecclCommPollEvent": (_R, [ecclComm_t, _P(ecclEvent_t)]),
    "ecclCommSetEventCallback": (_R, [ecclComm_t, ecclEventCallback_t, c_void_p]),
    "ecclCommAbort": (_R, [ecclComm_t]),
    "ecclCommDestroy": (_R, [ecclComm_t]),
    "ecclPeerIdToString": (_R, [_P(ecclPeerId_t), _P(c_char), c_size_t]),
    "ecclCommLookupPeer": (_R, [ecclComm_t, c_char_p, c_int32, _P(ecclPeerId_t), c_int64]),
    # Pipeline stages
    "ecclCommReportMetric": (_R, [ecclComm_t, c_uint64, c_double]),
    "ecclCommGetStageInfo": (_R, [ecclComm_t, c_int32, _P(ecclStageInfo_t), c_int64]),
    "ecclCommAnnounceStageRecovered": (_R, [ecclComm_t, c_uint64, c_int64, _P(ecclStageInfo_t)]),
    # Observability
    "ecclCommGetOpStats": (_R, [ecclComm_t, _P(ecclOpStats_t), c_size_t, _P(c_size_t)]),
    "ecclCommGetLinkStats": (_R, [ecclComm_t, _P(ecclLinkStats_t), c_size_t, _P(c_size_t)]),
    "ecclCommDumpState": (_R, [ecclComm_t, _P(c_char), c_size_t, _P(c_size_t)]),
    "ecclMasterGetClusterStats": (
        _R,
        [ecclMaster_t, _P(ecclClusterStats_t), _P(ecclPeerHealth_t), c_size_t, _P(c_size_t),
         _P(ecclLinkHealth_t), c_size_t, _P(c_size_t), _P(ecclAnomalyFinding_t), c_size_t,
         _P(c_size_t)],
    ),
    # Collectives
    "ecclAllReduce": (
        _R,
        [ecclComm_t, c_void_p, c_void_p, c_size_t, c_enum, c_enum, _P(ecclQuantConfig_t),
         c_uint64, c_int64, _P(ecclOpInfo_t)],
    ),
    "ecclAllReduceBatch": (
        _R,
        [ecclComm_t, _P(ecclTensor_t), c_size_t, c_enum, c_enum, _P(ecclQuantConfig_t),
         c_uint64, c_int64, _P(ecclOpInfo_t)],
    ),
    "ecclBroadcast": (
        _R, [ecclComm_t, c_void_p, c_size_t, c_enum, c_int32, c_uint64, c_int64, _P(ecclOpInfo_t)]
    ),
    "ecclAllGather": (
        _R, [ecclComm_t, c_void_p, c_void_p, c_size_t, c_enum, c_uint64, c_int64, _P(ecclOpInfo_t)]
    ),
    "ecclReduceScatter": (
        _R,
        [ecclComm_t, c_void_p, c_void_p, c_size_t, c_enum, c_enum, c_uint64, c_int64,
         _P(ecclOpInfo_t)],
    ),
    "ecclAllToAll": (
        _R, [ecclComm_t, c_void_p, c_void_p, c_size_t, c_enum, c_uint64, c_int64, _P(ecclOpInfo_t)]
    ),
    "ecclBarrier": (_R, [ecclComm_t, c_uint64, c_int64, _P(ecclOpInfo_t)]),
    # Requests
    "ecclAllReduceAsync": (
        _R,
        [ecclComm_t, c_void_p, c_void_p, c_size_t, c_enum, c_enum, _P(ecclQuantConfig_t),
         c_uint64, c_int64, _P(ecclRequest_t)],
    ),
    "ecclTest": (_R, [ecclRequest_t, _P(c_int), _P(ecclOpInfo_t)]),
    "ecclWait": (_R, [ecclRequest_t, _P(ecclOpInfo_t)]),
    "ecclRequestFree": (_R, [ecclRequest_t]),
    # Point-to-point
    "ecclSend": (
        _R,
        [ecclComm_t, c_void_p, c_size_t, c_enum, ecclPeerId_t, c_uint64, c_int64, _P(ecclOpInfo_t)],
    ),
    "ecclRecv": (
        _R,
        [ecclComm_t, c_void_p, c_size_t, c_enum, ecclPeerId_t, c_uint64, c_int64, _P(ecclOpInfo_t)],
    ),
    # Shared state
    "ecclSyncSharedState": (
        _R, [ecclComm_t, _P(ecclSharedState_t), c_enum, c_int64, _P(ecclSyncInfo_t)]
    ),
    "ecclCommConnectWithState": (
        _R, [ecclComm_t, _P(ecclSharedState_t), c_uint64, c_int64, _P(ecclSyncInfo_t)]
    ),
    "ecclCommFetchGroupState": (
        _R, [ecclComm_t, c_char_p, _P(ecclSharedState_t), c_uint64, c_int64, _P(ecclSyncInfo_t)]
    ),
    # DiLoCo outer loop
    "ecclDilocoConfigInit": (_R, [_P(ecclDilocoConfig_t)]),
    "ecclDilocoCreate": (
        _R,
        [ecclComm_t, _P(ecclDilocoParam_t), c_size_t, c_enum, _P(ecclDilocoConfig_t),
         _P(ecclDiloco_t)],
    ),
    "ecclDilocoJoin": (
        _R,
        [ecclComm_t, _P(ecclDilocoParam_t), c_size_t, c_enum, _P(ecclDilocoConfig_t),
         _P(ecclDiloco_t)],
    ),
    "ecclDilocoStep": (_R, [ecclDiloco_t, _P(ecclDilocoInfo_t)]),
    "ecclDilocoFlush": (_R, [ecclDiloco_t, _P(ecclDilocoInfo_t)]),
    "ecclDilocoRounds": (_R, [ecclDiloco_t, _P(c_uint64), _P(c_uint64)]),
    "ecclDilocoDestroy": (_R, [ecclDiloco_t]),
    # CheckFree stage recovery
    "ecclStageRecover": (
        _R, [c_void_p, c_double, c_void_p, c_double, c_void_p, c_size_t, c_enum, c_double]
    ),
}


def declare(lib: ctypes.CDLL) -> None:
    """Sets restype and argtypes of every function in PROTOTYPES on lib."""
    for name, (restype, argtypes) in PROTOTYPES.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = list(argtypes)


def init_versioned(cls: type[_S], init: Any) -> tuple[int, _S]:
    """(result code, config) of a config's ...ConfigInit, struct_size = ctypes.sizeof(cls).

    ...ConfigInit writes the library's sizeof of the struct, which a newer
    library than this mirror may make larger: it fills a scratch buffer with
    room to spare, and only this mirror's prefix is kept.
    """
    scratch = (ctypes.c_ubyte * (ctypes.sizeof(cls) + 4096))()
    code = int(init(ctypes.cast(scratch, POINTER(cls))))
    config = cls.from_buffer_copy(scratch)
    config.struct_size = ctypes.sizeof(cls)
    return code, config
