#include "tools/eccl-master/http_endpoint.h"

#include <httplib.h>

#include "tools/eccl-master/dashboard_page.h"
#include "tools/eccl-master/metrics_text.h"
#include "tools/eccl-master/status_json.h"

namespace eccl::tools::master {
namespace {

// Snapshots are small and cheap to render: two workers are plenty.
constexpr size_t kWorkers = 2;

}  // namespace

HttpEndpoint::HttpEndpoint() : server_(std::make_unique<httplib::Server>()) {}

Result<std::unique_ptr<HttpEndpoint>> HttpEndpoint::start(const std::string& host, uint16_t port,
                                                          const membership::MasterServer& master) {
  std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint());
  httplib::Server& server = *endpoint->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  server.Get("/", [](const httplib::Request&, httplib::Response& response) {
    const std::string_view page = dashboardPage();
    response.set_content(page.data(), page.size(), kDashboardContentType);
  });
  server.Get("/metrics", [&master](const httplib::Request&, httplib::Response& response) {
    response.set_content(renderMetrics(master.snapshot()), kMetricsContentType);
  });
  server.Get("/status", [&master](const httplib::Request&, httplib::Response& response) {
    response.set_content(statusJson(master.snapshot()).dump() + "\n", "application/json");
  });
  int bound = 0;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (server.bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) {
    return systemError("http: cannot listen on " + host + ":" + std::to_string(port));
  }
  endpoint->port_ = static_cast<uint16_t>(bound);
  HttpEndpoint* self = endpoint.get();
  endpoint->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    std::lock_guard lock(self->mu_);
    self->finished_ = true;
    self->finished_cv_.notify_all();
  });
  return endpoint;
}

void HttpEndpoint::stop() {
  std::unique_lock lock(mu_);
  // httplib's stop() does nothing before its loop has started, so repeat it
  // until the serving thread says it has ended.
  while (!finished_) {
    server_->stop();
    finished_cv_.wait_for(lock, std::chrono::milliseconds(10));
  }
  if (!joined_) {
    joined_ = true;
    thread_.join();
  }
}

HttpEndpoint::~HttpEndpoint() {
  stop();
}

}  // namespace eccl::tools::master
