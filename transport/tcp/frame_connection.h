// One TCP connection speaking ECCL frames: a reader that places chunk payloads
// straight where its delegate says, and a writer that pulls the next frame
// from its delegate whenever the socket has room.
//
// Everything a FrameConnection does runs on its stream's executor (a strand),
// so the reader and writer state need no lock. The delegate (the channel, or
// the handshake before it) is called from that strand too.
#pragma once

#include <array>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "src/common/status.h"
#include "src/protocol/checksum.h"
#include "src/protocol/frame.h"
#include "src/protocol/messages.h"
#include "transport/byte_stream.h"

namespace eccl::transport::tcp {

class FrameConnection;

// Identifies the chunk an outgoing frame carries.
struct ChunkRef {
  uint64_t message = 0;
  uint32_t seq = 0;
  bool hedge = false;
};

struct OutgoingFrame {
  static constexpr size_t kChunkHeadSize =
      protocol::kFrameHeaderSize + protocol::ChunkHeader::kEncodedSize;
  enum class Kind { kControl, kChunk };

  Kind kind = Kind::kControl;
  protocol::MessageType type = protocol::MessageType::kPing;
  std::vector<uint8_t> control;                      // kControl: the whole encoded frame
  std::array<uint8_t, kChunkHeadSize> chunk_head{};  // kChunk: frame + chunk headers
  const uint8_t* payload = nullptr;                  // kChunk: the slice to send
  uint64_t payload_size = 0;
  std::unique_ptr<uint8_t[]> private_payload;  // a copy, once detached from caller memory
  ChunkRef chunk;
  bool uses_caller_memory = false;
  uint64_t written = 0;

  static std::unique_ptr<OutgoingFrame> makeControl(protocol::MessageType type,
                                                    std::vector<uint8_t> frame);
  std::span<const uint8_t> head() const;
  uint64_t size() const { return head().size() + (kind == Kind::kChunk ? payload_size : 0); }
};

// Where the reader puts a chunk's payload.
struct ChunkTarget {
  uint8_t* destination = nullptr;  // nullptr: read and drop (duplicate, stale or failed stream)
  uint64_t token = 0;              // the delegate's handle for onChunkPayload
};

class ConnectionDelegate {
 public:
  virtual ~ConnectionDelegate() = default;

  // Whether frames of this type may arrive here at all. Checked from the frame
  // header, before any payload is read or allocated.
  virtual bool acceptsFrame(protocol::MessageType /*type*/) const { return true; }

  virtual Status onControlFrame(FrameConnection& connection, const protocol::FrameHeader& header,
                                std::span<const uint8_t> payload) = 0;
  virtual Result<ChunkTarget> onChunkHeader(FrameConnection& connection,
                                            const protocol::FrameHeader& header,
                                            const protocol::ChunkHeader& chunk) = 0;
  // The payload has been read in full; payload_status says whether it passed its checksum.
  virtual Status onChunkPayload(FrameConnection& connection, const ChunkTarget& target,
                                Status payload_status) = 0;

  // The next frame to write, or null: the writer then parks until wakeWriter().
  virtual std::unique_ptr<OutgoingFrame> nextFrame(FrameConnection& connection) = 0;
  virtual void onFrameWritten(FrameConnection& connection, OutgoingFrame& frame) = 0;
  // A chunk frame stopped referencing caller memory (see FrameConnection::detach).
  virtual void onDetached(FrameConnection& connection, const ChunkRef& chunk) = 0;
  // The read of this token writes into its target no more (see FrameConnection::dropRead).
  virtual void onReadDropped(FrameConnection& /*connection*/, uint64_t /*token*/) {}

  // The connection failed (I/O error, end of stream, bad frame). The delegate decides what
  // stops; the connection keeps running until stop().
  virtual void onConnectionError(FrameConnection& connection, Status error) = 0;
  // Called once after stop(): no I/O is in progress and none will follow.
  virtual void onConnectionStopped(FrameConnection& connection) = 0;
};

class FrameConnection : public std::enable_shared_from_this<FrameConnection> {
 public:
  using Clock = std::chrono::steady_clock;

