// ecclCommSetEventCallback: the comm's events handed to a C function on the
// comm's event thread (src/comm/event_queue.h) instead of being queued.
#include <string>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "eccl/eccl.h"

extern "C" {

ECCL_API ecclResult_t ecclCommSetEventCallback(ecclComm_t comm, ecclEventCallback_t callback,
                                               void* user_data) {
  return eccl::capi::guarded([&]() -> eccl::Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommSetEventCallback"));
    if (callback == nullptr) {
      comm->impl->setEventCallback(nullptr);
      return eccl::Status::ok();
    }
    comm->impl->setEventCallback([callback, user_data](const eccl::comm::Event& from) {
      ecclEvent_t event{};
      event.struct_size = sizeof(event);
      eccl::capi::fillEvent(&from, &event);
      callback(&event, user_data);
    });
    return eccl::Status::ok();
  });
}

}  // extern "C"
