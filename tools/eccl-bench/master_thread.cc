#include "tools/eccl-bench/master_thread.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <future>
#include <sstream>

#include "src/membership/peer_token.h"
#include "tools/common/child_process.h"
#include "tools/eccl-bench/netlab_session.h"
#include "transport/channel_env.h"

namespace eccl::tools::bench {

using Clock = std::chrono::steady_clock;

Result<std::unique_ptr<MasterThread>> MasterThread::start(
    const NetlabSession* lab, double state_link_bytes_per_s,
    std::shared_ptr<const transport::tls::TlsContext> tls) {
  std::unique_ptr<MasterThread> master(new MasterThread);
  std::promise<Status> created;
  master->thread_ = std::thread([&master = *master, &created, lab, state_link_bytes_per_s, tls] {
    membership::MasterOptions options;
    options.tls = tls;
    if (state_link_bytes_per_s > 0) {
      options.settings.state_link_bytes_per_s = state_link_bytes_per_s;
    }
    options.listen_host = lab != nullptr ? lab->addressOf(0) : "127.0.0.1";
    options.settings.token_key = membership::randomTokenKey();
    Status entered = lab != nullptr ? enterNamespace(lab->namespaceOf(0)) : Status::ok();
    auto server = entered.isOk() ? membership::MasterServer::create(options)
                                 : Result<std::unique_ptr<membership::MasterServer>>(entered);
    if (!server) {
      created.set_value(server.status());
      return;
    }
    master.server_ = std::move(*server);
    created.set_value(Status::ok());
    (void)master.server_->run();
  });
  // (On failure the destructor joins the thread.)
  if (Status status = created.get_future().get(); !status.isOk()) return status;
  return master;
}

MasterThread::~MasterThread() {
  if (server_) server_->stop();
  thread_.join();
}

std::string selfPath() {
  std::error_code error;
  auto self = std::filesystem::read_symlink(kSelfExecutable, error);
  return error ? std::string(kSelfExecutable) : self.string();
}

Status formRing(comm::Communicator& comm, int peers, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (comm.worldSize() < peers) {
    const int missing = peers - comm.worldSize();
    while (comm.peersPending() < missing) {
      if (Clock::now() > until) return timeoutError("peers did not all register");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ECCL_RETURN_IF_ERROR(comm.updateTopology(timeout));
  }
  return Status::ok();
}

Result<std::unique_ptr<comm::Communicator>> makeWorkerComm(
    const std::string& master_host, uint16_t master_port, const std::string& host, int connections,
    std::chrono::milliseconds timeout, std::shared_ptr<const transport::tls::TlsContext> tls,
    const std::string& transport) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  comm::CommOptions options;
  options.master_host = master_host;
  options.master_port = master_port;
  options.group = "bench";
  options.listen_host = host;
  if (connections > 0) {
    // --connections K measures exactly K, on every link.
    options.channel.connections = connections;
    options.channel.max_connections_for_rtt = 0;
  }
  options.timeout = timeout;
  if (tls) {
    options.channel.tls = std::move(tls);
    options.channel.tls_data = transport::TlsData::kAlways;
  }
  if (!transport.empty()) {
    auto choice = transport::parseTransportChoice(transport, "--transport");
    if (!choice) return choice.status();
    options.channel.transport = *choice;
  }
  return comm::Communicator::create(options);
}

Result<std::vector<std::string>> runChildren(std::vector<SpawnOptions> spawns,
                                             std::chrono::milliseconds timeout) {
  std::vector<std::unique_ptr<ChildProcess>> children;
  for (auto& spawn : spawns) {
    spawn.stdout_to = ChildOutput::kPipe;
    auto child = ChildProcess::spawn(spawn);
    if (!child) return child.status();
    children.push_back(std::move(*child));
  }
  std::vector<std::string> outputs;
  for (auto& child : children) {
    auto output = child->readAll(timeout);
    if (!output) return output.status();
    auto exited = child->wait(timeout);
    if (!exited) return exited.status();
    if (!ChildProcess::exitedCleanly(*exited)) {
      return internalError(child->name() + " " + ChildProcess::describeExit(*exited));
    }
    outputs.push_back(std::move(*output));
  }
  return outputs;
}

std::vector<nlohmann::json> benchRows(const std::string& output, const std::string& bench) {
  std::vector<nlohmann::json> rows;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (!json.is_discarded() && json.value("bench", "") == bench) rows.push_back(json);
  }
  return rows;
}

}  // namespace eccl::tools::bench
