// The RDMA transport's parts that need no device: the negotiation messages
// (every field round-trips; damaged or out-of-range bytes are refused), the
// choice of GID, which ports can reach each other, and the device probe
// saying plainly why this machine has no usable port (or listing the ones it has).
#include <gtest/gtest.h>

#include "transport/rdma/rdma_device.h"
#include "transport/rdma/rdma_offer.h"

namespace eccl::test {
namespace {

using namespace transport::rdma;

Gid ipv4Gid(uint8_t last) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, last};
}

QueuePairAddress sampleAddress() {
  QueuePairAddress a;
  a.link_layer = LinkLayer::kEthernet;
  a.mtu = 5;
  a.lid = 0;
  a.gid = ipv4Gid(7);
  a.qp_number = 0xABCDE;
  a.first_psn = 0xFFFFFF;
  a.ring = {0x7f0012345000, 0x1234, uint64_t{4} << 20};
  a.credit = {0x7f0099990008, 0x5678, 8};
  return a;
}

void expectSameAddress(const QueuePairAddress& a, const QueuePairAddress& b) {
  EXPECT_EQ(a.link_layer, b.link_layer);
  EXPECT_EQ(a.mtu, b.mtu);
  EXPECT_EQ(a.lid, b.lid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.qp_number, b.qp_number);
  EXPECT_EQ(a.first_psn, b.first_psn);
  EXPECT_EQ(a.ring.address, b.ring.address);
  EXPECT_EQ(a.ring.rkey, b.ring.rkey);
  EXPECT_EQ(a.ring.bytes, b.ring.bytes);
  EXPECT_EQ(a.credit.address, b.credit.address);
  EXPECT_EQ(a.credit.rkey, b.credit.rkey);
}

TEST(RdmaOffer, MessagesDecodeWhatTheyEncode) {
  RdmaOffer offer;
  offer.wants_rdma = true;
  offer.spare = true;
  offer.address = sampleAddress();
  auto got_offer = decodeRdmaOffer(encode(offer));
  ASSERT_TRUE(got_offer) << got_offer.status().toString();
  EXPECT_TRUE(got_offer->wants_rdma);
  EXPECT_TRUE(got_offer->spare);
  expectSameAddress(got_offer->address, offer.address);

  RdmaAnswer answer;
  answer.use_rdma = true;
  answer.address = sampleAddress();
  answer.address.link_layer = LinkLayer::kInfiniBand;
  answer.address.lid = 0xBEEF;
  auto got_answer = decodeRdmaAnswer(encode(answer));
  ASSERT_TRUE(got_answer) << got_answer.status().toString();
  EXPECT_TRUE(got_answer->use_rdma);
  expectSameAddress(got_answer->address, answer.address);

  // Declining carries no address, and needs none to decode.
  auto declined = decodeRdmaAnswer(encode(RdmaAnswer{}));
  ASSERT_TRUE(declined);
  EXPECT_FALSE(declined->use_rdma);
  auto no_offer = decodeRdmaOffer(encode(RdmaOffer{}));
  ASSERT_TRUE(no_offer);
  EXPECT_FALSE(no_offer->wants_rdma);

  auto confirm = decodeRdmaConfirm(encode(RdmaConfirm{true}));
  ASSERT_TRUE(confirm);
  EXPECT_TRUE(confirm->ready);
}

TEST(RdmaOffer, ForeignDamagedOrOutOfRangeBytesAreRefused) {
  RdmaOffer offer;
  offer.wants_rdma = true;
  offer.address = sampleAddress();
  const RdmaOfferBytes good = encode(offer);
  const auto refusal = [&](auto damage) {
    RdmaOfferBytes bytes = good;
    damage(bytes);
    return decodeRdmaOffer(bytes).status().code();
  };
  constexpr size_t kAddress = 16;
  EXPECT_EQ(refusal([](auto& b) { b[4] = 'S'; }), Code::kProtocolError);
  EXPECT_EQ(refusal([](auto& b) { b[8] = 2; }), Code::kUnsupported);
  EXPECT_EQ(refusal([](auto& b) { b[9] = 2; }), Code::kProtocolError);
  EXPECT_EQ(refusal([](auto& b) { b[10] = 7; }), Code::kProtocolError);
  EXPECT_EQ(refusal([](auto& b) { b[kAddress] = 3; }), Code::kProtocolError);      // link layer
  EXPECT_EQ(refusal([](auto& b) { b[kAddress + 1] = 0; }), Code::kProtocolError);  // MTU
  EXPECT_EQ(refusal([](auto& b) { b[kAddress + 1] = 6; }), Code::kProtocolError);
  EXPECT_EQ(refusal([](auto& b) { b[kAddress + 7] = 1; }), Code::kProtocolError);   // QPN > 24 bits
  EXPECT_EQ(refusal([](auto& b) { b[kAddress + 11] = 1; }), Code::kProtocolError);  // PSN
  EXPECT_EQ(refusal([](auto& b) { b[kAddress + 42] ^= 1; }), Code::kProtocolError);  // ring size
  EXPECT_EQ(refusal([](auto& b) { b[kAddress + 48] |= 4; }), Code::kProtocolError);  // credit
  EXPECT_EQ(refusal([](auto& b) { b[kAddress + 63] = 1; }), Code::kProtocolError);   // reserved
  EXPECT_EQ(decodeRdmaOffer(std::span(good).first(20)).status().code(), Code::kProtocolError);
  EXPECT_EQ(decodeRdmaAnswer(good).status().code(), Code::kProtocolError);  // an offer

  for (uint64_t ring : {uint64_t{0}, kMinRingBytes / 2, kMinRingBytes * 3, kMaxRingBytes * 2}) {
    offer.address.ring.bytes = ring;
    EXPECT_EQ(decodeRdmaOffer(encode(offer)).status().code(), Code::kProtocolError) << ring;
  }
  offer.address = sampleAddress();
  offer.address.qp_number = 0;
  EXPECT_EQ(decodeRdmaOffer(encode(offer)).status().code(), Code::kProtocolError);
  RdmaConfirmBytes confirm = encode(RdmaConfirm{true});
  confirm[9] = 9;
  EXPECT_EQ(decodeRdmaConfirm(confirm).status().code(), Code::kProtocolError);
}

