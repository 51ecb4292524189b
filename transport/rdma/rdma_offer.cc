#include "transport/rdma/rdma_offer.h"

#include <algorithm>
#include <bit>
#include <string>

#include "src/protocol/wire.h"
#include "transport/negotiation_message.h"

namespace eccl::transport::rdma {
namespace {

constexpr NegotiationMagic kOfferMagic = {'E', 'C', 'C', 'L', 'R', 'D', 'M', 'O'};
constexpr NegotiationMagic kAnswerMagic = {'E', 'C', 'C', 'L', 'R', 'D', 'M', 'A'};
constexpr NegotiationMagic kConfirmMagic = {'E', 'C', 'C', 'L', 'R', 'D', 'M', 'C'};
constexpr std::string_view kExchange = "RDMA";
constexpr size_t kAddressSize = 64;
constexpr uint32_t kMax24Bits = (1u << 24) - 1;

template <size_t N>
void putHead(std::array<uint8_t, N>& out, const NegotiationMagic& magic) {
  putNegotiationHead(out, magic, kRdmaOfferVersion);
}

Status checkHead(std::span<const uint8_t> bytes, size_t size, const NegotiationMagic& magic,
                 const char* what) {
  return checkNegotiationHead(bytes, size, magic, kRdmaOfferVersion, kExchange, what);
}

Result<bool> flag(uint8_t byte, const char* what) {
  return negotiationFlag(byte, kExchange, what);
}

void putAddress(uint8_t* out, const QueuePairAddress& a) {
  out[0] = static_cast<uint8_t>(a.link_layer);
  out[1] = a.mtu;
  protocol::storeLe<uint16_t>(out + 2, a.lid);
  protocol::storeLe<uint32_t>(out + 4, a.qp_number);
  protocol::storeLe<uint32_t>(out + 8, a.first_psn);
  std::copy(a.gid.begin(), a.gid.end(), out + 12);
  protocol::storeLe<uint64_t>(out + 28, a.ring.address);
  protocol::storeLe<uint32_t>(out + 36, a.ring.rkey);
  protocol::storeLe<uint64_t>(out + 40, a.ring.bytes);
  protocol::storeLe<uint64_t>(out + 48, a.credit.address);
  protocol::storeLe<uint32_t>(out + 56, a.credit.rkey);
}

// Every field of an address in range: a bad one is refused here rather than
// handed to the verbs (or used to size a ring).
Result<QueuePairAddress> getAddress(const uint8_t* in) {
  QueuePairAddress a;
  if (in[0] != static_cast<uint8_t>(LinkLayer::kInfiniBand) &&
      in[0] != static_cast<uint8_t>(LinkLayer::kEthernet)) {
    return protocolError("RDMA address with an unknown link layer " + std::to_string(in[0]));
  }
  a.link_layer = static_cast<LinkLayer>(in[0]);
  a.mtu = in[1];
  if (a.mtu < 1 || a.mtu > 5) return protocolError("RDMA address with a bad MTU");
  a.lid = protocol::loadLe<uint16_t>(in + 2);
  a.qp_number = protocol::loadLe<uint32_t>(in + 4);
  a.first_psn = protocol::loadLe<uint32_t>(in + 8);
  if (a.qp_number == 0 || a.qp_number > kMax24Bits || a.first_psn > kMax24Bits) {
    return protocolError("RDMA address with a queue pair number or PSN out of range");
  }
  std::copy(in + 12, in + 28, a.gid.begin());
  a.ring = {protocol::loadLe<uint64_t>(in + 28), protocol::loadLe<uint32_t>(in + 36),
            protocol::loadLe<uint64_t>(in + 40)};
  a.credit = {protocol::loadLe<uint64_t>(in + 48), protocol::loadLe<uint32_t>(in + 56),
              sizeof(uint64_t)};
  if (!std::has_single_bit(a.ring.bytes) || a.ring.bytes < kMinRingBytes ||
      a.ring.bytes > kMaxRingBytes) {
    return protocolError("RDMA address with a ring of " + std::to_string(a.ring.bytes) +
                         " bytes (a power of two from 64 KiB to 1 GiB)");
  }
  if (a.ring.address == 0 || a.credit.address == 0 || a.credit.address % 8 != 0) {
    return protocolError("RDMA address without its ring or credit word");
  }
  if (std::any_of(in + 60, in + kAddressSize, [](uint8_t b) { return b != 0; })) {
    return protocolError("RDMA address with reserved bytes set");
  }
  return a;
}

}  // namespace

RdmaOfferBytes encode(const RdmaOffer& offer) {
  RdmaOfferBytes out{};
  putHead(out, kOfferMagic);
  out[9] = offer.wants_rdma ? 1 : 0;
  out[10] = offer.spare ? 1 : 0;
  if (offer.wants_rdma) putAddress(out.data() + 16, offer.address);
  return out;
}

RdmaAnswerBytes encode(const RdmaAnswer& answer) {
  RdmaAnswerBytes out{};
  putHead(out, kAnswerMagic);
  out[9] = answer.use_rdma ? 1 : 0;
  if (answer.use_rdma) putAddress(out.data() + 16, answer.address);
  return out;
}

RdmaConfirmBytes encode(const RdmaConfirm& confirm) {
  RdmaConfirmBytes out{};
  putHead(out, kConfirmMagic);
  out[9] = confirm.ready ? 1 : 0;
  return out;
}

Result<RdmaOffer> decodeRdmaOffer(std::span<const uint8_t> bytes) {
  if (auto head = checkHead(bytes, RdmaOffer::kSize, kOfferMagic, "offer"); !head.isOk()) {
    return head;
  }
  auto wants = flag(bytes[9], "offer");
  if (!wants) return wants.status();
  auto spare = flag(bytes[10], "offer's spare");
  if (!spare) return spare.status();
  RdmaOffer offer;
  offer.wants_rdma = *wants;
  offer.spare = *spare;
  if (offer.wants_rdma) {
    auto address = getAddress(bytes.data() + 16);
    if (!address) return address.status();
    offer.address = *address;
  }
  return offer;
}

Result<RdmaAnswer> decodeRdmaAnswer(std::span<const uint8_t> bytes) {
  if (auto head = checkHead(bytes, RdmaAnswer::kSize, kAnswerMagic, "answer"); !head.isOk()) {
    return head;
  }
  auto use = flag(bytes[9], "answer");
  if (!use) return use.status();
  RdmaAnswer answer;
  answer.use_rdma = *use;
  if (answer.use_rdma) {
    auto address = getAddress(bytes.data() + 16);
    if (!address) return address.status();
    answer.address = *address;
  }
  return answer;
}

Result<RdmaConfirm> decodeRdmaConfirm(std::span<const uint8_t> bytes) {
  if (auto head = checkHead(bytes, RdmaConfirm::kSize, kConfirmMagic, "confirmation");
      !head.isOk()) {
    return head;
  }
  auto ready = flag(bytes[9], "confirmation");
  if (!ready) return ready.status();
  return RdmaConfirm{*ready};
}

Status checkReachable(const RdmaPort& mine, const QueuePairAddress& theirs) {
  if (mine.link_layer != theirs.link_layer) {
    return unsupportedError(std::string("RDMA ports of different link layers (") +
                            (mine.link_layer == LinkLayer::kInfiniBand ? "InfiniBand" : "RoCE") +
                            " here)");
  }
  if (mine.link_layer == LinkLayer::kInfiniBand) {
    if (mine.lid == 0 || theirs.lid == 0) {
      return unsupportedError("an InfiniBand port without a LID (no subnet manager?)");
    }
    return Status::ok();
  }
  if (isZeroGid(theirs.gid) || isZeroGid(mine.gid))
    return unsupportedError("a RoCE port without a GID");
  return Status::ok();
}

uint8_t pathMtu(const RdmaPort& mine, const QueuePairAddress& theirs) {
  return std::min(mine.active_mtu, theirs.mtu);
}

}  // namespace eccl::transport::rdma
