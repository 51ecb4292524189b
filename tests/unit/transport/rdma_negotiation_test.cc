// How a data connection comes to use RDMA, or stays on TCP: channels between
// two TCP transports on 127.0.0.1 whose queue pairs come from the in-process
// loopback fabric (tests/support/loopback_queue_pairs.h). Every channel must
// carry its bytes exact whatever each of its connections chose, and every
// queue pair made for a connection that stayed on TCP must be freed.
#include "transport/rdma/rdma_negotiation.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <memory>
#include <thread>

#include "tests/support/channel_pair.h"
#include "tests/support/loopback_queue_pairs.h"
#include "tests/support/test_certs.h"
#include "transport/shm/shm_errors.h"
#include "transport/shm/shm_offer.h"
#include "transport/shm/shm_stream.h"
#include "transport/tcp/tcp_stream.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::ChannelOptions;
namespace shm = transport::shm;
using transport::TransportChoice;
using transport::rdma::QueuePair;
using transport::rdma::QueuePairFactory;
using transport::rdma::RdmaNegotiation;
using transport::rdma::RdmaPort;
using transport::rdma::RdmaSettings;

// The fabric's queue pairs, with a test's say over how many may be made and
// which port they claim to be on.
class ScriptedQueuePairs final : public QueuePairFactory {
 public:
  explicit ScriptedQueuePairs(std::shared_ptr<LoopbackFabric> fabric)
      : port_(fabric->port()), fabric_(std::move(fabric)) {}

  Result<std::unique_ptr<QueuePair>> create(uint64_t ring_bytes) override {
    if (made_.fetch_add(1) >= allowed_.load()) {
      return systemError("the test allows no more queue pairs");
    }
    return fabric_->create(ring_bytes);
  }
  const RdmaPort& port() const override { return port_; }
  int asked() const { return made_.load(); }

  std::atomic<int> allowed_{1 << 30};
  RdmaPort port_;

 private:
  std::shared_ptr<LoopbackFabric> fabric_;
  std::atomic<int> made_{0};
};

class RdmaNegotiationTest : public ::testing::Test {
 protected:
  ChannelOptions options(TransportChoice choice,
                         std::shared_ptr<QueuePairFactory> queue_pairs = nullptr) {
    ChannelOptions options;
    options.transport = choice;
    options.transport_from_environment = false;
    options.connections = 4;
    options.max_connections_for_rtt = 0;
    options.chunk_bytes = 64 << 10;
    options.pool_bytes = 4 << 20;
    options.rdma_ring_bytes = 64 << 10;
    options.handshake_timeout = 5000ms;
    options.rdma_queue_pairs =
        queue_pairs ? std::move(queue_pairs) : std::make_shared<ScriptedQueuePairs>(fabric_);
    return options;
  }

  // Connects a channel between ends with these options; how many of its
  // connections each end says use RDMA, after 4 MiB went each way exact.
  std::pair<int, int> connectAndTransfer(const ChannelOptions& server_options,
                                         const ChannelOptions& client_options) {
    ListenerAndClient ends(server_options, client_options);
    auto client = ends.client->connectAndWait("127.0.0.1", ends.listener->port());
    EXPECT_TRUE(client) << client.status().toString();
    if (!client) return {-1, -1};
    auto server = ends.accepted.pop(deadline(10s));
    EXPECT_TRUE(server);
    if (!server) return {-1, -1};
    EXPECT_EQ(transferAndCheck(**client, *server, 1, 4 << 20, 1, deadline(20s)), "");
    EXPECT_EQ(transferAndCheck(*server, **client, 2, 4 << 20, 2, deadline(20s)), "");
    EXPECT_FALSE((*client)->peer().shared_memory && server->peer().rdma_connections > 0);
    shared_memory_ = (*client)->peer().shared_memory;
    return {server->peer().rdma_connections, (*client)->peer().rdma_connections};
  }

  std::shared_ptr<LoopbackFabric> fabric_ = LoopbackFabric::make();
  bool shared_memory_ = false;
};

