#include "src/coll/op_progress.h"

namespace eccl::coll {

const char* opPhaseName(OpPhase phase) {
  switch (phase) {
    case OpPhase::kQueued:
      return "queued";
    case OpPhase::kHeaders:
      return "headers";
    case OpPhase::kData:
      return "data";
    case OpPhase::kCompletion:
      return "completion";
    case OpPhase::kDone:
      return "done";
  }
  return "unknown";
}

}  // namespace eccl::coll
