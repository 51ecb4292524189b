#include "src/coll/completion_lap.h"

#include <atomic>
#include <memory>
#include <vector>

namespace eccl::coll {

namespace {

constexpr uint64_t kSendBit = uint64_t{1} << 32;
constexpr uint64_t kBackwardBit = uint64_t{1} << 33;

// What the transport's callbacks share with the op's thread: a broken lap
// returns while they may still run.
struct LapShared {
  explicit LapShared(size_t receives) : bytes(1 + receives, uint8_t{1}) {}
  // bytes[0] is what every hop sends (a send only reads it); each receive
  // lands in a byte of its own.
  std::vector<uint8_t> bytes;
  // Set once the lap broke here: no hop is forwarded after that.
  std::atomic<bool> stopped{false};
};

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
  auto shared = std::make_shared<LapShared>(expected);
  auto token = [](const Direction& d, uint32_t hop, bool sent) {
    return (sent ? kSendBit : 0) | (d.backward ? kBackwardBit : 0) | hop;
  };
  // A send keeps `shared` (the byte it reads) alive until it completes.
  auto sender = [&](const Direction& d, uint32_t hop) {
    return [shared, channel = d.to->channel, stream = lapStreamId(key, hop, d.backward),
            done = state.callback(token(d, hop, true))]() {
      channel->send(stream, {shared->bytes.data(), 1},
                    [shared, done](Status status) { done(std::move(status)); });
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
        // hop costs no wake-up of this thread. An outside failure or a
        // broken lap stops it (a receive can complete after both).
        std::function<void()> forward;
        if (hop + 1 < d.hops) forward = sender(d, hop + 1);
        d.from->channel->recv(
            lapStreamId(key, hop, d.backward), {shared->bytes.data() + slot++, 1},
            [shared, forward = std::move(forward), op = state.shared_from_this(),
             done = state.callback(token(d, hop, false))](Status status) {
              if (status.isOk() && forward && !shared->stopped.load() && !op->failed()) forward();
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
  shared->stopped.store(true);
  const std::string reason =
      name + " failed on peer " + ring.self.shortHex() + ": " + broken.toString();
  ring.next.channel->close(reason, broken.code());
  ring.prev.channel->close(reason, broken.code());
  return broken;
}

}  // namespace eccl::coll
