// EndpointId: random 128-bit ids, their hex forms and their use as map keys.
#include "src/common/endpoint_id.h"

#include <gtest/gtest.h>

#include <set>
#include <unordered_set>

namespace eccl {
namespace {

EndpointId idFromBytes(std::array<uint8_t, 16> bytes) {
  EndpointId id;
  id.bytes = bytes;
  return id;
}

TEST(EndpointId, DefaultIsZero) {
  EndpointId id;
  EXPECT_TRUE(id.isZero());
  EXPECT_EQ(id.toHex(), std::string(32, '0'));
  EXPECT_EQ(id.shortHex(), "00000000");
}

TEST(EndpointId, AnyNonzeroByteMakesItNonzero) {
  for (size_t i = 0; i < 16; ++i) {
    EndpointId id;
    id.bytes[i] = 1;
    EXPECT_FALSE(id.isZero()) << "byte " << i;
  }
}

TEST(EndpointId, HexIsLowercaseInByteOrder) {
  EndpointId id = idFromBytes({0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0xfe,
                               0xdc, 0xba, 0x98, 0x76, 0xff});
  EXPECT_EQ(id.toHex(), "000123456789abcdef10fedcba9876ff");
  EXPECT_EQ(id.shortHex(), "00012345");
}

TEST(EndpointId, RandomIdsAreNonzeroAndDistinct) {
  std::set<EndpointId> seen;
  for (int i = 0; i < 1000; ++i) {
    EndpointId id = EndpointId::random();
    EXPECT_FALSE(id.isZero());
    EXPECT_EQ(id.toHex().size(), 32u);
    EXPECT_TRUE(seen.insert(id).second) << "repeated id " << id.toHex();
  }
}

TEST(EndpointId, EqualityAndOrderFollowBytes) {
  EndpointId low = idFromBytes({0x01});
  EndpointId high = idFromBytes({0x02});
  EndpointId low_again = idFromBytes({0x01});
  EXPECT_EQ(low, low_again);
  EXPECT_NE(low, high);
  EXPECT_LT(low, high);
  // The first byte decides before later ones.
  EndpointId later_byte = idFromBytes({0x01, 0xff});
  EXPECT_LT(later_byte, high);
  EXPECT_LT(low, later_byte);
}

TEST(EndpointId, HashAgreesWithEquality) {
  EndpointIdHash hash;
  EndpointId a = EndpointId::random();
  EndpointId copy = a;
  EXPECT_EQ(hash(a), hash(copy));

  std::unordered_set<EndpointId, EndpointIdHash> set;
  for (int i = 0; i < 100; ++i)
    set.insert(EndpointId::random());
  set.insert(a);
  set.insert(copy);
  EXPECT_EQ(set.size(), 101u);
  EXPECT_EQ(set.count(a), 1u);
}

}  // namespace
}  // namespace eccl
