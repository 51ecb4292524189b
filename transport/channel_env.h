// The data plane's environment switches, read when a communicator is created:
//   ECCL_CHECKSUM=on|off|auto   frame checksums on every channel, on none, or
//                               on channels beyond loopback (auto, the default)
//   ECCL_FAULTS=RULES           fault injection (transport/fault_spec.h)
//   ECCL_SECRET_FILE=PATH       the cluster's shared secret (transport/auth/), unless
//                               the options already hold one
//   ECCL_TLS_CA, ECCL_TLS_CERT, ECCL_TLS_KEY=PATH
//                               this process's TLS certificates (transport/tls/),
//                               unless the options already hold them
//   ECCL_TLS_DATA=auto|on|off   which data channels use TLS: those beyond loopback
//                               (auto, the default), all, none
//   ECCL_TRANSPORT=auto|tcp|shm|rdma
//                               data connections through shared memory to peers on
//                               this host, RDMA to the others where both ends have a
//                               device, TCP otherwise (auto, the default); TCP only
//                               (tcp); shared memory or TCP (shm), RDMA or TCP (rdma),
//                               each with a warning for a connection left on TCP
//   ECCL_RDMA_GID_INDEX=N       the GID table entry RDMA connections use (RoCE)
//   ECCL_IO_THREADS=N           threads polling the data connections (1..64)
//   ECCL_READ_LOW_WATER=BYTES   how much of a part-read frame a connection lets
//                               arrive before it wakes (1 = every arrival)
// The TLS and secret ones only with ChannelOptions::security_from_environment,
// ECCL_TRANSPORT only with ChannelOptions::transport_from_environment.
#pragma once

#include "src/common/status.h"
#include "transport/channel_options.h"

namespace eccl::transport {

// Applies the variables that are set; kInvalidArgument names a bad value.
Status applyChannelEnvironment(ChannelOptions& options);

// "auto", "on" or "off" (ECCL_TLS_DATA's values; `field` names the setting
// in the error); an empty value is auto.
Result<TlsData> parseTlsData(const std::string& value, const std::string& field);

// "auto", "tcp", "shm" or "rdma" (ECCL_TRANSPORT's values); an empty value is auto.
Result<TransportChoice> parseTransportChoice(const std::string& value, const std::string& field);

}  // namespace eccl::transport
