#include "transport/tcp/socket_pacing.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "src/common/log.h"

namespace eccl::transport::tcp {

void setMaxPacingRate(int fd, uint64_t bytes_per_s, const std::string& peer) {
  // The kernel takes an unsigned long (a u64 on 64-bit since 4.20; shorter
  // option values are read as 32 bits) and treats ~0UL as "no cap".
  constexpr unsigned long kUnlimited = ~0UL;
  const unsigned long rate = bytes_per_s == 0
                                 ? kUnlimited
                                 : static_cast<unsigned long>(std::min<uint64_t>(
                                       bytes_per_s, std::numeric_limits<unsigned long>::max()));
  if (::setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof(rate)) == 0) {
    ECCL_LOG_DEBUG("connection to {}: SO_MAX_PACING_RATE={} B/s", peer,
                   bytes_per_s == 0 ? std::string("unlimited") : std::to_string(rate));
    return;
  }
  ECCL_LOG_WARN("cannot set SO_MAX_PACING_RATE={} B/s on connection to {}: {}", bytes_per_s, peer,
                std::strerror(errno));
}

}  // namespace eccl::transport::tcp
