// The cluster secret's challenge-response (transport/auth/): holders of the
// same secret connect and move data; anyone else (another secret, none, a
// replayed exchange, an impostor listener) is refused on both sides with a
// clear error, and the listener carries on.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <fstream>
#include <thread>

#include "tests/support/channel_pair.h"
#include "tests/support/raw_socket.h"
#include "transport/auth/auth_errors.h"
#include "transport/auth/auth_messages.h"
#include "transport/auth/cluster_secret.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::ChannelOptions;
using transport::auth::ClusterSecret;
namespace auth = transport::auth;

std::shared_ptr<const ClusterSecret> secretOf(const std::string& text) {
  auto secret = ClusterSecret::fromBytes(
      std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  EXPECT_TRUE(secret) << secret.status().toString();
  return secret ? *secret : nullptr;
}

const std::string kSecret = "0123456789abcdef-cluster-one";
const std::string kOtherSecret = "fedcba9876543210-cluster-two";

ChannelOptions optionsWith(std::shared_ptr<const ClusterSecret> secret) {
  ChannelOptions options;
  options.connections = 2;
  options.chunk_bytes = 64 << 10;
  options.handshake_timeout = 2000ms;
  options.connect_timeout = 2000ms;
  options.secret = std::move(secret);
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(AuthMessages, ProofsDependOnSideNoncesAndSecret) {
  auto secret = secretOf(kSecret);
  auto other = secretOf(kOtherSecret);
  const auth::Nonce a = auth::randomNonce();
  const auth::Nonce b = auth::randomNonce();
  ASSERT_NE(a, b);
  const auth::Proof base = auth::prove(*secret, auth::Side::kClient, a, b);
  EXPECT_TRUE(auth::sameProof(base, auth::prove(*secret, auth::Side::kClient, a, b)));
  EXPECT_FALSE(auth::sameProof(base, auth::prove(*secret, auth::Side::kServer, a, b)));
  EXPECT_FALSE(auth::sameProof(base, auth::prove(*secret, auth::Side::kClient, b, a)));
  EXPECT_FALSE(auth::sameProof(base, auth::prove(*other, auth::Side::kClient, a, b)));
  EXPECT_FALSE(auth::sameProof(std::span(base).first(16), base));
}

TEST(AuthMessages, HelloRoundTripsAndBadOnesAreRefused) {
  const auth::Nonce nonce = auth::randomNonce();
  auth::Hello hello = auth::encodeHello(nonce);
  auto decoded = auth::decodeHello(hello);
  ASSERT_TRUE(decoded) << decoded.status().toString();
  EXPECT_EQ(*decoded, nonce);
  EXPECT_TRUE(auth::isHelloMagic(hello));
  EXPECT_FALSE(auth::isFrameMagic(hello));

  auth::Hello newer = hello;
  newer[auth::kMagicBytes] = 2;
  EXPECT_EQ(auth::decodeHello(newer).status().code(), Code::kUnsupported);
  auth::Hello reserved = hello;
  reserved[auth::kMagicBytes + 3] = 1;
  EXPECT_EQ(auth::decodeHello(reserved).status().code(), Code::kProtocolError);
  auth::Hello frame = hello;
  frame[4] = 1;  // "ECCL" then a frame's version byte
  EXPECT_FALSE(auth::isHelloMagic(frame));
  EXPECT_TRUE(auth::isFrameMagic(frame));
  EXPECT_EQ(auth::decodeHello(frame).status().code(), Code::kProtocolError);
  EXPECT_EQ(auth::decodeHello(std::span(hello).first(10)).status().code(), Code::kProtocolError);
}

class SecretFile : public ::testing::Test {
 protected:
  void TearDown() override { std::remove(path_.c_str()); }
  std::string write(const std::string& contents, mode_t mode = 0600) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << contents;
    ::chmod(path_.c_str(), mode);
    return path_;
  }
  std::string path_ = "/tmp/eccl-auth-test-secret-" + std::to_string(::getpid());
};

TEST_F(SecretFile, TrailingLineBreaksAreNotPartOfTheSecret) {
  auto from_file = ClusterSecret::loadFile(write(kSecret + "\n"));
  ASSERT_TRUE(from_file) << from_file.status().toString();
  auto direct = secretOf(kSecret);
  ASSERT_EQ((*from_file)->key().size(), direct->key().size());
  EXPECT_TRUE(std::equal(direct->key().begin(), direct->key().end(), (*from_file)->key().begin()));
}

TEST_F(SecretFile, ShortMissingAndOversizedSecretsAreRefusedWithoutShowingThem) {
  auto short_secret = ClusterSecret::loadFile(write("tooshort\n"));
  ASSERT_FALSE(short_secret);
  EXPECT_EQ(short_secret.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(contains(short_secret.status().message(), path_));
  EXPECT_FALSE(contains(short_secret.status().message(), "tooshort"));

  auto missing = ClusterSecret::loadFile(path_ + "-missing");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(contains(missing.status().message(), path_ + "-missing"));

  auto huge = ClusterSecret::loadFile(write(std::string(ClusterSecret::kMaxBytes + 10, 'x')));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.status().code(), Code::kInvalidArgument);
}

TEST_F(SecretFile, TheEnvironmentNamesTheFile) {
  ::setenv("ECCL_SECRET_FILE", write(kSecret).c_str(), 1);
  auto secret = ClusterSecret::fromEnvironment();
  ::unsetenv("ECCL_SECRET_FILE");
  ASSERT_TRUE(secret) << secret.status().toString();
  ASSERT_TRUE(*secret);
  EXPECT_EQ((*secret)->key().size(), kSecret.size());
  auto none = ClusterSecret::fromEnvironment();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(AuthChannel, HoldersOfTheSameSecretConnectAndMoveData) {
  auto secret = secretOf(kSecret);
  ListenerAndClient ends(optionsWith(secret), optionsWith(secret));
  auto channel = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_TRUE(channel) << channel.status().toString();
  auto server = ends.accepted.pop(deadline(5s));
  ASSERT_TRUE(server);
  EXPECT_EQ(transferAndCheck(**channel, *server, 1, 3 << 20, 7, deadline(10s)), "");
  EXPECT_EQ(transferAndCheck(*server, **channel, 2, 1 << 20, 8, deadline(10s)), "");
}

TEST(AuthChannel, AnotherSecretIsRefusedOnBothSidesAndTheListenerCarriesOn) {
  auto secret = secretOf(kSecret);
  ListenerAndClient ends(optionsWith(secret), optionsWith(secretOf(kOtherSecret)));
  auto refused = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), Code::kAuthError) << refused.status().toString();
  EXPECT_TRUE(contains(refused.status().message(), "secret")) << refused.status().toString();
  EXPECT_FALSE(ends.accepted.pop(300ms)) << "a channel was made for a client with another secret";

  // The listener still serves a client that has the secret.
  auto good = transport::tcp::TcpTransport::create(optionsWith(secret));
  ASSERT_TRUE(good);
  auto channel = (*good)->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_TRUE(channel) << channel.status().toString();
  ASSERT_TRUE(ends.accepted.pop(deadline(5s)));
}

