// ChannelOptions' rules: the connection count a link's round trip asks for,
// and the range checks of the settings behind it.
#include "transport/channel_options.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace eccl::transport
