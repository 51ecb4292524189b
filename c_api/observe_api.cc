// ecclCommGetOpStats, ecclCommGetLinkStats, ecclCommDumpState: what a comm
// tells about its recent ops and its links (src/comm/comm_observe.cc).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "c_api/struct_size.h"
#include "eccl/eccl.h"
#include "src/common/log.h"

namespace {

using eccl::Status;
using eccl::capi::guarded;

constexpr size_t kOpStatsMinSize = ECCL_CAPI_FIELD_END(ecclOpStats_t, wait_next_ns);
constexpr size_t kLinkStatsMinSize = ECCL_CAPI_FIELD_END(ecclLinkStats_t, recv_bytes_per_s);

int64_t unixNanos(eccl::anomaly::WallClock::time_point t) {
  if (t == eccl::anomaly::WallClock::time_point{}) return 0;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

ecclOpPhase_t toPhase(eccl::coll::OpPhase phase) {
  return static_cast<ecclOpPhase_t>(static_cast<int>(phase));
}

ecclOpStats_t toOpStats(const eccl::anomaly::OpRecord& op) {
  ecclOpStats_t out{};
  out.struct_size = sizeof(out);
  out.sequence = op.sequence;
  eccl::capi::copyText(out.name, op.name);
  out.tag = op.tag;
  out.revision = op.revision;
  out.rank = op.rank;
  out.world_size = static_cast<int32_t>(op.world_size);
  out.prev = eccl::capi::peerIdOf(op.prev);
  out.next = eccl::capi::peerIdOf(op.next);
  out.submitted_unix_ns = unixNanos(op.submitted);
  out.started_unix_ns = unixNanos(op.started);
  out.finished_unix_ns = unixNanos(op.finished);
  out.phase = toPhase(op.phase);
  out.result = op.running() ? ecclSuccess : eccl::capi::toResult(op.status.code());
  out.bytes_sent = op.bytes_sent;
  out.bytes_received = op.bytes_received;
  out.wait_prev_ns = static_cast<uint64_t>(op.wait_prev.count());
  out.wait_next_ns = static_cast<uint64_t>(op.wait_next.count());
  return out;
}

ecclLinkStats_t toLinkStats(const eccl::comm::LinkStats& link) {
  ecclLinkStats_t out{};
  out.struct_size = sizeof(out);
  out.peer = eccl::capi::peerIdOf(link.peer);
  eccl::capi::copyText(out.address, link.address);
  out.rank = link.rank;
  out.open = link.open ? 1 : 0;
  out.connections = link.connections;
  out.bytes_sent = link.channel.payload_bytes_sent;
  out.bytes_received = link.channel.payload_bytes_received;
  out.messages_sent = link.channel.messages_sent;
  out.messages_received = link.channel.messages_received;
  out.hedged_chunks = link.channel.hedged_chunks_sent;
  out.send_bytes_per_s = link.send_bytes_per_s;
  out.recv_bytes_per_s = link.recv_bytes_per_s;
  return out;
}

// Writes the newest `capacity` of `items` (converted) into the caller's array,
// whose element size is array[0].struct_size.
template <typename CStruct, typename Item, typename Convert>
Status writeArray(const char* fn, const std::vector<Item>& items, CStruct* array, size_t capacity,
                  size_t* count, size_t min_size, Convert convert) {
  const std::string name(fn);
  if (count == nullptr) return eccl::invalidArgument(name + ": count is NULL");
  if (array == nullptr) {
    if (capacity > 0) return eccl::invalidArgument(name + ": array is NULL, capacity > 0");
    *count = items.size();
    return Status::ok();
  }
  if (capacity == 0) {
    *count = 0;
    return Status::ok();
  }
  const size_t stride = array[0].struct_size;
  ECCL_RETURN_IF_ERROR(
      eccl::capi::checkStructSize(stride, min_size, sizeof(CStruct), name + ": array[0]"));
  const size_t n = std::min(capacity, items.size());
  auto* at = reinterpret_cast<unsigned char*>(array);
  for (size_t i = 0; i < n; ++i) {
    CStruct out = convert(items[items.size() - n + i]);
    out.struct_size = stride;
    std::memcpy(at + i * stride, &out, stride);
  }
  *count = n;
  return Status::ok();
}

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclCommGetOpStats(ecclComm_t comm, ecclOpStats_t* ops, size_t capacity,
                                         size_t* count) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommGetOpStats"));
    return writeArray("ecclCommGetOpStats", comm->impl->opStats(), ops, capacity, count,
                      kOpStatsMinSize, toOpStats);
  });
}

ECCL_API ecclResult_t ecclCommGetLinkStats(ecclComm_t comm, ecclLinkStats_t* links, size_t capacity,
                                           size_t* count) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommGetLinkStats"));
    return writeArray("ecclCommGetLinkStats", comm->impl->linkStats(), links, capacity, count,
                      kLinkStatsMinSize, toLinkStats);
  });
}

ECCL_API ecclResult_t ecclCommDumpState(ecclComm_t comm, char* text, size_t capacity,
                                        size_t* length) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommDumpState"));
    if (text == nullptr && capacity > 0) {
      return eccl::invalidArgument("ecclCommDumpState: text is NULL, capacity > 0");
    }
    const std::string state = comm->impl->dumpState();
    ECCL_LOG_WARN("ecclCommDumpState: state of {}", state);
    if (text != nullptr && capacity > 0) {
      const size_t n = std::min(state.size(), capacity - 1);
      std::memcpy(text, state.data(), n);
      text[n] = '\0';
    }
    if (length != nullptr) *length = state.size();
    return Status::ok();
  });
}

}  // extern "C"
