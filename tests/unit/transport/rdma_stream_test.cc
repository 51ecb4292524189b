// RdmaStream's ring protocol (transport/rdma/rdma_stream.h) over the
// in-process loopback fabric: bytes in order across the ring's end, credits
// that wake a writer exactly when a quarter of the ring was read, the end of
// the stream, pacing, and the errors a survivor gets when the other end dies,
// cuts the fabric, or breaks the protocol.
#include "transport/rdma/rdma_stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>
#include <functional>
#include <vector>

#include "tests/support/loopback_queue_pairs.h"
#include "tests/support/test_env.h"
#include "transport/rdma/rdma_errors.h"
#include "transport/rdma/ring_immediate.h"
#include "transport/tcp/tcp_stream.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::rdma::QueuePair;
using transport::rdma::RdmaErrc;
using transport::rdma::RdmaStream;
using transport::rdma::RingImmediate;

constexpr uint64_t kRing = 64 << 10;

// Two ends of a connection on one I/O context: `a` is always an RdmaStream;
// `b` is one too, or, hand-served, a raw socket and queue pair the test drives.
class Ends {
 public:
  explicit Ends(bool hand_served = false)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::ip::tcp::socket client(asio::make_strand(io_));
    client.connect(acceptor_.local_endpoint());
    asio::ip::tcp::socket server(asio::make_strand(io_));
    acceptor_.accept(server);
    auto qa = fabric_->create(kRing);
    auto qb = fabric_->create(kRing);
    EXPECT_TRUE(qa && qb);
    EXPECT_TRUE((*qa)->connect((*qb)->address()).isOk());
    EXPECT_TRUE((*qb)->connect((*qa)->address()).isOk());
    a_ = std::make_unique<RdmaStream>(
        std::make_unique<transport::tcp::TcpStream>(std::move(client)), std::move(*qa));
    if (hand_served) {
      raw_socket_ = std::make_unique<asio::ip::tcp::socket>(std::move(server));
      raw_qp_ = std::move(*qb);
    } else {
      b_ = std::make_unique<RdmaStream>(
          std::make_unique<transport::tcp::TcpStream>(std::move(server)), std::move(*qb));
    }
  }

  RdmaStream& a() { return *a_; }
  RdmaStream& b() { return *b_; }
  asio::ip::tcp::socket& rawSocket() { return *raw_socket_; }
  QueuePair& rawQueuePair() { return *raw_qp_; }
  LoopbackFabric& fabric() { return *fabric_; }
  void destroyA() { a_.reset(); }
  void destroyStreams() {
    a_.reset();
    b_.reset();
    raw_qp_.reset();
  }

  void runFor(std::chrono::milliseconds time) {
    io_.restart();
    io_.run_for(time);
  }
  // Runs until `done` or the (scaled) time is up; says whether `done`.
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto until = std::chrono::steady_clock::now() + deadline(limit);
    while (!done() && std::chrono::steady_clock::now() < until)
      runFor(5ms);
    return done();
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<LoopbackFabric> fabric_ = LoopbackFabric::make();
  std::unique_ptr<RdmaStream> a_;
  std::unique_ptr<RdmaStream> b_;
  std::unique_ptr<asio::ip::tcp::socket> raw_socket_;
  std::unique_ptr<QueuePair> raw_qp_;
};

// Writes `bytes` as a framed writer does: a small "header" piece and a
// payload piece per call, of changing sizes, waiting whenever it must.
class Writer {
 public:
  Writer(RdmaStream& stream, std::vector<uint8_t> bytes, bool shutdown_after)
      : stream_(stream), bytes_(std::move(bytes)), shutdown_after_(shutdown_after) {}

  void start() {
    const std::span<const uint8_t> all(bytes_);
    while (written_ < bytes_.size()) {
      const size_t rest = bytes_.size() - written_;
      const size_t header = std::min<size_t>(rest, 16);
      const size_t payload = std::min<size_t>(rest - header, 1 + (calls_++ * 7919) % 50000);
      std::error_code ec;
      const size_t n = stream_.writeSome(all.subspan(written_, header),
                                         all.subspan(written_ + header, payload), ec);
      if (ec == asio::error::would_block) {
        return stream_.waitWritable([this](std::error_code wait_ec) {
          if (wait_ec) error = wait_ec;
          if (!error) start();
        });
      }
      if (ec) {
        error = ec;
        return;
      }
      written_ += n;
    }
    if (shutdown_after_) stream_.shutdownSend();
    done = true;
  }

