// The command line of `eccl-bench diloco` and its hidden worker subcommand.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "tools/eccl-bench/diloco.h"

namespace eccl::tools::bench {

class DilocoCommands {
 public:
  // Adds both subcommands to app.
  explicit DilocoCommands(CLI::App& app);
  // Whether one of them was given; run() then runs it (the exit status).
  bool chosen() const;
  int run();

 private:
  CLI::App* bench_ = nullptr;
  CLI::App* worker_ = nullptr;
  DilocoOptions options_;
  std::string size_ = "64M";
  double compute_s_ = 1.0;
  std::string compute_kind_ = "spin";
  int timeout_s_ = 300;
  DilocoWorkerOptions worker_options_;
  long long worker_compute_ms_ = 0;
  long long worker_timeout_ms_ = 0;
  std::string worker_compute_kind_;
};

}  // namespace eccl::tools::bench
