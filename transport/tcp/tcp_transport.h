// The TCP transport: an endpoint with its own I/O threads that listens for and
// opens striped channels.
#pragma once

#include <memory>

#include "transport/channel_options.h"
#include "transport/io_pool.h"
#include "transport/tcp/endpoint_context.h"
#include "transport/transport.h"

namespace eccl::transport::tcp {

class TcpTransport final : public Transport {
 public:
  // The endpoint id names this endpoint in every handshake; by default a random
  // one (a communicator passes its peer id, so channels name their peers).
  static Result<std::unique_ptr<TcpTransport>> create(ChannelOptions options = {},
                                                      EndpointId id = EndpointId::random());

  // Stops every listener, handshake and channel of this endpoint (pending
  // operations end with kAborted), waits briefly for their connections to
  // close, then stops the I/O threads. Must not run on one of those threads.
  ~TcpTransport() override;

  const EndpointId& endpointId() const override { return context_->id; }
  const ChannelOptions& options() const { return context_->options; }

  Result<std::unique_ptr<Listener>> listen(const std::string& host, uint16_t port,
                                           AcceptCallback on_channel) override;
  void connect(const std::string& host, uint16_t port, ConnectCallback done) override;

 private:
  TcpTransport(ChannelOptions options, EndpointId id);

  std::unique_ptr<IoPool> io_;
  std::shared_ptr<EndpointContext> context_;
};

}  // namespace eccl::transport::tcp
