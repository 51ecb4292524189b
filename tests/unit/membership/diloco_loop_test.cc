// DiLoCo's outer loop end to end in one process: a master and communicators
// over loopback. Synchronous and delayed rounds against a reference computed
// here, parity of every peer's parameters, a peer lost between rounds and in
// the middle of an all-reduce, and a joiner that receives the outer state.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "src/diloco/outer_loop.h"
#include "tests/unit/membership/inprocess_fixture.h"

namespace eccl::test {
namespace {

using diloco::Mode;
using diloco::OuterLoop;
using diloco::OuterOptions;
using diloco::StepReport;

constexpr size_t kSizeA = 600, kSizeB = 424;  // two tensors: the loop spans them
constexpr size_t kCount = kSizeA + kSizeB;

// A peer's parameters; its "inner optimiser" pulls them towards its own target.
struct Model {
  std::vector<float> a = std::vector<float>(kSizeA, 1.0f);
  std::vector<float> b = std::vector<float>(kSizeB, 1.0f);

  std::vector<diloco::Param> params() { return {{a.data(), a.size()}, {b.data(), b.size()}}; }
  float& at(size_t i) { return i < kSizeA ? a[i] : b[i - kSizeA]; }
  std::vector<float> flat() const {
    std::vector<float> out(a);
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }
};

float target(int peer, size_t i) {
  return static_cast<float>((peer + 1) * 0.5 + std::sin(static_cast<double>(i)));
}

// H gradient steps of 0.5 * (x - target)^2 with step size 0.1.
void innerSteps(Model& model, int peer, int h) {
  for (int s = 0; s < h; ++s)
    for (size_t i = 0; i < kCount; ++i)
      model.at(i) -= 0.1f * (model.at(i) - target(peer, i));
}

// Moves every parameter by exactly -1: a round's average is then exactly 1
// whoever contributed, so the outer parameters count the rounds applied.
void unitStep(Model& model, int /*peer*/, int /*h*/) {
  for (size_t i = 0; i < kCount; ++i)
    model.at(i) -= 1.0f;
}

// The algorithm on plain vectors: K peers, the reference of the tests.
struct Reference {
  float lr, mu;
  std::vector<float> outer, momentum;

  void outerStep(const std::vector<std::vector<float>>& deltas) {
    for (size_t i = 0; i < kCount; ++i) {
      float sum = 0;
      for (const auto& d : deltas)
        sum += d[i];
      const float g = sum / static_cast<float>(deltas.size());
      momentum[i] = mu * momentum[i] + g;
      outer[i] -= lr * (g + mu * momentum[i]);
    }
  }
};

// With lr 1 and momentum 0 the outer parameters move by exactly the average
// progress (1) per applied round: a round lost or applied twice shows.
void expectRoundsCounted(const Model& model, uint64_t rounds) {
  const std::vector<float> flat = model.flat();
  for (float v : flat)
    ASSERT_EQ(v, 1.0f - static_cast<float>(rounds));
}

class DilocoLoop : public InProcessCluster {
 protected:
  // As a crash looks to the others: its ops end, then its connections close.
  void kill(comm::Communicator* victim) {
    victim->abort("the test kills this peer");
    for (auto& peer : peers_) {
      if (peer.get() == victim) peer.reset();
    }
  }

  OuterOptions options(Mode mode, float lr = 0.7f, float mu = 0.9f) {
    OuterOptions o;
    o.mode = mode;
    o.lr = lr;
    o.momentum = mu;
    o.tag = 77;
    o.timeout = deadline(10s);
    return o;
  }

  // Starts a loop on each ring member at once.
  std::vector<std::unique_ptr<OuterLoop>> startAll(const std::vector<comm::Communicator*>& ring,
                                                   std::vector<Model>& models,
                                                   const OuterOptions& o) {
    std::vector<std::future<Result<std::unique_ptr<OuterLoop>>>> started;
    for (size_t p = 0; p < ring.size(); ++p) {
      started.push_back(std::async(std::launch::async, [&, p] {
        return OuterLoop::start(*ring[p], models[p].params(), reduce::DType::kF32, o);
      }));
    }
    std::vector<std::unique_ptr<OuterLoop>> loops;
    for (auto& f : started) {
      auto loop = f.get();
      EXPECT_TRUE(loop) << loop.status().toString();
      loops.push_back(loop ? std::move(*loop) : nullptr);
    }
    return loops;
  }

