#include "src/coll/op_key.h"

#include <gtest/gtest.h>

#include <set>

namespace eccl::coll {
namespace {

TEST(OpKey, FieldsLandInTheirBits) {
  const OpKey key{0x1234, 0xDEADBEEF, 3};
  EXPECT_EQ(streamId(key, 0x00AB), 0xC343'DEAD'BEEF'00ABull);
  EXPECT_EQ(headerStreamId(1), 0xC000'0000'0000'0001ull);
  EXPECT_EQ(headerStreamId(0), 0xC000'0000'0000'0000ull);
}

TEST(OpKey, RevisionTagAttemptAndIndexEachChangeTheId) {
  const OpKey base{5, 9, 0};
  std::set<uint64_t> ids = {streamId(base, 2)};
  ids.insert(streamId({6, 9, 0}, 2));
  ids.insert(streamId({5, 10, 0}, 2));
  ids.insert(streamId({5, 9, 1}, 2));
  ids.insert(streamId(base, 3));
  ids.insert(headerStreamId(0));
  ids.insert(headerStreamId(1));
  EXPECT_EQ(ids.size(), 7u);
}

TEST(OpKey, TagsBeyond32BitsAreRejected) {
  EXPECT_TRUE(checkOpKey({0, kMaxTag, 0}).isOk());
  Status s = checkOpKey({0, kMaxTag + 1, 0});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("32 bits"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace eccl::coll
