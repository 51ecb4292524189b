// RecvTable bookkeeping without sockets: placement, the unexpected-chunk pool,
// duplicates and stray copies, size mismatches, and protocol violations.
#include "transport/tcp/recv_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace eccl::transport::tcp {
namespace {

using protocol::ChunkHeader;
using protocol::FrameHeader;

constexpr uint32_t kChunk = 100;

struct Harness {
  explicit Harness(uint64_t pool = 1000) : table(RecvTableConfig{kChunk, pool}) {}
  RecvTable table;
  Effects effects;
  std::vector<Status> results;

  RecvCallback record() {
    return [this](Status s) { results.push_back(std::move(s)); };
  }
  Status post(uint64_t stream, std::vector<uint8_t>& buffer) {
    RecvCallback cb = record();
    Status s = table.post(stream, buffer, std::move(cb), effects);
    effects.runCallbacks();
    return s;
  }
  // A chunk's header arrives on `connection`; its bytes, if it has a target, are all `fill`.
  Result<ChunkTarget> begin(uint64_t stream, uint64_t message, uint64_t total, uint32_t seq,
                            uint16_t flags, uint8_t fill, int connection = 0) {
    const uint64_t offset = uint64_t{seq} * kChunk;
    const uint64_t length = std::min<uint64_t>(kChunk, total - std::min(total, offset));
    FrameHeader frame;
    frame.type = protocol::MessageType::kChunk;
    frame.flags = flags;
    frame.length = static_cast<uint32_t>(ChunkHeader::kEncodedSize + length);
    ChunkHeader header{stream, message, offset, total, seq};
    auto target = table.beginChunk(frame, header, effects, connection);
    if (target && target->destination != nullptr) std::memset(target->destination, fill, length);
    return target;
  }
  Status end(const ChunkTarget& target) {
    Status done = table.endChunk(target, effects);
    effects.runCallbacks();
    return done;
  }
  // Delivers one chunk whose bytes are all `fill`; returns the beginChunk result.
  Result<ChunkTarget> chunk(uint64_t stream, uint64_t message, uint64_t total, uint32_t seq,
                            uint16_t flags, uint8_t fill) {
    auto target = begin(stream, message, total, seq, flags, fill);
    if (!target) return target;
    Status done = table.endChunk(*target, effects);
    effects.runCallbacks();
    if (!done.isOk()) return done;
    return target;
  }
};

constexpr uint16_t kEager = protocol::kFlagEager;
constexpr uint16_t kHedge = protocol::kFlagHedge;

TEST(RecvTable, PostedMessageIsPlacedAndDelivered) {
  Harness h;
  std::vector<uint8_t> buffer(250, 0);
  ASSERT_TRUE(h.post(3, buffer).isOk());
  ASSERT_EQ(h.effects.credits.size(), 1u);
  EXPECT_EQ(h.effects.credits[0].stream, 3u);
  EXPECT_EQ(h.effects.credits[0].bytes, 250u);
  ASSERT_TRUE(h.chunk(3, 1, 250, 2, 0, 0xC));
  ASSERT_TRUE(h.chunk(3, 1, 250, 0, 0, 0xA));
  EXPECT_TRUE(h.results.empty());
  ASSERT_TRUE(h.chunk(3, 1, 250, 1, 0, 0xB));
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].isOk());
  EXPECT_EQ(buffer[0], 0xA);
  EXPECT_EQ(buffer[150], 0xB);
  EXPECT_EQ(buffer[249], 0xC);
  EXPECT_EQ(h.effects.delivered, std::vector<uint64_t>{1});
  EXPECT_EQ(h.table.activeMessages(), 0u);
}

TEST(RecvTable, UnexpectedChunksWaitInThePoolUntilPosted) {
  Harness h(/*pool=*/1000);
  ASSERT_TRUE(h.chunk(5, 1, 150, 0, kEager, 0x1));
  EXPECT_EQ(h.table.poolUsed(), 100u);
  EXPECT_EQ(h.effects.pool_credit, 0u);
  std::vector<uint8_t> buffer(150, 0);
  ASSERT_TRUE(h.post(5, buffer).isOk());
  EXPECT_EQ(h.effects.pool_credit, 100u) << "draining the pool returns its credit";
  EXPECT_EQ(h.table.poolUsed(), 0u);
  EXPECT_TRUE(h.results.empty());
  ASSERT_TRUE(h.chunk(5, 1, 150, 1, kEager, 0x2));
  EXPECT_EQ(h.effects.pool_credit, 164u) << "an eager chunk landing in place returns its charge";
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(buffer[0], 0x1);
  EXPECT_EQ(buffer[149], 0x2);
}

