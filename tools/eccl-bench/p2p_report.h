// The results of `eccl-bench p2p`: a human table or JSON lines on stdout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace eccl::tools::bench {

// Throughput in Gbit/s (1e9 bit/s) of one transfer.
inline double gbitPerSecond(uint64_t bytes, double seconds) {
  return static_cast<double>(bytes) * 8.0 / seconds / 1e9;
}

struct ComparatorRuns {
  std::string impl;            // "iperf3"
  uint64_t bytes_per_run = 0;  // message size × timed iterations per round
  std::vector<double> gbit_s;  // one per run
  std::string error;           // why it was not (fully) measured
};

struct P2pRow {
  int connections = 0;
  uint64_t bytes = 0;
  uint32_t chunk_bytes = 0;
  int warmup = 0;
  int rounds = 0;
  std::vector<double> gbit_s;  // one per timed ECCL iteration
  bool ok = false;             // every iteration arrived and every byte was right
  std::string error;
  std::optional<ComparatorRuns> comparator;
};

double median(std::vector<double> values);
double best(const std::vector<double>& values);

class P2pReport {
 public:
  // `comparator`: the --compare value ("" for none), for the table's columns.
  P2pReport(bool json, std::string comparator);
  void printHeader() const;
  void printRow(const P2pRow& row) const;

 private:
  void printJson(const P2pRow& row) const;
  void printTableRow(const P2pRow& row) const;

  bool json_;
  std::string comparator_;
};

}  // namespace eccl::tools::bench
