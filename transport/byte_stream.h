// A non-blocking byte stream: the layer under framing that TLS can wrap
// without touching frames.
//
// readSome/writeSome never block: they move what they can and report
// would_block when nothing can move now; waitReadable/waitWritable call back
// (on the stream's executor) when trying again makes sense. Between calls no
// buffer of the caller is held, which lets a writer swap its payload mid-frame.
#pragma once

#include <asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <system_error>

#include "transport/tls/fingerprint.h"

namespace eccl::transport {

class ByteStream {
 public:
  using WaitHandler = std::function<void(std::error_code)>;

  virtual ~ByteStream() = default;

  virtual size_t readSome(std::span<uint8_t> into, std::error_code& ec) = 0;
  // Gathers up to two pieces (a frame header and its payload) in one call.
  virtual size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                           std::error_code& ec) = 0;
  virtual void waitReadable(WaitHandler ready) = 0;
  virtual void waitWritable(WaitHandler ready) = 0;

  // Closes the stream; pending waits complete with operation_aborted.
  virtual void close() = 0;
  // Ends the sending side after what was written (a FIN); reading goes on.
  virtual void shutdownSend() = 0;
  // Sends a TCP reset instead of a FIN (tests, and peers that broke the protocol).
  virtual void abort() = 0;
  // Caps the stream's send rate at bytes_per_s (0: no cap). On the executor.
  // Failure is logged, not fatal: the stream keeps working, unpaced.
  virtual void setPacingRate(uint64_t bytes_per_s) = 0;
  // Readability waits may complete only once this many bytes have arrived
  // (the stream may cap it; 1 = any). Set it only to bytes the peer is bound
  // to send (the rest of a frame), or a wait could last until the peer's next
  // frame. On the executor. A hint: streams without such a knob ignore it.
  virtual void setReadLowWater(size_t /*bytes*/) {}
  // How long the link kept this stream's bytes waiting since it opened: the
  // time the kernel had data of it queued or in flight (TCP_INFO busy time),
  // and the time a fault injection held writes. On the executor; a closed
  // stream answers what it last knew.
  virtual std::chrono::nanoseconds sendBusyTime() = 0;

  // Handlers of waits run here; it serialises everything done with the stream,
  // this call included (a wrapper may swap what it wraps on the strand), so a
  // caller that needs it on other threads keeps a copy (FrameConnection does).
  virtual asio::any_io_executor executor() = 0;
  // "ip:port" of the far end, fixed at creation.
  virtual const std::string& remoteAddress() const = 0;
  // The far end's certificate once a TLS handshake verified it against the
  // CA; none over plaintext (or before the handshake). What the master pins
  // a peer's identity to. On the executor.
  virtual std::optional<tls::CertFingerprint> peerCertificate() const { return std::nullopt; }
  // Whether the bytes go through shared memory (transport/shm) rather than
  // the socket. Settled once the stream carried its first frame.
  virtual bool sharedMemory() const { return false; }
  // Whether they go through an RDMA queue pair (transport/rdma). Settled likewise.
  virtual bool rdma() const { return false; }
};

}  // namespace eccl::transport
