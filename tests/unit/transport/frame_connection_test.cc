// FrameConnection against a stream that records what it is asked to do, run
// on the test's thread so the order of the connection's calls is exact.
#include "transport/tcp/frame_connection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "src/protocol/frame.h"
#include "src/protocol/messages.h"
#include "tests/support/fake_stream.h"
#include "transport/byte_stream.h"

namespace eccl::test {
namespace {

using transport::tcp::ConnectionDelegate;
using transport::tcp::FrameConnection;
using transport::tcp::OutgoingFrame;

// Takes every write whole; logs writes and pacing changes in order.
class EventStream final : public transport::ByteStream {
 public:
  EventStream(asio::io_context& io, std::vector<std::string>& events)
      : executor_(io.get_executor()), events_(events) {}
  size_t readSome(std::span<uint8_t>, std::error_code& ec) override {
    ec = asio::error::would_block;
    return 0;
  }
  size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                   std::error_code&) override {
    events_.push_back("write " + std::to_string(first.size() + second.size()));
    return first.size() + second.size();
  }
  void waitReadable(WaitHandler) override {}  // nothing ever comes
  void waitWritable(WaitHandler) override {}
  void close() override {}
  void shutdownSend() override {}
  void abort() override {}
  void setPacingRate(uint64_t bytes_per_s) override {
    events_.push_back("pace " + std::to_string(bytes_per_s));
  }
  std::chrono::nanoseconds sendBusyTime() override { return {}; }
  asio::any_io_executor executor() override { return executor_; }
  const std::string& remoteAddress() const override { return address_; }

 private:
  asio::any_io_executor executor_;
  std::vector<std::string>& events_;
  std::string address_ = "127.0.0.1:1";
};

// Takes chunks into nothing and has nothing to write; tests override what they watch.
class QuietDelegate : public ConnectionDelegate {
 public:
  Status onControlFrame(FrameConnection&, const protocol::FrameHeader&,
                        std::span<const uint8_t>) override {
    return Status::ok();
  }
  Result<transport::tcp::ChunkTarget> onChunkHeader(FrameConnection&, const protocol::FrameHeader&,
                                                    const protocol::ChunkHeader&) override {
    return transport::tcp::ChunkTarget{};
  }
  Status onChunkPayload(FrameConnection&, const transport::tcp::ChunkTarget&, Status) override {
    return Status::ok();
  }
  std::unique_ptr<OutgoingFrame> nextFrame(FrameConnection&) override { return nullptr; }
  void onFrameWritten(FrameConnection&, OutgoingFrame&) override {}
  void onDetached(FrameConnection&, const transport::tcp::ChunkRef&) override {}
  void onConnectionError(FrameConnection&, Status) override {}
  void onConnectionStopped(FrameConnection&) override {}
};

// Hands out `frames` control frames of 10 bytes; before the first, sets a
// pacing rate, as a caller does that paces a channel whose writer is busy.
class PacingDelegate final : public QuietDelegate {
 public:
  explicit PacingDelegate(int frames) : frames_(frames) {}
  std::unique_ptr<OutgoingFrame> nextFrame(FrameConnection& connection) override {
    if (handed_ == frames_) return nullptr;
    if (handed_++ == 0) connection.setPacingRate(5000);
    return OutgoingFrame::makeControl(protocol::MessageType::kPing, std::vector<uint8_t>(10, 1));
  }

 private:
  int frames_;
  int handed_ = 0;
};

// The rate is set while the writer runs (its change is posted behind it):
// the bytes queued after the call still go at the new rate.
TEST(FrameConnection, BytesQueuedAfterAPacingChangeGoAtTheNewRate) {
  asio::io_context io;
  std::vector<std::string> events;
  auto connection =
      std::make_shared<FrameConnection>(std::make_unique<EventStream>(io, events), /*index=*/0);
  connection->start(std::make_shared<PacingDelegate>(3));
  io.poll();
  EXPECT_EQ(events, (std::vector<std::string>{"pace 5000", "write 10", "write 10", "write 10"}));

  // Set from outside the strand, it reaches the stream once, not again when the post runs.
  connection->setPacingRate(0);
  io.restart();
  io.poll();
  EXPECT_EQ(events.back(), "pace 0");
  EXPECT_EQ(events.size(), 5u);
}

class CountingDelegate final : public QuietDelegate {
 public:
  Status onControlFrame(FrameConnection&, const protocol::FrameHeader& header,
                        std::span<const uint8_t> payload) override {
    frames.push_back(payload.size());
    EXPECT_EQ(header.length, payload.size());
    return Status::ok();
  }
  void onConnectionError(FrameConnection&, Status error) override { errors.push_back(error); }

