// ecclStageRecover: the C view of checkfree::recoverStage.
#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "eccl/eccl.h"
#include "src/checkfree/stage_recovery.h"

static_assert(ECCL_STAGE_RECOVER_DEFAULT_EPSILON == eccl::checkfree::kDefaultEpsilon,
              "the header's default epsilon is the library's");

extern "C" {

ECCL_API ecclResult_t ecclStageRecover(const void* prev, double prev_norm, const void* next,
                                       double next_norm, void* out, size_t count,
                                       ecclDataType_t dtype, double epsilon) {
  return eccl::capi::guarded([&]() -> eccl::Status {
    constexpr const char* kFn = "ecclStageRecover";
    auto type = eccl::capi::dtypeOf(dtype, kFn);
    if (!type) return type.status();
    return eccl::checkfree::recoverStage(prev, prev_norm, next, next_norm, out, count, *type,
                                         epsilon)
        .withContext(kFn);
  });
}

}  // extern "C"
