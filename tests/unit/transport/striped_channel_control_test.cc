// A striped channel's control frames (credits, deliveries, pool credits) over
// a stream that records every write, run on the test's thread: frames queued
// together leave in one write, in the order they were queued.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/protocol/frame.h"
#include "src/protocol/messages.h"
#include "transport/byte_stream.h"
#include "transport/tcp/frame_connection.h"
#include "transport/tcp/striped_channel.h"

namespace eccl::test {
namespace {

using transport::tcp::FrameConnection;
using transport::tcp::StripedChannelCore;

// Takes every write whole and keeps its bytes; nothing ever arrives. Closing
// ends a pending read wait, as a socket's close does.
class RecordingStream final : public transport::ByteStream {
 public:
  RecordingStream(asio::io_context& io, std::vector<std::vector<uint8_t>>& writes)
      : executor_(io.get_executor()), writes_(writes) {}
  size_t readSome(std::span<uint8_t>, std::error_code& ec) override {
    ec = closed_ ? make_error_code(asio::error::bad_descriptor)
                 : make_error_code(asio::error::would_block);
    return 0;
  }
  size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                   std::error_code& ec) override {
    if (closed_) {
      ec = asio::error::bad_descriptor;
      return 0;
    }
    std::vector<uint8_t> bytes(first.begin(), first.end());
    bytes.insert(bytes.end(), second.begin(), second.end());
    writes_.push_back(std::move(bytes));
    ec.clear();
    return first.size() + second.size();
  }
  void waitReadable(WaitHandler ready) override { pending_ = std::move(ready); }
  void waitWritable(WaitHandler) override {}
  void close() override {
    closed_ = true;
    if (auto ready = std::exchange(pending_, nullptr)) {
      asio::post(executor_, [ready] { ready(asio::error::operation_aborted); });
    }
  }
  void shutdownSend() override {}
  void abort() override { close(); }
  void setPacingRate(uint64_t) override {}
  std::chrono::nanoseconds sendBusyTime() override { return {}; }
  asio::any_io_executor executor() override { return executor_; }
  const std::string& remoteAddress() const override { return address_; }

 private:
  asio::any_io_executor executor_;
  std::vector<std::vector<uint8_t>>& writes_;
  WaitHandler pending_;
  bool closed_ = false;
  std::string address_ = "127.0.0.1:1";
};

struct ParsedFrame {
  protocol::MessageType type;
  std::vector<uint8_t> payload;
};

// The frames one write carries, back to back; fails the test on a torn frame.
std::vector<ParsedFrame> framesOf(const std::vector<uint8_t>& write) {
  std::vector<ParsedFrame> frames;
  size_t at = 0;
  while (at < write.size()) {
    EXPECT_GE(write.size() - at, protocol::kFrameHeaderSize);
    if (write.size() - at < protocol::kFrameHeaderSize) break;
    auto header = protocol::decodeFrameHeader(
        std::span<const uint8_t>(write).subspan(at, protocol::kFrameHeaderSize));
    EXPECT_TRUE(header.isOk()) << header.status().toString();
    if (!header.isOk()) break;
    at += protocol::kFrameHeaderSize;
    EXPECT_LE(header->length, write.size() - at);
    if (header->length > write.size() - at) break;
    frames.push_back({header->type,
                      {write.begin() + static_cast<ptrdiff_t>(at),
                       write.begin() + static_cast<ptrdiff_t>(at + header->length)}});
    at += header->length;
  }
  return frames;
}

TEST(StripedChannelControl, CreditsQueuedTogetherLeaveInOneWriteInOrder) {
  asio::io_context io;
  std::vector<std::vector<uint8_t>> writes;
  transport::tcp::ChannelSetup setup;
  setup.peer.address = "127.0.0.1:1";
  setup.peer_chunk_bytes = setup.options.chunk_bytes;
  setup.peer_pool_bytes = setup.options.pool_bytes;
  setup.connections.push_back(
      std::make_shared<FrameConnection>(std::make_unique<RecordingStream>(io, writes), 0));
  auto channel = std::make_shared<StripedChannelCore>(io, std::move(setup));
  channel->start();
  io.poll();  // the writer finds nothing to write and parks
  ASSERT_TRUE(writes.empty());

  // Each posted receive owes the peer a credit; the first wakes the writer,
  // which runs only once the test polls again: by then all three are queued.
  uint8_t buffers[3][8] = {};
  std::vector<Status> received;
  for (uint64_t stream = 1; stream <= 3; ++stream) {
    channel->recv(stream, buffers[stream - 1],
                  [&received](Status status) { received.push_back(std::move(status)); });
  }
  io.restart();
  io.poll();

  ASSERT_EQ(writes.size(), 1u) << "three credits, one write";
  const std::vector<ParsedFrame> frames = framesOf(writes[0]);
  ASSERT_EQ(frames.size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(frames[i].type, protocol::MessageType::kCredit);
    auto credit = protocol::decodeMessage<protocol::Credit>(frames[i].payload);
    ASSERT_TRUE(credit.isOk()) << credit.status().toString();
    EXPECT_EQ(credit->stream, i + 1);
    EXPECT_EQ(credit->bytes, 8u);
  }

  // Ending the channel fails the receives; nothing is left running.
  channel->fail(abortedError("test over"));
  io.restart();
  io.poll();
  ASSERT_EQ(received.size(), 3u);
  for (const Status& status : received)
    EXPECT_FALSE(status.isOk());
}

}  // namespace
}  // namespace eccl::test