TEST(AuthChannel, AClientWithoutTheSecretGetsNoChannel) {
  ListenerAndClient ends(optionsWith(secretOf(kSecret)), optionsWith(nullptr));
  auto refused = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), Code::kConnectionError) << refused.status().toString();
  EXPECT_FALSE(ends.accepted.pop(300ms));
}

TEST(AuthChannel, AListenerWithoutTheSecretIsNotTrusted) {
  ListenerAndClient ends(optionsWith(nullptr), optionsWith(secretOf(kSecret)));
  auto refused = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), Code::kConnectionError) << refused.status().toString();
  EXPECT_TRUE(contains(refused.status().message(), "during authentication"))
      << refused.status().toString();
  EXPECT_FALSE(ends.accepted.pop(300ms));
}

// Runs the client's side of the exchange by hand; returns the verdict byte
// (or -1 when the listener closed first).
int exchangeByHand(RawSocket& socket, std::span<const uint8_t> hello,
                   const std::function<auth::Proof(const auth::Nonce&)>& make_proof,
                   auth::Nonce* server_nonce = nullptr) {
  const auto end = std::chrono::steady_clock::now() + deadline(5s);
  if (!socket.send(hello)) return -1;
  auth::Nonce nonce{};
  if (!socket.readExactly(nonce, end)) return -1;
  if (server_nonce != nullptr) *server_nonce = nonce;
  const auth::Proof proof = make_proof(nonce);
  if (!socket.send(proof)) return -1;
  std::array<uint8_t, auth::kVerdictBytes> verdict{};
  if (!socket.readExactly(verdict, end)) return -1;
  return verdict[0];
}