TEST_F(RdmaNegotiationTest, EndsThatBothUseRdmaMoveEveryConnectionOntoAQueuePair) {
  auto [server, client] =
      connectAndTransfer(options(TransportChoice::kRdma), options(TransportChoice::kRdma));
  EXPECT_EQ(server, 4);
  EXPECT_EQ(client, 4);
  EXPECT_FALSE(shared_memory_);
  EXPECT_EQ(fabric_->live(), 0u);  // freed with the channel
}

TEST_F(RdmaNegotiationTest, OnOneHostAutoPrefersSharedMemoryAndMakesNoQueuePair) {
  auto counting = std::make_shared<ScriptedQueuePairs>(fabric_);
  auto [server, client] = connectAndTransfer(options(TransportChoice::kAuto, counting),
                                             options(TransportChoice::kAuto, counting));
  EXPECT_TRUE(shared_memory_);
  EXPECT_EQ(server, 0);
  EXPECT_EQ(client, 0);
  EXPECT_EQ(counting->asked(), 0);
  EXPECT_EQ(fabric_->live(), 0u);
}

TEST_F(RdmaNegotiationTest, AnEndThatDoesNotUseRdmaKeepsTheChannelOnTcp) {
  for (auto [server_choice, client_choice] :
       {std::pair{TransportChoice::kTcp, TransportChoice::kRdma},
        std::pair{TransportChoice::kRdma, TransportChoice::kTcp},
        std::pair{TransportChoice::kShm, TransportChoice::kRdma}}) {
    auto [server, client] = connectAndTransfer(options(server_choice), options(client_choice));
    EXPECT_EQ(server, 0);
    EXPECT_EQ(client, 0);
    EXPECT_EQ(fabric_->live(), 0u);  // the client's offered queue pairs too
  }
}

TEST_F(RdmaNegotiationTest, AQueuePairThatCannotBeMadeLeavesOnlyItsConnectionOnTcp) {
  // The server makes two and refuses the other two connections' offers.
  auto server_side = std::make_shared<ScriptedQueuePairs>(fabric_);
  server_side->allowed_ = 2;
  auto [server, client] = connectAndTransfer(options(TransportChoice::kRdma, server_side),
                                             options(TransportChoice::kRdma));
  EXPECT_EQ(server, 2);
  EXPECT_EQ(client, 2);
  EXPECT_EQ(fabric_->live(), 0u);

  // The client makes three: its fourth offer says it has none.
  auto client_side = std::make_shared<ScriptedQueuePairs>(fabric_);
  client_side->allowed_ = 3;
  std::tie(server, client) = connectAndTransfer(options(TransportChoice::kRdma),
                                                options(TransportChoice::kRdma, client_side));
  EXPECT_EQ(server, 3);
  EXPECT_EQ(client, 3);
  EXPECT_EQ(fabric_->live(), 0u);
}

TEST_F(RdmaNegotiationTest, PortsThatCannotReachEachOtherStayOnTcp) {
  // An InfiniBand port without a LID cannot reach the fabric's RoCE port.
  auto infiniband = std::make_shared<ScriptedQueuePairs>(fabric_);
  infiniband->port_.link_layer = transport::rdma::LinkLayer::kInfiniBand;
  for (bool server_is_infiniband : {true, false}) {
    auto [server, client] = connectAndTransfer(
        options(TransportChoice::kRdma, server_is_infiniband ? infiniband : nullptr),
        options(TransportChoice::kRdma, server_is_infiniband ? nullptr : infiniband));
    EXPECT_EQ(server, 0);
    EXPECT_EQ(client, 0);
    EXPECT_EQ(fabric_->live(), 0u);
  }
}

TEST_F(RdmaNegotiationTest, ATlsConnectionStaysOnTlsRatherThanBypassItOverRdma) {
  TestCerts certs;
  certs.makeCa("ca");
  auto load = [&](const std::string& name) {
    auto context = transport::tls::TlsContext::load(certs.makeHost(name, "ca").files);
    EXPECT_TRUE(context) << context.status().toString();
    return context ? *context : nullptr;
  };
  auto server_options = options(TransportChoice::kRdma);
  auto client_options = options(TransportChoice::kRdma);
  server_options.tls = load("server");
  client_options.tls = load("client");
  server_options.tls_data = client_options.tls_data = transport::TlsData::kAlways;
  auto [server, client] = connectAndTransfer(server_options, client_options);
  EXPECT_EQ(server, 0);
  EXPECT_EQ(client, 0);
  EXPECT_EQ(fabric_->live(), 0u);
}

