#include "c_api/options.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "c_api/security_fields.h"
#include "c_api/struct_size.h"
#include "src/common/endpoint_id.h"
#include "src/common/host_port.h"
#include "src/membership/peer_token.h"
#include "src/protocol/control_messages.h"
#include "src/protocol/messages.h"
#include "transport/channel_env.h"

namespace eccl::capi {
namespace {

// The first version of each struct ends with these fields (see struct_size.h).
constexpr size_t kMasterConfigMinSize = ECCL_CAPI_FIELD_END(ecclMasterConfig_t, token_key_file);
constexpr size_t kCommConfigMinSize = ECCL_CAPI_FIELD_END(ecclCommConfig_t, timeout_ms);

Status positive(uint32_t value, const std::string& field) {
  if (value > 0) return Status::ok();
  return invalidArgument(field + " must be > 0");
}

// ecclCommConfig_t.stage and num_stages, with the C field names in the text.
Status stageFields(int32_t stage, int32_t num_stages, const std::string& prefix) {
  const std::string values =
      " (stage " + std::to_string(stage) + ", num_stages " + std::to_string(num_stages) + ")";
  if (stage == -1) {
    if (num_stages == 0) return Status::ok();
    return invalidArgument(prefix + "->num_stages must be 0 when stage is -1 (no pipeline stage)" +
                           values);
  }
  if (stage < 0) {
    return invalidArgument(prefix + "->stage must be -1 (none) or 0..num_stages-1" + values);
  }
  if (num_stages < 1 || num_stages > static_cast<int32_t>(protocol::kMaxStages)) {
    return invalidArgument(prefix + "->num_stages must be 1.." +
                           std::to_string(protocol::kMaxStages) + " with a stage" + values);
  }
  if (stage >= num_stages) {
    return invalidArgument(prefix + "->stage must be below num_stages" + values);
  }
  return Status::ok();
}

Result<HostPort> address(const char* text, bool port_optional, const std::string& field) {
  if (text == nullptr) return invalidArgument(field + " is NULL");
  return parseHostPort(text, port_optional, field);
}

// A new value per master start: peers tell a restarted master from the old one by it.
uint64_t randomIncarnation() {
  const EndpointId random = EndpointId::random();
  uint64_t value;
  std::memcpy(&value, random.bytes.data(), sizeof(value));
  return value | 1;  // never 0, the value of a field nobody set
}

// A number field of ecclMasterConfig_t within [low, high], named as C names it.
template <typename T>
Status inRange(T value, T low, T high, const std::string& field) {
  if (value >= low && value <= high) return Status::ok();  // false for NaN
  return invalidArgument(field + " must be " + std::to_string(low) + ".." + std::to_string(high) +
                         ", got " + std::to_string(value));
}

Status flag(int32_t value, const std::string& field) {
  if (value == 0 || value == 1) return Status::ok();
  return invalidArgument(field + " must be 0 or 1, got " + std::to_string(value));
}

// The detector fields, when the caller's struct has them (checked, then applied).
Status applyDetectorFields(const ecclMasterConfig_t& config, const std::string& prefix,
                           membership::MasterSettings& settings) {
  if (!ECCL_CAPI_HAS_FIELD(&config, ecclMasterConfig_t, link_busy_factor)) return Status::ok();
  using std::chrono::milliseconds;
  ECCL_RETURN_IF_ERROR(inRange<uint32_t>(config.hung_ms, 100, 3'600'000, prefix + "->hung_ms"));
  ECCL_RETURN_IF_ERROR(
      inRange<uint32_t>(config.anomaly_window_ms, 500, 3'600'000, prefix + "->anomaly_window_ms"));
  ECCL_RETURN_IF_ERROR(inRange<uint32_t>(config.confirm_ms, 0, 3'600'000, prefix + "->confirm_ms"));
  ECCL_RETURN_IF_ERROR(inRange<uint32_t>(config.frozen_ms, 100, 3'600'000, prefix + "->frozen_ms"));
  ECCL_RETURN_IF_ERROR(inRange<uint32_t>(config.eviction_cooldown_ms, 0, 86'400'000,
                                         prefix + "->eviction_cooldown_ms"));
  ECCL_RETURN_IF_ERROR(flag(config.evict_hung, prefix + "->evict_hung"));
  ECCL_RETURN_IF_ERROR(flag(config.evict_stragglers, prefix + "->evict_stragglers"));
  ECCL_RETURN_IF_ERROR(flag(config.evict_slow_nodes, prefix + "->evict_slow_nodes"));
  ECCL_RETURN_IF_ERROR(inRange(config.straggler_share, 0.001, 10.0, prefix + "->straggler_share"));
  ECCL_RETURN_IF_ERROR(
      inRange(config.straggler_factor, 1.0, 1000.0, prefix + "->straggler_factor"));
  ECCL_RETURN_IF_ERROR(inRange(config.link_busy_share, 0.01, 1.0, prefix + "->link_busy_share"));
  ECCL_RETURN_IF_ERROR(
      inRange(config.link_busy_factor, 1.0, 1000.0, prefix + "->link_busy_factor"));
  anomaly::DetectorSettings& d = settings.detectors;
  d.hung_after = milliseconds(config.hung_ms);
  d.window = milliseconds(config.anomaly_window_ms);
  d.confirm_for = milliseconds(config.confirm_ms);
  d.frozen_after = milliseconds(config.frozen_ms);
  d.min_late_share = config.straggler_share;
  d.late_factor = config.straggler_factor;
  d.min_busy_share = config.link_busy_share;
  d.busy_factor = config.link_busy_factor;
  settings.eviction_cooldown = milliseconds(config.eviction_cooldown_ms);
  settings.evict_hung = config.evict_hung == 1;
  settings.evict_stragglers = config.evict_stragglers == 1;
  settings.evict_slow_nodes = config.evict_slow_nodes == 1;
  return Status::ok();
}

// The rejoin back-off fields, when the caller's struct has them.
Status applyRejoinFields(const ecclMasterConfig_t& config, const std::string& prefix,
                         membership::MasterSettings& settings) {
  if (!ECCL_CAPI_HAS_FIELD(&config, ecclMasterConfig_t, rejoin_backoff_max_ms)) {
    return Status::ok();
  }
  ECCL_RETURN_IF_ERROR(
      inRange<uint32_t>(config.rejoin_backoff_ms, 0, 86'400'000, prefix + "->rejoin_backoff_ms"));
  ECCL_RETURN_IF_ERROR(inRange<uint32_t>(config.rejoin_backoff_max_ms, 0, 86'400'000,
                                         prefix + "->rejoin_backoff_max_ms"));
  settings.rejoin_backoff = std::chrono::milliseconds(config.rejoin_backoff_ms);
  settings.rejoin_backoff_max =
      std::chrono::milliseconds(std::max(config.rejoin_backoff_max_ms, config.rejoin_backoff_ms));
  return Status::ok();
}

}  // namespace

Result<membership::MasterOptions> toMasterOptions(const ecclMasterConfig_t& config,
                                                  const char* fn) {
  const std::string prefix = std::string(fn) + ": config";
  ECCL_RETURN_IF_ERROR(checkStructSize(config.struct_size, kMasterConfigMinSize,
                                       sizeof(ecclMasterConfig_t), prefix));
  membership::MasterOptions options;
  auto listen = address(config.listen_addr, false, prefix + "->listen_addr");
  if (!listen) return listen.status();
  options.listen_host = listen->host;
  options.listen_port = listen->port;
  ECCL_RETURN_IF_ERROR(positive(config.heartbeat_ms, prefix + "->heartbeat_ms"));
  ECCL_RETURN_IF_ERROR(
      positive(config.channel_setup_timeout_ms, prefix + "->channel_setup_timeout_ms"));
  ECCL_RETURN_IF_ERROR(positive(config.register_timeout_ms, prefix + "->register_timeout_ms"));
  if (config.miss_limit == 0 || config.miss_limit > UINT16_MAX) {
    return invalidArgument(prefix + "->miss_limit must be 1..65535, got " +
                           std::to_string(config.miss_limit));
  }
  options.settings.heartbeat = std::chrono::milliseconds(config.heartbeat_ms);
  options.settings.miss_limit = static_cast<uint16_t>(config.miss_limit);
  options.settings.channel_setup_timeout =
      std::chrono::milliseconds(config.channel_setup_timeout_ms);
  options.register_timeout = std::chrono::milliseconds(config.register_timeout_ms);
  ECCL_RETURN_IF_ERROR(applyDetectorFields(config, prefix, options.settings));
  ECCL_RETURN_IF_ERROR(applyRejoinFields(config, prefix, options.settings));
  options.settings.incarnation = randomIncarnation();
  if (config.token_key_file == nullptr || *config.token_key_file == '\0') {
    options.settings.token_key = membership::randomTokenKey();
  } else {
    bool restarting = false;
    auto key = membership::loadOrCreateTokenKey(config.token_key_file, &restarting);
    if (!key) return key.status().withContext(prefix + "->token_key_file");
    options.settings.token_key = *key;
    // Peers of an earlier run may be reconnecting: their rings come back first.
    if (restarting) {
      options.settings.hold_first_rings_until =
          std::chrono::steady_clock::now() + options.settings.rebuild_grace;
    }
  }
  if (ECCL_CAPI_HAS_FIELD(&config, ecclMasterConfig_t, tls_key_file)) {
    auto security = loadSecurityFields(
        {config.secret_file, config.tls_ca_file, config.tls_cert_file, config.tls_key_file},
        prefix);
    if (!security) return security.status();
    options.secret = std::move(security->secret);
    options.tls = std::move(security->tls);
    options.security_from_environment = false;
  }
  return options;
}

Result<comm::CommOptions> toCommOptions(const ecclCommConfig_t& config, const char* fn) {
  const std::string prefix = std::string(fn) + ": config";
  ECCL_RETURN_IF_ERROR(
      checkStructSize(config.struct_size, kCommConfigMinSize, sizeof(ecclCommConfig_t), prefix));
  comm::CommOptions options;
  if (config.master == nullptr) {
    return invalidArgument(prefix + "->master is NULL (set it, or ECCL_MASTER, to HOST:PORT)");
  }
  auto master = address(config.master, false, prefix + "->master");
  if (!master) return master.status();
  if (master->port == 0) return invalidArgument(prefix + "->master needs a port > 0");
  options.master_host = master->host;
  options.master_port = master->port;

  if (config.group == nullptr) return invalidArgument(prefix + "->group is NULL");
  options.group = config.group;
  if (options.group.empty() || options.group.size() > protocol::kMaxGroupName) {
    return invalidArgument(prefix + "->group must be 1.." +
                           std::to_string(protocol::kMaxGroupName) + " bytes long");
  }

  auto listen = address(config.listen_addr, false, prefix + "->listen_addr");
  if (!listen) return listen.status();
  options.listen_host = listen->host;
  options.listen_port = listen->port;

  if (config.advertise_addr != nullptr && *config.advertise_addr != '\0') {
    auto advertise = parseHostPort(config.advertise_addr, true, prefix + "->advertise_addr");
    if (!advertise) return advertise.status();
    if (advertise->host.size() > protocol::kMaxHostName) {
      return invalidArgument(prefix + "->advertise_addr: the host is longer than " +
                             std::to_string(protocol::kMaxHostName) + " bytes");
    }
    options.advertise_host = advertise->host;
    options.advertise_port = advertise->port;
  }

  const uint32_t max_connections = protocol::Hello::kMaxConnections;
  if (config.connections_per_peer == 0 || config.connections_per_peer > max_connections) {
    return invalidArgument(prefix + "->connections_per_peer must be 1.." +
                           std::to_string(max_connections) + ", got " +
                           std::to_string(config.connections_per_peer));
  }
  options.channel.connections = static_cast<int>(config.connections_per_peer);
  ECCL_RETURN_IF_ERROR(positive(config.timeout_ms, prefix + "->timeout_ms"));
  options.timeout = std::chrono::milliseconds(config.timeout_ms);
  if (ECCL_CAPI_HAS_FIELD(&config, ecclCommConfig_t, preserve_input)) {
    if (config.preserve_input > 1) {
      return invalidArgument(prefix + "->preserve_input must be 0 or 1, got " +
                             std::to_string(config.preserve_input));
    }
    options.collectives.preserve_input = config.preserve_input == 1;
  }
  if (ECCL_CAPI_HAS_FIELD(&config, ecclCommConfig_t, small_allreduce_bytes)) {
    options.collectives.small_allreduce_bytes =
        config.small_allreduce_bytes == UINT32_MAX ? SIZE_MAX : config.small_allreduce_bytes;
  }
  // The two came in one version: a struct with one has the other.
  if (ECCL_CAPI_HAS_FIELD(&config, ecclCommConfig_t, num_stages)) {
    ECCL_RETURN_IF_ERROR(stageFields(config.stage, config.num_stages, prefix));
    options.stage = config.stage;
    options.num_stages = static_cast<uint32_t>(config.num_stages);
  }
  // The five came in one version.
  if (ECCL_CAPI_HAS_FIELD(&config, ecclCommConfig_t, tls_data)) {
    auto tls_data = transport::parseTlsData(config.tls_data != nullptr ? config.tls_data : "",
                                            prefix + "->tls_data");
    if (!tls_data) return tls_data.status();
    auto security = loadSecurityFields(
        {config.secret_file, config.tls_ca_file, config.tls_cert_file, config.tls_key_file},
        prefix);
    if (!security) return security.status();
    options.channel.secret = std::move(security->secret);
    options.channel.tls = std::move(security->tls);
    options.channel.tls_data = *tls_data;
    options.channel.security_from_environment = false;
  }
  if (ECCL_CAPI_HAS_FIELD(&config, ecclCommConfig_t, transport)) {
    auto transport = transport::parseTransportChoice(
        config.transport != nullptr ? config.transport : "", prefix + "->transport");
    if (!transport) return transport.status();
    options.channel.transport = *transport;
    options.channel.transport_from_environment = false;
  }
  ECCL_RETURN_IF_ERROR(options.validate().withContext(fn));
  return options;
}

}  // namespace eccl::capi
