// What a communicator tells about itself: the flight recorder's ops, its
// links, and a text dump of both with its membership (logged when an op
// times out and on the dump signal).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "src/anomaly/running_phase.h"
#include "src/comm/communicator.h"
#include "src/common/log.h"

namespace eccl::comm {

namespace {

const char* phaseText(int rank, bool terminal) {
  if (terminal) return "stopped";
  return rank >= 0 ? "accepted" : "not accepted";
}

// Bytes per second moved to or from a neighbour by the ops that succeeded.
struct RateSum {
  uint64_t bytes = 0;
  std::chrono::nanoseconds time{0};
  double perSecond() const {
    return time.count() > 0 ? static_cast<double>(bytes) * 1e9 / static_cast<double>(time.count())
                            : 0.0;
  }
};

std::string linkLine(const LinkStats& link, const std::string& role) {
  char rates[96];
  std::snprintf(rates, sizeof rates, "%.3f GB/s out, %.3f GB/s in over recorded ops",
                link.send_bytes_per_s / 1e9, link.recv_bytes_per_s / 1e9);
  std::string line = "  peer " + link.peer.shortHex();
  if (link.rank >= 0) line += " rank " + std::to_string(link.rank);
  if (!role.empty()) line += " (" + role + ")";
  line += " " + link.address + (link.open ? " open, " : " closed, ") +
          std::to_string(link.connections) + " connections: sent " +
          std::to_string(link.channel.payload_bytes_sent) + " B in " +
          std::to_string(link.channel.messages_sent) + " messages, received " +
          std::to_string(link.channel.payload_bytes_received) + " B in " +
          std::to_string(link.channel.messages_received) + " messages, " +
          std::to_string(link.channel.hedged_chunks_sent) + " chunks hedged; " + rates;
  return line;
}

uint32_t clampMillis(std::chrono::nanoseconds d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(ms, 0, UINT32_MAX));
}

}  // namespace

Status applyDumpSignalEnvironment(CommOptions& options) {
  const char* value = std::getenv("ECCL_DUMP_SIGNAL");
  if (value == nullptr || *value == '\0') return Status::ok();
  char* end = nullptr;
  const long signal = std::strtol(value, &end, 10);
  if (*end != '\0' || signal < 0 || signal >= NSIG) {
    return invalidArgument(std::string("ECCL_DUMP_SIGNAL: expected a signal number (0: none), "
                                       "got \"") +
                           value + "\"");
  }
  options.dump_signal = static_cast<int>(signal);
  return Status::ok();
}

std::vector<anomaly::OpRecord> Communicator::opStats() const {
  return recorder_.snapshot();
}

std::vector<LinkStats> Communicator::linkStats() const {
  std::map<EndpointId, RateSum> sent;
  std::map<EndpointId, RateSum> received;
  for (const anomaly::OpRecord& op : recorder_.snapshot()) {
    if (op.running() || !op.status.isOk() || op.world_size < 2) continue;
    const auto took = op.finished - op.started;
    sent[op.next].bytes += op.bytes_sent;
    sent[op.next].time += took;
    received[op.prev].bytes += op.bytes_received;
    received[op.prev].time += took;
  }
  std::vector<LinkStats> links;
  std::lock_guard lock(mu_);
  for (const auto& [peer, channel] : channels_) {
    LinkStats link;
    link.peer = peer;
    link.address = channel->peer().address;
    link.open = channel->status().isOk();
    link.connections = channel->connectionCount();
    link.channel = channel->stats();
    for (size_t r = 0; r < members_.size(); ++r) {
      if (members_[r].peer == peer) link.rank = static_cast<int32_t>(r);
    }
    if (auto it = sent.find(peer); it != sent.end()) link.send_bytes_per_s = it->second.perSecond();
    if (auto it = received.find(peer); it != received.end()) {
      link.recv_bytes_per_s = it->second.perSecond();
    }
    links.push_back(std::move(link));
  }
  // Ring neighbours first, by rank; the others (partners, point-to-point) after.
  std::stable_sort(links.begin(), links.end(), [](const LinkStats& a, const LinkStats& b) {
    return (a.rank < 0 ? INT32_MAX : a.rank) < (b.rank < 0 ? INT32_MAX : b.rank);
  });
  return links;
}

