// The master's part in the agreement on a collective's outcome: every
// survivor of a failure returns success, or every survivor returns an error.
//
// A peer whose data is complete but which could not learn that every peer's is
// (its completion lap around the ring broke) reports kComplete and waits. The
// arbiter then asks every other member of the group for its progress with the
// op and decides:
//  - failed as soon as one member is kIncomplete: that member's result is
//    missing, and it has promised (by answering) never to complete the op;
//  - succeeded as soon as one member is kSucceeded: its lap went round, so
//    every member's data was complete;
//  - succeeded once every member still in the group reported kComplete.
// A member that departs meanwhile is no longer waited for. The verdict goes to
// every member of the group; it is kept (bounded) for reports that come late.
//
// Pure bookkeeping, like MasterState, which owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "src/protocol/control_messages.h"

namespace eccl::membership {

class OutcomeArbiter {
 public:
  // At most this many ops are being decided at once, over all groups; a report
  // beyond it is decided as failed at once (only a misbehaving peer gets there).
  static constexpr size_t kMaxOpenInquiries = 4096;
  // Verdicts remembered for late reports.
  static constexpr size_t kMaxRememberedVerdicts = 4096;

  struct Message {
    EndpointId to;
    protocol::OpVerdict verdict;
  };

  // `from` is an accepted member of `group`, whose ring at `revision` is `members`.
  void onReport(const std::string& group, uint64_t revision, const std::vector<EndpointId>& members,
                const EndpointId& from, const protocol::OpReport& report,
                std::vector<Message>& out);
  // A member left the group: it is no longer waited for.
  void onDeparted(const std::string& group, const EndpointId& peer, std::vector<Message>& out);
  // The group committed `revision`: ops of older revisions can no longer be
  // waited for by a member (each voted, so none is undecided); they are failed.
  void onCommit(const std::string& group, uint64_t revision, std::vector<Message>& out);

  size_t openInquiries() const { return open_.size(); }

 private:
  struct Key {
    std::string group;
    protocol::OpRef op;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  struct Inquiry {
    std::vector<EndpointId> members;  // who hears the verdict
    std::set<EndpointId> waiting;     // who has not answered yet
  };

  void record(const Key& key, const EndpointId& from, protocol::OpProgress progress,
              std::vector<Message>& out);
  void decide(const Key& key, bool success, std::vector<Message>& out);
  static void tell(const std::vector<EndpointId>& to, const protocol::OpRef& op, bool success,
                   std::vector<Message>& out);

  std::map<Key, Inquiry> open_;
  std::map<Key, bool> decided_;
  std::deque<Key> decided_order_;
};

}  // namespace eccl::membership
