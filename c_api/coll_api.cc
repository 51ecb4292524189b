// ecclAllReduce and its Async, WithRetry and Batch forms: the C shims over the
// Communicator's all-reduce, which also turn the C quantization config into the core's.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "eccl/eccl.h"
#include "src/quant/quant.h"
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
static_assert(ecclQuantNone == static_cast<int>(eccl::quant::QuantAlgo::kNone));
static_assert(ecclQuantMinMax == static_cast<int>(eccl::quant::QuantAlgo::kMinMax));
static_assert(ecclQuantZeroPointScale == static_cast<int>(eccl::quant::QuantAlgo::kZeroPointScale));
static_assert(ecclWireUint8 == static_cast<int>(eccl::quant::WireType::kU8));
static_assert(ecclWireInt8 == static_cast<int>(eccl::quant::WireType::kI8));
static_assert(ecclWireUint16 == static_cast<int>(eccl::quant::WireType::kU16));
static_assert(ecclWireFloat16 == static_cast<int>(eccl::quant::WireType::kF16));
static_assert(ecclWireBfloat16 == static_cast<int>(eccl::quant::WireType::kBF16));

struct ReduceArgs {
  eccl::reduce::DType dtype;
  eccl::reduce::ReduceOp op;
  std::optional<eccl::quant::QuantConfig> quant;  // none: exact

  const eccl::quant::QuantConfig* quantOrNull() const { return quant ? &*quant : nullptr; }
};

// The caller's config as the core's; nothing for NULL or ecclQuantNone. Block
// size and dtype are the core's to check (quant::validate, before any message).
eccl::Result<std::optional<eccl::quant::QuantConfig>> quantOf(const ecclQuantConfig_t* quant,
                                                              const char* fn) {
  if (quant == nullptr) return std::optional<eccl::quant::QuantConfig>();
  if (quant->struct_size != sizeof(ecclQuantConfig_t)) {
    return eccl::invalidArgument(
        std::string(fn) + ": quant->struct_size is " + std::to_string(quant->struct_size) +
        ", must be sizeof(ecclQuantConfig_t) = " + std::to_string(sizeof(ecclQuantConfig_t)));
  }
  const int algorithm = eccl::capi::enumValue(quant->algorithm);
  if (algorithm < ecclQuantNone || algorithm > ecclQuantZeroPointScale) {
    return eccl::invalidArgument(std::string(fn) + ": unknown quant->algorithm " +
                                 std::to_string(algorithm));
  }
  if (algorithm == ecclQuantNone) return std::optional<eccl::quant::QuantConfig>();
  const int wire = eccl::capi::enumValue(quant->wire_type);
  if (wire < ecclWireUint8 || wire > ecclWireBfloat16) {
    return eccl::invalidArgument(std::string(fn) + ": unknown quant->wire_type " +
                                 std::to_string(wire));
  }
  return std::optional<eccl::quant::QuantConfig>(
      eccl::quant::QuantConfig{static_cast<eccl::quant::QuantAlgo>(algorithm),
                               static_cast<eccl::quant::WireType>(wire), quant->block_size});
}

// The checks every all-reduce entry point makes before anything else.
eccl::Result<ReduceArgs> allReduceArgs(ecclComm_t comm, const ecclDataType_t& dtype,
                                       const ecclRedOp_t& op, const ecclQuantConfig_t* quant,
                                       const char* fn) {
  ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, fn));
  auto type = eccl::capi::dtypeOf(dtype, fn);
  if (!type) return type.status();
  const int reduction = eccl::capi::enumValue(op);
  if (reduction < 0 || reduction >= eccl::reduce::kNumReduceOps) {
    return eccl::invalidArgument(std::string(fn) + ": unknown op " + std::to_string(reduction));
  }
  auto config = quantOf(quant, fn);
  if (!config) return config.status();
  return ReduceArgs{*type, static_cast<eccl::reduce::ReduceOp>(reduction), *config};
}

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclAllReduce(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                    size_t count, ecclDataType_t dtype, ecclRedOp_t op,
                                    const ecclQuantConfig_t* quant, uint64_t tag,
                                    int64_t timeout_ms, ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    auto args = allReduceArgs(comm, dtype, op, quant, "ecclAllReduce");
    if (!args) return args.status();
    ECCL_RETURN_IF_ERROR(eccl::capi::checkOpInfo(info, "ecclAllReduce"));
    eccl::coll::OpInfo stats;
    Status status = comm->impl->allReduce(sendbuf, recvbuf, count, args->dtype, args->op, tag,
                                          eccl::capi::timeoutOf(*comm, timeout_ms),
                                          info != nullptr ? &stats : nullptr, args->quantOrNull());
    eccl::capi::fillOpInfo(info, stats);
    return status.withContext("ecclAllReduce");
  });
}

