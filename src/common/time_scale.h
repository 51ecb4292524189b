// ECCL_TEST_TIME_SCALE: a factor (default 1) by which tests and tools stretch
// their deadlines when running under sanitizers or on slow machines, instead
// of using loose fixed deadlines everywhere.
#pragma once

#include <chrono>

namespace eccl {

double timeScale();

template <typename Rep, typename Period>
std::chrono::milliseconds scaled(std::chrono::duration<Rep, Period> d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  return std::chrono::milliseconds(static_cast<long long>(ms.count() * timeScale()));
}

}  // namespace eccl
