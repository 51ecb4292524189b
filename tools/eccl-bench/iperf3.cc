#include "tools/eccl-bench/iperf3.h"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tools/common/child_process.h"
#include "tools/eccl-bench/ports.h"

namespace eccl::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Tries a new port when the one picked was taken before the server bound it.
constexpr int kServerStartAttempts = 3;
constexpr milliseconds kExitGrace{5'000};

milliseconds remaining(Clock::time_point deadline) {
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

// A temporary file for the server's output, removed when this goes.
class TempFile {
 public:
  TempFile() {
    char name[] = "/tmp/eccl-bench-iperf3-XXXXXX";
    const int fd = mkstemp(name);
    if (fd >= 0) {
      close(fd);
      path_ = name;
    }
  }
  ~TempFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  // The last lines, for error messages.
  std::string tail(size_t max_bytes = 600) const {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    std::string all = text.str();
    while (!all.empty() && (all.back() == '\n' || all.back() == ' '))
      all.pop_back();
    return all.size() > max_bytes ? "..." + all.substr(all.size() - max_bytes) : all;
  }

 private:
  std::string path_;
};

struct Server {
  std::unique_ptr<ChildProcess> process;
  uint16_t port = 0;
};

Result<Server> startServer(const Iperf3Request& request, const TempFile& log,
                           Clock::time_point deadline) {
  Status last_error = internalError("iperf3 server never started");
  for (int attempt = 0; attempt < kServerStartAttempts; ++attempt) {
    auto port = pickFreePort(request.host);
    if (!port) return port.status();
    SpawnOptions spawn;
    spawn.argv = {request.binary, "-s", "-1", "-B", request.host, "-p", std::to_string(*port)};
    spawn.stdout_to = ChildOutput::kFile;
    spawn.stderr_to = ChildOutput::kFile;
    spawn.output_file = log.path();
    auto process = ChildProcess::spawn(spawn);
    if (!process) return process.status();
    // Watch for the listening socket rather than connecting: a probe
    // connection would use up the one-shot server.
    while (!isTcpPortListening(*port)) {
      if ((*process)->hasExited()) break;
      if (Clock::now() >= deadline) {
        return timeoutError("iperf3 server did not listen on port " + std::to_string(*port) +
                            " in time");
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    if (!(*process)->reaped()) return Server{std::move(*process), *port};
    const std::string output = log.tail();
    last_error = systemError("iperf3 server " +
                             ChildProcess::describeExit((*process)->waitStatus()) + ": " + output);
    if (output.find("in use") == std::string::npos) break;
  }
  return last_error;
}

Result<Iperf3Result> parseReport(const std::string& text) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return protocolError("iperf3 printed no JSON report: '" + text.substr(0, 200) + "'");
  }
  if (json.contains("error")) {
    const auto& error = json["error"];
    return systemError("iperf3: " + (error.is_string() ? error.get<std::string>() : error.dump()));
  }
  try {
    const auto& sum = json.at("end").at("sum_received");
    Iperf3Result result;
    result.bits_per_second = sum.at("bits_per_second").get<double>();
    result.seconds = sum.at("seconds").get<double>();
    result.bytes = sum.at("bytes").get<uint64_t>();
    return result;
  } catch (const nlohmann::json::exception& e) {
    return protocolError(std::string("iperf3 report has no end.sum_received: ") + e.what());
  }
}

}  // namespace

Result<Iperf3Result> runIperf3(const Iperf3Request& request) {
  const auto deadline = Clock::now() + request.timeout;
  TempFile server_log;
  if (server_log.path().empty()) return systemError("cannot create a temporary file in /tmp");
  auto server = startServer(request, server_log, deadline);
  if (!server) return server.status();

  SpawnOptions spawn;
  spawn.argv = {request.binary,
                "-c",
                request.host,
                "-p",
                std::to_string(server->port),
                "-P",
                std::to_string(request.streams),
                "-n",
                std::to_string(request.bytes),
                "-J"};
  spawn.stdout_to = ChildOutput::kPipe;
  auto client = ChildProcess::spawn(spawn);
  if (!client) {
    server->process->stop(kExitGrace);
    return client.status();
  }
  auto output = (*client)->readAll(remaining(deadline));
  if (!output) {
    (*client)->stop(kExitGrace);
    server->process->stop(kExitGrace);
    return output.status().withContext("iperf3 client");
  }
  auto client_exit = (*client)->wait(kExitGrace);
  // The one-shot server exits after its client; stop it if it lingers.
  if (!server->process->wait(kExitGrace)) server->process->stop(kExitGrace);

  auto result = parseReport(*output);
  if (!result) {
    const Status& error = result.status();
    return Status(error.code(), error.message() + " (server: " + server_log.tail(300) + ")");
  }
  if (!client_exit || !ChildProcess::exitedCleanly(*client_exit)) {
    return systemError("iperf3 client " + (client_exit ? ChildProcess::describeExit(*client_exit)
                                                       : client_exit.status().message()));
  }
  return result;
}

}  // namespace eccl::tools::bench