  bool done = false;
  std::error_code error;

 private:
  RdmaStream& stream_;
  const std::vector<uint8_t> bytes_;
  const bool shutdown_after_;
  size_t written_ = 0;
  size_t calls_ = 0;
};

// Reads until the end of the stream, in reads of changing sizes.
class Reader {
 public:
  explicit Reader(RdmaStream& stream) : stream_(stream) {}

  void start() {
    for (;;) {
      std::vector<uint8_t> into(1 + (calls_++ * 104729) % 40000);
      std::error_code ec;
      const size_t n = stream_.readSome(into, ec);
      if (ec == asio::error::would_block) {
        return stream_.waitReadable([this](std::error_code wait_ec) {
          if (wait_ec) error = wait_ec;
          if (!error) start();
        });
      }
      if (ec == asio::error::eof) {
        eof = true;
        return;
      }
      if (ec) {
        error = ec;
        return;
      }
      got.insert(got.end(), into.begin(), into.begin() + static_cast<ptrdiff_t>(n));
    }
  }

  std::vector<uint8_t> got;
  bool eof = false;
  std::error_code error;

 private:
  RdmaStream& stream_;
  size_t calls_ = 0;
};

// Reads whatever is there now; the error if the read failed with one other than would_block.
std::error_code readNow(RdmaStream& stream, size_t max, size_t* got = nullptr) {
  std::vector<uint8_t> into(max);
  std::error_code ec;
  const size_t n = stream.readSome(into, ec);
  if (got) *got = n;
  return ec;
}

TEST(RingImmediate, DecodesWhatItEncodesAndRejectsTheRest) {
  auto data = RingImmediate::decode(RingImmediate::data(12345));
  ASSERT_TRUE(data);
  EXPECT_EQ(data->kind, RingImmediate::Kind::kData);
  EXPECT_EQ(data->bytes, 12345u);
  EXPECT_EQ(RingImmediate::decode(RingImmediate::data(RingImmediate::kMaxDataBytes))->bytes,
            RingImmediate::kMaxDataBytes);
  EXPECT_EQ(RingImmediate::decode(RingImmediate::credit())->kind, RingImmediate::Kind::kCredit);
  EXPECT_EQ(RingImmediate::decode(RingImmediate::end())->kind, RingImmediate::Kind::kEnd);
  EXPECT_FALSE(RingImmediate::decode(3u << 30));
  EXPECT_FALSE(RingImmediate::decode(RingImmediate::credit() | 1));
  EXPECT_FALSE(RingImmediate::decode(RingImmediate::end() | 7));
}

TEST(RdmaStream, BytesArriveInOrderBothWaysAcrossManyTurnsOfTheRing) {
  Ends ends;
  const size_t size = 8 << 20;  // 128 turns of a 64 KiB ring
  const std::vector<uint8_t> ab = pattern(size, 1), ba = pattern(size, 2);
  Writer a_writes(ends.a(), ab, /*shutdown_after=*/true);
  Writer b_writes(ends.b(), ba, /*shutdown_after=*/true);
  Reader b_reads(ends.b()), a_reads(ends.a());
  a_writes.start();
  b_writes.start();
  b_reads.start();
  a_reads.start();
  ASSERT_TRUE(ends.runUntil(
      [&] {
        return (b_reads.eof && a_reads.eof) || a_writes.error || b_writes.error || a_reads.error ||
               b_reads.error;
      },
      60s));
  EXPECT_FALSE(a_writes.error) << a_writes.error.message();
  EXPECT_FALSE(b_writes.error) << b_writes.error.message();
  EXPECT_FALSE(a_reads.error) << a_reads.error.message();
  EXPECT_FALSE(b_reads.error) << b_reads.error.message();
  EXPECT_TRUE(b_reads.got == ab) << "b read " << b_reads.got.size() << " bytes";
  EXPECT_TRUE(a_reads.got == ba) << "a read " << a_reads.got.size() << " bytes";
}