// ---- the messages, one side at a time ---------------------------------------------

TEST(RdmaNegotiationMessages, BytesThatAreNoMessageOfTheExchangeAreRefused) {
  auto fabric = LoopbackFabric::make();
  RdmaSettings settings;
  settings.queue_pairs = fabric;
  settings.ring_bytes = 64 << 10;
  RdmaNegotiation server(settings, "test");
  // The shared-memory offer where the RDMA offer belongs.
  const auto shm_offer = shm::encode(shm::Offer{});
  EXPECT_EQ(server.answer(shm_offer).status().code(), Code::kProtocolError);

  RdmaNegotiation client(settings, "test");
  auto offer = client.offer();
  auto answer = server.answer(offer);
  ASSERT_TRUE(answer) << answer.status().toString();
  ASSERT_TRUE(server.awaitsConfirm());
  auto damaged = *answer;
  damaged[9] = 7;  // "use RDMA" must be 0 or 1
  EXPECT_EQ(client.confirm(damaged).status().code(), Code::kProtocolError);
  auto confirm = client.confirm(*answer);
  ASSERT_TRUE(confirm && *confirm);
  auto bad_confirm = **confirm;
  bad_confirm[0] = 'X';
  EXPECT_EQ(server.confirmed(bad_confirm).code(), Code::kProtocolError);
  ASSERT_TRUE(server.confirmed(**confirm).isOk());
  EXPECT_NE(server.takeChosen(), nullptr);
  EXPECT_NE(client.takeChosen(), nullptr);
  EXPECT_EQ(fabric->live(), 0u);

  // An answer of RDMA to an offer without it breaks the exchange.
  RdmaNegotiation refused_client(
      RdmaSettings{.queue_pairs = std::make_shared<ScriptedQueuePairs>(fabric)}, "test");
  RdmaNegotiation other_server(settings, "test");
  auto other_answer = other_server.answer(RdmaNegotiation(settings, "test").offer());
  ASSERT_TRUE(other_answer);
  EXPECT_EQ(refused_client.confirm(*other_answer).status().code(), Code::kProtocolError);
}

TEST(RdmaNegotiationMessages, TheSharedMemoryOfferCarriesTheAnnouncementInItsSpareByte) {
  shm::Offer offer;
  EXPECT_EQ(shm::encode(offer)[11], 0);  // the default path's bytes as before
  offer.rdma_follows = true;
  auto bytes = shm::encode(offer);
  EXPECT_EQ(bytes[11], 1);
  auto decoded = shm::decodeOffer(bytes);
  ASSERT_TRUE(decoded) << decoded.status().toString();
  EXPECT_TRUE(decoded->rdma_follows);
  bytes[11] = 2;
  EXPECT_EQ(shm::decodeOffer(bytes).status().code(), Code::kProtocolError);
}

// ---- one stream, its server played by hand ----------------------------------------

