#include "transport/channel_env.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
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
  if (const char* gid = std::getenv("ECCL_RDMA_GID_INDEX"); gid != nullptr && *gid) {
    uint32_t index = 0;
    const char* end = gid + std::strlen(gid);
    auto [at, error] = std::from_chars(gid, end, index);
    if (error != std::errc() || at != end || index > 255) {
      return invalidArgument(
          std::string("ECCL_RDMA_GID_INDEX must be a GID table index 0..255, got '") + gid + "'");
    }
    options.rdma_gid_index = index;
  }
  if (const char* threads = std::getenv("ECCL_IO_THREADS"); threads != nullptr && *threads) {
    int count = 0;
    const char* end = threads + std::strlen(threads);
    auto [at, error] = std::from_chars(threads, end, count);
    if (error != std::errc() || at != end || count < 1 || count > 64) {
      return invalidArgument(std::string("ECCL_IO_THREADS must be a thread count 1..64, got '") +
                             threads + "'");
    }
    options.io_threads = count;
  }
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