TEST(RdmaStream, ShutdownSendEndsOneDirectionAfterEveryByteWhileTheOtherGoesOn) {
  Ends ends;
  const std::vector<uint8_t> bytes = pattern(3 * kRing + 123, 3);
  Writer a_writes(ends.a(), bytes, /*shutdown_after=*/true);
  Reader b_reads(ends.b());
  a_writes.start();
  b_reads.start();
  ASSERT_TRUE(ends.runUntil([&] { return b_reads.eof || b_reads.error; }));
  EXPECT_FALSE(b_reads.error) << b_reads.error.message();
  EXPECT_EQ(b_reads.got, bytes);
  std::error_code ec;
  EXPECT_EQ(ends.a().writeSome(bytes, {}, ec), 0u);
  EXPECT_EQ(ec, asio::error::broken_pipe) << "writes after shutdownSend";

  const std::vector<uint8_t> reply = pattern(1000, 4);
  Writer b_writes(ends.b(), reply, /*shutdown_after=*/false);
  Reader a_reads(ends.a());
  b_writes.start();
  a_reads.start();
  ASSERT_TRUE(ends.runUntil([&] { return a_reads.got.size() >= reply.size() || a_reads.error; }));
  EXPECT_EQ(a_reads.got, reply);
  EXPECT_FALSE(a_reads.eof);
}

