// How the streams that wrap another (auth, shm) read the wrapped stream's errors.
#pragma once

#include <asio/error.hpp>
#include <system_error>

namespace eccl::transport {

// Nothing can move now; wait and try again.
inline bool isWouldBlock(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// The other side closed or reset the connection.
inline bool isPeerGone(const std::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe;
}

}  // namespace eccl::transport
