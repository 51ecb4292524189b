// ecclMasterConfigInit and ecclCommConfigInit: defaults, then environment overrides.
#include "c_api/env.h"
#include "c_api/errors.h"
#include "c_api/init.h"
#include "eccl/eccl.h"

namespace eccl::capi {
namespace {

ecclMasterConfig_t masterDefaults() {
  ecclMasterConfig_t config{};
  config.struct_size = sizeof(ecclMasterConfig_t);
  config.listen_addr = "0.0.0.0:0";
  config.heartbeat_ms = 250;
  config.miss_limit = 4;
  config.channel_setup_timeout_ms = 10'000;
  config.register_timeout_ms = 5'000;
  config.token_key_file = nullptr;
  config.hung_ms = 10'000;
  config.anomaly_window_ms = 10'000;
  config.confirm_ms = 5'000;
  config.frozen_ms = 10'000;
  config.eviction_cooldown_ms = 30'000;
  config.evict_hung = 1;
  config.evict_stragglers = 0;
  config.evict_slow_nodes = 0;
  config.straggler_share = 0.25;
  config.straggler_factor = 4.0;
  config.link_busy_share = 0.5;
  config.link_busy_factor = 3.0;
  config.rejoin_backoff_ms = 10'000;
  config.rejoin_backoff_max_ms = 300'000;
  config.secret_file = nullptr;
  config.tls_ca_file = nullptr;
  config.tls_cert_file = nullptr;
  config.tls_key_file = nullptr;
  return config;
}

Status masterFromEnvironment(ecclMasterConfig_t& config) {
  ECCL_RETURN_IF_ERROR(envAddress("ECCL_MASTER_LISTEN", false, false, config.listen_addr));
  ECCL_RETURN_IF_ERROR(envUint32("ECCL_HEARTBEAT_MS", config.heartbeat_ms));
  ECCL_RETURN_IF_ERROR(envUint32("ECCL_MISS_LIMIT", config.miss_limit));
  ECCL_RETURN_IF_ERROR(envText("ECCL_TOKEN_KEY_FILE", true, config.token_key_file));
  ECCL_RETURN_IF_ERROR(envText("ECCL_SECRET_FILE", true, config.secret_file));
  ECCL_RETURN_IF_ERROR(envText("ECCL_TLS_CA", true, config.tls_ca_file));
  ECCL_RETURN_IF_ERROR(envText("ECCL_TLS_CERT", true, config.tls_cert_file));
  return envText("ECCL_TLS_KEY", true, config.tls_key_file);
}

ecclCommConfig_t commDefaults() {
  ecclCommConfig_t config{};
  config.struct_size = sizeof(ecclCommConfig_t);
  config.master = nullptr;
  config.group = "default";
  config.listen_addr = "0.0.0.0:0";
  config.advertise_addr = nullptr;
  config.connections_per_peer = 4;
  config.timeout_ms = 30'000;
  config.preserve_input = 0;
  config.small_allreduce_bytes = 65536;
  config.stage = -1;
  config.num_stages = 0;
  config.secret_file = nullptr;
  config.tls_ca_file = nullptr;
  config.tls_cert_file = nullptr;
  config.tls_key_file = nullptr;
  config.tls_data = "auto";
  config.transport = "auto";
  return config;
}

Status commFromEnvironment(ecclCommConfig_t& config) {
  ECCL_RETURN_IF_ERROR(envAddress("ECCL_MASTER", false, false, config.master));
  ECCL_RETURN_IF_ERROR(envText("ECCL_GROUP", false, config.group));
  ECCL_RETURN_IF_ERROR(envAddress("ECCL_LISTEN_ADDR", false, false, config.listen_addr));
  ECCL_RETURN_IF_ERROR(envAddress("ECCL_ADVERTISE_ADDR", true, true, config.advertise_addr));
  ECCL_RETURN_IF_ERROR(envUint32("ECCL_CONNECTIONS", config.connections_per_peer));
  ECCL_RETURN_IF_ERROR(envUint32("ECCL_TIMEOUT_MS", config.timeout_ms));
  ECCL_RETURN_IF_ERROR(envUint32("ECCL_PRESERVE_INPUT", config.preserve_input));
  ECCL_RETURN_IF_ERROR(envUint32("ECCL_SMALL_ALLREDUCE_BYTES", config.small_allreduce_bytes));
  ECCL_RETURN_IF_ERROR(envInt32("ECCL_STAGE", config.stage));
  ECCL_RETURN_IF_ERROR(envInt32("ECCL_NUM_STAGES", config.num_stages));
  ECCL_RETURN_IF_ERROR(envText("ECCL_SECRET_FILE", true, config.secret_file));
  ECCL_RETURN_IF_ERROR(envText("ECCL_TLS_CA", true, config.tls_ca_file));
  ECCL_RETURN_IF_ERROR(envText("ECCL_TLS_CERT", true, config.tls_cert_file));
  ECCL_RETURN_IF_ERROR(envText("ECCL_TLS_KEY", true, config.tls_key_file));
  ECCL_RETURN_IF_ERROR(envText("ECCL_TLS_DATA", true, config.tls_data));
  return envText("ECCL_TRANSPORT", true, config.transport);
}

// Writes the defaults even when the environment is malformed, so that the
// caller's struct is always initialised.
template <typename Config>
Status fill(Config* config, const char* fn, Config (*defaults)(), Status (*environment)(Config&)) {
  if (config == nullptr) return invalidArgument(std::string(fn) + ": config is NULL");
  ensureInit();
  Config made = defaults();
  Status status = environment(made);
  *config = status.isOk() ? made : defaults();
  return status.isOk() ? status : status.withContext(fn);
}

}  // namespace
}  // namespace eccl::capi

extern "C" {

ECCL_API ecclResult_t ecclMasterConfigInit(ecclMasterConfig_t* config) {
  using namespace eccl::capi;
  return guarded(
      [&] { return fill(config, "ecclMasterConfigInit", masterDefaults, masterFromEnvironment); });
}

ECCL_API ecclResult_t ecclCommConfigInit(ecclCommConfig_t* config) {
  using namespace eccl::capi;
  return guarded(
      [&] { return fill(config, "ecclCommConfigInit", commDefaults, commFromEnvironment); });
}

}  // extern "C"
