#include "tools/eccl-swarm/swarm.h"

namespace eccl::tools::swarm {

Swarm::Swarm(asio::ip::tcp::endpoint master, std::string group, int io_threads)
    : io_(io_threads),
      work_(asio::make_work_guard(io_)),
      master_(std::move(master)),
      group_(std::move(group)) {
  for (int i = 0; i < io_threads; ++i)
    threads_.emplace_back([this] { io_.run(); });
}

Swarm::~Swarm() {
  (void)closeAll(Clock::now() + std::chrono::seconds(10));
  work_.reset();
  io_.stop();
  for (auto& thread : threads_)
    thread.join();
  // Handlers still queued hold peers; run them down here rather than in ~io_context.
  io_.restart();
  while (io_.poll() > 0) {
  }
}

PeerList Swarm::spawn(size_t n) {
  PeerList fresh;
  fresh.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    fresh.push_back(std::make_shared<SwarmPeer>(io_, master_, group_, board_));
    peers_.push_back(fresh.back());
  }
  for (auto& peer : fresh)
    peer->start();
  return fresh;
}

Status Swarm::closeAll(Clock::time_point deadline) {
  const uint64_t total = peers_.size();
  for (auto& peer : peers_)
    peer->close();
  // Failures do not matter any more: only that every connection has ended.
  while (board_.read().closed < total) {
    if (Clock::now() >= deadline) return timeoutError("closing the swarm's connections");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::ok();
}

}  // namespace eccl::tools::swarm
