// The master's /status page: a snapshot as one JSON document.
#pragma once

#include <nlohmann/json.hpp>

#include "src/membership/master_state.h"

namespace eccl::tools::master {

// {"incarnation":..,"peers":[..],"groups":[..],"counters":{..}}; peers sorted by
// group, then ring rank (accepted peers first), then id, so that output is stable.
nlohmann::json statusJson(const membership::MasterSnapshot& snapshot);

}  // namespace eccl::tools::master
