// Drives transport/tcp's RecvTable (the receiving half of a striped channel,
// pure bookkeeping) with operations parsed from the input, as a hostile or
// confused peer and a local caller could order them.
//
// Input: a sequence of operations, an opcode byte and a fixed number of
// argument bytes each (bytes past the end read as zero):
//   op % 8 = 0, 1     post a receive         [stream, size]
//   op % 8 = 2, 3, 4  chunk header arrives   [connection, flags, stream, message, total, seq,
//                                             offset, payload]
//   op % 8 = 5, 6     chunk payload is read  [connection]
//   op % 8 = 7        sender's StreamError   [stream, message, dispatched, code]
// Chunk flags: bit 0 eager, 1 hedge, 2 checksum, 3 huge total, 4 offset taken from the
// input instead of seq * chunk size, 5 payload length taken from the input.
//
// Headers pass through the real decoders first, as on a connection. A refused
// header or a protocol error from the table ends the sequence, as it ends the
// channel; then, as the channel does, the table fails what is left.
//
// Beyond crashes and sanitizer reports, it checks the table's promises:
//  - every accepted receive completes exactly once (at the latest in failAll);
//  - no chunk is written into a buffer whose receive has completed, and a
//    placed chunk lands at its offset in a buffer of the message's size;
//  - a receive completed in full holds the sender's bytes and is reported Delivered;
//  - pool credit returned equals what eager chunks spent, less what the pool holds.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "src/protocol/frame.h"
#include "src/protocol/messages.h"
#include "transport/tcp/recv_table.h"

namespace eccl::transport::tcp {
namespace {

constexpr uint32_t kPeerChunkBytes = 16;
constexpr uint64_t kPoolBytes = 256;  // four eager chunks: overruns are within reach
constexpr size_t kConnections = 4;
constexpr uint8_t kStreams = 4;
constexpr uint8_t kMessageNumbers = 8;
constexpr uint8_t kMaxBufferBytes = 72;  // up to five chunks

void check(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "RecvTable property broken: %s\n", property);
  std::abort();
}

class Input {
 public:
  explicit Input(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool empty() const { return at_ >= bytes_.size(); }
  uint8_t next() { return at_ < bytes_.size() ? bytes_[at_++] : 0; }

 private:
  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
};

// What the sender puts at `position` of message `message`. Every copy of a
// chunk carries the same bytes, so a completed buffer has one right content.
uint8_t contentByte(uint64_t message, uint64_t position) {
  return static_cast<uint8_t>(message * 131 + position * 7 + 1);
}

struct PostedBuffer {
  std::unique_ptr<uint8_t[]> bytes;  // exactly `size` bytes, so ASan sees any overrun
  size_t size = 0;
  bool accepted = false;  // post() took it
  int completions = 0;

  // Whether a destination points into this buffer (its start, for an empty one).
  bool holds(const uint8_t* p) const {
    const auto at = reinterpret_cast<uintptr_t>(p);
    const auto start = reinterpret_cast<uintptr_t>(bytes.get());
    return at >= start && (at - start < size || (size == 0 && at == start));
  }
};

struct ChunkRead {
  ChunkTarget target;
  uint64_t message = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

class RecvTableDriver {
 public:
  void run(Input& input) {
    while (!input.empty()) {
      const uint8_t op = input.next() % 8;
      bool channel_up = true;
      if (op <= 1) {
        channel_up = post(input);
      } else if (op <= 4) {
        channel_up = beginChunk(input);
      } else if (op <= 6) {
        channel_up = endChunk(input.next() % kConnections);
      } else {
        channel_up = streamError(input);
      }
      if (!channel_up) break;
    }
    failEverything();
  }

