// A striped channel's control frames (credits, deliveries, pool credits) over
// a stream that logs every write, run on the test's thread: frames queued
// together leave in one write, in the order they were queued.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <memory>
#include <utility>
#include <vector>

#include "src/protocol/frame.h"
#include "src/protocol/messages.h"
#include "tests/support/fake_stream.h"
#include "transport/tcp/frame_connection.h"
#include "transport/tcp/striped_channel.h"

namespace eccl::test {
namespace {

using transport::tcp::FrameConnection;
using transport::tcp::StripedChannelCore;

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
  FakeStreamLog log;
  const std::vector<std::vector<uint8_t>>& writes = log.writes;
  transport::tcp::ChannelSetup setup;
  setup.peer.address = "127.0.0.1:1";
  setup.peer_chunk_bytes = setup.options.chunk_bytes;
  setup.peer_pool_bytes = setup.options.pool_bytes;
  auto owned = std::make_unique<FakeStream>(io, log);
  FakeStream* peer_end = owned.get();  // the connection owns it
  setup.connections.push_back(std::make_shared<FrameConnection>(std::move(owned), 0));
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
  peer_end->peerCloses();  // ends the connection's drain: it lets go of the channel
  io.restart();
  io.poll();
  ASSERT_EQ(received.size(), 3u);
  for (const Status& status : received)
    EXPECT_FALSE(status.isOk());
}

}  // namespace
}  // namespace eccl::test
