// What a SharedState must satisfy before a sync (validateState) and the name
// order the master's plans number entries in (entriesByName).
#include "src/state/shared_state.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace eccl::state {
namespace {

using reduce::DType;

std::string verdict(const SharedState& state) {
  return validateState(state).toString();
}

class ValidateStateTest : public ::testing::Test {
 protected:
  // Backing memory for entries; entries point into it at chosen offsets.
  std::vector<uint8_t> memory_ = std::vector<uint8_t>(4096);

  Entry at(std::string name, size_t offset, size_t count, DType dtype = DType::kU8) {
    Entry entry;
    entry.name = std::move(name);
    entry.data = memory_.data() + offset;
    entry.count = count;
    entry.dtype = dtype;
    return entry;
  }
};

TEST_F(ValidateStateTest, AcceptsDisjointEntries) {
  SharedState state;
  state.entries = {at("weights", 0, 256, DType::kF32), at("bias", 1024, 16, DType::kF64),
                   at("step", 2048, 1, DType::kU64)};
  EXPECT_EQ(verdict(state), "Ok");
}

TEST_F(ValidateStateTest, AcceptsAnEmptyState) {
  EXPECT_EQ(verdict(SharedState{}), "Ok");
}

TEST_F(ValidateStateTest, AcceptsAdjacentEntries) {
  // [0, 64) and [64, 128): touching is not overlapping.
  SharedState state;
  state.entries = {at("a", 0, 16, DType::kF32), at("b", 64, 64)};
  EXPECT_EQ(verdict(state), "Ok");
}

TEST_F(ValidateStateTest, AcceptsNullDataWithCountZero) {
  SharedState state;
  Entry empty;
  empty.name = "empty";
  state.entries = {empty, at("a", 0, 8)};
  EXPECT_EQ(verdict(state), "Ok");
}

TEST_F(ValidateStateTest, EmptyEntriesMayShareAnAddress) {
  // Zero bytes occupy nothing, so two empty entries at one pointer do not overlap.
  SharedState state;
  state.entries = {at("a", 8, 0), at("b", 8, 0), at("c", 0, 16)};
  EXPECT_EQ(verdict(state), "Ok");
}

TEST_F(ValidateStateTest, AcceptsNamesOfOneAndOfTheLimit) {
  SharedState state;
  state.entries = {at("x", 0, 1), at(std::string(kMaxEntryName, 'n'), 1, 1)};
  EXPECT_EQ(verdict(state), "Ok");
}

TEST_F(ValidateStateTest, RefusesAnEmptyName) {
  SharedState state;
  state.entries = {at("a", 0, 1), at("", 1, 1)};
  EXPECT_EQ(verdict(state), "InvalidArgument: shared state entry names must be 1..255 bytes");
}

TEST_F(ValidateStateTest, RefusesANameOf256Bytes) {
  SharedState state;
  state.entries = {at(std::string(kMaxEntryName + 1, 'n'), 0, 1)};
  EXPECT_EQ(verdict(state), "InvalidArgument: shared state entry names must be 1..255 bytes");
}

TEST_F(ValidateStateTest, RefusesADuplicateName) {
  SharedState state;
  state.entries = {at("w", 0, 1), at("v", 8, 1), at("w", 16, 1)};
  EXPECT_EQ(verdict(state), "InvalidArgument: shared state entry 'w' appears twice");
}

TEST_F(ValidateStateTest, RefusesNullDataWithElements) {
  SharedState state;
  Entry entry;
  entry.name = "moments";
  entry.count = 3;
  entry.dtype = DType::kF32;
  state.entries = {at("a", 0, 1), entry};
  EXPECT_EQ(verdict(state), "InvalidArgument: shared state entry 'moments' has a NULL pointer");
}

TEST_F(ValidateStateTest, RefusesOverlappingEntries) {
  SharedState state;
  // [0, 64) as f32 and [63, 64): the last byte of the first.
  state.entries = {at("a", 0, 16, DType::kF32), at("b", 63, 1)};
  EXPECT_EQ(verdict(state), "InvalidArgument: shared state entries overlap in memory");
}

TEST_F(ValidateStateTest, RefusesAnEntryInsideAnother) {
  // A large entry holding two small ones: caught though the small ones are disjoint.
  SharedState state;
  state.entries = {at("b", 100, 4), at("big", 0, 1000), at("c", 500, 4)};
  EXPECT_EQ(verdict(state), "InvalidArgument: shared state entries overlap in memory");
}

TEST_F(ValidateStateTest, RefusesTheSameBufferTwice) {
  SharedState state;
  state.entries = {at("a", 0, 8, DType::kF64), at("b", 0, 8, DType::kF64)};
  EXPECT_EQ(verdict(state), "InvalidArgument: shared state entries overlap in memory");
}

TEST_F(ValidateStateTest, RefusesMoreThanTheEntryLimit) {
  SharedState state;
  for (size_t i = 0; i <= kMaxEntries; ++i) {
    Entry entry;
    entry.name = "e";
    entry.name += std::to_string(i);  // not "e" + ...: GCC 12 misreads it (-Wrestrict)
    state.entries.push_back(entry);
  }
  EXPECT_EQ(verdict(state), "InvalidArgument: shared state has 4097 entries, limit 4096");
  state.entries.pop_back();
  EXPECT_EQ(verdict(state), "Ok");
}

TEST_F(ValidateStateTest, RefusesAnUnknownDtype) {
  SharedState state;
  Entry entry = at("odd", 0, 1);
  entry.dtype = static_cast<DType>(reduce::kNumDTypes);
  state.entries = {entry};
  EXPECT_EQ(verdict(state), "InvalidArgument: shared state entry 'odd' has an unknown dtype");
}

TEST_F(ValidateStateTest, RefusesACountWhoseBytesOverflow) {
  SharedState state;
  Entry entry = at("huge", 0, std::numeric_limits<size_t>::max() / 4 + 1, DType::kF32);
  state.entries = {entry};
  EXPECT_EQ(verdict(state), "InvalidArgument: shared state entry 'huge' is too large");
}

TEST(EntriesByName, SortsByteWiseAndPointsIntoTheState) {
  SharedState state;
  for (const char* name : {"weights", "Bias", "step", "adam.m", "adam.v", "a"}) {
    Entry entry;
    entry.name = name;
    state.entries.push_back(entry);
  }
  auto sorted = entriesByName(state);
  std::vector<std::string> names;
  for (const Entry* entry : sorted)
    names.push_back(entry->name);
  // Upper case sorts before lower case: plain byte order, the same on every peer.
  EXPECT_EQ(names, (std::vector<std::string>{"Bias", "a", "adam.m", "adam.v", "step", "weights"}));
  EXPECT_EQ(sorted[0], &state.entries[1]);
  EXPECT_EQ(sorted[5], &state.entries[0]);
  EXPECT_TRUE(entriesByName(SharedState{}).empty());
}

TEST(SharedStateEntry, BytesAreCountTimesDtypeSize) {
  Entry entry;
  entry.count = 7;
  entry.dtype = DType::kBF16;
  EXPECT_EQ(entry.bytes(), 14u);
  entry.dtype = DType::kF64;
  EXPECT_EQ(entry.bytes(), 56u);
}

}  // namespace
}  // namespace eccl::state
