// ECCL_FAULTS: the rules' parser, the injector's seeded schedule, and each
// fault on a real channel over loopback: a flipped payload bit is caught by
// the frame checksum (or, without it, really arrives), a dropped connection
// fails both ends, a delayed chunk arrives intact and late.
#include <gtest/gtest.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <bit>
#include <chrono>
#include <thread>

#include "tests/support/channel_pair.h"
#include "tests/support/fake_stream.h"
#include "transport/channel_env.h"
#include "transport/fault_spec.h"
#include "transport/tcp/faulty_stream.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::ChannelOptions;
using transport::FaultSpec;
using transport::parseFaultSpec;

TEST(FaultSpec, ParsesEveryRule) {
  auto spec = parseFaultSpec(
      "drop_conn:p=0.001; delay:ms=200,p=0.01;corrupt:p=1e-5;stall:ms=3000,p=0.5;seed=42");
  ASSERT_TRUE(spec) << spec.status().toString();
  EXPECT_DOUBLE_EQ(spec->drop_p, 0.001);
  EXPECT_DOUBLE_EQ(spec->delay_p, 0.01);
  EXPECT_EQ(spec->delay, 200ms);
  EXPECT_DOUBLE_EQ(spec->corrupt_p, 1e-5);
  EXPECT_DOUBLE_EQ(spec->stall_p, 0.5);
  EXPECT_EQ(spec->stall, 3000ms);
  EXPECT_EQ(spec->seed, 42u);
  EXPECT_TRUE(spec->any());
  auto again = parseFaultSpec(spec->toString());
  ASSERT_TRUE(again) << spec->toString();
  EXPECT_EQ(again->toString(), spec->toString());
  auto empty = parseFaultSpec("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->any());
}

TEST(FaultSpec, RefusesBadRules) {
  for (const char* text : {"explode:p=0.1", "drop_conn", "drop_conn:p=2", "drop_conn:p=-0.1",
                           "drop_conn:p=abc", "drop_conn:p=nan", "delay:p=0.1", "delay:ms=-5,p=0.1",
                           "delay:ms=10,p=0.1,x=1", "corrupt:p=0.1,p=0.2", "seed=x", "corrupt:q"}) {
    auto spec = parseFaultSpec(text);
    EXPECT_FALSE(spec) << text;
    if (!spec) {
      EXPECT_EQ(spec.status().code(), Code::kInvalidArgument);
      EXPECT_NE(spec.status().message().find("ECCL_FAULTS"), std::string::npos);
    }
  }
}

TEST(FaultSpec, EnvironmentSetsChecksumsAndFaults) {
  ChannelOptions options;
  ::setenv("ECCL_CHECKSUM", "off", 1);
  ::setenv("ECCL_FAULTS", "corrupt:p=0.5;seed=7", 1);
  ASSERT_TRUE(transport::applyChannelEnvironment(options).isOk());
  EXPECT_FALSE(options.checksum);
  EXPECT_FALSE(options.checksum_beyond_loopback);
  ASSERT_TRUE(options.faults);
  EXPECT_DOUBLE_EQ(options.faults->corrupt_p, 0.5);
  ::setenv("ECCL_CHECKSUM", "sometimes", 1);
  EXPECT_EQ(transport::applyChannelEnvironment(options).code(), Code::kInvalidArgument);
  ::setenv("ECCL_CHECKSUM", "on", 1);
  ::setenv("ECCL_FAULTS", "corrupt:p=7", 1);
  EXPECT_EQ(transport::applyChannelEnvironment(options).code(), Code::kInvalidArgument);
  ::unsetenv("ECCL_CHECKSUM");
  ::unsetenv("ECCL_FAULTS");
}

// Each write's outcome through one wrapped stream: 'w' written, 'x' reset,
// 'h' held back, then the bytes that went out.
std::string schedule(const FaultSpec& spec, std::vector<uint8_t>& out) {
  asio::io_context io;
  auto injector = std::make_shared<transport::tcp::FaultInjector>(spec);
  FakeStreamLog log;
  auto stream = injector->wrap(std::make_unique<FakeStream>(io, log));
  const std::vector<uint8_t> head(8, 0xAA), payload(64, 0x55);
  std::string outcomes;
  for (int i = 0; i < 400; ++i) {
    std::error_code ec;
    const size_t n = stream->writeSome(head, payload, ec);
    outcomes += ec == asio::error::connection_reset ? 'x' : n > 0 ? 'w' : 'h';
  }
  out = log.written();
  return outcomes;
}

TEST(FaultInjector, TheSameSeedGivesTheSameScheduleAndAnotherSeedAnother) {
  auto spec = parseFaultSpec("drop_conn:p=0.05;delay:ms=0,p=0.1;corrupt:p=0.2;seed=11");
  ASSERT_TRUE(spec);
  std::vector<uint8_t> a, b, c;
  const std::string first = schedule(*spec, a), second = schedule(*spec, b);
  EXPECT_EQ(first, second);
  EXPECT_EQ(a, b);
  EXPECT_NE(first.find('x'), std::string::npos);
  EXPECT_NE(first.find('h'), std::string::npos);
  spec->seed = 12;
  EXPECT_NE(schedule(*spec, c), first);
  // Corrupted writes flip exactly one payload bit; the heads go out untouched.
  size_t flipped = 0;
  for (size_t at = 0; at + 72 <= a.size(); at += 72) {
    for (size_t i = 0; i < 8; ++i)
      EXPECT_EQ(a[at + i], 0xAA);
    for (size_t i = 8; i < 72; ++i)
      flipped += std::popcount(static_cast<unsigned>(a[at + i] ^ 0x55));
  }
  EXPECT_GT(flipped, 0u);
  EXPECT_EQ(a.size() % 72, 0u);
}

ChannelOptions faultyOptions(const char* rules) {
  ChannelOptions options;
  options.connections = 2;
  options.chunk_bytes = 64 << 10;
  options.pool_bytes = 1 << 20;
  auto spec = parseFaultSpec(rules);
  EXPECT_TRUE(spec) << rules;
  options.faults = std::make_shared<const FaultSpec>(*spec);
  return options;
}

// One message of `size` bytes from client to server through a faulty channel;
// both ends' outcomes (the test fails if either does not finish in time).
struct Outcome {
  // The transfer outlives the channels (destroyed in reverse order): an end
  // that did not finish may still use its buffers until its channel closes.
  std::unique_ptr<Transfer> transfer;
  std::unique_ptr<ChannelPair> pair;
  Status sent, got;
  std::chrono::steady_clock::duration took{};
};

Outcome sendThrough(const ChannelOptions& options, size_t size, uint64_t seed) {
  Outcome out;
  out.pair = ChannelPair::make(options);
  EXPECT_TRUE(out.pair);
  if (!out.pair) return out;
  out.transfer = std::make_unique<Transfer>(size, seed);
  const auto started = std::chrono::steady_clock::now();
  out.transfer->start(*out.pair->client, *out.pair->server, 1);
  auto [sent, got] = out.transfer->wait(deadline(10s));
  out.took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(sent && got) << "an end did not finish: a fault must not hang anyone";
  out.sent = sent.value_or(internalError("did not finish"));
  out.got = got.value_or(internalError("did not finish"));
  return out;
}

TEST(FaultInjection, AFlippedBitFailsTheChecksumOnBothEnds) {
  ChannelOptions options = faultyOptions("corrupt:p=1;seed=3");
  options.checksum = true;
  Outcome out = sendThrough(options, 1 << 20, 5);
  EXPECT_EQ(out.got.code(), Code::kProtocolError) << out.got.toString();
  EXPECT_NE(out.got.message().find("checksum"), std::string::npos) << out.got.message();
  EXPECT_EQ(out.sent.code(), Code::kConnectionError) << out.sent.toString();
}

TEST(FaultInjection, WithoutTheChecksumAFlippedBitArrives) {
  // Why checksums are on beyond loopback: the bytes change and nothing notices.
  ChannelOptions options = faultyOptions("corrupt:p=1;seed=3");
  options.checksum = false;
  Outcome out = sendThrough(options, 1 << 20, 5);
  ASSERT_TRUE(out.sent.isOk()) << out.sent.toString();
  ASSERT_TRUE(out.got.isOk()) << out.got.toString();
  size_t flipped = 0;
  for (size_t i = 0; i < out.transfer->data.size(); ++i) {
    flipped +=
        std::popcount(static_cast<unsigned>(out.transfer->data[i] ^ out.transfer->received[i]));
  }
  EXPECT_GE(flipped, 1u);
  EXPECT_LE(flipped, 16u + 16u);  // at most one per chunk (16), hedged copies included
}

TEST(FaultInjection, ADroppedConnectionFailsBothEnds) {
  Outcome out = sendThrough(faultyOptions("drop_conn:p=1"), 1 << 20, 6);
  EXPECT_FALSE(out.got.isOk());
  EXPECT_EQ(out.sent.code(), Code::kConnectionError) << out.sent.toString();
}

TEST(FaultInjection, ADelayedChunkArrivesIntactAfterTheDelay) {
  Outcome out = sendThrough(faultyOptions("delay:ms=300,p=1"), 32 << 10, 7);  // one chunk
  EXPECT_TRUE(out.sent.isOk()) << out.sent.toString();
  EXPECT_TRUE(out.got.isOk()) << out.got.toString();
  EXPECT_GE(out.took, 300ms);
  EXPECT_EQ(out.transfer->received, out.transfer->data);
}

TEST(FaultInjection, AHeldWriteShowsInTheStatsAsAStalledAndBusyLink) {
  // What the master's frozen- and slow-link detectors read (PeerReport links).
  ChannelOptions options = faultyOptions("stall:ms=800,p=1");
  options.connections = 1;
  auto pair = ChannelPair::make(options);
  ASSERT_TRUE(pair);
  const transport::ChannelStats before = pair->client->stats();
  EXPECT_EQ(before.send_stalled_ns, 0u) << "nothing waits to be written yet";
  Transfer transfer(32 << 10, 8);  // one chunk, held 800 ms
  transfer.start(*pair->client, *pair->server, 1);
  uint64_t most_stalled_ns = 0;
  const auto until = std::chrono::steady_clock::now() + deadline(5s);
  while (most_stalled_ns < 500'000'000 && std::chrono::steady_clock::now() < until) {
    most_stalled_ns = std::max(most_stalled_ns, pair->client->stats().send_stalled_ns);
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(most_stalled_ns, 500'000'000u) << "the held chunk never showed as stalled";
  auto [sent, got] = transfer.wait(deadline(10s));
  ASSERT_TRUE(sent && got);
  EXPECT_TRUE(sent->isOk()) << sent->toString();
  const transport::ChannelStats after = pair->client->stats();
  EXPECT_EQ(after.send_stalled_ns, 0u) << "the chunk went: nothing waits any more";
  EXPECT_GE(after.send_busy_ns - before.send_busy_ns, 750'000'000u);
  EXPECT_LT(after.send_busy_ns - before.send_busy_ns, 5'000'000'000u);
  // The receiving end sent nothing and waited for nothing.
  EXPECT_LT(pair->server->stats().send_busy_ns, 100'000'000u);
}

}  // namespace
}  // namespace eccl::test
