// SO_MAX_PACING_RATE, which TCP enforces itself (no fq qdisc needed); shared by
// every stream over a TCP socket.
#pragma once

#include <cstdint>
#include <string>

namespace eccl::transport::tcp {

// Caps the socket's send rate at bytes_per_s (0: no cap). Failure is logged,
// not fatal: the socket keeps working, unpaced.
void setMaxPacingRate(int fd, uint64_t bytes_per_s, const std::string& peer);

}  // namespace eccl::transport::tcp
