// One connection's side of the RDMA exchange of rdma_offer.h: which queue
// pair it offers or answers with, and whether the exchange chose RDMA. The
// stream that runs the connection's transport negotiation (shm_stream.h)
// moves the bytes; this decides what they say.
//
// The exchange only happens when the client said in its shared-memory offer
// that an RDMA offer follows (shm::Offer::rdma_follows) and shared memory was
// not chosen. Every way it can fail short of bad bytes (no device on one
// side, ports that cannot reach each other, a queue pair that cannot be made
// or connected) leaves the connection on TCP, with a warning when RDMA was
// insisted on (ECCL_TRANSPORT=rdma).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "src/common/status.h"
#include "transport/rdma/queue_pair.h"
#include "transport/rdma/rdma_offer.h"

namespace eccl::transport::rdma {

struct RdmaSettings {
  // Where this side's queue pairs come from; null: it does not use RDMA.
  std::shared_ptr<QueuePairFactory> queue_pairs;
  bool insist = false;  // warn when a connection stays on TCP (ECCL_TRANSPORT=rdma)
  uint64_t ring_bytes = uint64_t{2} << 20;  // this side's receive ring
  // Why queue_pairs is null though RDMA was allowed (the TLS it would
  // bypass, say): what an insisting side warns with.
  std::string unavailable;
};

class RdmaNegotiation {
 public:
  // `peer`: how log lines name the other end.
  RdmaNegotiation(RdmaSettings settings, std::string peer);

  // Client: whether it announces an offer (it has queue pairs to offer);
  // when not and insisting, it warns why.
  bool announce();
  // Client: the offer, without RDMA when the queue pair cannot be made. An
  // answer comes back to every offer.
  RdmaOfferBytes offer();
  // Server: the answer to the client's offer; awaitsConfirm() says whether it
  // chose RDMA and a confirmation follows. kProtocolError or kUnsupported for
  // bytes that are no offer of this version (as for the other two below).
  Result<RdmaAnswerBytes> answer(std::span<const uint8_t> offer_bytes);
  bool awaitsConfirm() const { return answered_rdma_; }
  // Client: the confirmation of an answer that chose RDMA (this connects the
  // queue pair); none after one that did not.
  Result<std::optional<RdmaConfirmBytes>> confirm(std::span<const uint8_t> answer_bytes);
  // Server: takes the client's confirmation in.
  Status confirmed(std::span<const uint8_t> confirm_bytes);

  // After the exchange: the connected queue pair when it chose RDMA, else null.
  std::unique_ptr<QueuePair> takeChosen();

 private:
  // Logs why the connection stays on TCP (a warning when insisting) and
  // drops the queue pair.
  void stayOnTcp(const std::string& why);

  const RdmaSettings settings_;
  const std::string peer_;
  std::unique_ptr<QueuePair> queue_pair_;
  bool answered_rdma_ = false;
  bool chosen_ = false;
};

}  // namespace eccl::transport::rdma
