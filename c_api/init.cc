#include "c_api/init.h"

#include <mutex>

#include "c_api/errors.h"
#include "eccl/eccl.h"
#include "src/common/log.h"

namespace eccl::capi {

void ensureInit() {
  static std::once_flag once;
  std::call_once(once, [] { log::setLevelFromEnvironment(); });
}

}  // namespace eccl::capi

extern "C" ECCL_API ecclResult_t ecclInit(void) {
  return eccl::capi::guarded([] {
    eccl::capi::ensureInit();
    return eccl::Status::ok();
  });
}
