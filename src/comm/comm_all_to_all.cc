// All-to-all among the ring's members: block j of every peer's send buffer
// goes to the member of rank j, which places it at block i of its receive
// buffer (i the sender's rank). Each pair exchanges directly over its own
// channel (opened on first use, like point-to-point; the ring's neighbour
// channels are reused), every block preceded by the op's header, so peers that
// disagree fail on both sides naming the peer and the field.
#include <cstring>
#include <limits>

#include "src/coll/block_counts.h"
#include "src/coll/op_header.h"
#include "src/coll/op_key.h"
#include "src/coll/ring_op.h"
#include "src/comm/communicator.h"
#include "src/comm/p2p_stream.h"
#include "src/common/log.h"

namespace eccl::comm {
namespace {

constexpr uint16_t kHeaderMessage = 0;
constexpr uint16_t kBlockMessage = 1;

// Completion tokens: 4 per peer rank.
enum Transfer : uint64_t { kRecvHeader = 0, kRecvBlock = 1, kSendHeader = 2, kSendBlock = 3 };
uint64_t token(uint32_t rank, Transfer what) {
  return uint64_t{rank} * 4 + what;
}

}  // namespace

Result<std::shared_ptr<Request>> Communicator::allToAllAsync(const void* send, void* recv,
                                                             size_t count, reduce::DType dtype,
                                                             uint64_t tag,
                                                             std::chrono::milliseconds timeout) {
  if (!reduce::isValid(dtype)) {
    return invalidArgument("allToAll: unknown dtype " + std::to_string(static_cast<int>(dtype)));
  }
  ECCL_RETURN_IF_ERROR(coll::checkOpKey({0, tag, 0}));
  if (count > 0 && (send == nullptr || recv == nullptr)) {
    return invalidArgument("allToAll: a buffer is NULL");
  }
  return submitRingOp(
      "allToAll", tag, timeout,
      [this, send, recv, count, dtype, tag](const coll::RingView& view, coll::OpState& state,
                                            Clock::time_point deadline, coll::OpInfo* info) {
        return runAllToAll(view, send, recv, count, dtype, tag, state, deadline, info);
      });
}

Status Communicator::allToAll(const void* send, void* recv, size_t count, reduce::DType dtype,
                              uint64_t tag, std::chrono::milliseconds timeout, coll::OpInfo* info) {
  return waitForRequest(allToAllAsync(send, recv, count, dtype, tag, timeout), info);
}

Status Communicator::runAllToAll(const coll::RingView& view, const void* send, void* recv,
                                 size_t count, reduce::DType dtype, uint64_t tag,
                                 coll::OpState& state, Clock::time_point deadline,
                                 coll::OpInfo* info) {
  const auto started = Clock::now();
  header_turns_.done(view.ticket);  // its headers travel on streams of its own
  const uint32_t n = view.world_size;
  const uint32_t me = view.rank;
  const size_t element = reduce::dtypeSize(dtype);
  if (count > std::numeric_limits<size_t>::max() / element / n) {
    return invalidArgument("allToAll: count " + std::to_string(count) + " x " + std::to_string(n) +
                           " peers overflows the buffer size");
  }
  const size_t block = count * element;
  if (coll::rangesOverlap(send, block * n, recv, block * n)) {
    return invalidArgument("allToAll: the send and receive buffers overlap");
  }
  if (info != nullptr) info->world_size = n;
  const auto* in = static_cast<const uint8_t*>(send);
  auto* out = static_cast<uint8_t*>(recv);
  if (block > 0) std::memcpy(out + me * block, in + me * block, block);
  if (n < 2) {
    if (info != nullptr) info->wall_time = Clock::now() - started;
    return Status::ok();
  }

  std::vector<protocol::Member> members;
  {
    std::lock_guard lock(mu_);
    members = members_;
  }
  if (members.size() != n) return internalError("allToAll: the ring changed under the op");
  std::vector<std::shared_ptr<transport::Channel>> channels(n);
  for (uint32_t j = 0; j < n; ++j) {
    if (j == me) continue;
    auto channel = p2pChannel(members[j].peer, deadline);
    if (!channel) return channel.status().withContext("allToAll");
    channels[j] = std::move(*channel);
  }

  coll::OpDigest digest = coll::ringDigest(coll::Collective::kAllToAll, tag, count, dtype);
  digest = coll::withRing(digest, view);
  const coll::OpHeaderBytes header = coll::encodeOpHeader(digest);
  std::vector<coll::OpHeaderBytes> headers(n);
  const uint64_t header_stream = allToAllStreamId(view.revision, tag, kHeaderMessage);
  const uint64_t block_stream = allToAllStreamId(view.revision, tag, kBlockMessage);
  size_t outstanding = 0;
  for (uint32_t j = 0; j < n; ++j) {
    if (j == me) continue;
    auto& channel = *channels[j];
    channel.recv(header_stream, headers[j], state.callback(token(j, kRecvHeader)));
    channel.recv(block_stream, std::span<uint8_t>(out + j * block, block),
                 state.callback(token(j, kRecvBlock)));
    channel.send(header_stream, header, state.callback(token(j, kSendHeader)));
    channel.send(block_stream, std::span<const uint8_t>(in + j * block, block),
                 state.callback(token(j, kSendBlock)));
    outstanding += 4;
  }

  // Wait for every transfer; the first failure (or abort, or the deadline)
  // closes every channel of the op, the only way to end transfers that hold
  // the caller's buffers.
  std::optional<Status> cause;
  std::optional<Status> refused;
  std::vector<bool> header_arrived(n, false);
  auto fail = [&](Status why) {
    if (cause) return;
    cause = std::move(why);
    for (auto& channel : channels) {
      if (channel)
        channel->close("allToAll failed on peer " + id_.shortHex() + ": " + cause->toString());
    }
  };
  while (outstanding > 0) {
    std::vector<coll::Completion> done;
    std::optional<Status> external =
        state.wait(cause ? Clock::now() + std::chrono::seconds(1) : deadline, done);
    for (const auto& completion : done) {
      --outstanding;
      const auto rank = static_cast<uint32_t>(completion.token / 4);
      const auto what = static_cast<Transfer>(completion.token % 4);
      if (completion.status.isOk()) {
        if (what == kRecvHeader) header_arrived[rank] = true;
        continue;
      }
      const std::string what_failed =
          "allToAll: transfer with peer " + members[rank].peer.shortHex() + " (rank " +
          std::to_string(rank) + ") failed: " + completion.status.toString();
      if (completion.status.code() == Code::kInvalidUsage) {
        // A refused block (sizes differ): the channel lives on, and the
        // headers still on their way name the difference on both sides.
        if (!refused) refused = Status(Code::kInvalidUsage, what_failed);
        continue;
      }
      fail(Status(coll::transferFailureCode(completion.status.code()), what_failed));
    }
    if (external) fail(*external);
    if (!cause && Clock::now() >= deadline) {
      fail(timeoutError("allToAll did not complete before its deadline"));
    }
  }
  if (!cause && refused) cause = refused;
  // A header that disagrees explains any other failure best.
  for (uint32_t j = 0; j < n; ++j) {
    if (j == me || !header_arrived[j]) continue;
    auto theirs = coll::decodeOpHeader(headers[j]);
    Status verdict = theirs ? coll::compareDigests(digest, *theirs, j,
                                                   "peer " + members[j].peer.shortHex() +
                                                       " (rank " + std::to_string(j) + ")")
                            : theirs.status();
    if (!verdict.isOk()) {
      cause = verdict.withContext("allToAll");
      break;
    }
  }
  if (info != nullptr) {
    info->wall_time = Clock::now() - started;
    if (!cause) {
      info->bytes_sent = info->bytes_received = (n - 1) * (coll::kOpHeaderSize + block);
    }
  }
  return cause ? *cause : Status::ok();
}

}  // namespace eccl::comm
