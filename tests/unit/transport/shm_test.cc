// Shared memory between peers on one host (transport/shm): the ring never
// loses a byte or a wake-up and refuses impossible indices, the negotiation
// messages decode only what they encode, segments leave /dev/shm as soon as
// both sides mapped them (and those of dead processes are reaped), and
// channels between endpoints of this host use shared memory unless either
// end says TCP, moving exact data either way.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/channel_pair.h"
#include "tests/support/dev_shm.h"
#include "transport/shm/doorbell.h"
#include "transport/shm/host_id.h"
#include "transport/shm/shm_errors.h"
#include "transport/shm/shm_offer.h"
#include "transport/shm/shm_ring.h"
#include "transport/shm/shm_segment.h"
#include "transport/shm/shm_stream.h"
#include "transport/tcp/tcp_stream.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::ChannelOptions;
using transport::TransportChoice;
namespace shm = transport::shm;

struct RingFixture {
  explicit RingFixture(uint64_t capacity)
      : data(capacity),
        control(&control_block),
        writer(control, data.data(), capacity),
        reader(control, data.data(), capacity) {}
  shm::RingControl control_block{};
  std::vector<uint8_t> data;
  shm::RingControl* control;
  shm::ShmRing writer;
  shm::ShmRing reader;
};

TEST(ShmRing, BytesComeOutInOrderAcrossTheWrap) {
  RingFixture ring(1000);
  const auto data = pattern(10'000, 7);
  std::vector<uint8_t> out;
  size_t sent = 0;
  std::vector<uint8_t> buffer(333);
  while (out.size() < data.size()) {
    const size_t piece = std::min<size_t>(700, data.size() - sent);
    // A header and a payload, as FrameConnection writes them.
    const size_t head = std::min<size_t>(piece, 13);
    sent += ring.writer.write(std::span(data).subspan(sent, head),
                              std::span(data).subspan(sent + head, piece - head));
    const size_t n = ring.reader.read(buffer);
    out.insert(out.end(), buffer.begin(), buffer.begin() + n);
  }
  EXPECT_EQ(out, data);
  EXPECT_FALSE(ring.writer.corrupt());
  EXPECT_FALSE(ring.reader.corrupt());
}

TEST(ShmRing, AFullRingTakesNothingAndAnEmptyOneGivesNothing) {
  RingFixture ring(64);
  const auto data = pattern(100, 1);
  EXPECT_EQ(ring.writer.write(data, {}), 64u);
  EXPECT_FALSE(ring.writer.hasRoom());
  EXPECT_EQ(ring.writer.write(data, {}), 0u);
  std::vector<uint8_t> out(100);
  EXPECT_EQ(ring.reader.read(out), 64u);
  EXPECT_EQ(ring.reader.read(out), 0u);
  EXPECT_FALSE(ring.reader.hasData());
  EXPECT_TRUE(ring.writer.hasRoom());
}

TEST(ShmRing, ASleepingReaderIsWokenExactlyOnce) {
  RingFixture ring(64);
  ring.reader.sleepReader();
  const uint8_t byte = 5;
  ASSERT_EQ(ring.writer.write({&byte, 1}, {}), 1u);
  EXPECT_TRUE(ring.writer.takeReaderSleeping());
  EXPECT_FALSE(ring.writer.takeReaderSleeping());
  EXPECT_FALSE(ring.reader.takeWriterSleeping());  // the writer never slept
}

TEST(ShmRing, TheEndOfTheWriterCountsAsSomethingToRead) {
  RingFixture ring(64);
  EXPECT_FALSE(ring.reader.hasData());
  ring.writer.closeWriter();
  EXPECT_TRUE(ring.reader.hasData());
  EXPECT_TRUE(ring.reader.writerClosed());
}

TEST(ShmRing, ImpossibleIndicesMarkTheRingCorrupt) {
  RingFixture ring(64);
  ring.control->tail = 1'000'000;  // the other process claims more than the ring holds
  std::vector<uint8_t> out(64);
  EXPECT_EQ(ring.reader.read(out), 0u);
  EXPECT_TRUE(ring.reader.corrupt());

  RingFixture other(64);
  other.control->head = 5;  // the reader claims to have read what was never written
  const uint8_t byte = 1;
  EXPECT_EQ(other.writer.write({&byte, 1}, {}), 0u);
  EXPECT_TRUE(other.writer.corrupt());
}

// Two threads, a tiny ring, a million bytes: every byte arrives in order.
TEST(ShmRing, TwoThreadsMoveEveryByte) {
  RingFixture ring(4096);
  const auto data = pattern(1 << 20, 3);
  std::vector<uint8_t> out(data.size());
  std::thread writer([&] {
    size_t sent = 0;
    while (sent < data.size()) {
      sent += ring.writer.write(
          std::span(data).subspan(sent, std::min<size_t>(5000, data.size() - sent)), {});
    }
  });
  size_t got = 0;
  while (got < out.size())
    got += ring.reader.read(std::span(out).subspan(got));
  writer.join();
  EXPECT_EQ(out, data);
}

TEST(ShmOffer, MessagesDecodeWhatTheyEncode) {
  shm::Offer offer;
  offer.wants_shm = true;
  offer.host = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  auto decoded_offer = shm::decodeOffer(shm::encode(offer));
  ASSERT_TRUE(decoded_offer) << decoded_offer.status().toString();
  EXPECT_TRUE(decoded_offer->wants_shm);
  EXPECT_FALSE(decoded_offer->spare);
  EXPECT_EQ(decoded_offer->host, offer.host);
  offer.spare = true;
  decoded_offer = shm::decodeOffer(shm::encode(offer));
  ASSERT_TRUE(decoded_offer) << decoded_offer.status().toString();
  EXPECT_TRUE(decoded_offer->spare);

  shm::Answer answer;
  answer.use_shm = true;
  answer.ring_bytes = 4u << 20;
  answer.segment = "/eccl-123-0123456789abcdef";
  auto decoded_answer = shm::decodeAnswer(shm::encode(answer));
  ASSERT_TRUE(decoded_answer) << decoded_answer.status().toString();
  EXPECT_TRUE(decoded_answer->use_shm);
  EXPECT_EQ(decoded_answer->ring_bytes, answer.ring_bytes);
  EXPECT_EQ(decoded_answer->segment, answer.segment);

  auto confirm = shm::decodeConfirm(shm::encode(shm::Confirm{true}));
  ASSERT_TRUE(confirm);
  EXPECT_TRUE(confirm->mapped);
}

TEST(ShmOffer, ForeignOrDamagedBytesAreRefused) {
  auto offer = shm::encode(shm::Offer{});
  EXPECT_TRUE(shm::decodeOffer(offer));
  auto bad_magic = offer;
  bad_magic[5] = 'X';
  EXPECT_EQ(shm::decodeOffer(bad_magic).status().code(), Code::kProtocolError);
  auto bad_version = offer;
  bad_version[8] = shm::kOfferVersion + 1;
  EXPECT_EQ(shm::decodeOffer(bad_version).status().code(), Code::kUnsupported);
  auto bad_flag = offer;
  bad_flag[9] = 7;
  EXPECT_EQ(shm::decodeOffer(bad_flag).status().code(), Code::kProtocolError);
  auto bad_spare = offer;
  bad_spare[10] = 2;
  EXPECT_EQ(shm::decodeOffer(bad_spare).status().code(), Code::kProtocolError);
  EXPECT_FALSE(shm::decodeOffer(std::span(offer).first(offer.size() - 1)));
  // An answer is not an offer.
  const auto answer_bytes = shm::encode(shm::Answer{});
  EXPECT_FALSE(shm::decodeOffer(std::span(answer_bytes).first(offer.size())));

  // An answer may only name an ECCL segment: never a path elsewhere.
  for (const char* name :
       {"/etc/passwd", "/eccl-1-short", "/eccl-x-0123456789abcdef", "/eccl-12-0123456789ABCDEF",
        "eccl-12-0123456789abcdef", "/eccl-12-0123456789abcdef/.."}) {
    shm::Answer answer;
    answer.use_shm = true;
    answer.ring_bytes = 1 << 20;
    answer.segment = name;
    EXPECT_EQ(shm::decodeAnswer(shm::encode(answer)).status().code(), Code::kProtocolError) << name;
  }
}

TEST(ShmSegment, BothMappingsShareBytesAndTheNameGoesAtUnlink) {
  auto created = shm::ShmSegment::create(1 << 20);
  ASSERT_TRUE(created) << created.status().toString();
  const std::string name = (*created)->name();
  EXPECT_TRUE(shm::isSegmentName(name));
  EXPECT_EQ(segmentsOf(::getpid()).size(), 1u);
  auto opened = shm::ShmSegment::open(name, 1 << 20);
  ASSERT_TRUE(opened) << opened.status().toString();
  std::memcpy((*created)->data() + 100, "ECCL", 4);
  EXPECT_EQ(std::memcmp((*opened)->data() + 100, "ECCL", 4), 0);
  // Another size than the creator's is refused.
  EXPECT_FALSE(shm::ShmSegment::open(name, 2 << 20));
  (*opened)->unlink();  // the opener never owned the name: no effect
  EXPECT_EQ(segmentsOf(::getpid()).size(), 1u);
  (*created)->unlink();
  EXPECT_TRUE(segmentsOf(::getpid()).empty());
  std::memcpy((*created)->data() + 200, "MAPS", 4);  // the mappings outlive the name
  EXPECT_EQ(std::memcmp((*opened)->data() + 200, "MAPS", 4), 0);
  EXPECT_FALSE(shm::ShmSegment::open("/not-ours", 1 << 20));
}

// Both ends in one process (as in the in-process cluster tests) map the
// segment twice. What a thread wrote before putting bytes in the ring is
// seen by whoever takes them out of the other mapping; under TSan this
// fails unless the ring tells TSan of its ordering (mapping_sync.h).
TEST(ShmSegment, TwoMappingsOfOneRingOrderWhatCameBeforeItsBytes) {
  constexpr uint64_t kRingBytes = 64 << 10;
  const size_t bytes = shm::SegmentLayout::bytes(kRingBytes);
  auto created = shm::ShmSegment::create(bytes);
  ASSERT_TRUE(created) << created.status().toString();
  auto opened = shm::ShmSegment::open((*created)->name(), bytes);
  ASSERT_TRUE(opened) << opened.status().toString();
  ASSERT_NE((*created)->data(), (*opened)->data());
  shm::ShmRing writer =
      shm::SegmentLayout::ring((*created)->data(), kRingBytes, 0, (*created)->name());
  shm::ShmRing reader =
      shm::SegmentLayout::ring((*opened)->data(), kRingBytes, 0, (*opened)->name());
  constexpr int kRounds = 200;
  std::vector<int> handed_over(kRounds, 0);  // plain memory: only the ring orders it
  std::thread producer([&] {
    for (int round = 0; round < kRounds; ++round) {
      handed_over[round] = round + 1;
      const auto byte = static_cast<uint8_t>(round);
      while (writer.write({&byte, 1}, {}) == 0)
        std::this_thread::yield();
    }
  });
  for (int round = 0; round < kRounds; ++round) {
    uint8_t byte = 0;
    while (reader.read({&byte, 1}) == 0)
      std::this_thread::yield();
    ASSERT_EQ(byte, static_cast<uint8_t>(round));
    ASSERT_EQ(handed_over[round], round + 1);
  }
  producer.join();
}

TEST(ShmSegment, SegmentsOfDeadProcessesAreReaped) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  // What a creator killed between shm_open and its peer's mapping leaves.
  const std::string stale = "/eccl-" + std::to_string(child) + "-00112233445566ff";
  const int fd = ::shm_open(stale.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ::close(fd);
  // And one of a live process (this one), which must stay.
  auto mine = shm::ShmSegment::create(64 << 10);
  ASSERT_TRUE(mine);
  EXPECT_GE(shm::removeSegmentsOfDeadProcesses(), 1);
  EXPECT_TRUE(segmentsOf(child).empty());
  EXPECT_EQ(segmentsOf(::getpid()).size(), 1u);
}

// A client ShmStream whose server side the test plays by hand: the raw
// socket (negotiation, then silence) and the server's end of the segment.
// Everything runs on the test's thread, so interleavings are exact.
class HandServedStream {
 public:
  static constexpr uint64_t kRingBytes = shm::SegmentLayout::kMinRingBytes;

  HandServedStream() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), server_(io_) {
    asio::ip::tcp::socket client(asio::make_strand(io_));
    client.connect(acceptor_.local_endpoint());
    acceptor_.accept(server_);
    stream_ = std::make_unique<shm::ShmStream>(
        std::make_unique<transport::tcp::TcpStream>(std::move(client)), shm::ShmRole::kClient,
        shm::ShmSettings{});
  }

  // Runs the exchange: the client's offer, an answer naming a fresh segment, its confirm.
  ::testing::AssertionResult negotiate() {
    poke();  // writes the offer
    shm::OfferBytes offer{};
    asio::read(server_, asio::buffer(offer));
    auto decoded = shm::decodeOffer(offer);
    if (!decoded || !decoded->wants_shm) return ::testing::AssertionFailure() << "no offer";
    auto segment = shm::ShmSegment::create(shm::SegmentLayout::bytes(kRingBytes));
    if (!segment) return ::testing::AssertionFailure() << segment.status().toString();
    segment_ = std::move(*segment);
    shm::SegmentLayout::initialise(segment_->data(), kRingBytes);
    shm::Answer answer;
    answer.use_shm = true;
    answer.ring_bytes = kRingBytes;
    answer.segment = segment_->name();
    asio::write(server_, asio::buffer(shm::encode(answer)));
    for (int i = 0; i < 2000 && !stream_->sharedMemory(); ++i) {
      std::this_thread::sleep_for(1ms);
      poke();
    }
    shm::ConfirmBytes confirm{};
    asio::read(server_, asio::buffer(confirm));
    auto confirmed = shm::decodeConfirm(confirm);
    if (!confirmed || !confirmed->mapped) return ::testing::AssertionFailure() << "no confirm";
    to_client_ = shm::SegmentLayout::ring(segment_->data(), kRingBytes, 1, segment_->name());
    from_client_ = shm::SegmentLayout::ring(segment_->data(), kRingBytes, 0, segment_->name());
    return ::testing::AssertionSuccess();
  }

  void ringDoorbell() { shm::ringBell(shm::SegmentLayout::doorbell(segment_->data(), 0)); }
  void writeToSocket(uint8_t byte) { asio::write(server_, asio::buffer(&byte, 1)); }
  // Lets the client's handlers run (the doorbell's thread posts to them).
  void runFor(std::chrono::milliseconds time) {
    io_.restart();
    io_.run_for(time);
  }

  shm::ShmStream& stream() { return *stream_; }
  shm::ShmRing to_client_;
  shm::ShmRing from_client_;

 private:
  void poke() {
    uint8_t none[1];
    std::error_code ec;
    stream_->readSome(std::span<uint8_t>(none, 0), ec);
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::socket server_;
  std::unique_ptr<shm::ShmStream> stream_;
  std::unique_ptr<shm::ShmSegment> segment_;
};

// The writer stores its index, then looks at the reader's flag. Between the
// two the reader may take the bytes and go to sleep, so the writer takes the
// flag down and rings for bytes already read. That doorbell finds nothing;
// the reader must raise its flag again, or the next bytes never wake it.
TEST(ShmStream, AReaderWokenForBytesItAlreadyReadStillHearsOfTheNextOnes) {
  HandServedStream ends;
  ASSERT_TRUE(ends.negotiate());
  const std::vector<uint8_t> first = {1, 2, 3, 4, 5};
  ASSERT_EQ(ends.to_client_.write(first, {}), first.size());  // index stored, flag not yet seen
  std::vector<uint8_t> into(16);
  std::error_code ec;
  ASSERT_EQ(ends.stream().readSome(into, ec), first.size());
  int woken = 0;
  ends.stream().waitReadable([&](std::error_code) { ++woken; });
  ASSERT_TRUE(ends.to_client_.takeReaderSleeping());  // the writer's late look at the flag
  ends.ringDoorbell();
  ends.runFor(200ms);
  EXPECT_EQ(woken, 0) << "woken with nothing to read";

  const std::vector<uint8_t> next = {6};
  ASSERT_EQ(ends.to_client_.write(next, {}), next.size());
  ASSERT_TRUE(ends.to_client_.takeReaderSleeping()) << "the reader sleeps with its flag down";
  ends.ringDoorbell();
  for (int i = 0; i < 50 && woken == 0; ++i)
    ends.runFor(100ms);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(ends.stream().readSome(into, ec), 1u);
  EXPECT_EQ(into[0], 6);
}

// The same for a writer waiting for room: the reader frees room, the writer
// fills it and sleeps, and only then does the reader look at its flag.
TEST(ShmStream, AWriterWokenForRoomItAlreadyUsedStillHearsOfTheNextRoom) {
  HandServedStream ends;
  ASSERT_TRUE(ends.negotiate());
  const std::vector<uint8_t> bytes(HandServedStream::kRingBytes, 7);
  std::error_code ec;
  ASSERT_EQ(ends.stream().writeSome(bytes, {}, ec), bytes.size());
  std::vector<uint8_t> into(10);
  ASSERT_EQ(ends.from_client_.read(into), into.size());  // room made, flag not yet seen
  ASSERT_EQ(ends.stream().writeSome(bytes, {}, ec), into.size());
  int woken = 0;
  ends.stream().waitWritable([&](std::error_code) { ++woken; });
  ASSERT_TRUE(ends.from_client_.takeWriterSleeping());
  ends.ringDoorbell();
  ends.runFor(200ms);
  EXPECT_EQ(woken, 0) << "woken with no room";

  ASSERT_EQ(ends.from_client_.read(into), into.size());
  ASSERT_TRUE(ends.from_client_.takeWriterSleeping()) << "the writer sleeps with its flag down";
  ends.ringDoorbell();
  for (int i = 0; i < 50 && woken == 0; ++i)
    ends.runFor(100ms);
  EXPECT_EQ(woken, 1);
}

// Over shared memory the socket only tells that the peer is gone: a byte
// there (a peer of the old socket-doorbell protocol, or junk) fails the
// stream with kBadMessage instead of being taken for a wake-up.
TEST(ShmStream, ABytePastTheExchangeOnTheSocketFailsTheStream) {
  HandServedStream ends;
  ASSERT_TRUE(ends.negotiate());
  int woken = 0;
  ends.stream().waitReadable([&](std::error_code) { ++woken; });
  ends.writeToSocket(1);
  for (int i = 0; i < 50 && woken == 0; ++i)
    ends.runFor(100ms);
  ASSERT_EQ(woken, 1);
  std::vector<uint8_t> into(16);
  std::error_code ec;
  EXPECT_EQ(ends.stream().readSome(into, ec), 0u);
  EXPECT_EQ(ec, make_error_code(shm::ShmErrc::kBadMessage)) << ec.message();
}

// A rate set while the connection still negotiates (a channel paced as soon
// as it is up) holds once the rings carry the bytes: the first write over
// shared memory takes at most the bucket's burst, not a whole ring.
TEST(ShmStream, APaceSetWhileNegotiatingHoldsOverSharedMemory) {
  HandServedStream ends;
  ends.stream().setPacingRate(1'000'000);
  ASSERT_TRUE(ends.negotiate());
  const std::vector<uint8_t> bytes(HandServedStream::kRingBytes, 7);
  std::error_code ec;
  const size_t written = ends.stream().writeSome(bytes, {}, ec);
  EXPECT_LE(written, size_t{16} << 10) << "a whole ring went out unpaced";
  EXPECT_TRUE(!ec || ec == asio::error::would_block) << ec.message();
}

ChannelOptions shmOptions(TransportChoice choice) {
  ChannelOptions options;
  options.transport = choice;
  options.connections = 2;
  options.chunk_bytes = 256 << 10;
  options.shm_ring_bytes = 512 << 10;
  return options;
}

TEST(ShmChannel, EndpointsOfThisHostUseSharedMemoryAndLeaveNothingInDevShm) {
  ASSERT_TRUE(shm::thisHostId().has_value()) << "no /proc/sys/kernel/random/boot_id";
  auto pair = ChannelPair::make(shmOptions(TransportChoice::kAuto));
  ASSERT_TRUE(pair);
  EXPECT_TRUE(pair->client->peer().shared_memory);
  EXPECT_TRUE(pair->server->peer().shared_memory);
  EXPECT_TRUE(segmentsOf(::getpid()).empty()) << "segments stay linked after set-up";
  std::string problems[2];
  std::thread back([&] {
    problems[1] =
        transferAndCheck(*pair->server, *pair->client, 2, (48 << 20) + 3, 2, deadline(60s));
  });
  problems[0] = transferAndCheck(*pair->client, *pair->server, 1, (64 << 20) + 1, 1, deadline(60s));
  back.join();
  EXPECT_EQ(problems[0], "");
  EXPECT_EQ(problems[1], "");
  const auto stats = pair->client->stats();
  EXPECT_EQ(stats.payload_bytes_sent, (uint64_t{64} << 20) + 1);
  EXPECT_EQ(stats.payload_bytes_received, (uint64_t{48} << 20) + 3);
}

// Nothing to configure: peers of one host use shared memory by default.
TEST(ShmChannel, ChannelsOfThisHostUseSharedMemoryByDefault) {
  ASSERT_EQ(std::getenv("ECCL_TRANSPORT"), nullptr) << "the test wants the default";
  auto pair = ChannelPair::make(ChannelOptions{});
  ASSERT_TRUE(pair);
  EXPECT_TRUE(pair->client->peer().shared_memory);
  EXPECT_TRUE(pair->server->peer().shared_memory);
  EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, 3, (3 << 20) + 5, 4, deadline(20s)), "");
}

