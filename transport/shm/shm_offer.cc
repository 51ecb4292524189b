#include "transport/shm/shm_offer.h"

#include <algorithm>
#include <cstring>

#include "transport/negotiation_message.h"
#include "transport/shm/shm_segment.h"

namespace eccl::transport::shm {
namespace {

constexpr NegotiationMagic kOfferMagic = {'E', 'C', 'C', 'L', 'S', 'H', 'M', 'O'};
constexpr NegotiationMagic kAnswerMagic = {'E', 'C', 'C', 'L', 'S', 'H', 'M', 'A'};
constexpr NegotiationMagic kConfirmMagic = {'E', 'C', 'C', 'L', 'S', 'H', 'M', 'C'};
constexpr std::string_view kExchange = "transport";

template <size_t N>
void putMagic(std::array<uint8_t, N>& out, const NegotiationMagic& magic) {
  putNegotiationHead(out, magic, kOfferVersion);
}

Status checkHead(std::span<const uint8_t> bytes, size_t size, const NegotiationMagic& magic,
                 const char* what) {
  return checkNegotiationHead(bytes, size, magic, kOfferVersion, kExchange, what,
                              " (an ECCL build without shared-memory negotiation?)");
}

Result<bool> flag(uint8_t byte, const char* what) {
  return negotiationFlag(byte, kExchange, what);
}

}  // namespace

bool looksLikeNegotiation(std::span<const uint8_t> bytes) {
  static constexpr std::array<uint8_t, 7> kCommon = {'E', 'C', 'C', 'L', 'S', 'H', 'M'};
  return bytes.size() >= kCommon.size() &&
         std::equal(kCommon.begin(), kCommon.end(), bytes.begin());
}

OfferBytes encode(const Offer& offer) {
  OfferBytes out{};
  putMagic(out, kOfferMagic);
  out[9] = offer.wants_shm ? 1 : 0;
  out[10] = offer.spare ? 1 : 0;
  out[11] = offer.rdma_follows ? 1 : 0;
  std::copy(offer.host.begin(), offer.host.end(), out.begin() + 12);
  return out;
}

AnswerBytes encode(const Answer& answer) {
  AnswerBytes out{};
  putMagic(out, kAnswerMagic);
  out[9] = answer.use_shm ? 1 : 0;
  for (int i = 0; i < 8; ++i)
    out[16 + i] = static_cast<uint8_t>(answer.ring_bytes >> (8 * i));
  const size_t n = std::min(answer.segment.size(), kMaxSegmentName);
  std::memcpy(out.data() + 24, answer.segment.data(), n);
  return out;
}

ConfirmBytes encode(const Confirm& confirm) {
  ConfirmBytes out{};
  putMagic(out, kConfirmMagic);
  out[9] = confirm.mapped ? 1 : 0;
  return out;
}

Result<Offer> decodeOffer(std::span<const uint8_t> bytes) {
  if (auto head = checkHead(bytes, Offer::kSize, kOfferMagic, "offer"); !head.isOk()) return head;
  auto wants = flag(bytes[9], "offer");
  if (!wants) return wants.status();
  auto spare = flag(bytes[10], "offer's spare");
  if (!spare) return spare.status();
  auto rdma_follows = flag(bytes[11], "offer's RDMA");
  if (!rdma_follows) return rdma_follows.status();
  Offer offer;
  offer.wants_shm = *wants;
  offer.spare = *spare;
  offer.rdma_follows = *rdma_follows;
  std::copy(bytes.begin() + 12, bytes.begin() + 28, offer.host.begin());
  return offer;
}

Result<Answer> decodeAnswer(std::span<const uint8_t> bytes) {
  if (auto head = checkHead(bytes, Answer::kSize, kAnswerMagic, "answer"); !head.isOk()) {
    return head;
  }
  auto use = flag(bytes[9], "answer");
  if (!use) return use.status();
  Answer answer;
  answer.use_shm = *use;
  for (int i = 0; i < 8; ++i)
    answer.ring_bytes |= uint64_t{bytes[16 + i]} << (8 * i);
  const auto* name = reinterpret_cast<const char*>(bytes.data() + 24);
  answer.segment.assign(name, strnlen(name, kMaxSegmentName));
  if (answer.use_shm && !isSegmentName(answer.segment)) {
    return protocolError("transport answer names no ECCL segment");
  }
  return answer;
}

Result<Confirm> decodeConfirm(std::span<const uint8_t> bytes) {
  if (auto head = checkHead(bytes, Confirm::kSize, kConfirmMagic, "confirmation"); !head.isOk()) {
    return head;
  }
  auto mapped = flag(bytes[9], "confirmation");
  if (!mapped) return mapped.status();
  return Confirm{*mapped};
}

}  // namespace eccl::transport::shm
