#include "tools/eccl-bench/diloco_cli.h"

#include <cstdio>

#include "tools/eccl-bench/size_parse.h"

namespace eccl::tools::bench {

DilocoCommands::DilocoCommands(CLI::App& app) {
  bench_ = app.add_subcommand(
      "diloco",
      "DiLoCo's round time, synchronous vs one-step-delayed (asynchronous), on one ring in one "
      "run, beside the inner compute and the all-reduce alone");
  bench_->add_option("--size", size_, "Bytes of f32 parameters (K/M/G suffixes: binary units)")
      ->capture_default_str();
  bench_->add_option("--members", options_.members, "Peers in the ring")
      ->check(CLI::Range(2, 64))
      ->capture_default_str();
  bench_->add_option("--rounds", options_.rounds, "Rounds per mode (the first is not counted)")
      ->check(CLI::Range(2, 10'000))
      ->capture_default_str();
  bench_->add_option("--compute", compute_s_, "Seconds of inner compute per round")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  bench_
      ->add_option("--compute-kind", compute_kind_,
                   "spin: one thread busy (a CPU trainer); sleep: the CPU idle (a GPU computes)")
      ->check(CLI::IsMember({"spin", "sleep"}))
      ->capture_default_str();
  bench_->add_option("--connections", options_.connections, "TCP connections per channel (K)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  bench_->add_option("--netlab", options_.netlab,
                     "Run in an eccl-netlab lab brought up for the run (root): lan:RATE or "
                     "wan:RATE:RTT; member i on host i");
  bench_->add_option("--timeout", timeout_s_, "Seconds any single call may take")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  bench_->add_flag("--json", options_.json, "One JSON object instead of a table");

  worker_ = app.add_subcommand("diloco-worker", "Peer process of diloco (internal)");
  worker_->group("");
  worker_->add_option("--master-host", worker_options_.master_host);
  worker_->add_option("--master-port", worker_options_.master_port)->required();
  worker_->add_option("--host", worker_options_.host);
  worker_->add_option("--members", worker_options_.members)->required();
  worker_->add_option("--bytes", worker_options_.bytes)->required();
  worker_->add_option("--rounds", worker_options_.rounds)->required();
  worker_->add_option("--compute-ms", worker_compute_ms_)->required();
  worker_->add_option("--compute", worker_compute_kind_)->required();
  worker_->add_option("--connections", worker_options_.connections)->required();
  worker_->add_option("--timeout-ms", worker_timeout_ms_)->required();
}

bool DilocoCommands::chosen() const {
  return bench_->parsed() || worker_->parsed();
}

int DilocoCommands::run() {
  if (worker_->parsed()) {
    worker_options_.compute = std::chrono::milliseconds(worker_compute_ms_);
    worker_options_.compute_kind =
        worker_compute_kind_ == "sleep" ? ComputeKind::kSleep : ComputeKind::kSpin;
    worker_options_.timeout = std::chrono::milliseconds(worker_timeout_ms_);
    return runDilocoWorker(worker_options_);
  }
  auto bytes = parseSize(size_);
  if (!bytes || *bytes < sizeof(float)) {
    std::fprintf(stderr, "eccl-bench diloco: --size '%s' is not a size of at least 4 bytes\n",
                 size_.c_str());
    return 2;
  }
  options_.bytes = *bytes;
  options_.compute = std::chrono::milliseconds(static_cast<int64_t>(compute_s_ * 1000));
  options_.compute_kind = compute_kind_ == "sleep" ? ComputeKind::kSleep : ComputeKind::kSpin;
  options_.timeout = std::chrono::seconds(timeout_s_);
  return runDiloco(options_);
}

}  // namespace eccl::tools::bench