std::string Communicator::dumpState() const {
  const std::vector<LinkStats> links = linkStats();
  const std::vector<anomaly::OpRecord> ops = recorder_.snapshot();
  std::string text;
  int rank;
  size_t world;
  EndpointId prev;
  EndpointId next;
  {
    std::lock_guard lock(mu_);
    rank = rank_;
    world = members_.size();
    if (rank_ >= 0 && world > 1) {
      prev = members_[(static_cast<size_t>(rank_) + world - 1) % world].peer;
      next = members_[(static_cast<size_t>(rank_) + 1) % world].peer;
    }
    text = "peer " + id_.shortHex() + " of group \"" + options_.group +
           "\": " + phaseText(rank_, !terminalStatusLocked().isOk()) + ", rank " +
           std::to_string(rank_) + " of " + std::to_string(world) + ", revision " +
           std::to_string(revision_) + ", " + std::to_string(pending_) + " pending, " +
           std::to_string(departed_.size()) + " departed since the revision";
    if (op_failed_) text += "; the last op failed: " + op_failed_->toString();
    if (Status terminal = terminalStatusLocked(); !terminal.isOk()) {
      text += "; stopped: " + terminal.toString();
    }
    text += "\n";
  }
  text += "links (" + std::to_string(links.size()) + "):\n";
  for (const LinkStats& link : links) {
    std::string role;
    if (rank >= 0 && link.peer == prev) role = "prev";
    if (rank >= 0 && link.peer == next) role = role.empty() ? "next" : "prev and next";
    text += linkLine(link, role) + "\n";
  }
  text += "ops (the last " + std::to_string(ops.size()) + ", oldest first):\n";
  const auto now = anomaly::WallClock::now();
  for (const anomaly::OpRecord& op : ops)
    text += "  " + anomaly::describeOp(op, now) + "\n";
  return text;
}

std::optional<protocol::PeerReport> Communicator::peerReport() {
  protocol::PeerReport report;
  {
    std::lock_guard lock(mu_);
    if (phase_ != Phase::kAccepted || rank_ < 0) return std::nullopt;
    report.revision = revision_;
    for (const auto& [peer, channel] : channels_) {
      if (report.links.size() == protocol::PeerReport::kMaxLinks) break;
      const transport::ChannelStats stats = channel->stats();
      const auto late = link_late_ns_.find(peer);
      protocol::LinkReport link;
      link.peer = peer;
      link.bytes_sent = stats.payload_bytes_sent;
      link.bytes_received = stats.payload_bytes_received;
      link.wait_ns = late != link_late_ns_.end() ? late->second : 0;
      link.send_busy_ns = stats.send_busy_ns;
      link.send_stalled_ms =
          static_cast<uint32_t>(std::min<uint64_t>(stats.send_stalled_ns / 1'000'000, UINT32_MAX));
      report.links.push_back(link);
    }
    // Peers whose channel went keep their totals only while they are members.
    std::erase_if(link_late_ns_, [&](const auto& entry) {
      return channels_.count(entry.first) == 0 &&
             std::none_of(members_.begin(), members_.end(),
                          [&](const protocol::Member& m) { return m.peer == entry.first; });
    });
  }
  report.ops_completed = ops_completed_.load();
  report.ops_failed = ops_failed_.load();
  const auto now = anomaly::WallClock::now();
  for (const anomaly::OpRecord& op : recorder_.snapshot()) {
    if (!op.running() || op.sequence == anomaly::OpRecord::kNotStarted) continue;
    // The oldest op that started: the one the others may be waiting for.
    report.running_phase = anomaly::runningPhaseOf(op.phase);
    report.running_tag = op.tag;
    report.running_ms = clampMillis(now - op.started);
    report.waiting_on = op.blocked_on;
    report.waiting_ms = op.blocked_on.isZero() ? 0 : clampMillis(op.blocked_for);
    break;
  }
  return report;
}

void Communicator::queueEventLocked(Event event) {
  events_.push(event);
  changed_.notify_all();
}

EventKind eventKindOf(protocol::AnomalyKind kind) {
  switch (kind) {
    case protocol::AnomalyKind::kHungPeer:
      return EventKind::kHungPeer;
    case protocol::AnomalyKind::kStraggler:
      return EventKind::kStraggler;
    case protocol::AnomalyKind::kSlowLink:
      return EventKind::kSlowLink;
    case protocol::AnomalyKind::kSlowNode:
      return EventKind::kSlowNode;
    case protocol::AnomalyKind::kFrozenLink:
      return EventKind::kFrozenLink;
  }
  return EventKind::kHungPeer;  // decoding refuses other values
}

void Communicator::onAnomalyEvent(const protocol::AnomalyEvent& event) {
  Event queued;
  queued.kind = eventKindOf(event.kind);
  queued.peer = event.peer;
  queued.link_to = event.link_to;
  queued.revision = event.revision;
  queued.value = event.value;
  queued.threshold = event.threshold;
  std::lock_guard lock(mu_);
  queueEventLocked(queued);
}

void Communicator::logState(const std::string& why) const {
  ECCL_LOG_WARN("{}; state of {}", why, dumpState());
}

}  // namespace eccl::comm