ECCL_API ecclResult_t ecclAllReduceWithRetry(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                             size_t count, ecclDataType_t dtype, ecclRedOp_t op,
                                             const ecclQuantConfig_t* quant, uint64_t tag,
                                             int64_t timeout_ms, uint32_t max_attempts,
                                             uint32_t* attempts, ecclOpInfo_t* info) {
  if (attempts != nullptr) *attempts = 0;
  return guarded([&]() -> Status {
    auto args = allReduceArgs(comm, dtype, op, quant, "ecclAllReduceWithRetry");
    if (!args) return args.status();
    ECCL_RETURN_IF_ERROR(eccl::capi::checkOpInfo(info, "ecclAllReduceWithRetry"));
    eccl::coll::OpInfo stats;
    Status status = comm->impl->allReduceWithRetry(sendbuf, recvbuf, count, args->dtype, args->op,
                                                   tag, eccl::capi::timeoutOf(*comm, timeout_ms),
                                                   max_attempts, info != nullptr ? &stats : nullptr,
                                                   attempts, args->quantOrNull());
    eccl::capi::fillOpInfo(info, stats);
    return status.withContext("ecclAllReduceWithRetry");
  });
}

ECCL_API ecclResult_t ecclAllReduceBatch(ecclComm_t comm, const ecclTensor_t* tensors,
                                         size_t ntensors, ecclDataType_t dtype, ecclRedOp_t op,
                                         const ecclQuantConfig_t* quant, uint64_t tag,
                                         int64_t timeout_ms, ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    auto args = allReduceArgs(comm, dtype, op, quant, "ecclAllReduceBatch");
    if (!args) return args.status();
    if (tensors == nullptr && ntensors > 0) {
      return eccl::invalidArgument("ecclAllReduceBatch: tensors is NULL");
    }
    ECCL_RETURN_IF_ERROR(eccl::capi::checkOpInfo(info, "ecclAllReduceBatch"));
    std::vector<eccl::comm::TensorRef> list;
    list.reserve(ntensors);
    for (size_t i = 0; i < ntensors; ++i)
      list.push_back({tensors[i].sendbuf, tensors[i].recvbuf, tensors[i].count});
    eccl::coll::OpInfo stats;
    Status status = comm->impl->allReduceBatch(
        std::move(list), args->dtype, args->op, tag, eccl::capi::timeoutOf(*comm, timeout_ms),
        info != nullptr ? &stats : nullptr, args->quantOrNull());
    eccl::capi::fillOpInfo(info, stats);
    return status.withContext("ecclAllReduceBatch");
  });
}

ECCL_API ecclResult_t ecclAllReduceAsync(ecclComm_t comm, const void* sendbuf, void* recvbuf,
                                         size_t count, ecclDataType_t dtype, ecclRedOp_t op,
                                         const ecclQuantConfig_t* quant, uint64_t tag,
                                         int64_t timeout_ms, ecclRequest_t* request) {
  return guarded([&]() -> Status {
    if (request == nullptr) return eccl::invalidArgument("ecclAllReduceAsync: request is NULL");
    *request = nullptr;
    auto args = allReduceArgs(comm, dtype, op, quant, "ecclAllReduceAsync");
    if (!args) return args.status();
    auto submitted =
        comm->impl->allReduceAsync(sendbuf, recvbuf, count, args->dtype, args->op, tag,
                                   eccl::capi::timeoutOf(*comm, timeout_ms), args->quantOrNull());
    if (!submitted) return submitted.status().withContext("ecclAllReduceAsync");
    auto handle = std::make_unique<ecclRequest>();
    handle->impl = std::move(*submitted);
    *request = handle.release();
    return Status::ok();
  });
}

}  // extern "C"
