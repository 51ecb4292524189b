// ecclComm* queries: attributes, pending peers and events. None of them
// blocks; all may run on any thread while a blocking call is in progress.
#include <cstring>
#include <string>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "c_api/struct_size.h"
#include "eccl/eccl.h"

namespace {

using eccl::Status;
using eccl::capi::guarded;

constexpr size_t kEventMinSize = ECCL_CAPI_FIELD_END(ecclEvent_t, revision);
constexpr size_t kPeerIdChars = 32;  // hex digits, without the NUL

Status wrongSize(const char* attr, size_t size, const std::string& needed) {
  return eccl::invalidArgument("ecclCommGetAttr: " + std::string(attr) + " needs size " + needed +
                               ", got " + std::to_string(size));
}

template <typename T>
Status copyOut(const T& source, void* value, size_t size, const char* attr) {
  if (size != sizeof(T)) return wrongSize(attr, size, std::to_string(sizeof(T)));
  std::memcpy(value, &source, sizeof(T));
  return Status::ok();
}

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclCommPeersPending(ecclComm_t comm, int* pending) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommPeersPending"));
    if (pending == nullptr) return eccl::invalidArgument("ecclCommPeersPending: pending is NULL");
    *pending = comm->impl->peersPending();
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclCommGetAttr(ecclComm_t comm, ecclCommAttr_t attr, void* value,
                                      size_t size) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommGetAttr"));
    if (value == nullptr) return eccl::invalidArgument("ecclCommGetAttr: value is NULL");
    // A C caller may pass any int: read it as the int it is (see ecclGetErrorString).
    int code;
    static_assert(sizeof(code) == sizeof(attr));
    std::memcpy(&code, &attr, sizeof(code));
    const auto& impl = *comm->impl;
    switch (code) {
      case ECCL_ATTR_RANK:
        return copyOut(static_cast<int32_t>(impl.rank()), value, size, "ECCL_ATTR_RANK");
      case ECCL_ATTR_WORLD_SIZE:
        return copyOut(static_cast<int32_t>(impl.worldSize()), value, size, "ECCL_ATTR_WORLD_SIZE");
      case ECCL_ATTR_GROUP: {
        const std::string& group = impl.group();
        if (size < group.size() + 1) {
          return wrongSize("ECCL_ATTR_GROUP", size, "at least " + std::to_string(group.size() + 1));
        }
        std::memcpy(value, group.c_str(), group.size() + 1);
        return Status::ok();
      }
      case ECCL_ATTR_PEER_ID:
        return copyOut(eccl::capi::peerIdOf(impl.peerId()), value, size, "ECCL_ATTR_PEER_ID");
      case ECCL_ATTR_REVISION:
        return copyOut(static_cast<uint64_t>(impl.revision()), value, size, "ECCL_ATTR_REVISION");
      case ECCL_ATTR_PEERS_PENDING:
        return copyOut(static_cast<int32_t>(impl.peersPending()), value, size,
                       "ECCL_ATTR_PEERS_PENDING");
      case ECCL_ATTR_FETCHES_SERVING:
        return copyOut(static_cast<int32_t>(impl.fetchesServing()), value, size,
                       "ECCL_ATTR_FETCHES_SERVING");
      case ECCL_ATTR_STAGE:
        return copyOut(static_cast<int32_t>(impl.options().stage), value, size, "ECCL_ATTR_STAGE");
    }
    return eccl::invalidArgument("ecclCommGetAttr: unknown attribute " + std::to_string(code));
  });
}

ECCL_API ecclResult_t ecclCommPollEvent(ecclComm_t comm, ecclEvent_t* event) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommPollEvent"));
    if (event == nullptr) return eccl::invalidArgument("ecclCommPollEvent: event is NULL");
    ECCL_RETURN_IF_ERROR(eccl::capi::checkStructSize(
        event->struct_size, kEventMinSize, sizeof(ecclEvent_t), "ecclCommPollEvent: event"));
    const auto polled = comm->impl->pollEvent();
    eccl::capi::fillEvent(polled ? &*polled : nullptr, event);
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclPeerIdToString(const ecclPeerId_t* id, char* buffer, size_t size) {
  return guarded([&]() -> Status {
    if (id == nullptr) return eccl::invalidArgument("ecclPeerIdToString: id is NULL");
    if (buffer == nullptr) return eccl::invalidArgument("ecclPeerIdToString: buffer is NULL");
    if (size < kPeerIdChars + 1) {
      return eccl::invalidArgument("ecclPeerIdToString: size must be at least " +
                                   std::to_string(kPeerIdChars + 1) + ", got " +
                                   std::to_string(size));
    }
    eccl::EndpointId endpoint;
    std::memcpy(endpoint.bytes.data(), id->bytes, endpoint.bytes.size());
    const std::string hex = endpoint.toHex();
    std::memcpy(buffer, hex.c_str(), hex.size() + 1);
    return Status::ok();
  });
}

}  // extern "C"