TEST(RdmaStream, AWriterOnAFullRingWakesOnceAQuarterOfItIsRead) {
  Ends ends;
  const std::vector<uint8_t> bytes = pattern(2 * kRing, 5);
  std::error_code ec;
  size_t accepted = 0;
  while (!ec)
    accepted += ends.a().writeSome(std::span(bytes).subspan(accepted), {}, ec);
  EXPECT_EQ(ec, asio::error::would_block);
  EXPECT_EQ(accepted, kRing) << "the writer fills the other end's ring, no more";

  bool woken = false;
  ends.a().waitWritable([&](std::error_code) { woken = true; });
  ends.runFor(100ms);
  EXPECT_FALSE(woken) << "woken with the ring full";
  size_t read = 0;
  EXPECT_FALSE(readNow(ends.b(), kRing / 4 - 1024, &read));
  EXPECT_EQ(read, kRing / 4 - 1024);
  ends.runFor(100ms);
  EXPECT_FALSE(woken) << "woken before a quarter of the ring was read";

  EXPECT_FALSE(readNow(ends.b(), 2048, &read));
  EXPECT_EQ(read, 2048u);
  ASSERT_TRUE(ends.runUntil([&] { return woken; }, 2s)) << "the credit did not wake the writer";
  const size_t more = ends.a().writeSome(std::span(bytes).subspan(accepted), {}, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(more, kRing / 4 + 1024) << "exactly the credited room";
  EXPECT_GT(ends.a().sendBusyTime(), 150ms) << "the wait for room counts as busy time";
}

TEST(RdmaStream, APeerThatClosesReleasesTheWaitersAndTheStreamEnds) {
  Ends ends;
  bool woken = false;
  ends.runFor(10ms);  // the waits are armed
  ends.a().waitReadable([&](std::error_code) { woken = true; });
  ends.b().close();
  ASSERT_TRUE(ends.runUntil([&] { return woken; }, 2s));
  const std::error_code read_ec = readNow(ends.a(), 100);
  EXPECT_TRUE(read_ec && read_ec != asio::error::would_block) << read_ec.message();
  std::error_code ec;
  const uint8_t byte = 1;
  EXPECT_EQ(ends.a().writeSome({&byte, 1}, {}, ec), 0u);
  EXPECT_EQ(ec, asio::error::broken_pipe);
}

TEST(RdmaStream, ACutFabricFailsTheStreamWithQueuePairFailed) {
  Ends ends;
  bool woken = false;
  ends.runFor(10ms);
  ends.a().waitReadable([&](std::error_code) { woken = true; });
  ends.fabric().cut();
  std::error_code ec;
  const std::vector<uint8_t> bytes(1000, 7);
  ends.a().writeSome(bytes, {}, ec);  // accepted; its completion reports the failure
  ASSERT_TRUE(ends.runUntil([&] { return woken; }, 2s));
  EXPECT_EQ(readNow(ends.a(), 100), make_error_code(RdmaErrc::kQueuePairFailed));
  ends.a().writeSome(bytes, {}, ec);
  EXPECT_EQ(ec, make_error_code(RdmaErrc::kQueuePairFailed));
}

TEST(RdmaStream, BytesOnTheSocketBreakTheStream) {
  Ends ends(/*hand_served=*/true);
  bool woken = false;
  ends.a().waitReadable([&](std::error_code) { woken = true; });
  const uint8_t stray = 42;
  asio::write(ends.rawSocket(), asio::buffer(&stray, 1));
  ASSERT_TRUE(ends.runUntil([&] { return woken; }, 2s));
  EXPECT_EQ(readNow(ends.a(), 100), make_error_code(RdmaErrc::kBytesOnSocket));
}

TEST(RdmaStream, ImmediatesAndCreditsTheProtocolNeverSendsBreakTheStream) {
  struct Case {
    const char* what;
    std::function<void(QueuePair&)> send;
  };
  const Case cases[] = {
      {"an immediate of the fourth kind",
       [](QueuePair& qp) { ASSERT_TRUE(qp.postWrite(0, 0, 3u << 30).isOk()); }},
      {"more data than the ring holds",
       [](QueuePair& qp) {
         ASSERT_TRUE(qp.postWrite(0, 0, RingImmediate::data(kRing + 1)).isOk());
       }},
      {"data after the end",
       [](QueuePair& qp) {
         ASSERT_TRUE(qp.postWrite(0, 0, RingImmediate::end()).isOk());
         ASSERT_TRUE(qp.postWrite(0, 1, RingImmediate::data(1)).isOk());
       }},
      {"a credit for bytes never sent",
       [](QueuePair& qp) { ASSERT_TRUE(qp.postCredit(100, RingImmediate::credit()).isOk()); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Ends ends(/*hand_served=*/true);
    bool woken = false;
    ends.a().waitReadable([&](std::error_code) { woken = true; });
    c.send(ends.rawQueuePair());
    ASSERT_TRUE(ends.runUntil(
        [&] {
          std::error_code ec;
          const uint8_t byte = 0;
          ends.a().writeSome({&byte, 1}, {}, ec);  // looks at the credit word
          return ec == make_error_code(RdmaErrc::kBrokenProtocol);
        },
        2s));
    EXPECT_TRUE(ends.runUntil([&] { return woken; }, 2s)) << "the reader was not told";
    EXPECT_EQ(readNow(ends.a(), 100), make_error_code(RdmaErrc::kBrokenProtocol));
  }
}

TEST(RdmaStream, PacingHoldsTheWriterToItsRate) {
  Ends ends;
  constexpr uint64_t kRate = 1'000'000;
  Writer a_writes(ends.a(), pattern(8 << 20, 6), /*shutdown_after=*/false);
  Reader b_reads(ends.b());
  const auto started = std::chrono::steady_clock::now();
  ends.a().setPacingRate(kRate);
  a_writes.start();
  b_reads.start();
  ends.runFor(300ms);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_GT(b_reads.got.size(), 0u);
  EXPECT_LE(b_reads.got.size(), static_cast<size_t>(16 * 1024 + kRate * elapsed))
      << "more than a burst beyond the rate";
  EXPECT_FALSE(a_writes.done);
  EXPECT_GT(ends.a().sendBusyTime(), 100ms) << "paced waits count as busy time";
}

// A connection lets its stream go from the handler the stream wakes.
TEST(RdmaStream, AWokenReaderMayLetTheStreamGo) {
  Ends ends;
  ends.runFor(10ms);
  bool woken = false;
  ends.a().waitReadable([&](std::error_code) {
    woken = true;
    ends.destroyA();
  });
  const uint8_t byte = 9;
  std::error_code ec;
  EXPECT_EQ(ends.b().writeSome({&byte, 1}, {}, ec), 1u);
  ASSERT_TRUE(ends.runUntil([&] { return woken; }, 2s));
  ends.runFor(10ms);
  EXPECT_EQ(ends.fabric().live(), 1u);
}

TEST(RdmaStream, DestroyingStreamsWithWaitsPendingFreesEverything) {
  Ends ends;
  ends.runFor(10ms);
  ends.a().waitReadable([](std::error_code) {});
  ends.b().waitReadable([](std::error_code) {});
  ends.destroyStreams();
  EXPECT_EQ(ends.fabric().live(), 0u);
  ends.runFor(10ms);  // the cancelled waits run with their streams gone
}

}  // namespace
}  // namespace eccl::test
