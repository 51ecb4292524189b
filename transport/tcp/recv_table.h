// The receiving half of a striped channel, as pure bookkeeping (no I/O, no
// locks; the channel serialises calls).
//
// Chunks of one message arrive on any connection in any order. The first
// chunk of a message binds it to the buffer posted for its stream, or, if none
// is posted yet, to the bounded pool of unexpected chunks (the sender may only
// do that on pool credit: an eager chunk). Each chunk is placed once; a second
// copy (a hedge, or the original after its hedge won) is read and dropped,
// except one that comes while the first is still being read in place: it
// races into a spare buffer, and if it wins, the first copy's connection is
// asked to drop the rest of its read (Effects::reads_to_drop) before the
// spare goes into place. A stalled connection then holds nothing up.
// A message whose stray copies may still arrive stays "draining" until the
// last original chunk has come in, so that nothing stale is taken for a new
// message.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "src/common/status.h"
#include "src/protocol/frame.h"
#include "src/protocol/messages.h"
#include "transport/tcp/effects.h"
#include "transport/tcp/frame_connection.h"
#include "transport/transport.h"

namespace eccl::transport::tcp {

struct RecvTableConfig {
  uint32_t peer_chunk_bytes = 1u << 20;  // the sender's chunk size, from the handshake
  uint64_t pool_bytes = 32u << 20;       // what we granted the sender for eager chunks
};

struct RecvStats {
  uint64_t messages_completed = 0;
  uint64_t payload_bytes_placed = 0;
  uint64_t duplicates_dropped = 0;
  uint64_t spares_won = 0;  // second copies that beat a stalled first one
  uint64_t pool_bytes_peak = 0;
};

class RecvTable {
 public:
  explicit RecvTable(RecvTableConfig config);
  ~RecvTable();

  // Posts a buffer for the next message of a stream. Always produces a Credit
  // for the sender (one per post), and completes at once if the message is
  // already in the pool. On an error `done` is left untouched, for the caller to run.
  Status post(uint64_t stream, std::span<uint8_t> buffer, RecvCallback&& done, Effects& effects);

  // A chunk header arrived: where its payload goes. An error means the peer
  // broke the protocol and the channel must fail. The frame must be a Chunk
  // of at least ChunkHeader::kEncodedSize bytes (FrameConnection checks it).
  // `connection` is the index of the connection reading it.
  Result<ChunkTarget> beginChunk(const protocol::FrameHeader& frame,
                                 const protocol::ChunkHeader& chunk, Effects& effects,
                                 int connection = 0);
  // Its payload has been read into the target.
  Status endChunk(const ChunkTarget& target, Effects& effects);
  // A connection asked (reads_to_drop) has stopped writing this read into its
  // target, or had already finished it: the spare copy may take its place.
  void onReadDropped(uint64_t token, Effects& effects);

  Status onStreamError(const protocol::StreamError& error, Effects& effects);

  // Ends every posted receive with this status. Only once no connection reads any more.
  void failAll(const Status& status, Effects& effects);

  uint64_t poolUsed() const { return pool_used_; }
  size_t activeMessages() const { return active_.size(); }
  size_t drainingMessages() const { return draining_.size(); }
  const RecvStats& stats() const { return stats_; }

 private:
  struct Posted {
    uint64_t stream = 0;
    std::span<uint8_t> buffer;
    RecvCallback done;
  };
  // A second copy of a chunk, read while the first is still read in place.
  struct Spare {
    uint64_t token = 0;                // its read, while in progress
    uint64_t first_token = 0;          // the first copy's read
    std::unique_ptr<uint8_t[]> bytes;  // once read in full
  };
  struct PooledChunk {
    std::unique_ptr<uint8_t[]> bytes;
    uint32_t length = 0;
    uint64_t charge = 0;
    bool reading = true;
  };
  struct Incoming {
    uint64_t number = 0;
    uint64_t stream = 0;
    uint64_t total = 0;
    uint64_t chunk_count = 0;
    uint64_t chunks_have = 0;
    uint64_t originals_seen = 0;      // non-hedge copies that arrived (stray-copy accounting)
    uint64_t expected_originals = 0;  // chunk_count, or fewer if the sender gave up early
    uint32_t reads_in_progress = 0;
    std::unique_ptr<Posted> posted;          // null while unexpected (pooled)
    std::vector<uint8_t> state;              // per chunk when posted: 0 none, 1 reading, 2 have
    std::map<uint32_t, PooledChunk> pooled;  // while unexpected
    std::map<uint32_t, uint64_t> in_place;   // seq -> token of a read into the buffer
    std::map<uint32_t, Spare> spares;        // seq -> its racing second copy
    bool failed = false;
    Status failure;
  };
  // Copies of a finished or failed message that may still be on the wire.
  struct Draining {
    uint64_t expected_originals = 0;
    uint64_t originals_seen = 0;
  };
  // Targets carry one of these per chunk being read.
  struct ReadToken {
    uint64_t message = 0;
    uint32_t seq = 0;
    uint32_t length = 0;
    int connection = 0;
    bool eager = false;
    bool into_pool = false;
    bool dropped = false;              // in place, but told to read the rest into nothing
    std::unique_ptr<uint8_t[]> spare;  // a spare copy's buffer, owned until it ends
  };

  Status checkGeometry(const protocol::ChunkHeader& chunk, uint64_t payload) const;
  Result<ChunkTarget> place(Incoming& in, const protocol::FrameHeader& frame,
                            const protocol::ChunkHeader& chunk, uint32_t length, Effects& effects,
                            int connection);
  ChunkTarget dropTarget();
  Result<ChunkTarget> raceSpare(Incoming& in, const protocol::ChunkHeader& chunk, uint32_t length,
                                int connection);
  void endSpare(uint64_t token_id, ReadToken& token, Effects& effects);
  void bind(Incoming& in, std::unique_ptr<Posted> posted, Effects& effects);
  void failIncoming(Incoming& in, Status status, Effects& effects);
  void maybeRetire(Incoming& in, Effects& effects);
  void noteOriginal(uint64_t message, bool hedge);
  void freePool(Incoming& in, Effects& effects);

  RecvTableConfig config_;
  std::unordered_map<uint64_t, std::unique_ptr<Incoming>> active_;  // by message number
  std::unordered_map<uint64_t, uint64_t> unexpected_by_stream_;     // stream -> message
  std::unordered_map<uint64_t, std::unique_ptr<Posted>> posted_;    // unbound posts
  std::unordered_map<uint64_t, uint64_t> bound_streams_;            // stream -> message
  std::unordered_map<uint64_t, Draining> draining_;                 // by message number
  std::unordered_map<uint64_t, ReadToken> reads_;                   // token -> read
  uint64_t next_token_ = 1;
  uint64_t pool_used_ = 0;
  RecvStats stats_;
};

}  // namespace eccl::transport::tcp