  std::vector<size_t> frames;
  std::vector<Status> errors;
};

std::vector<uint8_t> frameHeader(protocol::MessageType type, uint32_t payload_length) {
  protocol::FrameHeader header;
  header.type = type;
  header.length = payload_length;
  std::vector<uint8_t> bytes(protocol::kFrameHeaderSize);
  protocol::encodeFrameHeader(header, std::span<uint8_t, protocol::kFrameHeaderSize>(bytes));
  return bytes;
}

// The reader sleeps until the rest of the frame part it is in could be read
// at once, never for more than the peer owes nor the connection's limit (50
// here): a whole header between frames, what is left of the payload, capped,
// then a whole header again.
TEST(FrameConnection, ReaderWaitsForWhatThePeerStillOwesOfTheFrame) {
  asio::io_context io;
  FakeStreamLog log;
  const std::vector<size_t>& marks = log.read_low_water;
  std::vector<uint8_t> first = frameHeader(protocol::MessageType::kTopology, 100);
  first.resize(first.size() + 30, 7);  // the header and 30 of the 100 payload bytes
  auto owned = std::make_unique<FakeStream>(io, log, std::deque{first});
  FakeStream* stream = owned.get();
  auto connection =
      std::make_shared<FrameConnection>(std::move(owned), /*index=*/0, /*read_low_water=*/50);
  auto delegate = std::make_shared<CountingDelegate>();
  connection->start(delegate);
  io.poll();
  EXPECT_EQ(marks, (std::vector<size_t>{50}));

  stream->arrive(std::vector<uint8_t>(50, 7));
  io.restart();
  io.poll();
  EXPECT_EQ(marks, (std::vector<size_t>{50, 20}));

  std::vector<uint8_t> rest(20, 7);  // the payload's end and half the next header
  rest.insert(rest.end(), 10, 0);
  const std::vector<uint8_t> next = frameHeader(protocol::MessageType::kPing, 0);
  std::copy_n(next.begin(), 10, rest.end() - 10);
  stream->arrive(rest);
  io.restart();
  io.poll();
  EXPECT_EQ(marks, (std::vector<size_t>{50, 20, protocol::kFrameHeaderSize - 10}));
  EXPECT_EQ(delegate->frames, (std::vector<size_t>{100}));

  stream->arrive(std::vector<uint8_t>(next.begin() + 10, next.end()));
  io.restart();
  io.poll();
  EXPECT_EQ(marks, (std::vector<size_t>{50, 20, protocol::kFrameHeaderSize - 10,
                                        protocol::kFrameHeaderSize}));
  EXPECT_EQ(delegate->frames, (std::vector<size_t>{100, 0}));
  EXPECT_TRUE(delegate->errors.empty());
  connection->stop();  // drains until the peer's FIN
  io.restart();
  io.poll();
  stream->peerCloses();
  io.restart();
  io.poll();
}

// Places every chunk's payload in one buffer of its own; counts control frames.
class PlacingDelegate final : public QuietDelegate {
 public:
  explicit PlacingDelegate(size_t capacity) : placed(capacity) {}
  Status onControlFrame(FrameConnection&, const protocol::FrameHeader&,
                        std::span<const uint8_t> payload) override {
    frames.push_back(payload.size());
    return Status::ok();
  }
  Result<transport::tcp::ChunkTarget> onChunkHeader(FrameConnection&, const protocol::FrameHeader&,
                                                    const protocol::ChunkHeader& chunk) override {
    EXPECT_LE(chunk.total, placed.size());
    return transport::tcp::ChunkTarget{placed.data(), chunk.stream};
  }
  Status onChunkPayload(FrameConnection&, const transport::tcp::ChunkTarget& target,
                        Status payload_status) override {
    chunks.push_back(target.token);
    payload_statuses.push_back(payload_status);
    return Status::ok();
  }
  void onConnectionError(FrameConnection&, Status error) override { errors.push_back(error); }

