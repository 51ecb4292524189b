// ChannelOptions' rules: the connection count a link's round trip asks for,
// the range checks of the settings behind it and of the RDMA ring, and the
// transport's environment switches.
#include "transport/channel_options.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "transport/channel_env.h"

namespace eccl::transport {
namespace {

using namespace std::chrono_literals;

TEST(ChannelOptions, ALongRoundTripAsksForOneConnectionPerStep) {
  ChannelOptions options;  // 4 connections, one per 6.25 ms (nearest), at most 16
  EXPECT_EQ(options.connectionsForRoundTrip(30us), 4) << "loopback";
  EXPECT_EQ(options.connectionsForRoundTrip(28ms), 4);
  EXPECT_EQ(options.connectionsForRoundTrip(29ms), 5);
  EXPECT_EQ(options.connectionsForRoundTrip(50ms), 8);
  EXPECT_EQ(options.connectionsForRoundTrip(50180us), 8) << "jitter of a 50 ms line";
  EXPECT_EQ(options.connectionsForRoundTrip(100ms), 16);
  EXPECT_EQ(options.connectionsForRoundTrip(1h), 16);
}

TEST(ChannelOptions, TheRoundTripNeverLowersNorOverridesAFixedCount) {
  ChannelOptions options;
  options.connections = 20;
  EXPECT_EQ(options.connectionsForRoundTrip(1h), 20) << "more than the cap asked already";
  options.connections = 2;
  options.max_connections_for_rtt = 0;
  EXPECT_EQ(options.connectionsForRoundTrip(1h), 2) << "0 turns the rule off";
  options.max_connections_for_rtt = 16;
  EXPECT_EQ(options.connectionsForRoundTrip(0us), 2) << "no sample";
  EXPECT_EQ(options.connectionsForRoundTrip(-5ms), 2);
}

TEST(ChannelOptions, RoundTripSettingsAreRangeChecked) {
  ChannelOptions options;
  EXPECT_TRUE(options.validate().isOk());
  options.max_connections_for_rtt = -1;
  EXPECT_FALSE(options.validate().isOk());
  options.max_connections_for_rtt = 257;
  EXPECT_NE(options.validate().message().find("max_connections_for_rtt"), std::string::npos);
  options.max_connections_for_rtt = 16;
  options.rtt_per_connection = 0us;
  EXPECT_NE(options.validate().message().find("rtt_per_connection"), std::string::npos);
}

TEST(ChannelOptions, TheRdmaRingIsAPowerOfTwoBetween64KiBAnd1GiB) {
  ChannelOptions options;
  EXPECT_EQ(options.rdma_ring_bytes, uint64_t{2} << 20);
  for (uint64_t good : {uint64_t{64} << 10, uint64_t{1} << 30}) {
    options.rdma_ring_bytes = good;
    EXPECT_TRUE(options.validate().isOk()) << good;
  }
  for (uint64_t bad : {uint64_t{32} << 10, uint64_t{3} << 20, uint64_t{2} << 30}) {
    options.rdma_ring_bytes = bad;
    EXPECT_NE(options.validate().message().find("rdma_ring_bytes"), std::string::npos) << bad;
  }
}

TEST(ChannelEnvironment, TransportAndGidIndexAreReadAndBadValuesNamed) {
  EXPECT_EQ(*parseTransportChoice("rdma", "ECCL_TRANSPORT"), TransportChoice::kRdma);
  EXPECT_EQ(*parseTransportChoice("", "ECCL_TRANSPORT"), TransportChoice::kAuto);
  auto bad = parseTransportChoice("infiniband", "ECCL_TRANSPORT");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("rdma"), std::string::npos) << "lists the choices";

  ChannelOptions options;
  options.security_from_environment = false;
  ASSERT_EQ(setenv("ECCL_TRANSPORT", "rdma", 1), 0);
  ASSERT_EQ(setenv("ECCL_RDMA_GID_INDEX", "3", 1), 0);
  ASSERT_TRUE(applyChannelEnvironment(options).isOk());
  EXPECT_EQ(options.transport, TransportChoice::kRdma);
  EXPECT_EQ(options.rdma_gid_index, 3u);
  for (const char* value : {"x", "256", "-1", "3x"}) {
    ASSERT_EQ(setenv("ECCL_RDMA_GID_INDEX", value, 1), 0);
    Status status = applyChannelEnvironment(options);
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << value;
    EXPECT_NE(status.message().find("ECCL_RDMA_GID_INDEX"), std::string::npos) << value;
  }
  unsetenv("ECCL_TRANSPORT");
  unsetenv("ECCL_RDMA_GID_INDEX");
}

TEST(ChannelEnvironment, IoThreadsAreReadAndBadValuesNamed) {
  ChannelOptions options;
  options.security_from_environment = false;
  ASSERT_EQ(setenv("ECCL_IO_THREADS", "1", 1), 0);
  ASSERT_TRUE(applyChannelEnvironment(options).isOk());
  EXPECT_EQ(options.io_threads, 1);
  for (const char* value : {"0", "65", "-2", "two", "2x"}) {
    ASSERT_EQ(setenv("ECCL_IO_THREADS", value, 1), 0);
    Status status = applyChannelEnvironment(options);
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << value;
    EXPECT_NE(status.message().find("ECCL_IO_THREADS"), std::string::npos) << value;
    EXPECT_EQ(options.io_threads, 1) << "a bad value changes nothing";
  }
  unsetenv("ECCL_IO_THREADS");
}

TEST(ChannelEnvironment, ReadLowWaterIsReadAndBadValuesNamed) {
  ChannelOptions options;
  options.security_from_environment = false;
  EXPECT_EQ(options.read_low_water, 64u << 10);
  ASSERT_EQ(setenv("ECCL_READ_LOW_WATER", "1", 1), 0);
  ASSERT_TRUE(applyChannelEnvironment(options).isOk());
  EXPECT_EQ(options.read_low_water, 1u);
  for (const char* value : {"0", "67108865", "-1", "64k"}) {
    ASSERT_EQ(setenv("ECCL_READ_LOW_WATER", value, 1), 0);
    Status status = applyChannelEnvironment(options);
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << value;
    EXPECT_NE(status.message().find("ECCL_READ_LOW_WATER"), std::string::npos) << value;
    EXPECT_EQ(options.read_low_water, 1u) << "a bad value changes nothing";
  }
  unsetenv("ECCL_READ_LOW_WATER");
}

}  // namespace
}  // namespace eccl::transport
