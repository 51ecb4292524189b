// A progress line on stderr for long benchmark runs: redrawn in place on a
// terminal, printed at most once a second elsewhere (logs stay short).
#pragma once

#include <chrono>
#include <string>

namespace eccl::tools::bench {

class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine() { clear(); }

  void update(const std::string& text);
  // Erases the line (on a terminal) before something else is printed.
  void clear();

 private:
  bool terminal_;
  size_t shown_width_ = 0;
  std::chrono::steady_clock::time_point last_print_{};
};

}  // namespace eccl::tools::bench
