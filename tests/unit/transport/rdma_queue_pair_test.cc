// The QueuePair contract (transport/rdma/queue_pair.h) that the RDMA byte
// stream relies on, checked against the in-process loopback fabric always
// and against libibverbs where this machine has an RDMA device (skipped, with
// the reason, where it has none): writes land at their offsets, an immediate
// arrives after every byte written before it, credits land in the credit
// word, events wake the event fd, and a gone peer fails the writer.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <functional>
#include <string>

#include "tests/support/loopback_queue_pairs.h"
#include "tests/support/test_env.h"
#include "transport/rdma/verbs_queue_pair.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::rdma::QueuePair;
using transport::rdma::QueuePairEvent;
using transport::rdma::QueuePairFactory;

constexpr uint64_t kRing = 64 << 10;

class QueuePairContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "loopback") {
      factory_ = LoopbackFabric::make();
    } else {
      auto verbs = transport::rdma::verbsQueuePairs();
      if (!verbs) GTEST_SKIP() << "no RDMA queue pairs here: " << verbs.status().message();
      factory_ = *verbs;
    }
    auto a = factory_->create(kRing);
    auto b = factory_->create(kRing * 2);
    ASSERT_TRUE(a && b);
    a_ = std::move(*a);
    b_ = std::move(*b);
    ASSERT_TRUE(a_->connect(b_->address()).isOk());
    ASSERT_TRUE(b_->connect(a_->address()).isOk());
  }

  // Polls `qp` (sleeping on its event fd) until `done` says so or time runs out.
  static Status waitFor(QueuePair& qp, std::vector<QueuePairEvent>& events,
                        const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + deadline(10s);
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return timeoutError("no such event");
      pollfd ready{qp.eventFd(), POLLIN, 0};
      ::poll(&ready, 1, 100);
      ECCL_RETURN_IF_ERROR(qp.poll(events));
    }
    return Status::ok();
  }
  static size_t count(const std::vector<QueuePairEvent>& events, QueuePairEvent::Kind kind) {
    return std::count_if(events.begin(), events.end(),
                         [&](const QueuePairEvent& e) { return e.kind == kind; });
  }
  static bool hasImmediate(const std::vector<QueuePairEvent>& events, uint32_t value) {
    return std::any_of(events.begin(), events.end(), [&](const QueuePairEvent& e) {
      return e.kind == QueuePairEvent::Kind::kImmediate && e.immediate == value;
    });
  }

  std::shared_ptr<QueuePairFactory> factory_;
  std::unique_ptr<QueuePair> a_;
  std::unique_ptr<QueuePair> b_;
};

TEST_P(QueuePairContract, WritesLandAtTheirOffsetsBeforeTheImmediateThatFollows) {
  ASSERT_EQ(a_->sendStaging().size(), kRing * 2);  // b's ring
  ASSERT_EQ(b_->sendStaging().size(), kRing);
  ASSERT_EQ(b_->receiveRing().size(), kRing * 2);
  const std::vector<uint8_t> first = pattern(1000, 1), second = pattern(kRing, 2);
  std::copy(first.begin(), first.end(), a_->sendStaging().begin() + 100);
  std::copy(second.begin(), second.end(), a_->sendStaging().begin() + kRing);
  ASSERT_TRUE(a_->postWrite(100, first.size(), std::nullopt).isOk());
  ASSERT_TRUE(a_->postWrite(kRing, second.size(), 0x40000001u).isOk());

  std::vector<QueuePairEvent> at_b;
  ASSERT_TRUE(waitFor(*b_, at_b, [&] { return hasImmediate(at_b, 0x40000001u); }).isOk());
  EXPECT_EQ(count(at_b, QueuePairEvent::Kind::kImmediate), 1u) << "a write without one raised one";
  const auto ring = b_->receiveRing();
  EXPECT_TRUE(std::equal(first.begin(), first.end(), ring.begin() + 100));
  EXPECT_TRUE(std::equal(second.begin(), second.end(), ring.begin() + kRing));

  std::vector<QueuePairEvent> at_a;
  ASSERT_TRUE(
      waitFor(*a_, at_a, [&] { return count(at_a, QueuePairEvent::Kind::kSent) == 2; }).isOk());
  EXPECT_EQ(count(at_a, QueuePairEvent::Kind::kImmediate), 0u);
}

TEST_P(QueuePairContract, CreditsLandInTheCreditWordAndEmptyWritesCarryImmediates) {
  EXPECT_EQ(a_->creditWord(), 0u);
  ASSERT_TRUE(b_->postCredit(123456789012ull, 0x80000000u).isOk());
  std::vector<QueuePairEvent> at_a;
  ASSERT_TRUE(waitFor(*a_, at_a, [&] { return hasImmediate(at_a, 0x80000000u); }).isOk());
  EXPECT_EQ(a_->creditWord(), 123456789012ull);

  ASSERT_TRUE(b_->postWrite(0, 0, 0xC0000000u).isOk());
  ASSERT_TRUE(waitFor(*a_, at_a, [&] { return hasImmediate(at_a, 0xC0000000u); }).isOk());
  std::vector<QueuePairEvent> at_b;
  ASSERT_TRUE(
      waitFor(*b_, at_b, [&] { return count(at_b, QueuePairEvent::Kind::kSent) == 2; }).isOk());
}

TEST_P(QueuePairContract, WritesOutsideTheOtherRingAreRefusedBeforeAnythingMoves) {
  EXPECT_EQ(a_->postWrite(kRing * 2 - 10, 20, std::nullopt).code(), Code::kInvalidArgument);
  EXPECT_EQ(b_->postWrite(kRing, 1, 1u).code(), Code::kInvalidArgument);
  std::vector<QueuePairEvent> events;
  EXPECT_TRUE(a_->poll(events).isOk());
  EXPECT_TRUE(b_->poll(events).isOk());
  EXPECT_TRUE(events.empty());
}

TEST_P(QueuePairContract, APortOfAnotherLinkLayerIsNotConnected) {
  auto c = factory_->create(kRing);
  ASSERT_TRUE(c);
  transport::rdma::QueuePairAddress other = a_->address();
  other.link_layer = factory_->port().link_layer == transport::rdma::LinkLayer::kEthernet
                         ? transport::rdma::LinkLayer::kInfiniBand
                         : transport::rdma::LinkLayer::kEthernet;
  EXPECT_EQ((*c)->connect(other).code(), Code::kUnsupported);
}

// The writer hears of a peer that is gone: its writes fail, within the
// transport's retries (verbs: 7 tries of about 67 ms).
TEST_P(QueuePairContract, WritesToAGonePeerFailTheWriter) {
  b_.reset();
  std::vector<QueuePairEvent> events;
  Status failed = a_->postWrite(0, 10, 5u);
  if (failed.isOk()) failed = waitFor(*a_, events, [] { return false; });
  EXPECT_EQ(failed.code(), Code::kConnectionError) << failed.toString();
  EXPECT_FALSE(a_->poll(events).isOk()) << "the failure does not stay";
}

INSTANTIATE_TEST_SUITE_P(Fabrics, QueuePairContract, ::testing::Values("loopback", "verbs"),
                         [](const ::testing::TestParamInfo<std::string>& fabric) {
                           return fabric.param;
                         });

}  // namespace
}  // namespace eccl::test
