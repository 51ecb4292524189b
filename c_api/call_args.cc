#include "c_api/call_args.h"

#include <algorithm>
#include <string>

#include "c_api/struct_size.h"

namespace eccl::capi {
namespace {

constexpr int64_t kMaxTimeoutMs = 365LL * 24 * 3600 * 1000;
constexpr size_t kOpInfoMinSize = ECCL_CAPI_FIELD_END(ecclOpInfo_t, world_size);

}  // namespace

std::chrono::milliseconds timeoutOf(const ecclComm& comm, int64_t timeout_ms) {
  if (timeout_ms < 0) return comm.impl->options().timeout;
  return std::chrono::milliseconds(std::min(timeout_ms, kMaxTimeoutMs));
}

Result<reduce::DType> dtypeOf(const ecclDataType_t& dtype, const char* fn) {
  const int type = enumValue(dtype);
  if (type < 0 || type >= reduce::kNumDTypes) {
    return invalidArgument(std::string(fn) + ": unknown dtype " + std::to_string(type));
  }
  return static_cast<reduce::DType>(type);
}

Status checkOpInfo(const ecclOpInfo_t* info, const char* fn) {
  if (info == nullptr) return Status::ok();
  return checkStructSize(info->struct_size, kOpInfoMinSize, sizeof(ecclOpInfo_t),
                         std::string(fn) + ": info");
}

void fillOpInfo(ecclOpInfo_t* info, const coll::OpInfo& stats) {
  if (info == nullptr) return;
  info->bytes_sent = stats.bytes_sent;
  info->bytes_received = stats.bytes_received;
  info->wall_time_ns = static_cast<uint64_t>(stats.wall_time.count());
  info->world_size = static_cast<int32_t>(stats.world_size);
}

EndpointId endpointOf(const ecclPeerId_t& id) {
  EndpointId out;
  static_assert(sizeof(id.bytes) == sizeof(out.bytes));
  std::memcpy(out.bytes.data(), id.bytes, sizeof(id.bytes));
  return out;
}

ecclEventKind_t toEventKind(comm::EventKind kind) {
  switch (kind) {
    case comm::EventKind::kJoined:
      return ECCL_EVENT_PEER_JOINED;
    case comm::EventKind::kLeft:
      return ECCL_EVENT_PEER_LEFT;
    case comm::EventKind::kLost:
      return ECCL_EVENT_PEER_LOST;
    case comm::EventKind::kEvicted:
      return ECCL_EVENT_PEER_EVICTED;
    case comm::EventKind::kStageLost:
      return ECCL_EVENT_STAGE_LOST;
    case comm::EventKind::kStageRestored:
      return ECCL_EVENT_STAGE_RESTORED;
    case comm::EventKind::kHungPeer:
      return ECCL_EVENT_HUNG_PEER;
    case comm::EventKind::kStraggler:
      return ECCL_EVENT_STRAGGLER;
    case comm::EventKind::kSlowLink:
      return ECCL_EVENT_SLOW_LINK;
    case comm::EventKind::kSlowNode:
      return ECCL_EVENT_SLOW_NODE;
    case comm::EventKind::kFrozenLink:
      return ECCL_EVENT_FROZEN_LINK;
  }
  return ECCL_EVENT_NONE;
}

void fillEvent(const comm::Event* from, ecclEvent_t* event) {
  // Every field of the first version is present; later ones test theirs with HAS_FIELD.
  event->kind = from ? toEventKind(from->kind) : ECCL_EVENT_NONE;
  event->peer = from ? peerIdOf(from->peer) : ecclPeerId_t{};
  event->revision = from ? from->revision : 0;
  if (ECCL_CAPI_HAS_FIELD(event, ecclEvent_t, stage)) event->stage = from ? from->stage : -1;
  if (ECCL_CAPI_HAS_FIELD(event, ecclEvent_t, value)) event->value = from ? from->value : 0;
  if (ECCL_CAPI_HAS_FIELD(event, ecclEvent_t, threshold)) {
    event->threshold = from ? from->threshold : 0;
  }
  if (ECCL_CAPI_HAS_FIELD(event, ecclEvent_t, link_to)) {
    event->link_to = from ? peerIdOf(from->link_to) : ecclPeerId_t{};
  }
}

ecclPeerId_t peerIdOf(const EndpointId& id) {
  ecclPeerId_t out;
  std::memcpy(out.bytes, id.bytes.data(), sizeof(out.bytes));
  return out;
}

}  // namespace eccl::capi
