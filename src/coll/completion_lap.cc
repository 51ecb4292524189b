#include "src/coll/completion_lap.h"

#include <memory>
#include <vector>

namespace eccl::coll {

namespace {

constexpr uint64_t kSendBit = uint64_t{1} << 32;
constexpr uint64_t kBackwardBit = uint64_t{1} << 33;

struct Direction {
  bool backward = false;
  uint32_t hops = 0;
  const RingNeighbour* to = nullptr;    // where this direction's hops go
  const RingNeighbour* from = nullptr;  // where they come from
};

}  // namespace

LapHops lapHops(uint32_t world_size) {
  const uint32_t others = world_size - 1;
  return {.forward = others - others / 2, .backward = others / 2};
}

Status runCompletionLap(const RingView& ring, const OpKey& key, OpState& state,
                        std::chrono::steady_clock::time_point deadline, const std::string& name) {
  const LapHops hops = lapHops(ring.world_size);
  const Direction directions[] = {
      {.backward = false, .hops = hops.forward, .to = &ring.next, .from = &ring.prev},
      {.backward = true, .hops = hops.backward, .to = &ring.prev, .from = &ring.next},
  };
  const uint32_t expected = hops.forward + hops.backward;
  // bytes[0] is what every hop sends (a send only reads it); each receive
  // lands in a byte of its own. The callbacks keep them alive: a broken lap
  // returns while transfers may still run.
  auto bytes = std::make_shared<std::vector<uint8_t>>(1 + size_t{expected}, uint8_t{1});
  auto token = [](const Direction& d, uint32_t hop, bool sent) {
    return (sent ? kSendBit : 0) | (d.backward ? kBackwardBit : 0) | hop;
  };
  auto sender = [&](const Direction& d, uint32_t hop) {
    return [bytes, channel = d.to->channel, stream = lapStreamId(key, hop, d.backward),
            done = state.callback(token(d, hop, true))]() {
      channel->send(stream, {bytes->data(), 1},
                    [bytes, done](Status status) { done(std::move(status)); });
    };
  };

  Status broken;
  std::vector<Completion> batch;
  // Failed from outside (an abort) before it began: it vouches for no one.
  if (std::optional<Status> external = state.wait(std::chrono::steady_clock::now(), batch)) {
    broken = external->withContext(name + ": completion lap");
  } else {
    uint32_t slot = 1;
    for (const Direction& d : directions) {
      for (uint32_t hop = 0; hop < d.hops; ++hop) {
        // Hop k arriving sends hop k+1 on from the receiving I/O thread: a
        // hop costs no wake-up of this thread. A failed op (from outside, or
        // its lap broke here) forwards nothing more.
        std::function<void()> forward;
        if (hop + 1 < d.hops) forward = sender(d, hop + 1);
        d.from->channel->recv(lapStreamId(key, hop, d.backward), {bytes->data() + slot++, 1},
                              [bytes, forward = std::move(forward), op = state.shared_from_this(),
                               done = state.callback(token(d, hop, false))](Status status) {
                                if (status.isOk() && forward && !op->failed()) forward();
                                done(std::move(status));
                              });
      }
    }
    for (const Direction& d : directions) {
      if (d.hops > 0) sender(d, 0)();
    }
  }

  uint32_t received[2] = {0, 0};
  auto total = [&] { return received[0] + received[1]; };
  while (broken.isOk() && total() < expected) {
    batch.clear();
    std::optional<Status> external = state.wait(deadline, batch);
    if (external) broken = external->withContext(name + ": completion lap");
    for (const Completion& completion : batch) {
      const bool sent = (completion.token & kSendBit) != 0;
      const bool backward = (completion.token & kBackwardBit) != 0;
      if (!completion.status.isOk()) {
        if (!broken.isOk()) break;
        const Direction& d = directions[backward ? 1 : 0];
        const RingNeighbour& who = sent ? *d.to : *d.from;
        broken = Status(transferFailureCode(completion.status.code()),
                        name + ": completion lap: " + (sent ? "sending to " : "receiving from ") +
                            who.describe() + " failed: " + completion.status.toString());
        break;
      }
      if (!sent && broken.isOk()) ++received[backward ? 1 : 0];
    }
    if (broken.isOk() && total() < expected && std::chrono::steady_clock::now() >= deadline) {
      broken =
          timeoutError(name + ": completion lap timed out after " + std::to_string(received[0]) +
                       " of " + std::to_string(hops.forward) + " hops from " +
                       ring.prev.describe() + " and " + std::to_string(received[1]) + " of " +
                       std::to_string(hops.backward) + " from " + ring.next.describe());
    }
  }
  if (broken.isOk()) return Status::ok();
  state.fail(broken);  // stops the forwarding above
  const std::string reason =
      name + " failed on peer " + ring.self.shortHex() + ": " + broken.toString();
  ring.next.channel->close(reason, broken.code());
  ring.prev.channel->close(reason, broken.code());
  return broken;
}

}  // namespace eccl::coll