TEST(RecvTable, DuplicateCopiesAreDroppedAndStrayOriginalsDrained) {
  Harness h;
  std::vector<uint8_t> buffer(200, 0);
  ASSERT_TRUE(h.post(1, buffer).isOk());
  ASSERT_TRUE(h.chunk(1, 1, 200, 0, 0, 0xA));
  // The hedge copy of chunk 1 arrives first and completes the message.
  ASSERT_TRUE(h.chunk(1, 1, 200, 1, kHedge, 0xB));
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.table.drainingMessages(), 1u) << "the original of chunk 1 is still on the wire";
  auto late = h.chunk(1, 1, 200, 1, 0, 0xFF);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->destination, nullptr) << "a stray original must not be written anywhere";
  EXPECT_EQ(buffer[150], 0xB);
  EXPECT_EQ(h.table.drainingMessages(), 0u);
  EXPECT_EQ(h.table.stats().duplicates_dropped, 1u);
}

// The first copy of chunk 1 stalls mid-read on connection 2; its hedge
// arrives on connection 5 and wins: connection 2 is told to drop the rest,
// and only once it has does the hedge go into the buffer.
TEST(RecvTable, ASpareCopyTakesAStalledReadsPlace) {
  Harness h;
  std::vector<uint8_t> buffer(200, 0);
  ASSERT_TRUE(h.post(1, buffer).isOk());
  ASSERT_TRUE(h.chunk(1, 1, 200, 0, 0, 0xA));
  auto first = h.begin(1, 1, 200, 1, 0, 0x1, /*connection=*/2);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->destination, buffer.data() + 100);
  auto spare = h.begin(1, 1, 200, 1, kHedge, 0xB, /*connection=*/5);
  ASSERT_TRUE(spare);
  ASSERT_NE(spare->destination, nullptr);
  EXPECT_EQ(buffer[150], 0x1) << "a spare is read beside the buffer, not into it";
  EXPECT_EQ(h.begin(1, 1, 200, 1, kHedge, 0xC, 6)->destination, nullptr) << "one spare per chunk";

  ASSERT_TRUE(h.end(*spare).isOk());
  using Drop = std::pair<int, uint64_t>;
  EXPECT_EQ(h.effects.reads_to_drop, std::vector<Drop>{Drop(2, first->token)});
  EXPECT_TRUE(h.results.empty()) << "connection 2 may still write into the buffer";
  EXPECT_EQ(buffer[150], 0x1);

  h.table.onReadDropped(first->token, h.effects);
  h.effects.runCallbacks();
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].isOk());
  EXPECT_EQ(buffer[150], 0xB);
  EXPECT_EQ(h.effects.delivered, std::vector<uint64_t>{1});
  // Connection 2 reads the rest of its frame into nothing and reports its end.
  EXPECT_TRUE(h.end(*first).isOk());
  EXPECT_EQ(h.table.stats().spares_won, 1u);
  EXPECT_EQ(h.table.activeMessages(), 0u);
}

// The first copy finishes first: the spare is dropped whenever it ends, and a
// drop request that crossed the first copy's end changes nothing.
TEST(RecvTable, AFirstCopyThatFinishesBeatsItsSpare) {
  for (const bool spare_done_first : {false, true}) {
    SCOPED_TRACE(spare_done_first ? "spare read in full first" : "spare still reading");
    Harness h;
    std::vector<uint8_t> buffer(100, 0);
    ASSERT_TRUE(h.post(1, buffer).isOk());
    auto first = h.begin(1, 1, 100, 0, 0, 0xA, 0);
    auto spare = h.begin(1, 1, 100, 0, kHedge, 0xB, 1);
    ASSERT_TRUE(first && spare);
    if (spare_done_first) {
      ASSERT_TRUE(h.end(*spare).isOk());
      ASSERT_EQ(h.effects.reads_to_drop.size(), 1u);
    }
    ASSERT_TRUE(h.end(*first).isOk());
    ASSERT_EQ(h.results.size(), 1u);
    EXPECT_EQ(buffer[50], 0xA);
    if (spare_done_first) {
      h.table.onReadDropped(first->token, h.effects);  // the request crossed the end
    } else {
      ASSERT_TRUE(h.end(*spare).isOk());
    }
    h.effects.runCallbacks();
    EXPECT_EQ(h.results.size(), 1u);
    EXPECT_EQ(buffer[50], 0xA);
    EXPECT_EQ(h.table.stats().spares_won, 0u);
    EXPECT_EQ(h.table.stats().duplicates_dropped, 1u);
    EXPECT_EQ(h.table.activeMessages(), 0u);
  }
}

TEST(RecvTable, HedgeOfAnUnknownMessageIsDropped) {
  Harness h;
  auto target = h.chunk(1, 7, 100, 0, kHedge, 0xFF);
  ASSERT_TRUE(target);
  EXPECT_EQ(target->destination, nullptr);
  EXPECT_EQ(h.table.activeMessages(), 0u);
}

