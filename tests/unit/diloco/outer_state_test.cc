// OuterState without a network: two peers' pseudo-gradients summed by hand
// stand in for the all-reduce. Checks the synchronous step, the one-round
// delay with its carried progress, trailers, and the state a joiner gets.
#include "src/diloco/outer_state.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace eccl::diloco {
namespace {

using reduce::DType;

// A peer's parameters (two tensors) and its OuterState over them.
struct Peer {
  std::vector<float> a, b;
  OuterState state;

  explicit Peer(float init)
      : a(3, init), b(5, init), state({{a.data(), a.size()}, {b.data(), b.size()}}, DType::kF32) {}
  void add(float x) {
    for (float& v : a)
      v += x;
    for (float& v : b)
      v += x;
  }
};

// The all-reduce (sum) of the peers' slot, written into each one's receive buffer.
void sumInto(std::vector<Peer*> peers, int slot) {
  const size_t n = peers[0]->state.count() + 2;
  std::vector<float> total(n, 0.0f);
  for (Peer* p : peers) {
    const auto* send = static_cast<const float*>(p->state.sendBuffer(slot));
    for (size_t i = 0; i < n; ++i)
      total[i] += send[i];
  }
  for (Peer* p : peers)
    std::memcpy(p->state.recvBuffer(slot), total.data(), n * sizeof(float));
}

void expectAll(const Peer& p, float want) {
  for (float v : p.a)
    EXPECT_FLOAT_EQ(v, want);
  for (float v : p.b)
    EXPECT_FLOAT_EQ(v, want);
}

TEST(OuterState, SynchronousRoundTakesTheNesterovStepOnTheAverage) {
  Peer p(10.0f), q(10.0f);
  p.add(-1.0f);  // progress: delta 1
  q.add(-3.0f);  // delta 3
  p.state.pack(0, {1, 0});
  q.state.pack(0, {1, 1});
  sumInto({&p, &q}, 0);
  EXPECT_EQ(p.state.receivedTrailer(0).weight, 2.0f);
  EXPECT_EQ(p.state.receivedTrailer(0).pending, 1.0f);
  for (Peer* peer : {&p, &q}) {
    peer->state.applyNesterov(0, 0.5f, 0.5f);
    peer->state.rebase(-1);
  }
  // g = 2, m = 2, outer = 10 - 0.5 * (2 + 0.5 * 2) = 8.5 on both.
  expectAll(p, 8.5f);
  expectAll(q, 8.5f);
  // The next round's progress is measured from there.
  p.add(-1.0f);
  p.state.pack(1, {1, 0});
  EXPECT_FLOAT_EQ(static_cast<const float*>(p.state.sendBuffer(1))[0], 1.0f);
}

TEST(OuterState, DelayedRoundCarriesTheProgressMadeSince) {
  Peer p(0.0f);
  p.add(-2.0f);  // round 0: delta 2
  p.state.pack(0, {1, 0});
  p.add(-1.0f);  // round 1: delta 1, packed before round 0 is applied
  p.state.pack(1, {1, 0});
  p.add(-0.25f);  // progress not packed yet
  sumInto({&p}, 0);
  p.state.applyNesterov(0, 1.0f, 0.0f);  // plain averaging: outer = 0 - 2 = -2
  p.state.rebase(1);
  // start = outer - round 1's delta = -3; current = start - unpacked progress.
  expectAll(p, -3.25f);
  p.state.pack(0, {1, 0});
  EXPECT_FLOAT_EQ(static_cast<const float*>(p.state.sendBuffer(0))[0], 0.25f);
}

TEST(OuterState, ZeroWeightLeavesTheOuterStateAlone) {
  Peer p(4.0f);
  p.state.packNothing(0, {0, 0});
  sumInto({&p}, 0);
  p.state.applyNesterov(0, 0.7f, 0.9f);
  p.state.rebase(-1);
  expectAll(p, 4.0f);
}

TEST(OuterState, EntriesExposeOuterParametersMomentumAndRounds) {
  Peer p(1.0f);
  p.state.setApplied(3);
  p.state.setLaunched(4);
  const auto entries = p.state.entries("x.");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].name, "x.outer_params");
  EXPECT_EQ(entries[0].count, 8u);
  EXPECT_EQ(entries[1].name, "x.outer_momentum");
  EXPECT_EQ(entries[2].name, "x.rounds");
  EXPECT_EQ(entries[2].dtype, DType::kU64);
  const auto* rounds = static_cast<const uint64_t*>(entries[2].data);
  EXPECT_EQ(rounds[0], 3u);
  EXPECT_EQ(rounds[1], 4u);
  // A joiner adopting the outer state takes it as parameters and round start.
  static_cast<float*>(entries[0].data)[7] = 5.0f;
  p.state.adoptOuter();
  EXPECT_EQ(p.b[4], 5.0f);
}

}  // namespace
}  // namespace eccl::diloco
