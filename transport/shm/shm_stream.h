// A ByteStream that carries a data connection's bytes through shared memory
// when both ends are on one host, and through the stream it wraps otherwise.
//
// It first runs the exchange of shm_offer.h over the wrapped stream (already
// secured: TLS and the cluster secret come before it). With shared memory
// the sides wake each other with futex doorbells in the segment, rung when
// the other side said it sleeps (shm_ring.h, doorbell.h). The wrapped
// stream stays open but silent: it tells a dead peer apart from an idle
// one, as the kernel closes a killed process's socket. The framing above
// (FrameConnection, the striped channel) is the same on either path, so
// chunks, credits, pings and goodbyes work alike.
//
// When shared memory is not chosen and the client announced it, the RDMA
// exchange follows over the same stream (rdma/rdma_negotiation.h); when it
// chooses RDMA, the wrapped stream is replaced by an RdmaStream over it, and
// the bytes go on as on the TCP path, through that.
//
// Everything runs on the wrapped stream's executor, as for any ByteStream.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "transport/byte_stream.h"
#include "transport/pacer.h"
#include "transport/rdma/rdma_negotiation.h"
#include "transport/shm/doorbell.h"
#include "transport/shm/shm_ring.h"
#include "transport/shm/shm_segment.h"

namespace eccl::transport::shm {

enum class ShmRole { kClient, kServer };

struct ShmSettings {
  bool allow = true;    // this side would use shared memory with a peer on its host
  bool insist = false;  // warn when a peer's connection cannot use it (ECCL_TRANSPORT=shm)
  uint64_t ring_bytes = 4u << 20;  // each direction's ring, when this side creates the segment
  bool spare = false;              // client: not the channel's first connection (Offer::spare)
};

class ShmStream final : public ByteStream {
 public:
  // `rdma`: this side's part of the RDMA exchange; null: it does not use RDMA.
  ShmStream(std::unique_ptr<ByteStream> inner, ShmRole role, ShmSettings settings,
            std::unique_ptr<rdma::RdmaNegotiation> rdma = nullptr);
  ~ShmStream() override;

  size_t readSome(std::span<uint8_t> into, std::error_code& ec) override;
  size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                   std::error_code& ec) override;
  void waitReadable(WaitHandler ready) override;
  void waitWritable(WaitHandler ready) override;
  void close() override;
  void shutdownSend() override;
  void abort() override;
  // Over shared memory a token bucket here (bursts of 10 ms, at least
  // 16 KiB); otherwise the wrapped stream's (kernel) pacing.
  void setPacingRate(uint64_t bytes_per_s) override;
  // Passed on only once the bytes go through the wrapped stream for good
  // (the rings wake their reader per write already).
  void setReadLowWater(size_t bytes) override;
  // Over shared memory: how long the writer waited for room in the ring.
  std::chrono::nanoseconds sendBusyTime() override;
  asio::any_io_executor executor() override { return inner_->executor(); }
  const std::string& remoteAddress() const override { return inner_->remoteAddress(); }
  std::optional<tls::CertFingerprint> peerCertificate() const override {
    return inner_->peerCertificate();
  }
  bool sharedMemory() const override { return mode_ == Mode::kShm; }
  bool rdma() const override { return mode_ == Mode::kWrapped && inner_->rdma(); }

 private:
  enum class Mode { kNegotiating, kWrapped, kShm };
  enum class Await { kOffer, kAnswer, kConfirm, kRdmaOffer, kRdmaAnswer, kRdmaConfirm, kNothing };

  // Negotiation: moves the exchange on as far as the wrapped stream allows.
  void pump();
  void onAwaitedBytes();
  void onOffer(std::span<const uint8_t> bytes);
  void onAnswer(std::span<const uint8_t> bytes);
  void onConfirm(std::span<const uint8_t> bytes);
  // Shared memory was not chosen: the RDMA exchange, if announced, else TCP.
  void notSharedMemory();
  void onRdmaOffer(std::span<const uint8_t> bytes);
  void onRdmaAnswer(std::span<const uint8_t> bytes);
  void onRdmaConfirm(std::span<const uint8_t> bytes);
  // Once the exchange is over: an RdmaStream over the wrapped stream, if it chose RDMA.
  void useRdmaIfChosen();
  void expect(Await what, size_t bytes);
  void queue(std::span<const uint8_t> bytes);
  void decide(Mode mode) { decided_ = mode; }
  bool writesOpen() const { return mode_ != Mode::kNegotiating; }
  void fail(std::error_code why);
  void useRings();
  void explainTcp(const std::string& why);

  // Shared memory: wakes the other side.
  void ringDoorbell();
  // Sleeps for the reader (and a writer short of room): on the doorbell
  // (`seen`: its count before the conditions were checked) and on the
  // wrapped stream over shared memory, for the end of the peer; on the
  // wrapped stream for the exchange's bytes before.
  void armDoorbellWait(uint32_t seen = 0);
  void armSocketWait();
  // Negotiation: writes the exchange's pending bytes once the wrapped stream takes them.
  void armFlushWait();
  void onDoorbell(std::error_code ec);
  // Wakes the waiters whose condition holds, and sleeps on doorbells for the others.
  void settleWaiters(bool call_now);
  // Over shared memory the wrapped stream carries nothing: reading it finds its end.
  void noticeSocketEnd();
  // Hands every stored waiter (reader, writer, a writer parked during the
  // exchange) `ec` on the executor.
  void releaseWaiters(std::error_code ec);
  // close() and abort(): no more I/O here, timers cancelled.
  void stop();
  // Moves a pending negotiation on; false (with ec: would_block, the
  // failure, or a closed stream) when no I/O can happen now.
  bool readyForIo(std::error_code& ec);
  // Pacing over shared memory: wakes `ready` once a useful write may go.
  void waitForTokens(WaitHandler ready);
  void post(WaitHandler ready, std::error_code ec = {});

  std::unique_ptr<ByteStream> inner_;
  const ShmRole role_;
  const ShmSettings settings_;
  std::unique_ptr<rdma::RdmaNegotiation> rdma_;
  bool rdma_follows_ = false;  // the client's offer announced the RDMA exchange
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);

  Mode mode_ = Mode::kNegotiating;
  std::optional<Mode> decided_;
  Await await_ = Await::kNothing;
  std::vector<uint8_t> in_;
  size_t in_have_ = 0;
  std::vector<uint8_t> out_;
  size_t out_written_ = 0;
  WaitHandler parked_writer_;
  std::error_code failure_;

  std::unique_ptr<ShmSegment> segment_;
  uint64_t ring_bytes_ = 0;
  ShmRing tx_;
  ShmRing rx_;
  bool send_closed_ = false;  // shutdownSend: the ring says so to the reader
  bool closed_ = false;
  std::error_code inner_error_;  // the wrapped stream ended: the peer is gone
  WaitHandler read_waiter_;
  WaitHandler write_waiter_;
  bool socket_wait_armed_ = false;
  bool flush_wait_armed_ = false;
  uint32_t* peer_doorbell_ = nullptr;
  std::unique_ptr<DoorbellWaiter> doorbell_;  // after segment_: it sleeps on a word there
  std::chrono::steady_clock::time_point write_wait_started_{};
  Pacer pace_;

  std::chrono::nanoseconds ring_full_time_{0};
};

}  // namespace eccl::transport::shm
