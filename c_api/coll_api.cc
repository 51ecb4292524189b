// ecclAllReduce: the C shim over Communicator::allReduce.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "c_api/errors.h"
#include "c_api/handles.h"
#include "c_api/struct_size.h"
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

constexpr size_t kOpInfoMinSize = ECCL_CAPI_FIELD_END(ecclOpInfo_t, world_size);
// Same rule as the other blocking calls (comm_api.cc): longer is a year.
constexpr int64_t kMaxTimeoutMs = 365LL * 24 * 3600 * 1000;

// A C caller may pass any int as an enum: read it as the int it is.
template <typename Enum>
int enumValue(Enum value) {
  int code;
  static_assert(sizeof(code) == sizeof(value));
  std::memcpy(&code, &value, sizeof(code));
  return code;
}

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclAllReduce(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                    size_t count, ecclDataType_t dtype, ecclRedOp_t op,
                                    const void* quant, uint64_t tag, int64_t timeout_ms,
                                    ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    if (comm == nullptr) return eccl::invalidArgument("ecclAllReduce: comm is NULL");
    const int type = enumValue(dtype);
    if (type < 0 || type >= eccl::reduce::kNumDTypes) {
      return eccl::invalidArgument("ecclAllReduce: unknown dtype " + std::to_string(type));
    }
    const int reduction = enumValue(op);
    if (reduction < 0 || reduction >= eccl::reduce::kNumReduceOps) {
      return eccl::invalidArgument("ecclAllReduce: unknown op " + std::to_string(reduction));
    }
    if (quant != nullptr) {
      return eccl::unsupportedError(
          "ecclAllReduce: quantization is not supported in this version (pass quant = NULL)");
    }
    if (info != nullptr) {
      ECCL_RETURN_IF_ERROR(eccl::capi::checkStructSize(
          info->struct_size, kOpInfoMinSize, sizeof(ecclOpInfo_t), "ecclAllReduce: info"));
    }
    const auto timeout = timeout_ms < 0
                             ? comm->impl->options().timeout
                             : std::chrono::milliseconds(std::min(timeout_ms, kMaxTimeoutMs));
    eccl::coll::OpInfo stats;
    Status status =
        comm->impl->allReduce(sendbuf, recvbuf, count, static_cast<eccl::reduce::DType>(type),
                              static_cast<eccl::reduce::ReduceOp>(reduction), tag, timeout,
                              info != nullptr ? &stats : nullptr);
    if (info != nullptr) {
      info->bytes_sent = stats.bytes_sent;
      info->bytes_received = stats.bytes_received;
      info->wall_time_ns = static_cast<uint64_t>(stats.wall_time.count());
      info->world_size = static_cast<int32_t>(stats.world_size);
    }
    return status.withContext("ecclAllReduce");
  });
}

}  // extern "C"
