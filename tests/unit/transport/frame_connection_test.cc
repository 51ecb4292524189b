// FrameConnection against a stream that records what it is asked to do, run
// on the test's thread so the order of the connection's calls is exact.
#include "transport/tcp/frame_connection.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

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

// Hands out `frames` control frames of 10 bytes; before the first, sets a
// pacing rate, as a caller does that paces a channel whose writer is busy.
class PacingDelegate final : public ConnectionDelegate {
 public:
  explicit PacingDelegate(int frames) : frames_(frames) {}
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
  std::unique_ptr<OutgoingFrame> nextFrame(FrameConnection& connection) override {
    if (handed_ == frames_) return nullptr;
    if (handed_++ == 0) connection.setPacingRate(5000);
    return OutgoingFrame::makeControl(protocol::MessageType::kPing, std::vector<uint8_t>(10, 1));
  }
  void onFrameWritten(FrameConnection&, OutgoingFrame&) override {}
  void onDetached(FrameConnection&, const transport::tcp::ChunkRef&) override {}
  void onConnectionError(FrameConnection&, Status) override {}
  void onConnectionStopped(FrameConnection&) override {}

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

}  // namespace
}  // namespace eccl::test
