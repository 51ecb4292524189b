#include "transport/transport.h"

#include <future>

namespace eccl::transport {

std::string PeerInfo::describe() const {
  return "peer " + address + " (" + id.shortHex() + ")";
}

Result<std::unique_ptr<Channel>> Transport::connectAndWait(const std::string& host, uint16_t port) {
  auto promise = std::make_shared<std::promise<Result<std::unique_ptr<Channel>>>>();
  auto future = promise->get_future();
  connect(host, port, [promise](Result<std::unique_ptr<Channel>> result) {
    promise->set_value(std::move(result));
  });
  // connect() always completes: on success, on error, or at its own deadline.
  return future.get();
}

}  // namespace eccl::transport
