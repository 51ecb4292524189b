#include "src/comm/removal_memory.h"

#include <map>
#include <mutex>
#include <utility>

namespace eccl::comm {
namespace {

using Key = std::pair<std::string, std::string>;  // master, group

struct Memory {
  std::mutex mu;
  std::map<Key, PastRemoval> removals;
};

Memory& memory() {
  static Memory* instance = new Memory();  // never destroyed: comms may outlive statics
  return *instance;
}

}  // namespace

void rememberRemoval(const std::string& master, const std::string& group, const PastRemoval& past) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  m.removals[{master, group}] = past;
}

std::optional<PastRemoval> pastRemoval(const std::string& master, const std::string& group) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  auto it = m.removals.find({master, group});
  if (it == m.removals.end()) return std::nullopt;
  return it->second;
}

void forgetRemoval(const std::string& master, const std::string& group, const EndpointId& id) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  auto it = m.removals.find({master, group});
  if (it != m.removals.end() && it->second.id == id) m.removals.erase(it);
}

}  // namespace eccl::comm
