// The swarm: many SwarmPeers on one io_context run by a few threads, and the
// board they report to. The phases (scenario.h) drive it.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tools/eccl-swarm/board.h"
#include "tools/eccl-swarm/swarm_peer.h"

namespace eccl::tools::swarm {

using PeerList = std::vector<std::shared_ptr<SwarmPeer>>;

class Swarm {
 public:
  Swarm(asio::ip::tcp::endpoint master, std::string group, int io_threads);
  // Closes every peer still connected, then stops the threads.
  ~Swarm();
  Swarm(const Swarm&) = delete;
  Swarm& operator=(const Swarm&) = delete;

  // Creates n peers and starts them registering.
  PeerList spawn(size_t n);
  // Drops every connection and waits (bounded) until all have ended.
  Status closeAll(Clock::time_point deadline);

  Board& board() { return board_; }

 private:
  asio::io_context io_;  // first member: destroyed after everything that uses it
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  const asio::ip::tcp::endpoint master_;
  const std::string group_;
  Board board_;
  PeerList peers_;  // every peer ever spawned
};

}  // namespace eccl::tools::swarm
