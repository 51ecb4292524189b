#include "transport/secure_stream.h"

#include "transport/tcp/tcp_stream.h"
#include "transport/tls/tls_stream.h"

namespace eccl::transport {

Result<std::unique_ptr<ByteStream>> secureStream(
    asio::ip::tcp::socket socket, auth::Side side,
    const std::shared_ptr<const tls::TlsContext>& tls,
    const std::shared_ptr<const auth::ClusterSecret>& secret) {
  std::unique_ptr<ByteStream> stream;
  if (tls) {
    const tls::TlsRole role =
        side == auth::Side::kClient ? tls::TlsRole::kClient : tls::TlsRole::kServer;
    auto tls_stream = tls::TlsStream::create(std::move(socket), role, tls);
    if (!tls_stream) return tls_stream.status();
    stream = std::move(*tls_stream);
  } else {
    stream = std::make_unique<tcp::TcpStream>(std::move(socket));
  }
  if (secret) stream = std::make_unique<auth::AuthStream>(std::move(stream), side, secret);
  return stream;
}

}  // namespace eccl::transport
