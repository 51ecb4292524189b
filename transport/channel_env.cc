#include "transport/channel_env.h"

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "src/common/log.h"
#include "transport/auth/cluster_secret.h"
#include "transport/tls/tls_context.h"

namespace eccl::transport {
namespace {

// The secret, the certificates and which channels use TLS, from ECCL_SECRET_FILE,
// ECCL_TLS_CA/CERT/KEY and ECCL_TLS_DATA.
Status applySecurityEnvironment(ChannelOptions& options) {
  if (!options.secret) {
    auto secret = auth::ClusterSecret::fromEnvironment();
    if (!secret) return secret.status();
    options.secret = std::move(*secret);
  }
  if (!options.tls) {
    auto tls = tls::TlsContext::fromEnvironment();
    if (!tls) return tls.status();
    options.tls = std::move(*tls);
  }
  if (const char* tls_data = std::getenv("ECCL_TLS_DATA"); tls_data != nullptr && *tls_data) {
    auto mode = parseTlsData(tls_data, "ECCL_TLS_DATA");
    if (!mode) return mode.status();
    options.tls_data = *mode;
  }
  return Status::ok();
}

// A decimal number min..max from the variable `name`; nothing when it is
// unset or empty. Anything else is kInvalidArgument naming the variable.
Result<std::optional<int64_t>> envNumber(const char* name, const char* what, int64_t min,
                                         int64_t max) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::optional<int64_t>();
  int64_t value = 0;
  const char* end = text + std::strlen(text);
  auto [at, error] = std::from_chars(text, end, value);
  if (error != std::errc() || at != end || value < min || value > max) {
    return invalidArgument(std::string(name) + " must be " + what + " " + std::to_string(min) +
                           ".." + std::to_string(max) + ", got '" + text + "'");
  }
  return std::optional<int64_t>(value);
}

}  // namespace

Result<TlsData> parseTlsData(const std::string& value, const std::string& field) {
  if (value.empty() || value == "auto") return TlsData::kBeyondLoopback;
  if (value == "on") return TlsData::kAlways;
  if (value == "off") return TlsData::kNever;
  return invalidArgument(field + " must be auto, on or off, got '" + value + "'");
}

Result<TransportChoice> parseTransportChoice(const std::string& value, const std::string& field) {
  if (value.empty() || value == "auto") return TransportChoice::kAuto;
  if (value == "tcp") return TransportChoice::kTcp;
  if (value == "shm") return TransportChoice::kShm;
  if (value == "rdma") return TransportChoice::kRdma;
  return invalidArgument(field + " must be auto, tcp, shm or rdma, got '" + value + "'");
}

Status applyChannelEnvironment(ChannelOptions& options) {
  if (const char* transport = std::getenv("ECCL_TRANSPORT");
      options.transport_from_environment && transport != nullptr && *transport) {
    auto choice = parseTransportChoice(transport, "ECCL_TRANSPORT");
    if (!choice) return choice.status();
    options.transport = *choice;
  }
  auto gid = envNumber("ECCL_RDMA_GID_INDEX", "a GID table index", 0, 255);
  if (!gid) return gid.status();
  if (*gid) options.rdma_gid_index = static_cast<uint32_t>(**gid);
  auto threads = envNumber("ECCL_IO_THREADS", "a thread count", 1, 64);
  if (!threads) return threads.status();
  if (*threads) options.io_threads = static_cast<int>(**threads);
  auto low_water = envNumber("ECCL_READ_LOW_WATER", "a byte count", 1, 64 << 20);
  if (!low_water) return low_water.status();
  if (*low_water) options.read_low_water = static_cast<uint32_t>(**low_water);
  if (const char* checksum = std::getenv("ECCL_CHECKSUM"); checksum != nullptr && *checksum) {
    const std::string value = checksum;
    if (value == "on") {
      options.checksum = true;
    } else if (value == "off") {
      options.checksum = false;
      options.checksum_beyond_loopback = false;
    } else if (value == "auto") {
      options.checksum = false;
      options.checksum_beyond_loopback = true;
    } else {
      return invalidArgument("ECCL_CHECKSUM must be on, off or auto, got '" + value + "'");
    }
  }
  if (options.security_from_environment) ECCL_RETURN_IF_ERROR(applySecurityEnvironment(options));
  if (const char* faults = std::getenv("ECCL_FAULTS"); faults != nullptr && *faults) {
    auto spec = parseFaultSpec(faults);
    if (!spec) return spec.status();
    ECCL_LOG_WARN("ECCL_FAULTS: injecting faults into the data plane: {}", spec->toString());
    options.faults = std::make_shared<const FaultSpec>(*spec);
  }
  return Status::ok();
}

}  // namespace eccl::transport
