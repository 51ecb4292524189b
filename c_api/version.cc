#include "c_api/errors.h"
#include "eccl/eccl.h"

extern "C" ECCL_API ecclResult_t ecclGetVersion(int* version) {
  return eccl::capi::guarded([&] {
    if (version == nullptr) return eccl::invalidArgument("ecclGetVersion: version is NULL");
    *version = ECCL_VERSION_CODE;
    return eccl::Status::ok();
  });
}
