// Data channels over TLS are pooled only from the peers the master announced:
// a channel's certificate must be the one the master pinned for the peer id
// it claims. Members (ring and point-to-point across groups) still reach each
// other; a holder of another certificate of the same CA claiming a member's
// id, or an id the master does not know, is refused and changes nothing.
#include <gtest/gtest.h>

#include <future>

#include "tests/support/test_certs.h"
#include "tests/unit/membership/inprocess_fixture.h"
#include "transport/tcp/tcp_transport.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::tls::TlsContext;

class TlsVetting : public InProcessCluster {
 protected:
  void SetUp() override {
    certs_.makeCa("ca");
    master_options_.tls = load(certs_.makeHost("master", "ca").files);
    InProcessCluster::SetUp();
  }

  static std::shared_ptr<const TlsContext> load(const transport::tls::TlsFiles& files) {
    auto context = TlsContext::load(files);
    EXPECT_TRUE(context) << context.status().toString();
    return context ? *context : nullptr;
  }

  // A peer with a certificate of its own; every data channel is TLS (loopback too).
  comm::Communicator& addTlsPeer(const std::string& name, const std::string& group = "g") {
    comm::CommOptions options = peerOptions(group);
    options.channel.tls = load(certs_.makeHost(name, "ca").files);
    options.channel.tls_data = transport::TlsData::kAlways;
    return addPeerWith(options);
  }

  // Opens a TLS channel to `target`'s data listener as `claimed_id`, with a
  // certificate of the cluster's CA that the master never saw; returns how
  // the channel ended (it must end: the target refuses it).
  Status impostorChannelTo(comm::Communicator& asker, comm::Communicator& target,
                           const EndpointId& claimed_id) {
    auto where = asker.lookupPeer(target.peerId(), deadline(5s));
    EXPECT_TRUE(where) << where.status().toString();
    if (!where) return where.status();
    transport::ChannelOptions options;
    options.connections = 2;
    options.tls = load(certs_.makeHost("mallory-" + claimed_id.shortHex(), "ca").files);
    options.tls_data = transport::TlsData::kAlways;
    auto transport = transport::tcp::TcpTransport::create(options, claimed_id);
    EXPECT_TRUE(transport) << transport.status().toString();
    if (!transport) return transport.status();
    auto channel = (*transport)->connectAndWait(where->host, where->port);
    // The handshake itself succeeds (the certificate is the CA's); the
    // target refuses the channel once it asked the master, or at once.
    if (!channel) return channel.status();
    std::promise<Status> ended;
    (*channel)->setFailureHandler([&ended](Status why) { ended.set_value(why); });
    auto future = ended.get_future();
    if (future.wait_for(deadline(10s)) != std::future_status::ready) {
      ADD_FAILURE() << "the target kept the impostor's channel";
      (*channel)->close("test over");
      future.wait();
      return internalError("not refused");
    }
    return future.get();
  }

  static void expectSum(std::vector<comm::Communicator*> ring) {
    constexpr size_t kCount = 100'003;
    std::vector<std::future<Status>> done;
    std::vector<std::vector<float>> data(ring.size(), std::vector<float>(kCount));
    for (size_t r = 0; r < ring.size(); ++r) {
      for (size_t i = 0; i < kCount; ++i)
        data[r][i] = static_cast<float>((r + 1) * (i % 31));
      done.push_back(std::async(std::launch::async, [&, r] {
        return ring[r]->allReduce(data[r].data(), data[r].data(), kCount, reduce::DType::kF32,
                                  reduce::ReduceOp::kSum, 1, deadline(10s), nullptr);
      }));
    }
    const float weight = static_cast<float>(ring.size() * (ring.size() + 1) / 2);
    for (size_t r = 0; r < ring.size(); ++r) {
      Status s = done[r].get();
      ASSERT_TRUE(s.isOk()) << s.toString();
      for (size_t i = 0; i < kCount; i += 997)
        ASSERT_EQ(data[r][i], weight * static_cast<float>(i % 31)) << "rank " << r << " at " << i;
    }
  }

  TestCerts certs_;
};

TEST_F(TlsVetting, MembersPoolEachOthersChannelsInTheRingAndAcrossGroups) {
  auto& a = addTlsPeer("a");
  auto& b = addTlsPeer("b");
  auto& c = addTlsPeer("c");
  expectSum(rankedRing({&a, &b, &c}));
  // A peer of another group: not in a's topology, so a asks the master.
  auto& other = addTlsPeer("other", "h");
  ASSERT_TRUE(other.connect(deadline(10s)).isOk());
  const std::vector<uint8_t> message(70'000, 0x5a);
  auto sent = std::async(std::launch::async, [&] {
    return other.send(a.peerId(), message.data(), message.size(), 3, deadline(10s), nullptr);
  });
  std::vector<uint8_t> got(message.size());
  Status received = a.recv(other.peerId(), got.data(), got.size(), 3, deadline(10s), nullptr);
  ASSERT_TRUE(received.isOk()) << received.toString();
  EXPECT_EQ(got, message);
  EXPECT_TRUE(sent.get().isOk());
}

TEST_F(TlsVetting, AnotherCertificateClaimingAMembersIdIsRefusedAndTheRingGoesOn) {
  auto& a = addTlsPeer("a");
  auto& b = addTlsPeer("b");
  auto ring = rankedRing({&a, &b});
  expectSum(ring);
  Status refused = impostorChannelTo(b, a, b.peerId());
  EXPECT_NE(refused.message().find("the master announced sha256:"), std::string::npos)
      << refused.toString();
  expectSum(ring);  // a's channel to the real b was not replaced
}

TEST_F(TlsVetting, AnIdTheMasterDoesNotKnowIsRefused) {
  auto& a = addTlsPeer("a");
  auto& b = addTlsPeer("b");
  auto ring = rankedRing({&a, &b});
  Status refused = impostorChannelTo(b, a, EndpointId::random());
  EXPECT_NE(refused.message().find("the master knows no such peer"), std::string::npos)
      << refused.toString();
  expectSum(ring);
}

}  // namespace
}  // namespace eccl::test
