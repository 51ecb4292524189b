// Data channels over TLS (ChannelOptions::tls): peers with certificates of
// the cluster's CA connect and move exact data; a certificate of another CA,
// none at all, or a plaintext client gets no channel, the connecting side
// hears why as ecclAuthError, and the listener carries on. Channels to
// loopback addresses skip TLS unless asked to, on both ends alike.
#include <gtest/gtest.h>

#include "tests/support/channel_pair.h"
#include "tests/support/test_certs.h"
#include "transport/auth/cluster_secret.h"
#include "transport/tls/tls_context.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::ChannelOptions;
using transport::TlsData;
using transport::tls::TlsContext;
using transport::tls::TlsFiles;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class TlsChannel : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_.makeCa("ca");
    certs_.makeCa("other");
    server_ = certs_.makeHost("server", "ca");
    client_ = certs_.makeHost("client", "ca");
  }

  std::shared_ptr<const TlsContext> load(const TlsFiles& files) {
    auto context = TlsContext::load(files);
    EXPECT_TRUE(context) << context.status().toString();
    return context ? *context : nullptr;
  }

  ChannelOptions optionsWith(const TlsFiles* files, TlsData mode = TlsData::kAlways) {
    ChannelOptions options;
    options.connections = 2;
    options.chunk_bytes = 64 << 10;
    options.handshake_timeout = 2000ms;
    options.connect_timeout = 2000ms;
    if (files != nullptr) options.tls = load(*files);
    options.tls_data = mode;
    return options;
  }

  // A client of the cluster's CA still gets a channel from this listener.
  void expectListenerStillServes(ListenerAndClient& ends) {
    auto good = transport::tcp::TcpTransport::create(optionsWith(&client_.files));
    ASSERT_TRUE(good);
    auto channel = (*good)->connectAndWait("127.0.0.1", ends.listener->port());
    ASSERT_TRUE(channel) << channel.status().toString();
    auto server = ends.accepted.pop(deadline(5s));
    ASSERT_TRUE(server);
    EXPECT_EQ(transferAndCheck(**channel, *server, 9, 1 << 20, 9, deadline(10s)), "");
  }

  void expectRefused(ListenerAndClient& ends, const std::string& reason) {
    auto refused = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
    ASSERT_FALSE(refused) << "a client that should be refused got a channel";
    EXPECT_EQ(refused.status().code(), Code::kAuthError) << refused.status().toString();
    EXPECT_TRUE(contains(refused.status().message(), reason)) << refused.status().toString();
    EXPECT_FALSE(ends.accepted.pop(300ms)) << "the listener made a channel for a refused client";
    expectListenerStillServes(ends);
  }

  TestCerts certs_;
  HostCert server_;
  HostCert client_;
};

TEST_F(TlsChannel, PeersOfTheClustersCaConnectAndMoveExactData) {
  ListenerAndClient ends(optionsWith(&server_.files), optionsWith(&client_.files));
  auto channel = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_TRUE(channel) << channel.status().toString();
  auto server = ends.accepted.pop(deadline(5s));
  ASSERT_TRUE(server);
  EXPECT_EQ(transferAndCheck(**channel, *server, 1, 5 << 20, 7, deadline(20s)), "");
  EXPECT_EQ(transferAndCheck(*server, **channel, 2, (1 << 20) + 13, 8, deadline(20s)), "");
}

TEST_F(TlsChannel, AClientOfAnotherCaIsRefused) {
  HostCert stranger = certs_.makeHost("stranger", "other");
  stranger.files.ca_file = server_.files.ca_file;  // it trusts the listener
  ListenerAndClient ends(optionsWith(&server_.files), optionsWith(&stranger.files));
  expectRefused(ends, "unknown ca");
}

TEST_F(TlsChannel, AClientWithoutACertificateIsRefused) {
  const TlsFiles anonymous{server_.files.ca_file, "", ""};
  ListenerAndClient ends(optionsWith(&server_.files), optionsWith(&anonymous));
  expectRefused(ends, "certificate required");
}

TEST_F(TlsChannel, AListenerOfAnotherCaIsNotTrusted) {
  HostCert impostor = certs_.makeHost("impostor", "other");
  impostor.files.ca_file = client_.files.ca_file;  // it would trust the client
  ListenerAndClient ends(optionsWith(&impostor.files), optionsWith(&client_.files));
  auto refused = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), Code::kAuthError) << refused.status().toString();
  EXPECT_TRUE(contains(refused.status().message(), "certificate verify failed"))
      << refused.status().toString();
  EXPECT_FALSE(ends.accepted.pop(300ms));
}

TEST_F(TlsChannel, APlaintextClientGetsNoChannel) {
  ListenerAndClient ends(optionsWith(&server_.files), optionsWith(nullptr));
  auto refused = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_FALSE(refused) << "a plaintext client got a channel from a TLS listener";
  EXPECT_FALSE(ends.accepted.pop(300ms));
  expectListenerStillServes(ends);
}

TEST_F(TlsChannel, ATlsClientOfAPlaintextListenerGetsNoChannel) {
  ListenerAndClient ends(optionsWith(nullptr), optionsWith(&client_.files));
  auto refused = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_FALSE(refused) << "a TLS client got a channel from a plaintext listener";
  EXPECT_FALSE(ends.accepted.pop(300ms));
}

TEST_F(TlsChannel, LoopbackChannelsSkipTlsByDefault) {
  // Both ends see a loopback peer and leave TLS out, so a client with no
  // certificate at all connects: the listener did not ask for TLS.
  ListenerAndClient ends(optionsWith(&server_.files, TlsData::kBeyondLoopback),
                         optionsWith(nullptr));
  auto channel = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_TRUE(channel) << channel.status().toString();
  auto server = ends.accepted.pop(deadline(5s));
  ASSERT_TRUE(server);
  EXPECT_EQ(transferAndCheck(**channel, *server, 1, 1 << 20, 3, deadline(10s)), "");

  // With `never`, TLS stays off whatever the address.
  ListenerAndClient never(optionsWith(&server_.files, TlsData::kNever), optionsWith(nullptr));
  auto plain = never.client->connectAndWait("127.0.0.1", never.listener->port());
  ASSERT_TRUE(plain) << plain.status().toString();
}

TEST_F(TlsChannel, TlsAndTheClusterSecretStack) {
  const std::string text = "0123456789abcdef-cluster-one";
  auto secret = transport::auth::ClusterSecret::fromBytes(
      std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  ASSERT_TRUE(secret);
  ChannelOptions server_options = optionsWith(&server_.files);
  ChannelOptions client_options = optionsWith(&client_.files);
  server_options.secret = *secret;
  client_options.secret = *secret;
  ListenerAndClient ends(server_options, client_options);
  auto channel = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_TRUE(channel) << channel.status().toString();
  auto server = ends.accepted.pop(deadline(5s));
  ASSERT_TRUE(server);
  EXPECT_EQ(transferAndCheck(**channel, *server, 1, 2 << 20, 5, deadline(10s)), "");

  // A certificate of the CA does not stand in for the secret.
  ListenerAndClient no_secret(server_options, optionsWith(&client_.files));
  auto refused = no_secret.client->connectAndWait("127.0.0.1", no_secret.listener->port());
  ASSERT_FALSE(refused);
  EXPECT_FALSE(no_secret.accepted.pop(300ms));
}

}  // namespace
}  // namespace eccl::test
