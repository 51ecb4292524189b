#include "tools/eccl-bench/p2p_report.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "tools/eccl-bench/size_parse.h"

namespace eccl::tools::bench {
namespace {

bool measured(const std::optional<ComparatorRuns>& comparator) {
  return comparator && !comparator->gbit_s.empty();
}

// "21.35", or "-" when there is nothing to show.
std::string cell(const std::vector<double>& values, bool use_best) {
  if (values.empty()) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", use_best ? best(values) : median(values));
  return text;
}

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

double best(const std::vector<double>& values) {
  return values.empty() ? 0 : *std::max_element(values.begin(), values.end());
}

P2pReport::P2pReport(bool json, std::string comparator)
    : json_(json), comparator_(std::move(comparator)) {}

void P2pReport::printHeader() const {
  if (json_) return;
  std::printf("# eccl-bench p2p: one ECCL channel between two processes\n");
  std::printf("# throughput in Gbit/s (1e9 bit/s): median and best over timed iterations");
  if (!comparator_.empty()) std::printf(" (%s: over runs)", comparator_.c_str());
  std::printf("\n");
  std::printf("# %6s %10s %6s %9s %9s", "conns", "size", "iters", "median", "best");
  if (!comparator_.empty()) {
    const std::string ratio = "eccl/" + comparator_;
    std::printf(" %5s %14s %14s %12s", "runs", (comparator_ + " median").c_str(),
                (comparator_ + " best").c_str(), ratio.c_str());
  }
  std::printf("  %s\n", "check");
  std::fflush(stdout);
}

void P2pReport::printRow(const P2pRow& row) const {
  if (json_) {
    printJson(row);
  } else {
    printTableRow(row);
  }
  std::fflush(stdout);
}

void P2pReport::printTableRow(const P2pRow& row) const {
  std::printf("  %6d %10s %6zu %9s %9s", row.connections, formatSize(row.bytes).c_str(),
              row.gbit_s.size(), cell(row.gbit_s, false).c_str(), cell(row.gbit_s, true).c_str());
  if (!comparator_.empty()) {
    static const std::vector<double> kNone;
    const auto& runs = row.comparator ? row.comparator->gbit_s : kNone;
    std::string ratio = "-";
    if (measured(row.comparator) && !row.gbit_s.empty()) {
      char text[32];
      std::snprintf(text, sizeof(text), "%.2f", median(row.gbit_s) / median(runs));
      ratio = text;
    }
    std::printf(" %5zu %14s %14s %12s", runs.size(), cell(runs, false).c_str(),
                cell(runs, true).c_str(), ratio.c_str());
  }
  std::printf("  %s\n", row.ok ? "ok" : "FAILED");
  if (!row.error.empty()) std::printf("#   error: %s\n", row.error.c_str());
  if (row.comparator && !row.comparator->error.empty()) {
    std::printf("#   %s: %s\n", row.comparator->impl.c_str(), row.comparator->error.c_str());
  }
}

void P2pReport::printJson(const P2pRow& row) const {
  nlohmann::ordered_json eccl = {
      {"bench", "p2p"},
      {"impl", "eccl"},
      {"connections", row.connections},
      {"bytes", row.bytes},
      {"iters", row.gbit_s.size()},
      {"gbit_s", median(row.gbit_s)},
      {"gbit_s_best", best(row.gbit_s)},
      {"ok", row.ok},
      {"chunk_bytes", row.chunk_bytes},
      {"warmup", row.warmup},
      {"rounds", row.rounds},
  };
  if (measured(row.comparator) && !row.gbit_s.empty()) {
    eccl["vs_" + row.comparator->impl] = median(row.gbit_s) / median(row.comparator->gbit_s);
  }
  if (!row.error.empty()) eccl["error"] = row.error;
  std::printf("%s\n", eccl.dump().c_str());
  if (!row.comparator) return;

  const ComparatorRuns& runs = *row.comparator;
  nlohmann::ordered_json other = {
      {"bench", "p2p"},
      {"impl", runs.impl},
      {"connections", row.connections},
      {"bytes", row.bytes},
      {"bytes_per_run", runs.bytes_per_run},
      {"runs", runs.gbit_s.size()},
  };
  if (!runs.gbit_s.empty()) {
    other["gbit_s"] = median(runs.gbit_s);
    other["gbit_s_best"] = best(runs.gbit_s);
  }
  if (!runs.error.empty()) other["error"] = runs.error;
  std::printf("%s\n", other.dump().c_str());
}

}  // namespace eccl::tools::bench