// Only a channel's first connection carries data over shared memory: the
// others' rings are the smallest, so a channel costs one full-size segment.
TEST(ShmChannel, OnlyTheFirstConnectionHasFullSizeRings) {
  ASSERT_TRUE(mappedSegmentSizes().empty()) << "segments of an earlier test still mapped";
  ChannelOptions options;
  options.transport = TransportChoice::kAuto;
  options.connections = 4;
  options.shm_ring_bytes = 2 << 20;
  auto pair = ChannelPair::make(options);
  ASSERT_TRUE(pair);
  ASSERT_TRUE(pair->client->peer().shared_memory);
  std::vector<size_t> sizes = mappedSegmentSizes();
  std::sort(sizes.begin(), sizes.end());
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const auto mapped = [&](uint64_t ring_bytes) {
    return (shm::SegmentLayout::bytes(ring_bytes) + page - 1) / page * page;
  };
  const size_t small = mapped(shm::SegmentLayout::kMinRingBytes);
  const size_t full = mapped(options.shm_ring_bytes);
  // Both ends of this process map each connection's segment.
  EXPECT_EQ(sizes, (std::vector<size_t>{small, small, small, small, small, small, full, full}));
  EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, 5, (5 << 20) + 1, 6, deadline(20s)), "");
  EXPECT_EQ(transferAndCheck(*pair->server, *pair->client, 6, 4 << 20, 7, deadline(20s)), "");
}