  // read_low_water: the most bytes the reader lets arrive before it wakes
  // (ChannelOptions::read_low_water); 1 wakes it for every arrival.
  FrameConnection(std::unique_ptr<ByteStream> stream, int index, size_t read_low_water = 1);
  ~FrameConnection();

  // Starts reading and writing with this delegate (one stopped already only
  // tells it onConnectionStopped).
  void start(std::shared_ptr<ConnectionDelegate> delegate);
  // Hands the connection to another delegate, resumes a paused reader and kicks the writer.
  void attach(std::shared_ptr<ConnectionDelegate> delegate);
  // From inside a delegate's reader callback: read nothing more until attach().
  void pauseReading() { read_paused_ = true; }

  // Any thread: the delegate has a frame for a parked writer.
  void wakeWriter();
  // Any thread: if the frame being written carries this chunk from caller memory,
  // copy the rest of it so that the caller's buffer is free (onDetached follows).
  void detach(const ChunkRef& chunk);
  // Any thread: if the chunk being read has this target token, read the rest of
  // it into nothing; either way onReadDropped follows (unless stopped).
  void dropRead(uint64_t token);
  // Any thread: caps this connection's send rate (0: no cap); nothing once the
  // connection has stopped. Bytes queued after the call go at the new rate:
  // the writer applies it before its next write, also when it is already
  // running on the strand and would take those bytes before the posted change.
  void setPacingRate(uint64_t bytes_per_s);
  // Any thread: close the stream, drop what is being written, then onConnectionStopped.
  void stop();
  // Any thread: as stop(), with a TCP reset instead of an orderly close.
  void abort();

  // Any thread: the stream's executor, read once at construction (a
  // shared-memory stream swaps its wrapped stream on the strand when it moves
  // onto RDMA; the executor stays the same).
  asio::any_io_executor executor() const { return executor_; }
  int index() const { return index_; }
  void setIndex(int index) { index_ = index; }
  const std::string& remoteAddress() const { return remote_; }
  // The far end's verified TLS certificate (ByteStream::peerCertificate). On the executor.
  std::optional<tls::CertFingerprint> peerCertificate() const { return stream_->peerCertificate(); }
  // Whether the bytes go through shared memory (ByteStream::sharedMemory). On the executor.
  bool sharedMemory() const { return stream_->sharedMemory(); }
  // Whether they go through an RDMA queue pair (ByteStream::rdma). On the executor.
  bool rdma() const { return stream_->rdma(); }

  // Liveness and statistics, readable from any thread.
  Clock::time_point lastReceive() const {
    return Clock::time_point(Clock::duration(last_rx_.load(std::memory_order_relaxed)));
  }
  Clock::time_point lastSend() const {
    return Clock::time_point(Clock::duration(last_tx_.load(std::memory_order_relaxed)));
  }
  uint64_t bytesSent() const { return bytes_sent_.load(std::memory_order_relaxed); }
  uint64_t bytesReceived() const { return bytes_received_.load(std::memory_order_relaxed); }
  uint64_t chunksSent() const { return chunks_sent_.load(std::memory_order_relaxed); }
  // Bytes of the current outgoing frame not yet handed to the kernel (0 when idle).
  uint64_t unwrittenBytes() const { return unwritten_.load(std::memory_order_relaxed); }
  // When the writer took its current frame.
  Clock::time_point frameStarted() const {
    return Clock::time_point(Clock::duration(frame_started_.load(std::memory_order_relaxed)));
  }
  bool writerIdle() const { return idle_.load(std::memory_order_relaxed); }
  // How long the link kept this connection's bytes waiting
  // (ByteStream::sendBusyTime), as last sampled by the reader or the writer
  // (at most every kSendBusySamplePeriod while they run): how long the link, not this
  // process, set the pace.
  std::chrono::nanoseconds sendBusy() const {
    return std::chrono::nanoseconds(send_busy_ns_.load(std::memory_order_relaxed));
  }

 private:
  enum class ReadState { kFrameHeader, kChunkHeader, kChunkPayload, kControlPayload };

