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

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/channel_pair.h"
#include "tests/support/dev_shm.h"
#include "transport/shm/host_id.h"
#include "transport/shm/shm_offer.h"
#include "transport/shm/shm_ring.h"
#include "transport/shm/shm_segment.h"

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
  EXPECT_EQ(decoded_offer->host, offer.host);

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
