// The stream of a new TCP connection, secured as the process is configured
// before any frame flows: TLS 1.3 with its certificates when it has them, then
// the cluster-secret challenge-response when it has a secret. Both ends of a
// connection must agree on each layer; the master's links, its clients and
// the data channels all build their streams here.
#pragma once

#include <asio/ip/tcp.hpp>
#include <memory>

#include "src/common/status.h"
#include "transport/auth/auth_stream.h"
#include "transport/byte_stream.h"
#include "transport/tls/tls_context.h"

namespace eccl::transport {

// `tls` and `secret` may each be null (that layer is left out). Fails only
// when OpenSSL cannot make a session; the socket is closed then.
Result<std::unique_ptr<ByteStream>> secureStream(
    asio::ip::tcp::socket socket, auth::Side side,
    const std::shared_ptr<const tls::TlsContext>& tls,
    const std::shared_ptr<const auth::ClusterSecret>& secret);

}  // namespace eccl::transport
