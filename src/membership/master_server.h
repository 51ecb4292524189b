// The master daemon's server: accepts peers' control connections on one
// single-threaded event loop and runs the membership state machine
// (master_state.h) on their frames. It is never on a collective's path.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "src/common/status.h"
#include "src/membership/master_state.h"
#include "transport/auth/cluster_secret.h"
#include "transport/tls/tls_context.h"

namespace eccl::membership {

struct MasterOptions {
  std::string listen_host = "0.0.0.0";
  uint16_t listen_port = 0;  // 0: a free port (see MasterServer::port)
  MasterSettings settings;
  // A connection must register within this time.
  std::chrono::milliseconds register_timeout{5'000};
  // Connections that have not registered yet, at most; and from one IP address.
  int max_unregistered = 1024;
  int max_unregistered_per_host = 64;
  // The cluster's shared secret: every connection must prove it holds it
  // before its first frame (transport/auth/). Null: ECCL_SECRET_FILE if set,
  // else none.
  std::shared_ptr<const transport::auth::ClusterSecret> secret;
  // The master's TLS certificates: every connection must be TLS 1.3 with a
  // certificate from the same CA (transport/tls/). Null: ECCL_TLS_CA,
  // ECCL_TLS_CERT and ECCL_TLS_KEY if set, else no TLS.
  std::shared_ptr<const transport::tls::TlsContext> tls;
  // False: null secret and tls mean none, whatever the environment says (the
  // C API's config fields decided them).
  bool security_from_environment = true;
};

class MasterServer {
 public:
  // Binds the listening socket; nothing runs until run().
  static Result<std::unique_ptr<MasterServer>> create(MasterOptions options);
  ~MasterServer();

  uint16_t port() const;
  std::string address() const;

  // Runs the event loop on the calling thread until stop(). Returns at once if stopped before.
  Status run();
  // Any thread: closes every connection and makes run() return.
  void stop();

  // A copy of the state, refreshed by the loop several times per heartbeat interval.
  MasterSnapshot snapshot() const;

 private:
  class Impl;
  explicit MasterServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eccl::membership
