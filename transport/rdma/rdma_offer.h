// The bytes two ends of a data connection exchange over the connection's
// (secured) stream to move it onto an RDMA reliable-connected queue pair:
//
//   client -> server  Offer   whether the client may use RDMA; its queue pair's address
//                             (sent only when the shared-memory offer announced
//                             it and shared memory was not chosen)
//   server -> client  Answer  TCP, or RDMA with the server's address
//   client -> server  Confirm (only after "RDMA") the client's queue pair is ready
//
// An address names everything the other end needs to connect and write:
// the port's link layer, LID and GID, the queue pair number and first packet
// sequence number, and the registered receive ring and credit word the other
// end's RDMA writes go to. Fixed sizes and an "ECCLRDM" prefix, as the shared-
// memory exchange (shm_offer.h) has.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "src/common/status.h"
#include "transport/rdma/rdma_device.h"

namespace eccl::transport::rdma {

inline constexpr uint8_t kRdmaOfferVersion = 1;
inline constexpr uint64_t kMinRingBytes = uint64_t{64} << 10;
inline constexpr uint64_t kMaxRingBytes = uint64_t{1} << 30;

// Memory the other end may write with RDMA.
struct RemoteRegion {
  uint64_t address = 0;
  uint32_t rkey = 0;
  uint64_t bytes = 0;
};

struct QueuePairAddress {
  LinkLayer link_layer = LinkLayer::kInfiniBand;
  uint8_t mtu = 0;  // ibv_mtu of the port: 1 = 256 B ... 5 = 4096 B
  uint16_t lid = 0;
  Gid gid{};
  uint32_t qp_number = 0;  // 24 bits
  uint32_t first_psn = 0;  // 24 bits
  RemoteRegion ring;       // this end's receive ring: a power of two of bytes
  RemoteRegion credit;     // this end's credit word (8 bytes): how far the other end read
};

struct RdmaOffer {
  static constexpr size_t kSize = 8 + 1 + 1 + 1 + 5 + 64;
  bool wants_rdma = false;
  bool spare = false;        // pings only: the smallest ring does
  QueuePairAddress address;  // zero when wants_rdma is false
};

struct RdmaAnswer {
  static constexpr size_t kSize = 8 + 1 + 1 + 6 + 64;
  bool use_rdma = false;
  QueuePairAddress address;  // zero when use_rdma is false
};

struct RdmaConfirm {
  static constexpr size_t kSize = 8 + 1 + 7;
  bool ready = false;
};

using RdmaOfferBytes = std::array<uint8_t, RdmaOffer::kSize>;
using RdmaAnswerBytes = std::array<uint8_t, RdmaAnswer::kSize>;
using RdmaConfirmBytes = std::array<uint8_t, RdmaConfirm::kSize>;

RdmaOfferBytes encode(const RdmaOffer& offer);
RdmaAnswerBytes encode(const RdmaAnswer& answer);
RdmaConfirmBytes encode(const RdmaConfirm& confirm);

// kProtocolError for bytes that are not such a message or carry fields out of
// range, kUnsupported for another version.
Result<RdmaOffer> decodeRdmaOffer(std::span<const uint8_t> bytes);
Result<RdmaAnswer> decodeRdmaAnswer(std::span<const uint8_t> bytes);
Result<RdmaConfirm> decodeRdmaConfirm(std::span<const uint8_t> bytes);

// Whether a queue pair on `mine` can reach the one `theirs` names:
// kUnsupported saying why not (the link falls back to TCP).
Status checkReachable(const RdmaPort& mine, const QueuePairAddress& theirs);
// The path MTU both ports carry.
uint8_t pathMtu(const RdmaPort& mine, const QueuePairAddress& theirs);

}  // namespace eccl::transport::rdma
