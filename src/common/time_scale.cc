#include "src/common/time_scale.h"

#include <cstdlib>

namespace eccl {

double timeScale() {
  static const double factor = [] {
    const char* value = std::getenv("ECCL_TEST_TIME_SCALE");
    if (value == nullptr) return 1.0;
    char* end = nullptr;
    double parsed = std::strtod(value, &end);
    return (end != value && parsed >= 1.0 && parsed <= 100.0) ? parsed : 1.0;
  }();
  return factor;
}

}  // namespace eccl
