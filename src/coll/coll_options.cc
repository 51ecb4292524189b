#include "src/coll/coll_options.h"

namespace eccl::coll {

Status CollOptions::validate() const {
  if (chunk_bytes == 0) return invalidArgument("collectives: chunk_bytes must be positive");
  if (pipeline_depth == 0 || pipeline_depth > 64) {
    return invalidArgument("collectives: pipeline_depth must be 1..64");
  }
  if (receives_ahead < pipeline_depth || receives_ahead > 4096) {
    return invalidArgument("collectives: receives_ahead must be pipeline_depth..4096");
  }
  if (max_ops_in_flight == 0 || max_ops_in_flight > 64) {
    return invalidArgument("collectives: max_ops_in_flight must be 1..64");
  }
  return Status::ok();
}

}  // namespace eccl::coll
