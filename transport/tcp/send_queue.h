// The sending half of a striped channel, as pure bookkeeping (no I/O, no
// locks; the channel serialises calls).
//
// Messages are cut into chunks. An idle connection asks next() for work and
// gets the first sendable chunk of the oldest message: a message may send once
// the receiver has posted its buffer (a Credit), or before that on the
// receiver's pool budget (an eager chunk). When nothing is left to hand out,
// a chunk that is still being written slowly on another connection may be
// handed out a second time (a hedge); the first copy to arrive wins.
//
// A message completes when the receiver reports it delivered, every chunk has
// one copy fully written and no copy still reads the caller's buffer.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "src/common/status.h"
#include "src/protocol/messages.h"
#include "transport/tcp/effects.h"
#include "transport/tcp/frame_connection.h"
#include "transport/transport.h"

namespace eccl::transport::tcp {

struct SendQueueConfig {
  uint32_t chunk_bytes = 1u << 20;
  uint64_t peer_pool_bytes = 32u << 20;  // the eager budget the receiver granted
  bool hedge = true;
  uint32_t hedge_min_bytes = 128u << 10;
};

struct ChunkAssignment {
  protocol::ChunkHeader header;
  const uint8_t* data = nullptr;
  uint32_t length = 0;
  bool eager = false;
  bool hedge = false;
  ChunkRef ref() const { return {header.message, header.seq, hedge}; }
};

struct SendStats {
  uint64_t messages_completed = 0;
  uint64_t payload_bytes_written = 0;
  uint64_t eager_chunks = 0;
  uint64_t hedged_chunks = 0;
};

class SendQueue {
 public:
  // Bytes of a connection's current frame still unwritten if that frame is
  // late (slower than the channel's usual chunk), else 0. Hedging asks it.
  using LateBytesFn = std::function<uint64_t(int connection)>;
  // How many credits for streams not yet sent the peer may bank.
  static constexpr size_t kMaxBankedCredits = 1u << 16;

  explicit SendQueue(SendQueueConfig config);

  // Queues a message; the callback goes into effects when it completes.
  void enqueue(uint64_t stream, std::span<const uint8_t> data, SendCallback done, Effects& effects);

  // The next chunk for this connection, or nothing.
  std::optional<ChunkAssignment> next(int connection, const LateBytesFn& late_bytes);
  // True when next() would hand out a fresh (non-hedge) chunk.
  bool hasSendable() const;
  // True when a connection might find a hedge: hedging is on and a credited
  // message has handed out every chunk but not all have arrived.
  bool mayHedge() const;
  // The connections writing a chunk that nextHedge would copy once it is
  // late (each listed once): where a channel looks for the next late chunk.
  std::vector<int> hedgeHolders() const;

  // A copy of a chunk has been written in full. Sets detach to the connections
  // whose copy of the same chunk should stop reading caller memory.
  void onWritten(int connection, const ChunkRef& chunk, bool used_caller_memory, Effects& effects,
                 std::vector<std::pair<int, ChunkRef>>& detach);
  // A slower copy stopped reading caller memory (FrameConnection::detach).
  void onDetached(const ChunkRef& chunk, Effects& effects);

  // The receiver posted `bytes` for the oldest unmatched message of this stream.
  Status onCredit(const protocol::Credit& credit, Effects& effects,
                  std::vector<std::pair<int, ChunkRef>>& detach);
  Status onPoolCredit(uint64_t bytes);
  // The receiver has this message in full.
  Status onDelivered(uint64_t message, Effects& effects);
  void onStreamError(const protocol::StreamError& error, Effects& effects,
                     std::vector<std::pair<int, ChunkRef>>& detach);

  // Ends every message with this status. Only once no connection writes any more.
  void failAll(const Status& status, Effects& effects);

  size_t liveMessages() const { return live_.size(); }
  uint64_t eagerAvailable() const { return eager_available_; }
  const SendStats& stats() const { return stats_; }

 private:
  struct ChunkState {
    uint8_t copies = 0;  // copies being written now
    bool done = false;   // one copy fully written
    bool hedged = false;
    int16_t connection[2] = {-1, -1};
  };
  struct Message {
    uint64_t number = 0;
    uint64_t stream = 0;
    const uint8_t* data = nullptr;
    uint64_t size = 0;
    uint64_t chunk_count = 0;
    uint64_t next_unsent = 0;
    uint64_t chunks_done = 0;
    uint64_t first_not_done = 0;  // hedging scans from here
    uint32_t caller_refs = 0;     // copies in flight that read the caller's buffer
    uint64_t eager_bytes = 0;
    bool credited = false;
    bool delivered = false;
    bool failed = false;
    Status error;
    std::vector<ChunkState> chunks;
    SendCallback done;
  };
  // Per stream, in send order: messages still to be matched with a Credit.
  struct CreditWaiter {
    uint64_t number = 0;
    bool finished = false;  // the message ended before its credit came; the credit is dropped
  };

  uint32_t chunkLength(const Message& m, uint64_t seq) const;
  // Only the tail of a fully handed-out, credited message is worth a second
  // copy, and of it only a chunk in one copy that is still being written.
  static bool tailMayHedge(const Message& m);
  static bool mayCopy(const ChunkState& c);
  ChunkAssignment assign(Message& m, uint64_t seq, int connection, bool eager, bool hedge);
  std::optional<ChunkAssignment> nextHedge(int connection, const LateBytesFn& late_bytes);
  void failMessage(Message& m, Status status, std::vector<std::pair<int, ChunkRef>>& detach);
  void maybeFinish(Message& m, Effects& effects);
  protocol::StreamError senderError(const Message& m) const;

  SendQueueConfig config_;
  uint64_t eager_available_;
  uint64_t eager_cap_per_message_;
  uint64_t next_number_ = 1;
  std::map<uint64_t, std::unique_ptr<Message>> live_;  // by number: oldest first
  std::unordered_map<uint64_t, std::deque<CreditWaiter>> waiting_for_credit_;
  std::unordered_map<uint64_t, std::deque<uint64_t>> banked_credits_;  // posted before sent
  size_t banked_count_ = 0;
  SendStats stats_;
};

}  // namespace eccl::transport::tcp