  std::vector<uint8_t> placed;
  std::vector<size_t> frames;
  std::vector<uint64_t> chunks;  // their streams, in order
  std::vector<Status> payload_statuses;
  std::vector<Status> errors;
};

// A whole chunk frame of `payload` for `stream`, with its payload checksum.
std::vector<uint8_t> chunkFrame(uint64_t stream, const std::vector<uint8_t>& payload) {
  protocol::ChunkHeader chunk;
  chunk.stream = stream;
  chunk.total = payload.size();
  std::vector<uint8_t> bytes(OutgoingFrame::kChunkHeadSize);
  chunk.encodeTo(std::span<uint8_t, protocol::ChunkHeader::kEncodedSize>(
      bytes.data() + protocol::kFrameHeaderSize, protocol::ChunkHeader::kEncodedSize));
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  protocol::FrameHeader header;
  header.type = protocol::MessageType::kChunk;
  header.flags = protocol::kFlagChecksum;
  header.length = static_cast<uint32_t>(bytes.size() - protocol::kFrameHeaderSize);
  header.checksum = protocol::payloadChecksum(std::span(bytes).subspan(protocol::kFrameHeaderSize));
  protocol::encodeFrameHeader(header, std::span<uint8_t, protocol::kFrameHeaderSize>(
                                          bytes.data(), protocol::kFrameHeaderSize));
  return bytes;
}

void append(std::vector<uint8_t>& to, const std::vector<uint8_t>& bytes) {
  to.insert(to.end(), bytes.begin(), bytes.end());
}

void stopAndDrain(FrameConnection& connection, FakeStream& stream, asio::io_context& io) {
  connection.stop();  // drains until the peer's FIN
  io.restart();
  io.poll();
  stream.peerCloses();
  io.restart();
  io.poll();
}

// Reads a burst of small frames (a control frame with a payload, one without,
// a small chunk: what a small op exchanges) that arrived together; returns
// how many reads it took.
size_t readSmallBurst(bool shared_memory) {
  asio::io_context io;
  FakeStreamLog log;
  std::vector<uint8_t> burst = frameHeader(protocol::MessageType::kTopology, 5);
  burst.resize(burst.size() + 5, 1);
  append(burst, frameHeader(protocol::MessageType::kPing, 0));
  const std::vector<uint8_t> payload = {9, 8, 7, 6, 5, 4, 3, 2};
  append(burst, chunkFrame(/*stream=*/42, payload));
  auto owned = std::make_unique<FakeStream>(io, log, std::deque{burst});
  FakeStream* stream = owned.get();
  stream->setSharedMemory(shared_memory);
  auto connection = std::make_shared<FrameConnection>(std::move(owned), /*index=*/0);
  auto delegate = std::make_shared<PlacingDelegate>(payload.size());
  connection->start(delegate);
  io.poll();
  EXPECT_EQ(delegate->frames, (std::vector<size_t>{5, 0}));
  EXPECT_EQ(delegate->chunks, (std::vector<uint64_t>{42}));
  for (const Status& status : delegate->payload_statuses)
    EXPECT_TRUE(status.isOk()) << status.toString();
  EXPECT_EQ(delegate->placed, payload);
  EXPECT_EQ(connection->bytesReceived(), burst.size());
  EXPECT_TRUE(delegate->errors.empty());
  const size_t reads = log.reads;
  stopAndDrain(*connection, *stream, io);
  return reads;
}

// Over TCP they are taken from the stream in one call (each a system call),
// not a call per header and payload.
TEST(FrameConnection, SmallFramesThatArriveTogetherAreReadInOneCall) {
  EXPECT_EQ(readSmallBurst(/*shared_memory=*/false), 2u) << "the burst, then \"would block\"";
}

// Over shared memory a read is a copy from the ring: each part is read
// straight where it goes, not copied twice through the read-ahead.
TEST(FrameConnection, SharedMemoryReadsEachPartStraightWhereItGoes) {
  // Frame header and payload, a frame header, frame and chunk headers and
  // payload, then "would block".
  EXPECT_EQ(readSmallBurst(/*shared_memory=*/true), 7u);
}

// A large chunk's payload still lands in place: the part that came with its
// headers is copied from the read-ahead, the rest is read straight into the
// target in one call (not through the small buffer), and its checksum holds.
TEST(FrameConnection, ALargePayloadIsReadStraightIntoItsTarget) {
  asio::io_context io;
  FakeStreamLog log;
  std::vector<uint8_t> payload(64 << 10);
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<uint8_t>(i * 7 + 3);
  const std::vector<uint8_t> frame = chunkFrame(/*stream=*/5, payload);
  const size_t first_part = OutgoingFrame::kChunkHeadSize + 1000;
  auto owned = std::make_unique<FakeStream>(
      io, log,
      std::deque{std::vector<uint8_t>(frame.begin(), frame.begin() + first_part),
                 std::vector<uint8_t>(frame.begin() + first_part, frame.end())});
  FakeStream* stream = owned.get();
  auto connection = std::make_shared<FrameConnection>(std::move(owned), /*index=*/0);
  auto delegate = std::make_shared<PlacingDelegate>(payload.size());
  connection->start(delegate);
  io.poll();
  ASSERT_EQ(delegate->chunks, (std::vector<uint64_t>{5}));
  EXPECT_TRUE(delegate->payload_statuses[0].isOk()) << delegate->payload_statuses[0].toString();
  EXPECT_EQ(delegate->placed, payload);
  EXPECT_EQ(log.reads, 3u) << "the headers with the payload's start, its rest, \"would block\"";
  EXPECT_TRUE(delegate->errors.empty());
  stopAndDrain(*connection, *stream, io);
}

}  // namespace
}  // namespace eccl::test
