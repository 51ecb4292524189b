// A ByteStream for tests that run a connection on their own thread: reads are
// scripted (one piece per readSome, then "would block"), writes are taken
// whole and logged, and closing ends a pending read wait as a socket's does.
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "transport/byte_stream.h"

namespace eccl::test {

// What a FakeStream was asked to do; the test owns it, so it outlives the
// stream that a connection or wrapper owns.
struct FakeStreamLog {
  std::vector<std::vector<uint8_t>> writes;  // each write's bytes, in order
  std::vector<size_t> read_low_water;        // each setReadLowWater, in order
  size_t reads = 0;                          // readSome calls, "would block" ones included
  bool aborted = false;

  std::vector<uint8_t> written() const;  // every write's bytes, joined
};

class FakeStream final : public transport::ByteStream {
 public:
  FakeStream(asio::io_context& io, FakeStreamLog& log, std::deque<std::vector<uint8_t>> reads = {});

  // Delivers more bytes and completes the pending read wait.
  void arrive(std::vector<uint8_t> piece);
  // The peer's FIN: what was delivered is read, then the end of the stream.
  void peerCloses();

  size_t readSome(std::span<uint8_t> into, std::error_code& ec) override;
  size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                   std::error_code& ec) override;
  void waitReadable(WaitHandler ready) override;
  void waitWritable(WaitHandler) override {}  // every write is taken whole
  // Later reads fail; a pending read wait completes aborted (its handler
  // owns the connection, which owns this stream). Writes are still logged.
  void close() override;
  void shutdownSend() override {}
  void abort() override;
  void setPacingRate(uint64_t) override {}
  void setReadLowWater(size_t bytes) override { log_.read_low_water.push_back(bytes); }
  std::chrono::nanoseconds sendBusyTime() override { return {}; }
  asio::any_io_executor executor() override { return executor_; }
  const std::string& remoteAddress() const override { return address_; }
  // Claims to carry its bytes through shared memory (ByteStream::sharedMemory).
  void setSharedMemory(bool shared) { shared_memory_ = shared; }
  bool sharedMemory() const override { return shared_memory_; }

 private:
  asio::any_io_executor executor_;
  FakeStreamLog& log_;
  std::deque<std::vector<uint8_t>> reads_;
  WaitHandler pending_;
  bool closed_ = false;
  bool peer_closed_ = false;
  bool shared_memory_ = false;
  std::string address_ = "127.0.0.1:1";
};

}  // namespace eccl::test
