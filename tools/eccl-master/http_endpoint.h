// The master's HTTP endpoint (cpp-httplib) on its own thread. It serves only
// snapshots (MasterServer::snapshot(), refreshed by the event loop), so a slow
// or hostile HTTP client can never hold up the membership state machine.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "src/common/status.h"
#include "src/membership/master_server.h"

namespace httplib {
class Server;
}

namespace eccl::tools::master {

class HttpEndpoint {
 public:
  // Binds host:port (0: any free port) and starts serving GET / (the dashboard),
  // GET /metrics and GET /status.
  static Result<std::unique_ptr<HttpEndpoint>> start(const std::string& host, uint16_t port,
                                                     const membership::MasterServer& master);
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  uint16_t port() const { return port_; }
  // Any thread, any number of times: returns once the serving thread has ended.
  void stop();

 private:
  HttpEndpoint();

  std::unique_ptr<httplib::Server> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable finished_cv_;
  bool finished_ = false;
  bool joined_ = false;
};

}  // namespace eccl::tools::master
