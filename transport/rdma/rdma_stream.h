// A ByteStream over an RDMA reliable-connected queue pair (queue_pair.h): the
// path a data connection's bytes take once its negotiation chose RDMA.
//
// The ring protocol. Each end owns a receive ring that the other end writes
// with RDMA. A writer copies bytes into its staging buffer at the offset they
// will have in the other end's ring and posts them with a data immediate
// carrying their count (ring_immediate.h); a reliable connection delivers in
// order, so what the reader may read is the sum of those counts. The reader
// hands room back by writing how far it has read into the writer's credit
// word, with a credit immediate so that a waiting writer wakes, each time a
// quarter of the ring is read (a writer waits only on a full ring, so a
// quarter always comes). shutdownSend posts an end immediate behind the last
// bytes.
//
// The wrapped stream (the connection's socket, already secured) stays open
// and carries nothing more: it tells a dead peer from an idle one, as the
// kernel closes a killed process's socket. One send slot is kept for credits
// and the end, so that writes never starve the other direction.
//
// Everything runs on the wrapped stream's executor, as for any ByteStream.
#pragma once

#include <asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "transport/byte_stream.h"
#include "transport/pacer.h"
#include "transport/rdma/queue_pair.h"

namespace eccl::transport::rdma {

class RdmaStream final : public ByteStream {
 public:
  // `qp` is connected to the other end's queue pair.
  RdmaStream(std::unique_ptr<ByteStream> inner, std::unique_ptr<QueuePair> qp);
  ~RdmaStream() override;

  size_t readSome(std::span<uint8_t> into, std::error_code& ec) override;
  size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                   std::error_code& ec) override;
  void waitReadable(WaitHandler ready) override;
  void waitWritable(WaitHandler ready) override;
  void close() override;
  void shutdownSend() override;
  void abort() override;
  // A token bucket here: the kernel never sees these bytes.
  void setPacingRate(uint64_t bytes_per_s) override;
  // How long the writer waited for room, send slots or pacing tokens.
  std::chrono::nanoseconds sendBusyTime() override;
  asio::any_io_executor executor() override { return inner_->executor(); }
  const std::string& remoteAddress() const override { return inner_->remoteAddress(); }
  std::optional<tls::CertFingerprint> peerCertificate() const override {
    return inner_->peerCertificate();
  }
  bool rdma() const override { return true; }

 private:
  // Takes the queue pair's events in, then wakes the waiters they satisfy
  // (at once when called from the event wait, posted otherwise).
  void pollEvents(bool call_now);
  void onImmediate(uint32_t value);
  // Room in the other end's ring, by its credit word.
  uint64_t room();
  // Send slots a write may use (one stays for credits and the end).
  uint32_t freeWriteSlots() const;
  // Posts what the reader owes: a credit, the end. Only when a slot is free.
  void postOwed();
  void fail(std::error_code why);
  bool canRead() const;
  bool canWrite();
  void settleWaiters(bool call_now);
  void armWaits();
  void armEventWait();
  void armSocketWait();
  void onSocketReadable(std::error_code ec);
  void releaseWaiters(std::error_code ec);
  void stop();
  void waitForTokens(WaitHandler ready);
  void post(WaitHandler ready, std::error_code ec = {});
  // Drops the stored waiters should the I/O context be destroyed with a wait
  // pending (its handler then never runs): they hold their connection, which
  // holds this stream, and the cycle must not outlive the transport.
  std::shared_ptr<void> releaseIfNeverRun(std::shared_ptr<bool> fired);

  std::unique_ptr<ByteStream> inner_;
  std::unique_ptr<QueuePair> qp_;
  asio::posix::stream_descriptor events_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  uint64_t send_ring_bytes_;     // the other end's ring
  uint64_t receive_ring_bytes_;  // this end's
  std::vector<QueuePairEvent> polled_;

  // Sending.
  uint64_t sent_ = 0;         // bytes posted into the other end's ring, ever
  uint64_t credit_seen_ = 0;  // the credit word's last value (never moves back)
  uint32_t outstanding_ = 0;  // posts whose completion is not polled yet
  bool send_closed_ = false;  // shutdownSend was called
  bool end_owed_ = false;     // ... and the end immediate waits for a slot
  // Receiving.
  uint64_t landed_ = 0;    // bytes the other end put into this ring, ever
  uint64_t read_ = 0;      // bytes read out of it, ever
  uint64_t credited_ = 0;  // read_ as last written to the other end's credit word
  bool end_received_ = false;

  std::error_code failure_;       // the queue pair or the protocol failed
  std::error_code socket_error_;  // the wrapped stream ended: the peer is gone
  bool closed_ = false;
  WaitHandler read_waiter_;
  WaitHandler write_waiter_;
  bool event_wait_armed_ = false;
  bool socket_wait_armed_ = false;
  std::chrono::steady_clock::time_point write_wait_started_{};
  std::chrono::nanoseconds write_wait_time_{0};
  Pacer pace_;
};

}  // namespace eccl::transport::rdma