  // One round on the listed peers at once: inner steps, then the boundary.
  std::vector<StepReport> roundOn(const std::vector<int>& who,
                                  std::vector<std::unique_ptr<OuterLoop>>& loops,
                                  std::vector<Model>& models, void (*inner)(Model&, int, int),
                                  int h) {
    std::vector<std::future<StepReport>> steps;
    for (int p : who) {
      steps.push_back(std::async(std::launch::async, [&, p] {
        inner(models[p], p, h);
        StepReport report;
        Status status = loops[p]->step(&report);
        EXPECT_TRUE(status.isOk()) << "peer " << p << ": " << status.toString();
        return report;
      }));
    }
    std::vector<StepReport> reports;
    for (auto& f : steps)
      reports.push_back(f.get());
    return reports;
  }

  void flushOn(const std::vector<int>& who, std::vector<std::unique_ptr<OuterLoop>>& loops) {
    std::vector<std::future<Status>> flushes;
    for (int p : who)
      flushes.push_back(
          std::async(std::launch::async, [&, p] { return loops[p]->flush(nullptr); }));
    for (auto& f : flushes) {
      Status status = f.get();
      EXPECT_TRUE(status.isOk()) << status.toString();
    }
  }

  static void expectParity(const std::vector<Model>& models, const std::vector<int>& who) {
    for (int p : who) {
      EXPECT_EQ(0, std::memcmp(models[p].a.data(), models[who[0]].a.data(), kSizeA * 4)) << p;
      EXPECT_EQ(0, std::memcmp(models[p].b.data(), models[who[0]].b.data(), kSizeB * 4)) << p;
    }
  }

