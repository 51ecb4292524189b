#include "tools/eccl-bench/progress.h"

#include <unistd.h>

#include <cstdio>

namespace eccl::tools::bench {

ProgressLine::ProgressLine() : terminal_(isatty(STDERR_FILENO) == 1) {}

void ProgressLine::update(const std::string& text) {
  const auto now = std::chrono::steady_clock::now();
  if (!terminal_) {
    if (now - last_print_ < std::chrono::seconds(1)) return;
    last_print_ = now;
    std::fprintf(stderr, "%s\n", text.c_str());
    return;
  }
  // Pad over the rest of a longer previous line.
  const int pad = shown_width_ > text.size() ? static_cast<int>(shown_width_ - text.size()) : 0;
  std::fprintf(stderr, "\r%s%*s", text.c_str(), pad, "");
  std::fflush(stderr);
  shown_width_ = text.size();
}

void ProgressLine::clear() {
  if (!terminal_ || shown_width_ == 0) return;
  std::fprintf(stderr, "\r%*s\r", static_cast<int>(shown_width_), "");
  std::fflush(stderr);
  shown_width_ = 0;
}

}  // namespace eccl::tools::bench
