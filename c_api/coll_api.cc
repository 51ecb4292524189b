// ecclAllReduce: the C shim over Communicator::allReduce.
#include <string>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handles.h"
#include "eccl/eccl.h"
#include "src/reduce/reduce.h"

namespace {

using eccl::Status;
using eccl::capi::guarded;

// The C enums are the core's values: a cast is the whole conversion.
static_assert(ecclInt8 == static_cast<int>(eccl::reduce::DType::kI8));
static_assert(ecclBfloat16 == static_cast<int>(eccl::reduce::DType::kBF16));
static_assert(ecclFloat64 == static_cast<int>(eccl::reduce::DType::kF64));
static_assert(ecclSum == static_cast<int>(eccl::reduce::ReduceOp::kSum));
static_assert(ecclAvg == static_cast<int>(eccl::reduce::ReduceOp::kAvg));
static_assert(ecclMax == static_cast<int>(eccl::reduce::ReduceOp::kMax));

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclAllReduce(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                    size_t count, ecclDataType_t dtype, ecclRedOp_t op,
                                    const void* quant, uint64_t tag, int64_t timeout_ms,
                                    ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    if (comm == nullptr) return eccl::invalidArgument("ecclAllReduce: comm is NULL");
    auto type = eccl::capi::dtypeOf(dtype, "ecclAllReduce");
    if (!type) return type.status();
    const int reduction = eccl::capi::enumValue(op);
    if (reduction < 0 || reduction >= eccl::reduce::kNumReduceOps) {
      return eccl::invalidArgument("ecclAllReduce: unknown op " + std::to_string(reduction));
    }
    if (quant != nullptr) {
      return eccl::unsupportedError(
          "ecclAllReduce: quantization is not supported in this version (pass quant = NULL)");
    }
    ECCL_RETURN_IF_ERROR(eccl::capi::checkOpInfo(info, "ecclAllReduce"));
    eccl::coll::OpInfo stats;
    Status status = comm->impl->allReduce(
        sendbuf, recvbuf, count, *type, static_cast<eccl::reduce::ReduceOp>(reduction), tag,
        eccl::capi::timeoutOf(*comm, timeout_ms), info != nullptr ? &stats : nullptr);
    eccl::capi::fillOpInfo(info, stats);
    return status.withContext("ecclAllReduce");
  });
}

}  // extern "C"
