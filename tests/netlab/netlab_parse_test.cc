// eccl-netlab without root: rates, durations, slow links, host names, the
// delay line's packet ring and wire-byte count, and the exit code of bad arguments.
#include <gtest/gtest.h>

#include <cstring>

#include "tools/common/child_process.h"
#include "tools/eccl-netlab/delay_line.h"
#include "tools/eccl-netlab/lab_spec.h"
#include "tools/eccl-netlab/packet_ring.h"
#include "tools/eccl-netlab/quantity_parse.h"

namespace eccl::tools::netlab {
namespace {

using std::chrono::microseconds;

TEST(NetlabParse, RatesInTcUnits) {
  EXPECT_EQ(*parseRate("1gbit"), 1'000'000'000u);
  EXPECT_EQ(*parseRate("1Gbit"), 1'000'000'000u);
  EXPECT_EQ(*parseRate("200mbit"), 200'000'000u);
  EXPECT_EQ(*parseRate("1.5gbit"), 1'500'000'000u);
  EXPECT_EQ(*parseRate("64kbit"), 64'000u);
  EXPECT_EQ(*parseRate("125mbps"), 1'000'000'000u);  // bytes per second
  EXPECT_EQ(*parseRate("9600"), 9600u);              // bare: bits per second, as tc
  for (const char* bad : {"", "gbit", "1gbot", "-1gbit", "0", "0mbit", "1..2gbit", "fast"})
    EXPECT_FALSE(parseRate(bad)) << bad;
}

TEST(NetlabParse, DurationsInMilliseconds) {
  EXPECT_EQ(*parseDuration("25ms"), microseconds(25'000));
  EXPECT_EQ(*parseDuration("1s"), microseconds(1'000'000));
  EXPECT_EQ(*parseDuration("500us"), microseconds(500));
  EXPECT_EQ(*parseDuration("2.5ms"), microseconds(2'500));
  EXPECT_EQ(*parseDuration("25"), microseconds(25'000));  // bare: milliseconds
  EXPECT_EQ(*parseDuration("0"), microseconds(0));
  for (const char* bad : {"", "ms", "25m", "-5ms", "2h"})
    EXPECT_FALSE(parseDuration(bad)) << bad;
}

TEST(NetlabParse, Formats) {
  EXPECT_EQ(formatRate(1'000'000'000), "1 Gbit/s");
  EXPECT_EQ(formatRate(250'000'000), "250 Mbit/s");
  EXPECT_EQ(formatDuration(microseconds(25'000)), "25 ms");
}

TEST(NetlabParse, SlowLinks) {
  auto link = parseSlowLink("0-2:100mbit");
  ASSERT_TRUE(link) << link.status().toString();
  EXPECT_EQ(link->host_a, 0);
  EXPECT_EQ(link->host_b, 2);
  EXPECT_EQ(link->rate_bps, 100'000'000u);
  for (const char* bad : {"0-2", "0:100mbit", "a-b:1gbit", "0-1:fast", "1:2-3"})
    EXPECT_FALSE(parseSlowLink(bad)) << bad;
}

TEST(NetlabParse, SpecValidation) {
  LabSpec spec;
  spec.hosts = 3;
  EXPECT_TRUE(validateSpec(spec));
  spec.slow_links = {{0, 1, 100'000'000}};
  EXPECT_TRUE(validateSpec(spec));
  spec.delay = microseconds(25'000);
  EXPECT_FALSE(validateSpec(spec)) << "slow links are LAN only";
  spec.slow_links = {};
  EXPECT_TRUE(validateSpec(spec));
  spec.hosts = 1;
  EXPECT_FALSE(validateSpec(spec));
  spec.hosts = 3;
  spec.slow_links = {{0, 3, 1000}};
  spec.delay = microseconds(0);
  EXPECT_FALSE(validateSpec(spec)) << "host 3 of 3";
  spec.slow_links = {{1, 1, 1000}};
  EXPECT_FALSE(validateSpec(spec));
  for (const char* bad : {"", "1lab", "lab/x", "lab x", "a-very-long-prefix-of-30-chars"})
    EXPECT_FALSE(validatePrefix(bad)) << bad;
}

TEST(NetlabParse, NamesAndAddresses) {
  EXPECT_EQ(hostNamespace("lab", 3), "lab-h3");
  EXPECT_EQ(bridgeNamespace("lab"), "lab-br");
  EXPECT_EQ(hostAddress(0), "10.213.0.1");
  EXPECT_EQ(hostAddress(249), "10.213.0.250");
  EXPECT_EQ(hostOfAddress(hostAddressValue(2), 3), 2);
  EXPECT_EQ(hostOfAddress(hostAddressValue(3), 3), -1);
  EXPECT_EQ(hostOfAddress(kSubnetBase, 3), -1);
  EXPECT_TRUE(isLabNamespace("lab", "lab-h0"));
  EXPECT_TRUE(isLabNamespace("lab", "lab-h12"));
  EXPECT_TRUE(isLabNamespace("lab", "lab-br"));
  for (const char* other : {"lab", "lab-h", "lab-hx", "lab-h1-h0", "lab2-h0", "xlab-h0", "lab-br0"})
    EXPECT_FALSE(isLabNamespace("lab", other)) << other;
  EXPECT_EQ(*parseHostReference("lab", 3, "2"), 2);
  EXPECT_EQ(*parseHostReference("lab", 3, "h1"), 1);
  EXPECT_EQ(*parseHostReference("lab", 3, "lab-h0"), 0);
  for (const char* bad : {"3", "h3", "x", "", "-1", "other-h0"})
    EXPECT_FALSE(parseHostReference("lab", 3, bad)) << bad;
}

TEST(NetlabPacketRing, KeepsOrderAcrossWrapAndRefusesWhenFull) {
  constexpr size_t kMax = 100;
  PacketRing ring(300, kMax);  // 500 bytes of storage
  int next_in = 0;
  int next_out = 0;
  for (int round = 0; round < 100; ++round) {
    // Fill until full, then drain half: the write position wraps many times.
    while (uint8_t* slot = ring.reserve()) {
      const uint32_t length = 30 + static_cast<uint32_t>(next_in * 7 % 70);
      std::memset(slot, next_in & 0xff, length);
      ring.commit(length, next_in, next_in % 3);
      ++next_in;
    }
    ASSERT_GT(next_in, next_out) << "the ring never holds a packet";
    const int drain = (next_in - next_out + 1) / 2;
    for (int i = 0; i < drain; ++i) {
      ASSERT_FALSE(ring.empty());
      const auto& packet = ring.front();
      ASSERT_EQ(packet.due_ns, next_out);
      ASSERT_EQ(packet.length, 30 + static_cast<uint32_t>(next_out * 7 % 70));
      for (uint32_t b = 0; b < packet.length; ++b)
        ASSERT_EQ(ring.data(packet)[b], next_out & 0xff) << "packet " << next_out;
      ring.pop();
      ++next_out;
    }
  }
  EXPECT_GT(next_in, 200);
}

// A vnet header + IPv4 + TCP headers (20 + 32 bytes) + payload.
std::vector<uint8_t> tcpPacket(size_t payload, uint16_t gso_size) {
  std::vector<uint8_t> packet(10 + 20 + 32 + payload, 0);
  packet[1] = gso_size > 0 ? 1 : 0;       // VIRTIO_NET_HDR_GSO_TCPV4
  std::memcpy(&packet[4], &gso_size, 2);  // gso_size
  packet[10] = 0x45;                      // IPv4, 20-byte header
  packet[10 + 20 + 12] = 8 << 4;          // TCP data offset: 32 bytes
  return packet;
}

TEST(NetlabDelayLine, WireBytesCountEverySegmentsHeaders) {
  auto plain = tcpPacket(1448, 0);
  EXPECT_EQ(wireBytes(plain.data(), plain.size()), 1500u);
  auto gso = tcpPacket(10 * 1448, 1448);
  EXPECT_EQ(wireBytes(gso.data(), gso.size()), 10u * 1500u);
  auto partial = tcpPacket(2 * 1448 + 100, 1448);
  EXPECT_EQ(wireBytes(partial.data(), partial.size()), 2u * 1448 + 100 + 3 * 52);
}

// Bad arguments: usage and exit code 2, before any privilege check.
TEST(NetlabCommandLine, BadArgumentsExitWithTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"up"},
      {"up", "--hosts", "1"},
      {"up", "--hosts", "2", "--rate", "1gbot"},
      {"up", "--hosts", "2", "--delay", "25m"},
      {"up", "--hosts", "2", "--slow-link", "0-5:1mbit"},
      {"up", "--hosts", "2", "--prefix", "bad/prefix"},
      {"frobnicate"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> argv = {ECCL_NETLAB_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = ChildProcess::spawn(
        {.argv = argv, .stdout_to = ChildOutput::kDevNull, .stderr_to = ChildOutput::kDevNull});
    ASSERT_TRUE(child) << child.status().toString();
    auto status = (*child)->wait(std::chrono::seconds(20));
    ASSERT_TRUE(status) << status.status().toString();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2)
        << "eccl-netlab " << ::testing::PrintToString(args) << ": "
        << ChildProcess::describeExit(*status);
  }
}

}  // namespace
}  // namespace eccl::tools::netlab
