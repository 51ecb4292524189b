// What every connector, acceptor and channel of one TCP endpoint shares: the
// I/O context, the options, the endpoint's id, and the registry of live
// objects that the endpoint stops when it shuts down.
#pragma once

#include <asio/io_context.hpp>
#include <memory>
#include <mutex>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "transport/auth/auth_stream.h"
#include "transport/channel_options.h"
#include "transport/tcp/faulty_stream.h"

namespace eccl::transport::tcp {

// Something with connections that a shutting-down endpoint must stop.
class Stoppable {
 public:
  virtual ~Stoppable() = default;
  virtual void shutdown(Status reason) = 0;
  // True once no connection of this object does I/O any more.
  virtual bool quiesced() const = 0;
};

struct EndpointContext {
  EndpointContext(asio::io_context& io_context, ChannelOptions channel_options, EndpointId endpoint)
      : io(io_context), options(std::move(channel_options)), id(endpoint) {
    if (options.faults && options.faults->any()) {
      faults = std::make_shared<FaultInjector>(*options.faults);
    }
  }

  // The stream a new connection uses: the socket's, authenticated with the
  // cluster secret if there is one, behind the fault injector if any (which
  // then sees frames only, as without a secret).
  std::unique_ptr<ByteStream> stream(std::unique_ptr<ByteStream> socket_stream, auth::Side side) {
    if (options.secret) {
      socket_stream =
          std::make_unique<auth::AuthStream>(std::move(socket_stream), side, options.secret);
    }
    return faults ? faults->wrap(std::move(socket_stream)) : std::move(socket_stream);
  }

  void track(const std::shared_ptr<Stoppable>& object) {
    std::lock_guard lock(mu);
    // Drop entries of objects that are gone, so the list does not grow forever.
    std::erase_if(live, [](const std::weak_ptr<Stoppable>& w) { return w.expired(); });
    live.push_back(object);
  }
  std::vector<std::shared_ptr<Stoppable>> liveObjects() {
    std::lock_guard lock(mu);
    std::vector<std::shared_ptr<Stoppable>> out;
    for (auto& w : live) {
      if (auto s = w.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  asio::io_context& io;
  const ChannelOptions options;
  const EndpointId id;
  std::shared_ptr<FaultInjector> faults;  // null unless options.faults has a rule
  std::mutex mu;
  std::vector<std::weak_ptr<Stoppable>> live;
};

}  // namespace eccl::transport::tcp
