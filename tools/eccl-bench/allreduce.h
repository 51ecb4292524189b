// `eccl-bench allreduce`: ring all-reduce throughput of N peer processes on
// 127.0.0.1 (an in-process master, workers started from this binary), timed as
// nccl-tests does, optionally against Gloo's ring and Open MPI measured in the
// same run.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/status.h"
#include "src/quant/quant.h"
#include "tools/common/quant_spec.h"
#include "transport/tls/tls_context.h"

namespace eccl::tools::bench {

struct AllreduceOptions {
  int peers = 2;
  std::vector<uint64_t> sizes;
  int connections = 0;  // 0: ChannelOptions' default
  int iters = 5;
  int warmup = 1;
  int rounds = 1;                    // ECCL and each comparator take turns once per round
  std::vector<std::string> compare;  // "gloo", "mpi"
  bool json = false;
  std::chrono::milliseconds timeout{120'000};
  // > 0: each size also times one op after every rank idled this long.
  std::chrono::milliseconds after_idle{0};
  // "lan:1gbit", "wan:1gbit:50ms": one rank per namespace of an eccl-netlab
  // lab (netlab_session.h); empty: every rank on 127.0.0.1.
  std::string netlab;
  // --quant: ECCL's all-reduces send quantized data; the comparators stay
  // exact (the comparison the table reports).
  std::optional<quant::QuantConfig> quant;
  // --tls-certs DIR: ca.pem, bench.pem and bench.key (tools/eccl-certs), for
  // the eccl-tls comparator: ECCL with TLS on the control plane and on every
  // data channel.
  std::string tls_certs;
  // Set for the eccl-tls run only.
  std::optional<transport::tls::TlsFiles> tls;
  // ECCL's data transport (ECCL_TRANSPORT's values); empty: the default
  // (auto: shared memory between ranks of one host). "tcp" for the eccl-tcp rows.
  std::string transport;
};

int runAllreduce(const AllreduceOptions& options);

// One peer process, started by runAllreduce (hidden subcommand allreduce-worker).
struct AllreduceWorkerOptions {
  std::string master_host = "127.0.0.1";
  uint16_t master_port = 0;
  std::string host = "127.0.0.1";  // this peer's data listener
  int peers = 2;
  std::vector<uint64_t> sizes;
  int connections = 0;
  int iters = 5;
  int warmup = 1;
  std::chrono::milliseconds timeout{120'000};
  std::optional<quant::QuantConfig> quant;  // checked within the error bound, not exactly
  std::chrono::milliseconds after_idle{0};  // AllreduceRun::after_idle
  transport::tls::TlsFiles tls;             // all empty: no TLS
  std::string transport;                    // AllreduceOptions::transport
};

int runAllreduceWorker(const AllreduceWorkerOptions& options);

}  // namespace eccl::tools::bench
