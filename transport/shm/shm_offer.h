// The few bytes two ends of a data connection exchange, after TLS and the
// cluster secret and before the first frame, to decide whether the
// connection's bytes go through shared memory or stay on TCP.
//
//   client -> server  Offer   whether the client may use shared memory, its host id
//   server -> client  Answer  (only when offered) TCP, or shared memory in this segment
//   client -> server  Confirm (only after "shared memory") mapped, or could not
//
// Then, when the offer said so and the connection is not on shared memory,
// the RDMA exchange of rdma/rdma_offer.h.
//
// Every message has a fixed size and starts with "ECCL", so a TLS listener or
// a secret-holding listener names a peer that speaks neither as it names any
// plaintext or unauthenticated ECCL peer.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "src/common/status.h"
#include "transport/shm/host_id.h"

namespace eccl::transport::shm {

inline constexpr uint8_t kOfferVersion = 1;
inline constexpr size_t kMaxSegmentName = 64;

struct Offer {
  static constexpr size_t kSize = 8 + 1 + 1 + 2 + 16;
  bool wants_shm = false;
  // Not one of the channel's working connections over shared memory
  // (kWorkingConnectionsOverSharedMemory): it carries pings only, so the
  // smallest rings do.
  bool spare = false;
  // The RDMA exchange (rdma/rdma_offer.h) follows if shared memory is not
  // chosen. Zero on the default path, so that it costs no byte there.
  bool rdma_follows = false;
  HostId host{};  // zero when wants_shm is false
};

struct Answer {
  static constexpr size_t kSize = 8 + 1 + 1 + 6 + 8 + kMaxSegmentName;
  bool use_shm = false;
  uint64_t ring_bytes = 0;  // each direction's ring
  std::string segment;      // "/eccl-<pid>-<hex>"
};

struct Confirm {
  static constexpr size_t kSize = 8 + 1 + 7;
  bool mapped = false;
};

using OfferBytes = std::array<uint8_t, Offer::kSize>;
using AnswerBytes = std::array<uint8_t, Answer::kSize>;
using ConfirmBytes = std::array<uint8_t, Confirm::kSize>;

OfferBytes encode(const Offer& offer);
AnswerBytes encode(const Answer& answer);
ConfirmBytes encode(const Confirm& confirm);

// Whether `bytes` start like a message of this exchange (any of the three).
bool looksLikeNegotiation(std::span<const uint8_t> bytes);

// kProtocolError for bytes that are not such a message, kUnsupported for another version.
Result<Offer> decodeOffer(std::span<const uint8_t> bytes);
Result<Answer> decodeAnswer(std::span<const uint8_t> bytes);
Result<Confirm> decodeConfirm(std::span<const uint8_t> bytes);

}  // namespace eccl::transport::shm
