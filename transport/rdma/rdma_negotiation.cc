#include "transport/rdma/rdma_negotiation.h"

#include "src/common/log.h"

namespace eccl::transport::rdma {

RdmaNegotiation::RdmaNegotiation(RdmaSettings settings, std::string peer)
    : settings_(std::move(settings)), peer_(std::move(peer)) {}

void RdmaNegotiation::stayOnTcp(const std::string& why) {
  queue_pair_.reset();
  const std::string text = "connection with " + peer_ + " stays on TCP, not RDMA: " + why;
  if (settings_.insist) {
    ECCL_LOG_WARN("{}", text);
  } else {
    ECCL_LOG_INFO("{}", text);
  }
}

bool RdmaNegotiation::announce() {
  if (settings_.queue_pairs) return true;
  if (settings_.insist) stayOnTcp(settings_.unavailable);
  return false;
}

RdmaOfferBytes RdmaNegotiation::offer() {
  RdmaOffer message;
  auto made = settings_.queue_pairs->create(settings_.ring_bytes);
  if (!made) {
    stayOnTcp("cannot make a queue pair: " + made.status().message());
  } else {
    queue_pair_ = std::move(*made);
    message.wants_rdma = true;
    message.address = queue_pair_->address();
  }
  return encode(message);
}

Result<RdmaAnswerBytes> RdmaNegotiation::answer(std::span<const uint8_t> offer_bytes) {
  auto offer = decodeRdmaOffer(offer_bytes);
  if (!offer) return offer.status();
  RdmaAnswer message;
  if (!offer->wants_rdma) {
    stayOnTcp("it could not make a queue pair");
  } else if (!settings_.queue_pairs) {
    // The client offered, this side does not use RDMA: its own choice, said
    // loudly only when it insists (and then why it cannot).
    if (settings_.insist) stayOnTcp(settings_.unavailable);
  } else if (Status reach = checkReachable(settings_.queue_pairs->port(), offer->address);
             !reach.isOk()) {
    stayOnTcp(reach.message());
  } else if (auto made = settings_.queue_pairs->create(settings_.ring_bytes); !made) {
    stayOnTcp("cannot make a queue pair: " + made.status().message());
  } else if (Status connected = (*made)->connect(offer->address); !connected.isOk()) {
    stayOnTcp("cannot connect the queue pair: " + connected.message());
  } else {
    queue_pair_ = std::move(*made);
    message.use_rdma = true;
    message.address = queue_pair_->address();
    answered_rdma_ = true;
  }
  return encode(message);
}

Result<std::optional<RdmaConfirmBytes>> RdmaNegotiation::confirm(
    std::span<const uint8_t> answer_bytes) {
  auto answer = decodeRdmaAnswer(answer_bytes);
  if (!answer) return answer.status();
  if (!answer->use_rdma) {
    if (queue_pair_) stayOnTcp("the other end does not use RDMA, or cannot reach this port");
    return std::optional<RdmaConfirmBytes>();
  }
  if (!queue_pair_) {
    return protocolError("the other end answered RDMA to an offer without it");
  }
  RdmaConfirm message;
  if (Status reach = checkReachable(settings_.queue_pairs->port(), answer->address);
      !reach.isOk()) {
    stayOnTcp(reach.message());
  } else if (Status connected = queue_pair_->connect(answer->address); !connected.isOk()) {
    stayOnTcp("cannot connect the queue pair: " + connected.message());
  } else {
    message.ready = true;
    chosen_ = true;
  }
  return std::optional<RdmaConfirmBytes>(encode(message));
}

Status RdmaNegotiation::confirmed(std::span<const uint8_t> confirm_bytes) {
  auto confirm = decodeRdmaConfirm(confirm_bytes);
  if (!confirm) return confirm.status();
  if (confirm->ready) {
    chosen_ = true;
  } else {
    stayOnTcp("the other end could not connect its queue pair");
  }
  return Status::ok();
}

std::unique_ptr<QueuePair> RdmaNegotiation::takeChosen() {
  if (!chosen_) return nullptr;
  ECCL_LOG_DEBUG("connection with {} uses RDMA ({})", peer_,
                 describe(settings_.queue_pairs->port()));
  return std::move(queue_pair_);
}

}  // namespace eccl::transport::rdma
