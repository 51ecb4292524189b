// A peer's connection to the master: registration, heartbeats from its own
// I/O thread (so a busy application thread does not look dead), and
// reconnection with back-off when the master goes away. What the master says
// goes to an Owner (the communicator), on the client's I/O thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "src/common/status.h"
#include "src/protocol/control_messages.h"
#include "src/protocol/report_messages.h"
#include "src/protocol/stage_messages.h"
#include "src/protocol/state_messages.h"
#include "transport/auth/cluster_secret.h"
#include "transport/tls/tls_context.h"

namespace eccl::membership {

class ControlClient {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    // The Register to send on a (re)connection; local_ip is this end of the connection.
    virtual protocol::Register makeRegister(const std::string& local_ip) = 0;
    virtual void onRegistered(const protocol::Registered& registered) = 0;
    virtual void onTopology(const protocol::Topology& topology) = 0;
    virtual void onCommit(const protocol::TopologyCommit& commit) = 0;
    virtual void onPeerEvent(const protocol::PeerEvent& event) = 0;
    virtual void onGroupStatus(const protocol::GroupStatus& status) = 0;
    virtual void onControlError(const protocol::ControlError& error) = 0;
    virtual void onPeerAddress(const protocol::PeerAddress& address) = 0;
    // A question about a collective op, or its agreed outcome.
    virtual void onOpVerdict(const protocol::OpVerdict& verdict) = 0;
    // A shared-state sync's transfer round, or its outcome.
    virtual void onStatePlan(const protocol::StatePlan& plan) = 0;
    virtual void onStateFetchPlan(const protocol::StateFetchPlan& plan) = 0;
    // Pipeline stages: the answer to a StageQuery, and a stage lost or restored.
    virtual void onStageInfo(const protocol::StageInfo& info) = 0;
    virtual void onStageEvent(const protocol::StageEvent& event) = 0;
    // The connection is gone (the client reconnects on its own).
    virtual void onMasterLost(const Status& why) = 0;
    // Counted into heartbeats, so the master can tell a hung peer from an idle one.
    virtual uint64_t opsCompleted() const = 0;
    // Sent after each heartbeat when there is one (an accepted peer's
    // collectives and links, for the master's anomaly detectors).
    virtual std::optional<protocol::PeerReport> peerReport() { return std::nullopt; }
    // The master found a hung peer or a straggler in this peer's group.
    virtual void onAnomalyEvent(const protocol::AnomalyEvent&) {}
  };

  struct Options {
    std::string master_host;
    uint16_t master_port = 0;
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds max_backoff{1'000};
    // The cluster's shared secret (null: none); see MasterOptions::secret.
    std::shared_ptr<const transport::auth::ClusterSecret> secret;
    // This peer's TLS certificates (null: no TLS); see MasterOptions::tls.
    std::shared_ptr<const transport::tls::TlsContext> tls;
  };

  ControlClient(Options options, Owner& owner);
  ~ControlClient();  // closes the connection; no Owner call happens after it returns
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Connects and registers, retrying with back-off until it works or the client is closed.
  void start();
  // Queues a frame to the master (dropped while disconnected: callers wait for
  // the state they asked for with their own deadline).
  void send(protocol::MessageType type, std::vector<uint8_t> frame);
  // Sends a Leave and closes, waiting at most `wait` for the frame to go out.
  void leave(const std::string& reason, std::chrono::milliseconds wait);

  // Closes the connection and stops reconnecting: the master refused the
  // registration for good. Any thread, the client's own callbacks included.
  void stopConnecting();

  bool connected() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace eccl::membership