  void pumpRead();
  void pumpWrite();
  // The kernel's busy time is cumulative, so a sample taken late loses
  // nothing, and the master reads it over windows of seconds; each sample is
  // a TCP_INFO call (a syscall that takes the socket's lock).
  static constexpr std::chrono::milliseconds kSendBusySamplePeriod{10};
  // Strand only: refreshes sendBusy() unless it was refreshed within kSendBusySamplePeriod.
  void sampleSendBusy();
  // Reads into `into`: first what an earlier read fetched ahead, else from
  // the stream; over TCP a part smaller than kReadAhead is read through the
  // read-ahead buffer, so that the small frames that follow it (credits,
  // deliveries, the next chunk's headers) come with it in one system call.
  size_t readSome(std::span<uint8_t> into, std::error_code& ec);
  // Counts n bytes read from the stream (none when the read failed); returns them.
  size_t countReceived(size_t n, const std::error_code& ec);
  // Consumes n freshly read bytes; false when the connection failed.
  bool advanceRead(size_t n);
  bool finishFrameHeader();
  bool finishChunkHeader();
  bool finishChunkPayload();
  bool finishControlPayload();
  std::span<uint8_t> readTarget();
  // What the peer still owes of the frame part being read: the reader sleeps
  // until that much, at most read_low_water_, has arrived.
  size_t bytesToFinishReadUnit() const;
  void fail(Status error);
  void stopOnStrand(bool reset);
  // A graceful stop: FIN, then read and drop what still comes until the
  // peer's FIN (at most kLinger), then close.
  void lingerThenClose();
  // Strand only: hands the latest setPacingRate to the stream, if one is new.
  void applyPacingRate();
  void drainUntilClosed(std::shared_ptr<asio::steady_timer> linger);
  std::string describe() const;

  std::unique_ptr<ByteStream> stream_;
  const asio::any_io_executor executor_;
  int index_;
  const size_t read_low_water_;
  std::string remote_;
  std::shared_ptr<ConnectionDelegate> delegate_;
  bool started_ = false;
  bool stopped_ = false;
  bool failed_ = false;
  Status failure_;  // why it failed, for a delegate that takes over afterwards

  // Reader (strand only).
  ReadState read_state_ = ReadState::kFrameHeader;
  bool read_paused_ = false;
  bool read_waiting_ = false;  // a readiness wait is pending
  bool read_posted_ = false;   // a pumpRead is queued after a full turn
  std::array<uint8_t, OutgoingFrame::kChunkHeadSize> head_buf_{};
  size_t head_have_ = 0;
  protocol::FrameHeader frame_;
  protocol::ChunkHeader chunk_;
  ChunkTarget target_;
  uint64_t payload_have_ = 0;
  std::vector<uint8_t> control_buf_;
  std::unique_ptr<uint8_t[]> discard_buf_;
  protocol::StreamingChecksum checksum_;
  static constexpr size_t kReadAhead = 4096;
  std::unique_ptr<uint8_t[]> ahead_buf_;  // kReadAhead bytes, once a small part was read
  size_t ahead_begin_ = 0;                // ahead_buf_[begin, end): read, not yet consumed
  size_t ahead_end_ = 0;

  // Writer (strand only).
  std::unique_ptr<OutgoingFrame> current_;
  bool write_waiting_ = false;
  bool write_posted_ = false;
  bool parked_ = false;  // nothing to write; wakeWriter() resumes
  static constexpr uint64_t kNoNewPacingRate = UINT64_MAX;
  std::atomic<uint64_t> new_pacing_rate_{kNoNewPacingRate};  // set by setPacingRate

  std::atomic<bool> idle_{false};
  std::atomic<int64_t> last_rx_;
  std::atomic<int64_t> last_tx_;
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};
  std::atomic<uint64_t> chunks_sent_{0};
  std::atomic<uint64_t> unwritten_{0};
  std::atomic<int64_t> frame_started_{0};
  Clock::time_point busy_sampled_{};  // strand only
  std::atomic<uint64_t> send_busy_ns_{0};
};

}  // namespace eccl::transport::tcp