  // A joiner arrives while two members train; they admit it at an agreed
  // boundary, it receives the outer state and then trains with them.
  void joinWhileTraining(std::vector<std::unique_ptr<OuterLoop>>& loops, std::vector<Model>& models,
                         comm::Communicator& joiner, const OuterOptions& o, bool exact) {
    auto joined = std::async(std::launch::async, [&] {
      return OuterLoop::join(joiner, models[2].params(), reduce::DType::kF32, o);
    });
    // Bounded by time, not rounds: the members' rounds take milliseconds, the
    // joiner's registration may take longer on a loaded machine.
    const auto until = std::chrono::steady_clock::now() + deadline(30s);
    bool admitted = false;
    while (!admitted && std::chrono::steady_clock::now() < until) {
      for (const StepReport& r : roundOn({0, 1}, loops, models, unitStep, 1))
        admitted = admitted || r.synced;
    }
    ASSERT_TRUE(admitted) << "the joiner was not admitted within 30 s of rounds";
    auto loop = joined.get();
    ASSERT_TRUE(loop) << loop.status().toString();
    loops[2] = std::move(*loop);
    EXPECT_EQ(loops[2]->applied(), loops[0]->applied());
    EXPECT_EQ(loops[2]->launched(), loops[0]->launched());
    for (int round = 0; round < 3; ++round) {
      for (const StepReport& r : roundOn({0, 1, 2}, loops, models, unitStep, 1)) {
        if (r.applied > 0 && r.contributors > 0 && round > 0) {
          EXPECT_EQ(r.contributors, 3u);
        }
      }
    }
    flushOn({0, 1, 2}, loops);
    expectParity(models, {0, 1, 2});
    if (exact) expectRoundsCounted(models[0], loops[0]->applied());
  }
};

TEST_F(DilocoLoop, SynchronousRoundsMatchTheReference) {
  auto ring = rankedRing({&addPeer(), &addPeer(), &addPeer()});
  std::vector<Model> models(3);
  auto loops = startAll(ring, models, options(Mode::kSync));
  Reference ref{0.7f, 0.9f, std::vector<float>(kCount, 1.0f), std::vector<float>(kCount, 0.0f)};
  for (int round = 1; round <= 5; ++round) {
    std::vector<std::vector<float>> deltas;
    for (int p = 0; p < 3; ++p) {
      Model local;
      std::memcpy(local.a.data(), ref.outer.data(), kSizeA * 4);
      std::memcpy(local.b.data(), ref.outer.data() + kSizeA, kSizeB * 4);
      innerSteps(local, p, 4);
      std::vector<float> d(kCount);
      for (size_t i = 0; i < kCount; ++i)
        d[i] = ref.outer[i] - local.at(i);
      deltas.push_back(d);
    }
    ref.outerStep(deltas);
    const auto reports = roundOn({0, 1, 2}, loops, models, innerSteps, 4);
    for (const StepReport& r : reports) {
      EXPECT_EQ(r.applied, static_cast<uint64_t>(round));
      EXPECT_EQ(r.contributors, 3u);
      EXPECT_EQ(r.attempts, 1u);
    }
    expectParity(models, {0, 1, 2});
    const auto got = models[0].flat();
    for (size_t i = 0; i < kCount; ++i)
      ASSERT_NEAR(got[i], ref.outer[i], 1e-5f * (1 + std::fabs(ref.outer[i]))) << round << " " << i;
  }
}

TEST_F(DilocoLoop, DelayedRoundsMatchTheReferenceAndOverlapTheNextRound) {
  auto ring = rankedRing({&addPeer(), &addPeer(), &addPeer()});
  std::vector<Model> models(3);
  auto loops = startAll(ring, models, options(Mode::kAsync));
  // Each peer: start, current; the outer state applies round t at boundary t+1.
  Reference ref{0.7f, 0.9f, std::vector<float>(kCount, 1.0f), std::vector<float>(kCount, 0.0f)};
  std::vector<Model> local(3);
  std::vector<std::vector<float>> start(3, ref.outer), pending;
  const int rounds = 6;
  for (int round = 1; round <= rounds; ++round) {
    std::vector<std::vector<float>> deltas(3, std::vector<float>(kCount));
    for (int p = 0; p < 3; ++p) {
      innerSteps(local[p], p, 3);
      for (size_t i = 0; i < kCount; ++i) {
        deltas[p][i] = start[p][i] - local[p].at(i);
        start[p][i] = local[p].at(i);
      }
    }
    if (!pending.empty()) {
      ref.outerStep(pending);
      for (int p = 0; p < 3; ++p)
        for (size_t i = 0; i < kCount; ++i)
          start[p][i] = local[p].at(i) = ref.outer[i] - deltas[p][i];
    }
    pending = deltas;
    const auto reports = roundOn({0, 1, 2}, loops, models, innerSteps, 3);
    for (const StepReport& r : reports) {
      EXPECT_EQ(r.round, static_cast<uint64_t>(round));
      EXPECT_EQ(r.applied, static_cast<uint64_t>(round - 1));  // one round late
    }
    for (int p = 0; p < 3; ++p) {
      const auto got = models[p].flat();
      for (size_t i = 0; i < kCount; ++i)
        ASSERT_NEAR(got[i], local[p].at(i), 1e-5f * (1 + std::fabs(local[p].at(i))))
            << "round " << round << " peer " << p << " element " << i;
    }
  }
  flushOn({0, 1, 2}, loops);
  ref.outerStep(pending);
  expectParity(models, {0, 1, 2});
  const auto got = models[0].flat();
  for (size_t i = 0; i < kCount; ++i)
    ASSERT_NEAR(got[i], ref.outer[i], 1e-5f * (1 + std::fabs(ref.outer[i]))) << i;
  EXPECT_EQ(loops[0]->applied(), static_cast<uint64_t>(rounds));
}

TEST_F(DilocoLoop, SurvivorsCarryOnAfterAPeerIsLostBetweenRounds) {
  auto ring = rankedRing({&addPeer(), &addPeer(), &addPeer()});
  std::vector<Model> models(3);
  auto loops = startAll(ring, models, options(Mode::kSync, 1.0f, 0.0f));
  roundOn({0, 1, 2}, loops, models, unitStep, 1);
  loops[2].reset();
  kill(ring[2]);
  const auto reports = roundOn({0, 1}, loops, models, unitStep, 1);
  for (const StepReport& r : reports) {
    EXPECT_GE(r.attempts, 2u);
    EXPECT_EQ(r.contributors, 2u);
    EXPECT_EQ(r.applied, 2u);
  }
  roundOn({0, 1}, loops, models, unitStep, 1);
  expectParity(models, {0, 1});
  expectRoundsCounted(models[0], 3);
}

TEST_F(DilocoLoop, DelayedRoundSurvivesAPeerLostInTheMiddleOfItsAllReduce) {
  // Peer 2 aborts itself once its data of round 3's all-reduce is complete,
  // before the ring agreed on the outcome: its 4th completed op (the start's
  // options check is the 1st). An abort in round 2's would surface at the
  // survivors' 3rd boundary, while peer 2, aborted but not yet killed, still
  // holds its place in the ring: their topology updates would wait for it.
  // The hook runs on every peer's threads, also after the victim is gone: it
  // compares ids, and touches the victim only on the victim's own threads.
  // Both are set before the first collective.
  std::atomic<int> completions{0};
  EndpointId victim_id;
  comm::Communicator* victim = nullptr;
  auto hook = [&](std::string_view point, const EndpointId& self) {
    if (point == "data-complete" && self == victim_id && ++completions == 4) {
      victim->abort("the test kills this peer mid-op");
    }
  };
  auto ring = rankedRing({&addPeer("g", hook), &addPeer("g", hook), &addPeer("g", hook)});
  victim = ring[2];
  victim_id = ring[2]->peerId();
  std::vector<Model> models(3);
  auto loops = startAll(ring, models, options(Mode::kAsync, 1.0f, 0.0f));
  roundOn({0, 1, 2}, loops, models, unitStep, 1);  // launches round 1 (the 1st all-reduce)
  roundOn({0, 1, 2}, loops, models, unitStep, 1);  // round 2
  // Round 3's all-reduce is the one peer 2 dies in; its step returns at once.
  auto last = std::async(std::launch::async, [&] {
    unitStep(models[2], 2, 1);
    return loops[2]->step(nullptr);
  });
  std::vector<StepReport> reports = roundOn({0, 1}, loops, models, unitStep, 1);
  (void)last.get();
  loops[2].reset();
  kill(ring[2]);
  for (int round = 0; round < 2; ++round) {
    for (const StepReport& r : roundOn({0, 1}, loops, models, unitStep, 1))
      reports.push_back(r);
  }
  flushOn({0, 1}, loops);
  uint32_t attempts = 0;
  for (const StepReport& r : reports)
    attempts += r.attempts;
  EXPECT_GT(attempts, 2u * 3u) << "no all-reduce was retried";
  expectParity(models, {0, 1});
  // Rounds 1-5, each applied once: round 3 with or without peer 2's
  // progress (the survivors agree which), none lost, none twice.
  EXPECT_EQ(loops[0]->applied(), 5u);
  expectRoundsCounted(models[0], 5);
}

TEST_F(DilocoLoop, JoinerReceivesTheOuterStateSynchronous) {
  auto ring = rankedRing({&addPeer(), &addPeer()});
  std::vector<Model> models(3);
  models[2].a.assign(kSizeA, 123.0f);  // a joiner's own values count for nothing
  const OuterOptions o = options(Mode::kSync, 1.0f, 0.0f);
  std::vector<std::unique_ptr<OuterLoop>> loops = startAll(ring, models, o);
  loops.resize(3);
  roundOn({0, 1}, loops, models, unitStep, 1);
  joinWhileTraining(loops, models, addPeer(), o, true);
}

TEST_F(DilocoLoop, JoinerReceivesTheOuterStateDelayed) {
  auto ring = rankedRing({&addPeer(), &addPeer()});
  std::vector<Model> models(3);
  const OuterOptions o = options(Mode::kAsync, 1.0f, 0.0f);
  std::vector<std::unique_ptr<OuterLoop>> loops = startAll(ring, models, o);
  loops.resize(3);
  roundOn({0, 1}, loops, models, unitStep, 1);
  joinWhileTraining(loops, models, addPeer(), o, true);
}

TEST_F(DilocoLoop, MembersWithDifferentOptionsAllFailAndAMismatchedJoinerIsRefused) {
  auto ring = rankedRing({&addPeer(), &addPeer()});
  std::vector<Model> models(3);
  OuterOptions other = options(Mode::kSync);
  other.lr = 0.5f;
  auto first = std::async(std::launch::async, [&] {
    return OuterLoop::start(*ring[0], models[0].params(), reduce::DType::kF32,
                            options(Mode::kSync));
  });
  auto second = OuterLoop::start(*ring[1], models[1].params(), reduce::DType::kF32, other);
  auto first_result = first.get();
  ASSERT_FALSE(first_result);
  ASSERT_FALSE(second);
  EXPECT_EQ(first_result.status().code(), Code::kInvalidUsage) << first_result.status().toString();
  EXPECT_EQ(second.status().code(), Code::kInvalidUsage) << second.status().toString();
  EXPECT_NE(second.status().message().find("options differ"), std::string::npos);

  // Same options: the loop runs; a joiner with another mode is refused and
  // leaves, and the members carry on without it.
  const OuterOptions o = options(Mode::kSync, 1.0f, 0.0f);
  std::vector<std::unique_ptr<OuterLoop>> loops = startAll(ring, models, o);
  loops.resize(3);
  auto& joiner = addPeer();
  auto joined = std::async(std::launch::async, [&] {
    return OuterLoop::join(joiner, models[2].params(), reduce::DType::kF32,
                           options(Mode::kAsync, 1.0f, 0.0f));
  });
  // The members admit it at a boundary, sync, and then wait in that round
  // for the refused joiner until it leaves; then the round is retried without it.
  std::atomic<bool> admitted{false};
  bool refused = false;
  // Bounded by time, not rounds (as above): on a loaded machine the joiner's
  // registration may take longer than 30 of the members' rounds.
  const auto admission_until = std::chrono::steady_clock::now() + deadline(30s);
  while (!admitted && std::chrono::steady_clock::now() < admission_until) {
    std::vector<std::future<Status>> steps;
    for (int p = 0; p < 2; ++p) {
      steps.push_back(std::async(std::launch::async, [&, p] {
        unitStep(models[p], p, 1);
        StepReport report;
        Status status = loops[p]->step(&report);
        if (report.synced) admitted = true;
        return status;
      }));
    }
    const auto until = std::chrono::steady_clock::now() + deadline(30s);
    while (steps[0].wait_for(5ms) != std::future_status::ready ||
           steps[1].wait_for(0ms) != std::future_status::ready) {
      ASSERT_LT(std::chrono::steady_clock::now(), until) << "the members' round did not end";
      if (!refused && joined.wait_for(0ms) == std::future_status::ready) {
        auto result = joined.get();
        ASSERT_FALSE(result);
        EXPECT_EQ(result.status().code(), Code::kInvalidUsage) << result.status().toString();
        EXPECT_NE(result.status().message().find("differ from the members'"), std::string::npos);
        refused = true;
        kill(&joiner);
      }
    }
    for (auto& step : steps) {
      Status status = step.get();
      EXPECT_TRUE(status.isOk()) << status.toString();
    }
  }
  EXPECT_TRUE(refused);
  ASSERT_TRUE(admitted);
  roundOn({0, 1}, loops, models, unitStep, 1);
  expectParity(models, {0, 1});
  expectRoundsCounted(models[0], loops[0]->applied());
}

TEST_F(DilocoLoop, RefusesBadArguments) {
  auto ring = rankedRing({&addPeer()});
  Model model;
  OuterOptions o = options(Mode::kSync);
  auto bad = [&](reduce::DType dtype, OuterOptions opt, std::vector<diloco::Param> params) {
    auto loop = OuterLoop::start(*ring[0], std::move(params), dtype, std::move(opt));
    return loop ? Code::kOk : loop.status().code();
  };
  EXPECT_EQ(bad(reduce::DType::kF64, o, model.params()), Code::kInvalidArgument);
  EXPECT_EQ(bad(reduce::DType::kF32, o, {}), Code::kInvalidArgument);
  EXPECT_EQ(bad(reduce::DType::kF32, o, {{nullptr, 4}}), Code::kInvalidArgument);
  OuterOptions lr = o;
  lr.lr = NAN;
  EXPECT_EQ(bad(reduce::DType::kF32, lr, model.params()), Code::kInvalidArgument);
  OuterOptions mu = o;
  mu.momentum = 1.0f;
  EXPECT_EQ(bad(reduce::DType::kF32, mu, model.params()), Code::kInvalidArgument);
  OuterOptions prefixed = o;
  state::Entry entry;
  entry.name = "eccl.diloco.mine";
  entry.data = model.a.data();
  entry.count = 1;
  entry.dtype = reduce::DType::kF32;
  prefixed.extra_state.push_back(entry);
  EXPECT_EQ(bad(reduce::DType::kF32, prefixed, model.params()), Code::kInvalidArgument);
  // A comm that is not a ring member yet must join instead.
  auto& outsider = addPeer();
  auto loop = OuterLoop::start(outsider, model.params(), reduce::DType::kF32, o);
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.status().code(), Code::kInvalidUsage);
}

}  // namespace
}  // namespace eccl::test