 private:
  bool post(Input& input) {
    const uint64_t stream = input.next() % kStreams;
    auto buffer = std::make_unique<PostedBuffer>();
    buffer->size = input.next() % kMaxBufferBytes;
    buffer->bytes = std::make_unique<uint8_t[]>(buffer->size);
    PostedBuffer* posted = buffer.get();
    buffers_.push_back(std::move(buffer));

    RecvCallback done = [this, posted](Status status) { onCompletion(*posted, status); };
    Effects effects;
    Status status =
        table_.post(stream, std::span(posted->bytes.get(), posted->size), std::move(done), effects);
    if (!status.isOk()) {
      check(status.code() == Code::kInvalidUsage, "a refused post is InvalidUsage");
      check(static_cast<bool>(done), "a refused post leaves the callback to the caller");
      check(effects.credits.empty(), "a refused post grants no credit");
    } else {
      posted->accepted = true;
      check(effects.credits.size() == 1 && effects.credits[0].stream == stream &&
                effects.credits[0].bytes == posted->size,
            "each post grants one credit for its buffer");
    }
    settle(effects);
    return true;
  }

  bool beginChunk(Input& input) {
    const size_t connection = input.next() % kConnections;
    const uint8_t flags = input.next();
    protocol::ChunkHeader chunk;
    chunk.stream = input.next() % kStreams;
    chunk.message = input.next() % kMessageNumbers;
    const uint8_t total = input.next();
    const uint8_t seq = input.next();
    const uint8_t offset = input.next();
    const uint8_t payload_choice = input.next();
    chunk.total = (flags & 8) ? (uint64_t{total} << 32 | total) : total % kMaxBufferBytes;
    chunk.seq = (flags & 8) ? seq : seq % 8;
    const uint64_t natural_offset = uint64_t{chunk.seq} * kPeerChunkBytes;
    chunk.offset = (flags & 16) ? offset : natural_offset;
    const uint64_t payload =
        (flags & 32) ? payload_choice % 24
                     : std::min<uint64_t>(kPeerChunkBytes,
                                          chunk.total - std::min(chunk.total, natural_offset));

    // A connection reads one frame at a time: the previous payload comes first.
    if (reads_[connection] && !endChunk(connection)) return false;

    protocol::FrameHeader frame;
    frame.type = protocol::MessageType::kChunk;
    frame.flags = ((flags & 1) ? protocol::kFlagEager : 0) |
                  ((flags & 2) ? protocol::kFlagHedge : 0) |
                  ((flags & 4) ? protocol::kFlagChecksum : 0);
    frame.length = static_cast<uint32_t>(protocol::ChunkHeader::kEncodedSize + payload);
    std::array<uint8_t, protocol::kFrameHeaderSize> frame_bytes{};
    protocol::encodeFrameHeader(frame, frame_bytes);
    auto frame_decoded = protocol::decodeFrameHeader(frame_bytes);
    check(frame_decoded.isOk(), "a well-formed chunk frame header decodes");
    std::array<uint8_t, protocol::ChunkHeader::kEncodedSize> chunk_bytes{};
    chunk.encodeTo(chunk_bytes);
    auto chunk_decoded = protocol::decodeChunkHeader(chunk_bytes, payload);
    if (!chunk_decoded) return false;  // the connection refuses it before the table sees it

    if (frame_decoded->has(protocol::kFlagEager)) eager_charged_ += poolCharge(payload);
    Effects effects;
    Result<ChunkTarget> target = table_.beginChunk(*frame_decoded, *chunk_decoded, effects);
    if (!target) {
      check(target.status().code() == Code::kProtocolError, "beginChunk fails only on the peer");
      return false;
    }
    checkDestination(*target, *chunk_decoded, payload);
    if (target->token != 0) {
      reads_[connection] =
          ChunkRead{*target, chunk_decoded->message, chunk_decoded->offset, payload};
    }
    settle(effects);
    return true;
  }

  void checkDestination(const ChunkTarget& target, const protocol::ChunkHeader& chunk,
                        uint64_t length) {
    check((target.token != 0) == (target.destination != nullptr),
          "a read that keeps its bytes has a destination");
    if (target.destination == nullptr) return;
    for (const auto& buffer : buffers_) {
      if (!buffer->holds(target.destination)) continue;  // else: pool memory
      check(buffer->accepted && buffer->completions == 0, "no writes into a completed receive");
      check(buffer->size == chunk.total, "chunk placed in a buffer of its message's size");
      check(target.destination == buffer->bytes.get() + chunk.offset, "chunk placed at its offset");
      check(chunk.offset + length <= buffer->size, "chunk fits its buffer");
      return;
    }
  }

