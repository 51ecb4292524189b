#include "tools/eccl-stress/summary.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace eccl::tools::stress {

std::string formatSummaryText(const Summary& s) {
  std::string codes;
  for (const auto& [code, count] : s.failures_by_code)
    codes += (codes.empty() ? " (" : ", ") + code + " " + std::to_string(count);
  if (!codes.empty()) codes += ")";
  std::string where = s.netlab.empty() ? "" : " in lab " + s.netlab;
  if (!s.quant.empty()) where += ", quant " + s.quant;
  char text[2048];
  std::snprintf(
      text, sizeof text,
      "summary: seed %llu, %d peers, %.1f s%s: %s\n"
      "  steps        %llu ops completed (most by one peer: %llu; %llu ok step lines)\n"
      "  faults       joins %llu, kills %llu, hangs %llu (%llu resumed), leaves %llu, "
      "skipped %llu\n"
      "  failed steps %llu%s\n"
      "  max stall    %lld ms (stuck bound %lld ms)\n"
      "  parity       %llu checks, %llu failures (state: %llu syncs of %llu revisions, %llu "
      "checks, %llu failed syncs)\n"
      "  failures     wrong results %llu, crashes %llu, stuck %llu, bad lines %llu\n"
      "  peers at end %d\n",
      static_cast<unsigned long long>(s.seed), s.peers, s.duration_s, where.c_str(),
      s.passed() ? "PASSED" : "FAILED", static_cast<unsigned long long>(s.steps),
      static_cast<unsigned long long>(s.max_peer_steps),
      static_cast<unsigned long long>(s.ok_step_lines), static_cast<unsigned long long>(s.joins),
      static_cast<unsigned long long>(s.kills), static_cast<unsigned long long>(s.hangs),
      static_cast<unsigned long long>(s.hangs_resumed), static_cast<unsigned long long>(s.leaves),
      static_cast<unsigned long long>(s.skipped_faults),
      static_cast<unsigned long long>(s.failed_steps), codes.c_str(),
      static_cast<long long>(s.max_stall_ms), static_cast<long long>(s.stuck_bound_ms),
      static_cast<unsigned long long>(s.parity_checks),
      static_cast<unsigned long long>(s.parity_failures),
      static_cast<unsigned long long>(s.state_syncs),
      static_cast<unsigned long long>(s.state_revisions),
      static_cast<unsigned long long>(s.state_parity_checks),
      static_cast<unsigned long long>(s.failed_state_syncs),
      static_cast<unsigned long long>(s.wrong_results), static_cast<unsigned long long>(s.crashes),
      static_cast<unsigned long long>(s.stuck), static_cast<unsigned long long>(s.bad_lines),
      s.peers_at_end);
  std::string out = text;
  if (!s.anomalies.empty()) {
    out += "  anomalies   ";
    for (const auto& [kind, count] : s.anomalies) {
      char part[128];
      auto first = s.first_anomaly_s.find(kind);
      std::snprintf(part, sizeof part, " %s %llu (first %.1f s into training);", kind.c_str(),
                    static_cast<unsigned long long>(count),
                    first != s.first_anomaly_s.end() ? first->second : -1.0);
      out += part;
    }
    out += "\n";
  }
  return out;
}

std::string formatSummaryJson(const Summary& s) {
  return nlohmann::json{{"tool", "eccl-stress"},
                        {"seed", s.seed},
                        {"peers", s.peers},
                        {"duration_s", s.duration_s},
                        {"steps", s.steps},
                        {"max_peer_steps", s.max_peer_steps},
                        {"ok_step_lines", s.ok_step_lines},
                        {"joins", s.joins},
                        {"kills", s.kills},
                        {"hangs", s.hangs},
                        {"hangs_resumed", s.hangs_resumed},
                        {"leaves", s.leaves},
                        {"skipped_faults", s.skipped_faults},
                        {"failed_steps", s.failed_steps},
                        {"failures_by_code", s.failures_by_code},
                        {"max_stall_ms", s.max_stall_ms},
                        {"stuck_bound_ms", s.stuck_bound_ms},
                        {"parity_checks", s.parity_checks},
                        {"parity_failures", s.parity_failures},
                        {"wrong_results", s.wrong_results},
                        {"crashes", s.crashes},
                        {"stuck", s.stuck},
                        {"bad_lines", s.bad_lines},
                        {"peers_at_end", s.peers_at_end},
                        {"netlab", s.netlab},
                        {"anomalies", s.anomalies},
                        {"first_anomaly_s", s.first_anomaly_s},
                        {"quant", s.quant},
                        {"state_syncs", s.state_syncs},
                        {"failed_state_syncs", s.failed_state_syncs},
                        {"state_parity_checks", s.state_parity_checks},
                        {"state_revisions", s.state_revisions},
                        {"ok", s.passed()}}
      .dump();
}

}  // namespace eccl::tools::stress
