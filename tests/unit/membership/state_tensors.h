// Shared-state fixtures of the in-process tests: a peer's tensors (the
// memory behind its SharedState) filled with content that depends only on
// (entry, variant), so equal variants give equal bytes.
#pragma once

#include <cstdint>
#include <future>
#include <string>
#include <vector>

#include "src/comm/communicator.h"
#include "src/state/content_hash.h"
#include "src/state/shared_state.h"
#include "tests/support/test_env.h"

namespace eccl::test {

struct Spec {
  std::string name;
  size_t count;
  reduce::DType dtype;
};

struct Tensors {
  std::vector<std::vector<uint8_t>> memory;
  state::SharedState shared;

  std::vector<state::Hash128> hashes() const {
    std::vector<state::Hash128> out;
    for (const auto& entry : shared.entries)
      out.push_back(state::contentHash(entry.span()));
    return out;
  }
  uint8_t* bytes(size_t entry) { return memory[entry].data(); }
};

inline void fillVariant(std::vector<uint8_t>& memory, size_t entry, uint64_t variant) {
  uint64_t x = (entry + 1) * 0x9E3779B97F4A7C15ull ^ (variant * 0xBF58476D1CE4E5B9ull);
  for (auto& byte : memory) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    byte = static_cast<uint8_t>(x >> 56);
  }
}

inline Tensors makeTensors(const std::vector<Spec>& specs, uint64_t variant,
                           uint64_t revision = 0) {
  Tensors t;
  t.shared.revision = revision;
  t.memory.resize(specs.size());
  for (size_t e = 0; e < specs.size(); ++e) {
    auto& memory = t.memory[e];
    memory.resize(specs[e].count * reduce::dtypeSize(specs[e].dtype));
    fillVariant(memory, e, variant);
    t.shared.entries.push_back(
        {specs[e].name, memory.data(), specs[e].count, specs[e].dtype, false});
  }
  return t;
}

struct SyncOutcome {
  Status status;
  state::SyncInfo info;
};

// Every peer syncs its tensors at once (threads), each with its strategy
// (default ENFORCE_POPULAR).
inline std::vector<SyncOutcome> syncAll(const std::vector<comm::Communicator*>& peers,
                                        const std::vector<Tensors*>& tensors,
                                        std::vector<state::SyncStrategy> strategies = {}) {
  using namespace std::chrono_literals;
  strategies.resize(peers.size(), state::SyncStrategy::kEnforcePopular);
  std::vector<std::future<SyncOutcome>> running;
  for (size_t i = 0; i < peers.size(); ++i) {
    running.push_back(std::async(std::launch::async, [&, i] {
      SyncOutcome out;
      out.status =
          peers[i]->syncSharedState(tensors[i]->shared, strategies[i], deadline(20s), &out.info);
      return out;
    }));
  }
  std::vector<SyncOutcome> outcomes;
  for (auto& r : running)
    outcomes.push_back(r.get());
  return outcomes;
}

}  // namespace eccl::test