  bool endChunk(size_t connection) {
    if (!reads_[connection]) return true;
    const ChunkRead read = *reads_[connection];
    reads_[connection].reset();
    for (uint64_t i = 0; i < read.length; ++i) {
      read.target.destination[i] = contentByte(read.message, read.offset + i);
    }
    Effects effects;
    Status status = table_.endChunk(read.target, effects);
    check(status.isOk(), "endChunk accepts every read that beginChunk handed out");
    settle(effects);
    return true;
  }

  bool streamError(Input& input) {
    protocol::StreamError error;
    error.stream = input.next() % kStreams;
    error.message = input.next() % kMessageNumbers;
    error.origin = protocol::StreamErrorOrigin::kSender;
    error.dispatched = input.next() % 6;
    error.code = static_cast<Code>(1 + input.next() % static_cast<int>(Code::kUnsupported));
    error.text = "sender gave up";
    Effects effects;
    Status status = table_.onStreamError(error, effects);
    if (!status.isOk()) {
      check(status.code() == Code::kProtocolError, "onStreamError fails only on the peer");
      return false;
    }
    settle(effects);
    return true;
  }

  void onCompletion(PostedBuffer& buffer, const Status& status) {
    check(buffer.accepted, "only accepted receives complete");
    check(++buffer.completions == 1, "a receive completes once");
    for (const auto& read : reads_) {
      check(!read || !buffer.holds(read->target.destination),
            "a receive completes only once no connection writes into it");
    }
    if (status.isOk()) completed_in_full_.push_back(&buffer);
  }

  bool holdsMessage(const PostedBuffer& buffer, uint64_t message) const {
    for (size_t i = 0; i < buffer.size; ++i) {
      if (buffer.bytes[i] != contentByte(message, i)) return false;
    }
    return true;
  }

  // Runs the callbacks the table asked for and checks its accounting.
  void settle(Effects& effects) {
    pool_credited_ += effects.pool_credit;
    effects.runCallbacks();
    check(completed_in_full_.size() == effects.delivered.size(),
          "one Delivered per receive completed in full");
    for (const PostedBuffer* buffer : completed_in_full_) {
      bool matched = false;
      for (uint64_t message : effects.delivered)
        matched = matched || holdsMessage(*buffer, message);
      check(matched, "a receive completed in full holds the sender's bytes");
    }
    completed_in_full_.clear();
    check(table_.poolUsed() <= kPoolBytes, "the pool stays within its grant");
    check(pool_credited_ <= eager_charged_ && eager_charged_ - pool_credited_ == table_.poolUsed(),
          "pool credit returns what eager chunks spent, less what the pool holds");
  }

  // The channel's end: connections stop reading, then everything left fails.
  void failEverything() {
    for (auto& read : reads_)
      read.reset();
    Effects effects;
    table_.failAll(connectionError("channel closed"), effects);
    effects.runCallbacks();
    check(completed_in_full_.empty(), "failAll completes nothing in full");
    for (const auto& buffer : buffers_) {
      check(buffer->completions == (buffer->accepted ? 1 : 0),
            "every accepted receive has completed after failAll");
    }
    check(table_.poolUsed() == 0 && table_.activeMessages() == 0 && table_.drainingMessages() == 0,
          "failAll leaves an empty table");
  }

  // Declared before the table, so that the buffers outlive it.
  std::vector<std::unique_ptr<PostedBuffer>> buffers_;
  RecvTable table_{RecvTableConfig{kPeerChunkBytes, kPoolBytes}};
  std::array<std::optional<ChunkRead>, kConnections> reads_;
  std::vector<const PostedBuffer*> completed_in_full_;
  uint64_t eager_charged_ = 0;  // pool budget the sender spent on eager chunks
  uint64_t pool_credited_ = 0;  // pool budget the table gave back
};

}  // namespace
}  // namespace eccl::transport::tcp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eccl::transport::tcp::Input input(std::span<const uint8_t>(data, size));
  eccl::transport::tcp::RecvTableDriver driver;
  driver.run(input);
  return 0;
}
