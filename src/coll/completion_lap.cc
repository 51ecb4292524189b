#include "src/coll/completion_lap.h"

#include <memory>
#include <vector>

namespace eccl::coll {

namespace {

constexpr uint64_t kSendBit = uint64_t{1} << 32;

}  // namespace

Status runCompletionLap(const RingView& ring, const OpKey& key, OpState& state,
                        std::chrono::steady_clock::time_point deadline, const std::string& name) {
  const uint32_t hops = ring.world_size - 1;
  // The transport reads and writes these after a broken lap returns: the
  // callbacks keep them alive.
  auto bytes = std::make_shared<std::vector<uint8_t>>(2 * size_t{hops}, uint8_t{1});
  auto callback = [&](uint64_t token) {
    return [bytes, done = state.callback(token)](Status status) { done(std::move(status)); };
  };
  auto send = [&](uint32_t hop) {
    ring.next.channel->send(lapStreamId(key, hop), {bytes->data() + hop, 1},
                            callback(kSendBit | hop));
  };
  Status broken;
  std::vector<Completion> batch;
  // Failed from outside (an abort) before it began: it vouches for no one.
  if (std::optional<Status> external = state.wait(std::chrono::steady_clock::now(), batch)) {
    broken = external->withContext(name + ": completion lap");
  } else {
    for (uint32_t hop = 0; hop < hops; ++hop) {
      ring.prev.channel->recv(lapStreamId(key, hop), {bytes->data() + hops + hop, 1},
                              callback(hop));
    }
    send(0);
  }

  uint32_t received = 0;
  while (broken.isOk() && received < hops) {
    batch.clear();
    std::optional<Status> external = state.wait(deadline, batch);
    // An outside failure stops the lap before it forwards anything more.
    if (external) broken = external->withContext(name + ": completion lap");
    for (const Completion& completion : batch) {
      const bool sent = (completion.token & kSendBit) != 0;
      const auto hop = static_cast<uint32_t>(completion.token & 0xFFFFFFFF);
      if (!completion.status.isOk()) {
        if (!broken.isOk()) break;
        const RingNeighbour& who = sent ? ring.next : ring.prev;
        broken = Status(transferFailureCode(completion.status.code()),
                        name + ": completion lap: " + (sent ? "sending to " : "receiving from ") +
                            who.describe() + " failed: " + completion.status.toString());
        break;
      }
      if (sent || !broken.isOk()) continue;
      ++received;
      if (hop + 1 < hops) send(hop + 1);
    }
    if (broken.isOk() && received < hops && std::chrono::steady_clock::now() >= deadline) {
      broken = timeoutError(name + ": completion lap timed out after " + std::to_string(received) +
                            " of " + std::to_string(hops) + " hops from " + ring.prev.describe());
    }
  }
  if (broken.isOk()) return Status::ok();
  const std::string reason =
      name + " failed on peer " + ring.self.shortHex() + ": " + broken.toString();
  ring.next.channel->close(reason, broken.code());
  ring.prev.channel->close(reason, broken.code());
  return broken;
}

}  // namespace eccl::coll