TEST(RecvTable, SizeMismatchFailsThePostAndReportsToTheSender) {
  Harness h;
  std::vector<uint8_t> buffer(100, 0);
  ASSERT_TRUE(h.post(2, buffer).isOk());
  auto target = h.chunk(2, 4, 300, 0, 0, 0xEE);
  ASSERT_TRUE(target);
  EXPECT_EQ(target->destination, nullptr);
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].code(), Code::kInvalidUsage);
  ASSERT_EQ(h.effects.stream_errors.size(), 1u);
  EXPECT_EQ(h.effects.stream_errors[0].origin, protocol::StreamErrorOrigin::kReceiver);
  EXPECT_EQ(h.effects.stream_errors[0].message, 4u);
  EXPECT_EQ(buffer, std::vector<uint8_t>(100, 0)) << "nothing written into a mismatched buffer";
  // Later chunks of that message are drained, not taken for a new message.
  EXPECT_EQ(h.chunk(2, 4, 300, 1, 0, 0xEE)->destination, nullptr);
  EXPECT_EQ(h.chunk(2, 4, 300, 2, 0, 0xEE)->destination, nullptr);
  EXPECT_EQ(h.table.drainingMessages(), 0u);
  // The stream works again with a matching post.
  std::vector<uint8_t> again(100, 0);
  ASSERT_TRUE(h.post(2, again).isOk());
  ASSERT_TRUE(h.chunk(2, 5, 100, 0, 0, 0x5));
  EXPECT_EQ(h.results.back().code(), Code::kOk);
  EXPECT_EQ(again[99], 0x5);
}

TEST(RecvTable, SenderErrorEndsAnUnfilledPost) {
  Harness h;
  std::vector<uint8_t> buffer(300, 0);
  ASSERT_TRUE(h.post(2, buffer).isOk());
  protocol::StreamError error{
      2, 9, protocol::StreamErrorOrigin::kSender, 1, Code::kInvalidUsage, "wrong size"};
  ASSERT_TRUE(h.table.onStreamError(error, h.effects).isOk());
  h.effects.runCallbacks();
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].code(), Code::kInvalidUsage);
  EXPECT_NE(h.results[0].message().find("wrong size"), std::string::npos);
  EXPECT_EQ(h.table.drainingMessages(), 1u);
  EXPECT_EQ(h.chunk(2, 9, 400, 0, kEager, 1)->destination, nullptr);
  EXPECT_EQ(h.table.drainingMessages(), 0u);
}

TEST(RecvTable, ProtocolViolationsAreErrors) {
  Harness h(/*pool=*/150);
  EXPECT_EQ(h.chunk(1, 1, 100, 0, 0, 0).status().code(), Code::kProtocolError)
      << "no credit and nothing posted";
  EXPECT_EQ(h.chunk(1, 2, 100, 0, kEager | kHedge, 0).status().code(), Code::kProtocolError);
  EXPECT_EQ(h.chunk(1, 3, 1000, 11, kEager, 0).status().code(), Code::kProtocolError)
      << "seq beyond the message";
  ASSERT_TRUE(h.chunk(2, 4, 1000, 0, kEager, 0));
  EXPECT_EQ(h.chunk(3, 5, 1000, 0, kEager, 0).status().code(), Code::kProtocolError)
      << "pool overrun";
  EXPECT_EQ(h.chunk(2, 6, 1000, 1, kEager, 0).status().code(), Code::kProtocolError)
      << "a stream reused before its message was received";
  std::vector<uint8_t> buffer(1000);
  EXPECT_EQ(h.chunk(2, 4, 900, 1, kEager, 0).status().code(), Code::kProtocolError)
      << "a message that changes size";
}

TEST(RecvTable, MisalignedChunkIsAProtocolError) {
  Harness h;
  std::vector<uint8_t> buffer(300);
  ASSERT_TRUE(h.post(1, buffer).isOk());
  FrameHeader frame;
  frame.type = protocol::MessageType::kChunk;
  frame.length = ChunkHeader::kEncodedSize + 100;
  ChunkHeader header{1, 1, /*offset=*/50, 300, /*seq=*/0};
  EXPECT_EQ(h.table.beginChunk(frame, header, h.effects).status().code(), Code::kProtocolError);
}

TEST(RecvTable, SecondPostOnAStreamIsInvalidUsage) {
  Harness h;
  std::vector<uint8_t> a(10), b(10);
  ASSERT_TRUE(h.post(1, a).isOk());
  RecvCallback cb = h.record();
  EXPECT_EQ(h.table.post(1, b, std::move(cb), h.effects).code(), Code::kInvalidUsage);
  EXPECT_TRUE(cb) << "a refused post leaves the callback with the caller";
  EXPECT_EQ(h.effects.credits.size(), 1u) << "no credit for a refused post";
}

TEST(RecvTable, FailAllEndsPostedAndPartialMessages) {
  Harness h;
  std::vector<uint8_t> a(10), b(200);
  ASSERT_TRUE(h.post(1, a).isOk());
  ASSERT_TRUE(h.post(2, b).isOk());
  ASSERT_TRUE(h.chunk(2, 1, 200, 0, 0, 1));
  ASSERT_TRUE(h.chunk(3, 2, 50, 0, kEager, 1));
  h.table.failAll(connectionError("gone"), h.effects);
  h.effects.runCallbacks();
  ASSERT_EQ(h.results.size(), 2u);
  for (const auto& s : h.results)
    EXPECT_EQ(s.code(), Code::kConnectionError);
  EXPECT_EQ(h.table.poolUsed(), 0u);
}

}  // namespace
}  // namespace eccl::transport::tcp
