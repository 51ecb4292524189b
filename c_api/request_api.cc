// ecclTest, ecclWait, ecclRequestFree: the outcome of asynchronous operations.
#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "eccl/eccl.h"

namespace {

using eccl::Status;
using eccl::capi::guarded;

// The op's result, its report copied into info.
Status outcome(const eccl::comm::Request& request, ecclOpInfo_t* info, const char* fn) {
  eccl::capi::fillOpInfo(info, request.info());
  return request.status().withContext(fn);
}

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclTest(ecclRequest_t request, int* done, ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkRequest(request, "ecclTest"));
    if (done == nullptr) return eccl::invalidArgument("ecclTest: done is NULL");
    ECCL_RETURN_IF_ERROR(eccl::capi::checkOpInfo(info, "ecclTest"));
    *done = request->impl->done() ? 1 : 0;
    if (*done == 0) return Status::ok();
    return outcome(*request->impl, info, "ecclTest");
  });
}

ECCL_API ecclResult_t ecclWait(ecclRequest_t request, ecclOpInfo_t* info) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkRequest(request, "ecclWait"));
    ECCL_RETURN_IF_ERROR(eccl::capi::checkOpInfo(info, "ecclWait"));
    (void)request->impl->wait();
    return outcome(*request->impl, info, "ecclWait");
  });
}

ECCL_API ecclResult_t ecclRequestFree(ecclRequest_t request) {
  return guarded([&]() -> Status {
    if (request == nullptr || eccl::capi::isForkedCopy(request)) return Status::ok();
    if (!request->impl->done()) {
      return eccl::invalidUsage(
          "ecclRequestFree: the request is still running (it uses the caller's buffers): "
          "ecclWait for it first");
    }
    delete request;
    return Status::ok();
  });
}

}  // extern "C"
