// SendQueue bookkeeping without sockets: chunk order, eager budget, credit
// matching, delivery, hedging and caller-memory release.
#include "transport/tcp/send_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace eccl::transport::tcp {
namespace {

constexpr uint32_t kChunk = 100;

SendQueueConfig config(uint64_t pool = 1000, bool hedge = true) {
  return SendQueueConfig{kChunk, pool, hedge, /*hedge_min_bytes=*/10};
}

struct Harness {
  explicit Harness(SendQueueConfig c) : queue(c) {}
  SendQueue queue;
  Effects effects;
  std::vector<std::pair<int, ChunkRef>> detach;
  std::vector<uint64_t> unwritten = std::vector<uint64_t>(8, 0);
  std::vector<Status> results;

  SendCallback record() {
    return [this](Status s) { results.push_back(std::move(s)); };
  }
  std::optional<ChunkAssignment> next(int connection) {
    return queue.next(connection, [this](int c) { return unwritten[c]; });
  }
  void written(int connection, const ChunkAssignment& a, bool caller_memory = true) {
    queue.onWritten(connection, a.ref(), caller_memory, effects, detach);
    effects.runCallbacks();
  }
  void credit(uint64_t stream, uint64_t bytes) {
    ASSERT_TRUE(queue.onCredit({stream, bytes}, effects, detach).isOk());
    effects.runCallbacks();
  }
  void delivered(uint64_t message) {
    ASSERT_TRUE(queue.onDelivered(message, effects).isOk());
    effects.runCallbacks();
  }
};

TEST(SendQueue, CutsMessagesIntoChunksInOrder) {
  Harness h(config(10000));
  std::vector<uint8_t> data(250);
  h.queue.enqueue(7, data, h.record(), h.effects);
  std::vector<ChunkAssignment> chunks;
  while (auto a = h.next(0))
    chunks.push_back(*a);
  ASSERT_EQ(chunks.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(chunks[i].header.seq, i);
    EXPECT_EQ(chunks[i].header.offset, i * kChunk);
    EXPECT_EQ(chunks[i].header.total, 250u);
    EXPECT_EQ(chunks[i].header.stream, 7u);
    EXPECT_EQ(chunks[i].data, data.data() + i * kChunk);
    EXPECT_TRUE(chunks[i].eager);
  }
  EXPECT_EQ(chunks[2].length, 50u);
}

TEST(SendQueue, EmptyMessageIsOneEmptyChunk) {
  Harness h(config());
  h.queue.enqueue(1, {}, h.record(), h.effects);
  auto a = h.next(0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->length, 0u);
  EXPECT_FALSE(h.next(0));
  h.written(0, *a);
  h.delivered(a->header.message);
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].isOk());
}

TEST(SendQueue, EagerChunksStopAtThePoolBudgetAndResumeOnPoolCredit) {
  Harness h(config(/*pool=*/300));
  std::vector<uint8_t> data(1000);
  h.queue.enqueue(1, data, h.record(), h.effects);
  int sent = 0;
  while (h.next(0))
    ++sent;
  // At most half the pool per message: 150 bytes -> one 100-byte chunk.
  EXPECT_EQ(sent, 1);
  EXPECT_FALSE(h.queue.hasSendable());
  std::vector<uint8_t> other(100);
  h.queue.enqueue(2, other, h.record(), h.effects);
  EXPECT_TRUE(h.next(0)) << "another message may use the rest of the pool";
  EXPECT_EQ(h.queue.eagerAvailable(), 100u);
  ASSERT_TRUE(h.queue.onPoolCredit(100).isOk());
  EXPECT_EQ(h.queue.eagerAvailable(), 200u);
  EXPECT_FALSE(h.queue.onPoolCredit(1000).isOk())
      << "returning more than was used is a protocol error";
}

TEST(SendQueue, CreditLetsTheWholeMessageGo) {
  Harness h(config(/*pool=*/100));
  std::vector<uint8_t> data(1000);
  h.queue.enqueue(1, data, h.record(), h.effects);
  std::vector<ChunkAssignment> chunks;
  while (auto a = h.next(0))
    chunks.push_back(*a);
  ASSERT_EQ(chunks.size(), 1u) << "a 100-byte pool allows one eager chunk";
  EXPECT_TRUE(chunks[0].eager);
  EXPECT_FALSE(h.queue.hasSendable());
  h.credit(1, 1000);
  while (auto a = h.next(0))
    chunks.push_back(*a);
  ASSERT_EQ(chunks.size(), 10u);
  for (size_t i = 1; i < chunks.size(); ++i)
    EXPECT_FALSE(chunks[i].eager);
  for (const auto& a : chunks)
    h.written(0, a);
  EXPECT_TRUE(h.results.empty()) << "not complete before delivery";
  h.delivered(chunks[0].header.message);
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].isOk());
  EXPECT_EQ(h.queue.liveMessages(), 0u);
}

TEST(SendQueue, CreditBeforeTheSendIsBanked) {
  Harness h(config(/*pool=*/100));
  h.credit(4, 300);
  std::vector<uint8_t> data(300);
  h.queue.enqueue(4, data, h.record(), h.effects);
  int chunks = 0;
  while (auto a = h.next(0)) {
    EXPECT_FALSE(a->eager);
    ++chunks;
  }
  EXPECT_EQ(chunks, 3);
}

