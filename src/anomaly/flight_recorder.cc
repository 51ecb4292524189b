#include "src/anomaly/flight_recorder.h"

#include <algorithm>
#include <cstdio>

namespace eccl::anomaly {

namespace {

long long millis(std::chrono::nanoseconds d) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

std::string bytesText(uint64_t bytes) {
  char text[32];
  if (bytes < (uint64_t{1} << 10)) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < (uint64_t{1} << 20)) {
    std::snprintf(text, sizeof text, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  } else {
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  }
  return text;
}

std::string peerText(const EndpointId& id) {
  return id.isZero() ? std::string("nobody") : id.shortHex();
}

}  // namespace

std::chrono::nanoseconds OpRecord::age(WallClock::time_point now) const {
  return (running() ? now : finished) - submitted;
}

std::string describeOp(const OpRecord& op, WallClock::time_point now) {
  std::string line = "#";
  line += op.sequence == OpRecord::kNotStarted ? std::string("-") : std::to_string(op.sequence);
  line += " " + op.name + " tag " + std::to_string(op.tag);
  if (op.world_size > 0) {
    line += " rev " + std::to_string(op.revision) + " rank " + std::to_string(op.rank) + "/" +
            std::to_string(op.world_size);
  }
  if (op.running()) {
    line += std::string(" ") + coll::opPhaseName(op.phase) + ", running for " +
            std::to_string(millis(op.age(now))) + " ms";
  } else {
    line += ", " + (op.status.isOk() ? std::string("ok") : op.status.toString()) + " after " +
            std::to_string(millis(op.age(now))) + " ms";
  }
  if (op.started != WallClock::time_point{}) {
    line += " (queued " + std::to_string(millis(op.started - op.submitted)) + " ms)";
  }
  if (op.world_size > 1) {
    line += ": sent " + bytesText(op.bytes_sent) + " to " + peerText(op.next) + ", received " +
            bytesText(op.bytes_received) + " from " + peerText(op.prev) + "; waited " +
            std::to_string(millis(op.wait_prev)) + " ms on " + peerText(op.prev) + ", " +
            std::to_string(millis(op.wait_next)) + " ms on " + peerText(op.next);
  }
  if (!op.blocked_on.isZero()) {
    line += "; blocked on " + op.blocked_on.shortHex() + " for " +
            std::to_string(millis(op.blocked_for)) + " ms";
  }
  return line;
}

FlightRecorder::FlightRecorder(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {}

std::shared_ptr<FlightRecorder::Entry> FlightRecorder::submitted(std::string name, uint64_t tag) {
  auto entry = std::make_shared<Entry>();
  entry->record.name = std::move(name);
  entry->record.tag = tag;
  entry->record.submitted = WallClock::now();
  std::lock_guard lock(mu_);
  if (ops_.size() >= capacity_) {
    // The oldest op that ended goes; running ones stay (they are what a
    // hang's diagnosis needs), unless every op runs.
    auto oldest_ended = std::find_if(ops_.begin(), ops_.end(),
                                     [](const auto& op) { return !op->record.running(); });
    ops_.erase(oldest_ended != ops_.end() ? oldest_ended : ops_.begin());
  }
  ops_.push_back(entry);
  return entry;
}

void FlightRecorder::started(Entry& entry, uint64_t sequence) {
  std::lock_guard lock(mu_);
  entry.record.sequence = sequence;
  entry.record.started = WallClock::now();
}

void FlightRecorder::ranOn(Entry& entry, uint64_t revision, int32_t rank, uint32_t world_size,
                           const EndpointId& prev, const EndpointId& next) {
  std::lock_guard lock(mu_);
  entry.record.revision = revision;
  entry.record.rank = rank;
  entry.record.world_size = world_size;
  entry.record.prev = prev;
  entry.record.next = next;
}

void FlightRecorder::ended(Entry& entry, const Status& status, uint64_t sent, uint64_t received) {
  std::lock_guard lock(mu_);
  if (!entry.record.running()) return;
  entry.record.bytes_sent = sent;
  entry.record.bytes_received = received;
  entry.record.finished = WallClock::now();
  entry.record.status = status;
  entry.record.phase = coll::OpPhase::kDone;
  entry.progress.setPhase(coll::OpPhase::kDone);
}

OpRecord FlightRecorder::read(const Entry& entry) {
  OpRecord op = entry.record;
  const coll::OpProgress& p = entry.progress;
  if (op.running()) op.phase = p.phase.load(std::memory_order_relaxed);
  op.bytes_sent = std::max(op.bytes_sent, p.bytes_sent.load(std::memory_order_relaxed));
  op.bytes_received = std::max(op.bytes_received, p.bytes_received.load(std::memory_order_relaxed));
  op.wait_prev = std::chrono::nanoseconds(p.wait_prev_ns.load(std::memory_order_relaxed));
  op.wait_next = std::chrono::nanoseconds(p.wait_next_ns.load(std::memory_order_relaxed));
  if (const uint8_t side = p.blocked_on.load(std::memory_order_relaxed); op.running() && side) {
    op.blocked_on = side == 1 ? op.prev : op.next;
    const auto since = std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(p.blocked_since_ns.load(std::memory_order_relaxed)));
    op.blocked_for =
        std::max(std::chrono::nanoseconds(0), std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  std::chrono::steady_clock::now() - since));
  }
  return op;
}

std::vector<OpRecord> FlightRecorder::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<OpRecord> ops;
  ops.reserve(ops_.size());
  for (const auto& entry : ops_)
    ops.push_back(read(*entry));
  return ops;
}

}  // namespace eccl::anomaly