// A client ShmStream that insists on RDMA (ECCL_TRANSPORT=rdma) over a raw
// socket whose server side the test plays, with an RdmaNegotiation of its
// own for the server's messages. Everything runs on the test's thread.
class HandServedRdma {
 public:
  HandServedRdma() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), server_(io_) {
    asio::ip::tcp::socket client(asio::make_strand(io_));
    client.connect(acceptor_.local_endpoint());
    acceptor_.accept(server_);
    RdmaSettings settings;
    settings.queue_pairs = fabric_;
    settings.insist = true;
    settings.ring_bytes = 64 << 10;
    shm::ShmSettings no_shm;
    no_shm.allow = false;
    stream_ = std::make_unique<shm::ShmStream>(
        std::make_unique<transport::tcp::TcpStream>(std::move(client)), shm::ShmRole::kClient,
        no_shm, std::make_unique<RdmaNegotiation>(settings, "hand-served"));
  }

  // Reads the client's shared-memory offer (no shared memory, RDMA follows)
  // and its RDMA offer.
  ::testing::AssertionResult readOffers() {
    poke();
    shm::OfferBytes offer{};
    asio::read(server_, asio::buffer(offer));
    auto decoded = shm::decodeOffer(offer);
    if (!decoded || decoded->wants_shm || !decoded->rdma_follows) {
      return ::testing::AssertionFailure() << "no RDMA announced";
    }
    asio::read(server_, asio::buffer(rdma_offer_));
    return ::testing::AssertionSuccess();
  }

  // Answers as a server with the fabric's queue pairs would, and takes the confirmation in.
  ::testing::AssertionResult negotiate() {
    if (auto offers = readOffers(); !offers) return offers;
    RdmaSettings settings;
    settings.queue_pairs = fabric_;
    settings.ring_bytes = 64 << 10;
    RdmaNegotiation server(settings, "test");
    auto answer = server.answer(rdma_offer_);
    if (!answer || !server.awaitsConfirm()) return ::testing::AssertionFailure() << "no answer";
    asio::write(server_, asio::buffer(*answer));
    for (int i = 0; i < 2000 && !stream_->rdma(); ++i) {
      std::this_thread::sleep_for(1ms);
      poke();
    }
    transport::rdma::RdmaConfirmBytes confirm{};
    asio::read(server_, asio::buffer(confirm));
    if (!server.confirmed(confirm).isOk()) return ::testing::AssertionFailure() << "bad confirm";
    queue_pair_ = server.takeChosen();
    if (!queue_pair_) return ::testing::AssertionFailure() << "not confirmed";
    return ::testing::AssertionSuccess();
  }

  // The client's next read, after the server sent `bytes`.
  std::error_code readAfter(std::span<const uint8_t> bytes) {
    asio::write(server_, asio::buffer(bytes.data(), bytes.size()));
    std::error_code ec = asio::error::would_block;
    for (int i = 0; i < 2000 && ec == asio::error::would_block; ++i) {
      std::this_thread::sleep_for(1ms);
      uint8_t one[1];
      stream_->readSome(one, ec);
    }
    return ec;
  }

  shm::ShmStream& stream() { return *stream_; }
  void destroyStream() { stream_.reset(); }
  const std::shared_ptr<LoopbackFabric>& fabric() const { return fabric_; }

 private:
  void poke() {
    uint8_t none[1];
    std::error_code ec;
    stream_->readSome(std::span<uint8_t>(none, 0), ec);
  }

  std::shared_ptr<LoopbackFabric> fabric_ = LoopbackFabric::make();
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::socket server_;
  std::unique_ptr<shm::ShmStream> stream_;
  transport::rdma::RdmaOfferBytes rdma_offer_{};
  std::unique_ptr<QueuePair> queue_pair_;
};

TEST(RdmaNegotiationStream, APaceSetWhileNegotiatingHoldsOverRdma) {
  HandServedRdma ends;
  ends.stream().setPacingRate(1'000'000);
  ASSERT_TRUE(ends.negotiate());
  ASSERT_TRUE(ends.stream().rdma());
  // Unpaced, the other end's whole 64 KiB ring would take it at once.
  const std::vector<uint8_t> bytes(64 << 10, 7);
  std::error_code ec;
  const size_t written = ends.stream().writeSome(bytes, {}, ec);
  EXPECT_LE(written, size_t{16} << 10) << "a whole ring went out unpaced";
  EXPECT_TRUE(!ec || ec == asio::error::would_block) << ec.message();
}

TEST(RdmaNegotiationStream, AMalformedAnswerFailsTheStreamAndFreesItsQueuePair) {
  HandServedRdma ends;
  ASSERT_TRUE(ends.readOffers());
  EXPECT_EQ(ends.fabric()->live(), 1u);  // the queue pair the client offered
  std::vector<uint8_t> junk(transport::rdma::RdmaAnswer::kSize, 'x');
  EXPECT_EQ(ends.readAfter(junk), make_error_code(shm::ShmErrc::kBadMessage));
  EXPECT_FALSE(ends.stream().rdma());
  ends.destroyStream();
  EXPECT_EQ(ends.fabric()->live(), 0u);
}

}  // namespace
}  // namespace eccl::test
