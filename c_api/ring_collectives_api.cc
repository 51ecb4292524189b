// ecclBroadcast, ecclAllGather(V), ecclReduceScatter(V), ecclAllToAll,
// ecclBarrier: the C shims over the Communicator's other collectives.
#include <string>
#include <vector>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "eccl/eccl.h"

namespace {

using eccl::Status;
using eccl::capi::guarded;
using eccl::comm::BlockCounts;

// The checks every entry point makes first; the rest is the core's.
Status common(ecclComm_t comm, const ecclOpInfo_t* info, const char* fn) {
  ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, fn));
  return eccl::capi::checkOpInfo(info, fn);
}

eccl::Result<eccl::reduce::ReduceOp> opOf(const ecclRedOp_t& op, const char* fn) {
  const int reduction = eccl::capi::enumValue(op);
  if (reduction < 0 || reduction >= eccl::reduce::kNumReduceOps) {
    return eccl::invalidArgument(std::string(fn) + ": unknown op " + std::to_string(reduction));
  }
  return static_cast<eccl::reduce::ReduceOp>(reduction);
}

eccl::Result<BlockCounts> perRank(const size_t* counts, size_t ncounts, const char* fn) {
  if (counts == nullptr && ncounts > 0) {
    return eccl::invalidArgument(std::string(fn) + ": counts is NULL");
  }
  BlockCounts blocks;
  blocks.per_rank.assign(counts, counts + ncounts);
  if (blocks.per_rank.empty()) {
    return eccl::invalidArgument(std::string(fn) + ": ncounts is 0 (one count per rank)");
  }
  return blocks;
}

// Runs the call and copies its report out.
template <typename Call>
Status reported(ecclOpInfo_t* info, const char* fn, Call call) {
  eccl::coll::OpInfo stats;
  Status status = call(info != nullptr ? &stats : nullptr);
  eccl::capi::fillOpInfo(info, stats);
  return status.withContext(fn);
}

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclBroadcast(ecclComm_t comm, void* buf, size_t count, ecclDataType_t dtype,
                                    int32_t root, uint64_t tag, int64_t timeout_ms,
                                    ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    const char* fn = "ecclBroadcast";
    ECCL_RETURN_IF_ERROR(common(comm, info, fn));
    auto type = eccl::capi::dtypeOf(dtype, fn);
    if (!type) return type.status();
    if (root < 0) return eccl::invalidArgument("ecclBroadcast: root " + std::to_string(root));
    return reported(info, fn, [&](eccl::coll::OpInfo* stats) {
      return comm->impl->broadcast(buf, count, *type, static_cast<uint32_t>(root), tag,
                                   eccl::capi::timeoutOf(*comm, timeout_ms), stats);
    });
  });
}

ECCL_API ecclResult_t ecclAllGather(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                    size_t sendcount, ecclDataType_t dtype, uint64_t tag,
                                    int64_t timeout_ms, ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    const char* fn = "ecclAllGather";
    ECCL_RETURN_IF_ERROR(common(comm, info, fn));
    auto type = eccl::capi::dtypeOf(dtype, fn);
    if (!type) return type.status();
    return reported(info, fn, [&](eccl::coll::OpInfo* stats) {
      return comm->impl->allGather(sendbuf, recvbuf, BlockCounts{{}, sendcount}, *type, tag,
                                   eccl::capi::timeoutOf(*comm, timeout_ms), stats);
    });
  });
}

ECCL_API ecclResult_t ecclAllGatherV(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                     const size_t* counts, size_t ncounts, ecclDataType_t dtype,
                                     uint64_t tag, int64_t timeout_ms, ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    const char* fn = "ecclAllGatherV";
    ECCL_RETURN_IF_ERROR(common(comm, info, fn));
    auto type = eccl::capi::dtypeOf(dtype, fn);
    if (!type) return type.status();
    auto blocks = perRank(counts, ncounts, fn);
    if (!blocks) return blocks.status();
    return reported(info, fn, [&](eccl::coll::OpInfo* stats) {
      return comm->impl->allGather(sendbuf, recvbuf, std::move(*blocks), *type, tag,
                                   eccl::capi::timeoutOf(*comm, timeout_ms), stats);
    });
  });
}

ECCL_API ecclResult_t ecclReduceScatter(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                        size_t recvcount, ecclDataType_t dtype, ecclRedOp_t op,
                                        uint64_t tag, int64_t timeout_ms, ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    const char* fn = "ecclReduceScatter";
    ECCL_RETURN_IF_ERROR(common(comm, info, fn));
    auto type = eccl::capi::dtypeOf(dtype, fn);
    if (!type) return type.status();
    auto reduction = opOf(op, fn);
    if (!reduction) return reduction.status();
    return reported(info, fn, [&](eccl::coll::OpInfo* stats) {
      return comm->impl->reduceScatter(sendbuf, recvbuf, BlockCounts{{}, recvcount}, *type,
                                       *reduction, tag, eccl::capi::timeoutOf(*comm, timeout_ms),
                                       stats);
    });
  });
}

ECCL_API ecclResult_t ecclReduceScatterV(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                         const size_t* counts, size_t ncounts, ecclDataType_t dtype,
                                         ecclRedOp_t op, uint64_t tag, int64_t timeout_ms,
                                         ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    const char* fn = "ecclReduceScatterV";
    ECCL_RETURN_IF_ERROR(common(comm, info, fn));
    auto type = eccl::capi::dtypeOf(dtype, fn);
    if (!type) return type.status();
    auto reduction = opOf(op, fn);
    if (!reduction) return reduction.status();
    auto blocks = perRank(counts, ncounts, fn);
    if (!blocks) return blocks.status();
    return reported(info, fn, [&](eccl::coll::OpInfo* stats) {
      return comm->impl->reduceScatter(sendbuf, recvbuf, std::move(*blocks), *type, *reduction, tag,
                                       eccl::capi::timeoutOf(*comm, timeout_ms), stats);
    });
  });
}

ECCL_API ecclResult_t ecclAllToAll(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                   size_t count, ecclDataType_t dtype, uint64_t tag,
                                   int64_t timeout_ms, ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    const char* fn = "ecclAllToAll";
    ECCL_RETURN_IF_ERROR(common(comm, info, fn));
    auto type = eccl::capi::dtypeOf(dtype, fn);
    if (!type) return type.status();
    return reported(info, fn, [&](eccl::coll::OpInfo* stats) {
      return comm->impl->allToAll(sendbuf, recvbuf, count, *type, tag,
                                  eccl::capi::timeoutOf(*comm, timeout_ms), stats);
    });
  });
}

ECCL_API ecclResult_t ecclBarrier(ecclComm_t comm, uint64_t tag, int64_t timeout_ms,
                                  ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    const char* fn = "ecclBarrier";
    ECCL_RETURN_IF_ERROR(common(comm, info, fn));
    return reported(info, fn, [&](eccl::coll::OpInfo* stats) {
      return comm->impl->barrier(tag, eccl::capi::timeoutOf(*comm, timeout_ms), stats);
    });
  });
}

}  // extern "C"