TEST(AuthChannel, AReplayedExchangeIsRefused) {
  auto secret = secretOf(kSecret);
  ListenerAndClient ends(optionsWith(secret), optionsWith(secret));
  const auth::Nonce client_nonce = auth::randomNonce();
  const auth::Hello hello = auth::encodeHello(client_nonce);

  // A genuine exchange, recorded.
  auth::Proof recorded{};
  RawSocket first(ends.listener->port());
  ASSERT_TRUE(first.valid());
  const int accepted = exchangeByHand(first, hello, [&](const auth::Nonce& server_nonce) {
    recorded = auth::prove(*secret, auth::Side::kClient, client_nonce, server_nonce);
    return recorded;
  });
  EXPECT_EQ(accepted, auth::kVerdictAccepted);

  // The same bytes on a new connection meet a fresh server nonce.
  RawSocket replay(ends.listener->port());
  ASSERT_TRUE(replay.valid());
  auth::Nonce second_nonce{};
  const int verdict = exchangeByHand(
      replay, hello, [&](const auth::Nonce&) { return recorded; }, &second_nonce);
  EXPECT_EQ(verdict, auth::kVerdictRefused);
  EXPECT_TRUE(replay.waitClosedByPeer(deadline(3s)));
  EXPECT_FALSE(ends.accepted.pop(200ms));
}

TEST(AuthChannel, GarbageAndSilenceAreDroppedWithinTheHandshakeTimeout) {
  auto options = optionsWith(secretOf(kSecret));
  options.handshake_timeout = 500ms;
  ListenerAndClient ends(options, options);
  RawSocket garbage(ends.listener->port());
  ASSERT_TRUE(garbage.valid());
  const std::array<uint8_t, 16> junk = {'G', 'E', 'T', ' ', '/', ' ', 'H',  'T',
                                        'T', 'P', '/', '1', '.', '1', '\r', '\n'};
  ASSERT_TRUE(garbage.send(junk));
  EXPECT_TRUE(garbage.waitClosedByPeer(deadline(3s)));

  RawSocket silent(ends.listener->port());
  ASSERT_TRUE(silent.valid());
  EXPECT_TRUE(silent.waitClosedByPeer(deadline(3s)));
  EXPECT_FALSE(ends.accepted.pop(100ms));
}

// A listener that answers like a server but does not know the secret.
TEST(AuthChannel, AnImpostorListenerIsCaught) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = acceptor.local_endpoint().port();
  std::thread impostor([&] {
    {
      asio::ip::tcp::socket socket(io);
      std::error_code ec;
      acceptor.accept(socket, ec);
      if (ec) return;
      std::array<uint8_t, auth::kHelloBytes> hello{};
      asio::read(socket, asio::buffer(hello), ec);
      const auth::Nonce nonce = auth::randomNonce();
      asio::write(socket, asio::buffer(nonce), ec);
      std::array<uint8_t, auth::kProofBytes> proof{};
      asio::read(socket, asio::buffer(proof), ec);
      std::array<uint8_t, auth::kVerdictBytes> verdict{};  // "accepted", with a made-up proof
      verdict[5] = 0x42;
      asio::write(socket, asio::buffer(verdict), ec);
      std::this_thread::sleep_for(200ms);
    }
  });
  auto options = optionsWith(secretOf(kSecret));
  options.connections = 1;
  auto client = transport::tcp::TcpTransport::create(options);
  ASSERT_TRUE(client);
  auto refused = (*client)->connectAndWait("127.0.0.1", port);
  impostor.join();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), Code::kAuthError) << refused.status().toString();
  EXPECT_TRUE(contains(refused.status().message(), "proof is wrong"))
      << refused.status().toString();
}

}  // namespace
}  // namespace eccl::test
