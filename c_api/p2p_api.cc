// ecclSend, ecclRecv and ecclCommLookupPeer: the C shims over the
// Communicator's point-to-point calls.
#include <limits>
#include <string>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "eccl/eccl.h"

namespace {

using eccl::Status;
using eccl::capi::guarded;

// count elements of dtype as a byte count, or kInvalidArgument when it overflows.
eccl::Result<size_t> byteCount(size_t count, eccl::reduce::DType dtype, const char* fn) {
  const size_t element = eccl::reduce::dtypeSize(dtype);
  if (count > std::numeric_limits<size_t>::max() / element) {
    return eccl::invalidArgument(std::string(fn) + ": count " + std::to_string(count) +
                                 " overflows the byte count");
  }
  return count * element;
}

Status pointToPoint(bool sending, ecclComm_t comm, void* buf, size_t count,
                    const ecclDataType_t& dtype, const ecclPeerId_t& peer, uint64_t tag,
                    int64_t timeout_ms, ecclOpInfo_t* info) {
  const char* fn = sending ? "ecclSend" : "ecclRecv";
  ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, fn));
  auto type = eccl::capi::dtypeOf(dtype, fn);
  if (!type) return type.status();
  auto bytes = byteCount(count, *type, fn);
  if (!bytes) return bytes.status();
  ECCL_RETURN_IF_ERROR(eccl::capi::checkOpInfo(info, fn));
  eccl::coll::OpInfo stats;
  const auto timeout = eccl::capi::timeoutOf(*comm, timeout_ms);
  const eccl::EndpointId partner = eccl::capi::endpointOf(peer);
  auto* report = info != nullptr ? &stats : nullptr;
  Status status = sending ? comm->impl->send(partner, buf, *bytes, tag, timeout, report)
                          : comm->impl->recv(partner, buf, *bytes, tag, timeout, report);
  eccl::capi::fillOpInfo(info, stats);
  return status.withContext(fn);
}

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclCommLookupPeer(ecclComm_t comm, const char* group, int32_t rank,
                                         ecclPeerId_t* peer, int64_t timeout_ms) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommLookupPeer"));
    if (peer == nullptr) return eccl::invalidArgument("ecclCommLookupPeer: peer is NULL");
    if (rank < 0) {
      return eccl::invalidArgument("ecclCommLookupPeer: rank " + std::to_string(rank) +
                                   " is negative");
    }
    const std::string name = group != nullptr ? group : comm->impl->group();
    auto found = comm->impl->lookupRank(name, static_cast<uint32_t>(rank),
                                        eccl::capi::timeoutOf(*comm, timeout_ms));
    if (!found) return found.status().withContext("ecclCommLookupPeer");
    *peer = eccl::capi::peerIdOf(found->id);
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclSend(ecclComm_t comm, const void* buf, size_t count, ecclDataType_t dtype,
                               ecclPeerId_t peer, uint64_t tag, int64_t timeout_ms,
                               ecclOpInfo_t* info) {
  return guarded([&] {
    return pointToPoint(true, comm, const_cast<void*>(buf), count, dtype, peer, tag, timeout_ms,
                        info);
  });
}

ECCL_API ecclResult_t ecclRecv(ecclComm_t comm, void* buf, size_t count, ecclDataType_t dtype,
                               ecclPeerId_t peer, uint64_t tag, int64_t timeout_ms,
                               ecclOpInfo_t* info) {
  return guarded(
      [&] { return pointToPoint(false, comm, buf, count, dtype, peer, tag, timeout_ms, info); });
}

}  // extern "C"
