#include "src/coll/allreduce_args.h"

#include <cstdint>
#include <limits>
#include <string>

#include "src/coll/op_key.h"

namespace eccl::coll {

Status checkAllReduceArgs(const AllReduceArgs& a) {
  if (!reduce::isValid(a.dtype)) {
    return invalidArgument("allReduce: unknown dtype " + std::to_string(static_cast<int>(a.dtype)));
  }
  if (!reduce::isValid(a.op)) {
    return invalidArgument("allReduce: unknown op " + std::to_string(static_cast<int>(a.op)));
  }
  ECCL_RETURN_IF_ERROR(checkOpKey({0, a.tag, 0}));
  if (a.quantized()) {
    if (Status valid = quant::validate(a.quant, a.dtype); !valid.isOk()) {
      return valid.withContext("allReduce");
    }
  }
  if (a.count == 0) return Status::ok();
  if (a.send == nullptr) return invalidArgument("allReduce: sendbuf is NULL");
  if (a.recv == nullptr) return invalidArgument("allReduce: recvbuf is NULL");
  const size_t element = reduce::dtypeSize(a.dtype);
  if (a.count > std::numeric_limits<size_t>::max() / element) {
    return invalidArgument("allReduce: count " + std::to_string(a.count) + " of " +
                           reduce::dtypeName(a.dtype) + " overflows the address space");
  }
  const size_t bytes = a.count * element;
  const auto send = reinterpret_cast<uintptr_t>(a.send);
  const auto recv = reinterpret_cast<uintptr_t>(a.recv);
  if (send != recv && send < recv + bytes && recv < send + bytes) {
    return invalidArgument(
        "allReduce: sendbuf and recvbuf overlap without being equal (pass the same pointer for "
        "an in-place op)");
  }
  return Status::ok();
}

}  // namespace eccl::coll
