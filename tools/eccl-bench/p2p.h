// `eccl-bench p2p`: point-to-point throughput of one striped ECCL channel
// between two processes, with iperf3 as an optional comparator in the same run.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace eccl::tools::bench {

struct P2pOptions {
  std::vector<uint64_t> sizes;
  int connections = 4;
  int iters = 5;   // timed iterations per round
  int warmup = 1;  // untimed iterations before the first round
  // With a comparator, ECCL and it take turns this many times (noise hits both).
  int rounds = 1;
  uint32_t chunk_bytes = 1u << 20;
  bool hedge = true;                  // ChannelOptions::hedge_tail_chunks on the sending side
  uint32_t notsent_lowat = 1u << 20;  // ChannelOptions::notsent_lowat on the sending side
  int io_threads = 2;                 // ChannelOptions::io_threads, both sides
  std::string host = "127.0.0.1";
  // ECCL_TRANSPORT's values, both sides: tcp (the default), auto, shm.
  std::string transport = "tcp";
  std::string compare;  // "" or "iperf3"
  bool json = false;
  bool verbose = false;
  // Bound on every single wait (a transfer, an ack, a child's start or exit).
  std::chrono::milliseconds timeout{60'000};
};

// Runs the benchmark and prints its report; the process exit code.
int runP2p(const P2pOptions& options);

// The hidden receiver subcommand, run by runP2p as a child process.
struct P2pReceiverOptions {
  uint64_t size = 0;
  int connections = 4;
  uint32_t chunk_bytes = 1u << 20;
  int io_threads = 1;
  std::string host = "127.0.0.1";
  std::string transport = "tcp";
  uint64_t iterations = 0;  // warm-up and timed, all verified
  uint64_t seed = 0;
  std::chrono::milliseconds timeout{60'000};
};

int runP2pReceiver(const P2pReceiverOptions& options);

}  // namespace eccl::tools::bench
