// The asynchronous TLS handshake that turns a connected TCP socket into a TlsStream.
#pragma once

#include <asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "src/common/status.h"
#include "transport/tls/tls_context.h"
#include "transport/tls/tls_stream.h"

namespace eccl::transport::tls {

using TlsDone = std::function<void(Result<std::unique_ptr<TlsStream>>)>;

// Runs the TLS handshake on `socket` (connected, strand executor) for at most
// `timeout`; calls done once, on the socket's executor, with the stream or the
// reason it failed: kConnectionError "TLS handshake with <ip:port> failed:
// <reason>" (a certificate the CA does not vouch for, none at all, an alert
// from the peer, bytes that are not TLS, a closed connection), kTimeout when
// the time ran out. A client's handshake ends only once the server confirmed
// it accepted the client's certificate, so both sides learn a rejection here.
// Never blocks a thread.
void startTls(asio::ip::tcp::socket socket, TlsRole role, std::shared_ptr<const TlsContext> context,
              std::chrono::milliseconds timeout, TlsDone done);

}  // namespace eccl::transport::tls
