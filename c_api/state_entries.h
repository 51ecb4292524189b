// The C view of shared-state entries onto state::Entry, for
// ecclSyncSharedState, ecclCommConnectWithState and the DiLoCo loop's extra state.
#pragma once

#include <cstddef>
#include <vector>

#include "eccl/eccl.h"
#include "src/common/status.h"
#include "src/state/shared_state.h"

namespace eccl::capi {

// Checks the count limit, NULL names and dtypes; fn names the caller in errors.
// The rest (names, overlap) is validateState's.
Result<std::vector<state::Entry>> toStateEntries(const ecclSharedStateEntry_t* entries,
                                                 size_t nentries, const char* fn);

}  // namespace eccl::capi
