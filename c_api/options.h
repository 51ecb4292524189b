// C configs to the C++ options of the master and the communicator: checks
// every field, naming it in the error text.
#pragma once

#include "eccl/eccl.h"
#include "src/comm/communicator.h"
#include "src/common/status.h"
#include "src/membership/master_server.h"

namespace eccl::capi {

// fn names the API call in error texts ("ecclMasterCreate").
Result<membership::MasterOptions> toMasterOptions(const ecclMasterConfig_t& config, const char* fn);
Result<comm::CommOptions> toCommOptions(const ecclCommConfig_t& config, const char* fn);

}  // namespace eccl::capi