TEST(SendQueue, CreditOfAnotherSizeFailsTheMessageAndTellsTheReceiver) {
  Harness h(config(/*pool=*/1000));
  std::vector<uint8_t> data(300);
  h.queue.enqueue(4, data, h.record(), h.effects);
  auto first = h.next(0);  // eager
  ASSERT_TRUE(first);
  h.credit(4, 200);
  ASSERT_EQ(h.effects.stream_errors.size(), 1u);
  const auto& error = h.effects.stream_errors[0];
  EXPECT_EQ(error.origin, protocol::StreamErrorOrigin::kSender);
  EXPECT_EQ(error.stream, 4u);
  EXPECT_EQ(error.dispatched, 1u) << "one chunk was handed out before the failure";
  EXPECT_FALSE(h.next(0)) << "a failed message sends nothing more";
  EXPECT_TRUE(h.results.empty()) << "the chunk in flight still reads caller memory";
  ASSERT_EQ(h.detach.size(), 1u);
  h.queue.onDetached(first->ref(), h.effects);
  h.effects.runCallbacks();
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].code(), Code::kInvalidUsage);
}

TEST(SendQueue, CreditForAMessageThatAlreadyFailedIsConsumed) {
  Harness h(config(/*pool=*/1000));
  std::vector<uint8_t> data(100);
  h.queue.enqueue(4, data, h.record(), h.effects);
  auto a = h.next(0);
  ASSERT_TRUE(a);
  h.written(0, *a);
  protocol::StreamError from_receiver{
      4, a->header.message,   protocol::StreamErrorOrigin::kReceiver,
      0, Code::kInvalidUsage, "too big"};
  h.queue.onStreamError(from_receiver, h.effects, h.detach);
  h.effects.runCallbacks();
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_EQ(h.results[0].code(), Code::kInvalidUsage);
  h.credit(4, 50);  // the post that failed still produced its credit
  // The next message on the stream must wait for its own credit.
  std::vector<uint8_t> big(1000);
  h.queue.enqueue(4, big, h.record(), h.effects);
  auto b = h.next(0);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->eager) << "the stale credit must not be applied to the next message";
}

TEST(SendQueue, HedgesOnlyALateTailOnAnotherConnection) {
  Harness h(config(/*pool=*/100));
  std::vector<uint8_t> data(300);
  h.queue.enqueue(1, data, h.record(), h.effects);
  EXPECT_FALSE(h.queue.mayHedge()) << "uncredited";
  h.credit(1, 300);
  EXPECT_FALSE(h.queue.mayHedge()) << "chunks still to hand out";
  auto c0 = h.next(0), c1 = h.next(1), c2 = h.next(2);
  ASSERT_TRUE(c0 && c1 && c2);
  EXPECT_TRUE(h.queue.mayHedge()) << "a connection woken now might find a hedge";
  h.written(0, *c0);
  h.written(2, *c2);
  h.unwritten[1] = 5;  // below hedge_min_bytes: not worth a copy
  EXPECT_FALSE(h.next(0));
  h.unwritten[1] = 80;
  EXPECT_FALSE(h.next(1)) << "never hedge onto the same connection";
  auto hedge = h.next(0);
  ASSERT_TRUE(hedge);
  EXPECT_TRUE(hedge->hedge);
  EXPECT_EQ(hedge->header.seq, c1->header.seq);
  EXPECT_FALSE(h.next(2)) << "one hedge per chunk";
  // The hedge wins: the slow copy is asked to let go of caller memory.
  h.written(0, *hedge);
  ASSERT_EQ(h.detach.size(), 1u);
  EXPECT_EQ(h.detach[0].first, 1);
  EXPECT_EQ(h.detach[0].second.seq, c1->header.seq);
  h.delivered(c0->header.message);
  EXPECT_TRUE(h.results.empty()) << "the slow copy still reads the caller's buffer";
  h.queue.onDetached(c1->ref(), h.effects);
  h.effects.runCallbacks();
  ASSERT_EQ(h.results.size(), 1u);
  EXPECT_TRUE(h.results[0].isOk());
  // The detached copy finishing later changes nothing.
  h.written(1, *c1, /*caller_memory=*/false);
  EXPECT_EQ(h.results.size(), 1u);
  EXPECT_FALSE(h.queue.mayHedge()) << "delivered: nothing left to hedge";
}

TEST(SendQueue, NoHedgingWhenDisabledOrUncredited) {
  Harness h(config(/*pool=*/10000, /*hedge=*/false));
  std::vector<uint8_t> data(100);
  h.queue.enqueue(1, data, h.record(), h.effects);
  h.credit(1, 100);
  ASSERT_TRUE(h.next(0));
  h.unwritten[0] = 100;
  EXPECT_FALSE(h.next(1));
  EXPECT_FALSE(h.queue.mayHedge());

  Harness eager(config(/*pool=*/10000));
  eager.queue.enqueue(1, data, eager.record(), eager.effects);
  ASSERT_TRUE(eager.next(0));
  eager.unwritten[0] = 100;
  EXPECT_FALSE(eager.next(1)) << "eager chunks are never hedged";
  EXPECT_FALSE(eager.queue.mayHedge());
}

TEST(SendQueue, DeliveryOfAnUnsentMessageIsAProtocolError) {
  Harness h(config());
  EXPECT_EQ(h.queue.onDelivered(99, h.effects).code(), Code::kProtocolError);
}

TEST(SendQueue, FailAllEndsEveryMessage) {
  Harness h(config());
  std::vector<uint8_t> data(100);
  h.queue.enqueue(1, data, h.record(), h.effects);
  h.queue.enqueue(2, data, h.record(), h.effects);
  h.queue.failAll(connectionError("gone"), h.effects);
  h.effects.runCallbacks();
  ASSERT_EQ(h.results.size(), 2u);
  for (const auto& s : h.results)
    EXPECT_EQ(s.code(), Code::kConnectionError);
  EXPECT_EQ(h.queue.liveMessages(), 0u);
}

}  // namespace
}  // namespace eccl::transport::tcp