TEST(RdmaGid, InfiniBandTakesTheFirstValidEntryAndRoceARoutableOne) {
  const Gid link_local = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<GidEntry> table = {
      {0, Gid{}, GidType::kRoceV1},        // empty: skipped
      {1, link_local, GidType::kRoceV1},   // RoCE v1: not routable
      {2, link_local, GidType::kRoceV2},   // v2, IPv6 link-local
      {3, ipv4Gid(1), GidType::kRoceV1},   //
      {4, ipv4Gid(1), GidType::kRoceV2}};  // v2 over IPv4: the usual choice
  auto roce = chooseGid(LinkLayer::kEthernet, table);
  ASSERT_TRUE(roce);
  EXPECT_EQ(roce->index, 4u);
  auto ib = chooseGid(LinkLayer::kInfiniBand, table);
  ASSERT_TRUE(ib);
  EXPECT_EQ(ib->index, 1u);

  // Without an IPv4 one, any RoCE v2 entry; with only v1 entries, none.
  auto v2 = chooseGid(LinkLayer::kEthernet, {table[1], table[2], table[3]});
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->index, 2u);
  EXPECT_FALSE(chooseGid(LinkLayer::kEthernet, {table[0], table[1], table[3]}));

  // An index asked for is taken as it is, if the port has it.
  auto asked = chooseGid(LinkLayer::kEthernet, table, 3);
  ASSERT_TRUE(asked);
  EXPECT_EQ(asked->gid, ipv4Gid(1));
  EXPECT_FALSE(chooseGid(LinkLayer::kEthernet, table, 0));  // empty entry
  EXPECT_FALSE(chooseGid(LinkLayer::kEthernet, table, 9));
}

TEST(RdmaReach, PortsOfOneLinkLayerWithAddressesReachEachOther) {
  RdmaPort roce;
  roce.link_layer = LinkLayer::kEthernet;
  roce.active_mtu = 3;
  roce.gid = ipv4Gid(2);
  QueuePairAddress theirs = sampleAddress();  // RoCE, MTU 4096
  EXPECT_TRUE(checkReachable(roce, theirs).isOk());
  EXPECT_EQ(pathMtu(roce, theirs), 3);

  theirs.gid = Gid{};
  EXPECT_EQ(checkReachable(roce, theirs).code(), Code::kUnsupported);

  RdmaPort ib;
  ib.link_layer = LinkLayer::kInfiniBand;
  ib.lid = 12;
  theirs = sampleAddress();
  Status mixed = checkReachable(ib, theirs);
  EXPECT_EQ(mixed.code(), Code::kUnsupported);
  EXPECT_NE(mixed.message().find("link layers"), std::string::npos) << mixed.toString();
  theirs.link_layer = LinkLayer::kInfiniBand;
  theirs.lid = 0;
  EXPECT_EQ(checkReachable(ib, theirs).code(), Code::kUnsupported);
  theirs.lid = 40;
  EXPECT_TRUE(checkReachable(ib, theirs).isOk());
}

// Machines without RDMA (these build machines: no device, no InfiniBand in
// the kernel) get a reason, never a crash; machines with it get their ports.
TEST(RdmaDevices, TheProbeListsActivePortsOrSaysWhyThereIsNone) {
  auto ports = usableRdmaPorts();
  if (!ports) {
    EXPECT_EQ(ports.status().code(), Code::kUnsupported);
    EXPECT_NE(ports.status().message().find("RDMA"), std::string::npos)
        << ports.status().toString();
    std::printf("no RDMA here: %s\n", ports.status().message().c_str());
    return;
  }
  ASSERT_FALSE(ports->empty());
  for (const RdmaPort& port : *ports) {
    std::printf("RDMA port %s\n", describe(port).c_str());
    EXPECT_FALSE(port.device.empty());
    EXPECT_GE(port.active_mtu, 1);
    EXPECT_LE(port.active_mtu, 5);
    if (port.link_layer == LinkLayer::kInfiniBand) {
      EXPECT_NE(port.lid, 0) << describe(port);
    } else {
      EXPECT_NE(port.gid, Gid{}) << describe(port);
    }
  }
}

}  // namespace
}  // namespace eccl::test
