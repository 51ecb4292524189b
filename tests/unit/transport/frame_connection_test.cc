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

}  // namespace
}  // namespace eccl::test