TEST(ShmChannel, EitherEndSayingTcpKeepsTheChannelOnTcp) {
  for (auto [server, client] : {std::pair{TransportChoice::kTcp, TransportChoice::kAuto},
                                std::pair{TransportChoice::kAuto, TransportChoice::kTcp},
                                std::pair{TransportChoice::kTcp, TransportChoice::kShm}}) {
    ListenerAndClient ends(shmOptions(server), shmOptions(client));
    auto channel = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
    ASSERT_TRUE(channel) << channel.status().toString();
    auto accepted = ends.accepted.pop(deadline(5s));
    ASSERT_TRUE(accepted);
    EXPECT_FALSE((*channel)->peer().shared_memory);
    EXPECT_FALSE(accepted->peer().shared_memory);
    EXPECT_EQ(transferAndCheck(**channel, *accepted, 1, 3 << 20, 9, deadline(20s)), "");
    EXPECT_EQ(transferAndCheck(*accepted, **channel, 2, 5, 9, deadline(20s)), "");
  }
}

// A peer that goes away is noticed through the socket the rings keep open:
// the survivor's pending receive ends with an error at once, not at the
// idle timeout.
TEST(ShmChannel, TheOtherEndClosingFailsPendingOperationsPromptly) {
  auto options = shmOptions(TransportChoice::kShm);
  options.idle_timeout = 60'000ms;
  auto pair = ChannelPair::make(options);
  ASSERT_TRUE(pair);
  std::vector<uint8_t> buffer(1 << 20);
  Completion got;
  pair->server->recv(7, buffer, got.callback());
  const auto start = std::chrono::steady_clock::now();
  pair->client.reset();  // closes the channel
  auto status = got.wait(deadline(5s));
  ASSERT_TRUE(status) << "the receive did not end";
  EXPECT_FALSE(status->isOk());
  EXPECT_LT(std::chrono::steady_clock::now() - start, deadline(5s));
  EXPECT_FALSE(pair->server->status().isOk());
}

}  // namespace
}  // namespace eccl::test
