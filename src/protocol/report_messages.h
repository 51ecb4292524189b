// What an accepted peer tells the master about its collectives and links, with
// every heartbeat (src/anomaly): the master's detectors compare these across
// the ring to find a hung peer, a straggler or a frozen link.
#pragma once

#include <cstdint>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/protocol/frame.h"
#include "src/protocol/wire.h"

namespace eccl::protocol {

// This peer's totals for its channel to one other peer. Counters only grow
// while the channel lives; the master works on their differences.
struct LinkReport {
  static constexpr size_t kEncodedSize = 16 + 8 + 8 + 8 + 8 + 4;
  EndpointId peer;
  uint64_t bytes_sent = 0;      // on the channel since it opened
  uint64_t bytes_received = 0;  // on the channel since it opened
  // Time this peer's collectives that ended spent blocked on that peer's op
  // header: how late it entered them, in total.
  uint64_t wait_ns = 0;
  // Time the link kept this peer's bytes waiting (queued or in flight in the
  // kernel), since the channel opened: how busy the link kept it.
  uint64_t send_busy_ns = 0;
  // Bytes wait to go to that peer and none moved for this long (0: none wait).
  uint32_t send_stalled_ms = 0;
};

enum class RunningPhase : uint8_t {
  kNone = 0,  // no collective runs here
  kQueued = 1,
  kHeaders = 2,
  kData = 3,
  kCompletion = 4,
};

// What the master's anomaly detectors found (src/anomaly/cluster_monitor.h).
enum class AnomalyKind : uint8_t {
  kHungPeer = 1,    // ring neighbours blocked on it while it is in no op
  kStraggler = 2,   // it enters the ring's ops late, again and again
  kSlowLink = 3,    // one link of the ring is busy far longer than the others
  kSlowNode = 4,    // both ring links of one peer are
  kFrozenLink = 5,  // bytes wait on a link and none has moved for long
};
inline constexpr uint8_t kLastAnomalyKind = 5;

// master -> the accepted peers of the peer's group: a finding about one of
// them. A hung peer is evicted right after (when the master's policy says so).
struct AnomalyEvent {
  static constexpr MessageType kType = MessageType::kAnomalyEvent;
  static constexpr size_t kEncodedSize = 1 + 16 + 16 + 8 + 8 + 8;
  AnomalyKind kind = AnomalyKind::kHungPeer;
  // Whom it is about; never zero. A link finding: the sending end.
  EndpointId peer;
  // A link finding (slow, frozen): the receiving end; zero for the others.
  EndpointId link_to;
  uint64_t revision = 0;  // the group's revision when it was found
  // The evidence (finite, >= 0): hung, how long the neighbours were blocked
  // (ms); straggler, how late it was over the window (ms, summed over its
  // neighbours); slow link or node, the share of the window the link was
  // busy (the lesser of the node's two links); frozen link, how long no byte
  // moved (ms). `threshold`: what the value had to reach.
  double value = 0;
  double threshold = 0;
  void encode(ByteWriter& out) const;
  static AnomalyEvent decode(ByteReader& in);
};

// peer -> master, after each heartbeat once accepted.
struct PeerReport {
  static constexpr MessageType kType = MessageType::kPeerReport;
  // A peer with more channels reports 64 of them (the encoder writes what it
  // is given: the sender keeps to this).
  static constexpr size_t kMaxLinks = 64;
  static constexpr size_t kFixedSize = 8 + 8 + 8 + 1 + 8 + 4 + 16 + 4 + 2;
  static constexpr size_t kMaxEncodedSize = kFixedSize + kMaxLinks * LinkReport::kEncodedSize;
  uint64_t revision = 0;       // the ring this peer is in
  uint64_t ops_completed = 0;  // collectives that succeeded here
  uint64_t ops_failed = 0;     // collectives that ended with an error here
  // The oldest collective running here (phase kNone: none; the rest zero).
  RunningPhase running_phase = RunningPhase::kNone;
  uint64_t running_tag = 0;
  uint32_t running_ms = 0;        // since it started (left the queue)
  EndpointId waiting_on;          // the neighbour it is blocked on now (zero: not blocked)
  uint32_t waiting_ms = 0;        // since when (0 when not blocked)
  std::vector<LinkReport> links;  // one per peer
  void encode(ByteWriter& out) const;
  static PeerReport decode(ByteReader& in);
};

}  // namespace eccl::protocol
