// Streaming XXH3-64, for payloads that arrive in pieces (a chunk read straight
// into its destination over several reads).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace eccl::protocol {

// "baseline" or "avx2": the XXH3 build payloadChecksum() and StreamingChecksum
// use now (ECCL_ISA=scalar picks the baseline; every build gives the same values).
const char* checksumPathName();

class StreamingChecksum {
 public:
  StreamingChecksum();
  ~StreamingChecksum();
  StreamingChecksum(const StreamingChecksum&) = delete;
  StreamingChecksum& operator=(const StreamingChecksum&) = delete;

  void reset();
  void update(std::span<const uint8_t> bytes);
  uint64_t digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace eccl::protocol
