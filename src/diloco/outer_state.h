// What a DiLoCo peer keeps besides the caller's parameters: the outer
// (global) parameters and momentum, the local round start, the two message
// slots of the pseudo-gradient all-reduce, and the round counters. Laid out
// so that the shared-state sync can hand the first three to a joiner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "src/diloco/outer_kernels.h"
#include "src/reduce/reduce.h"
#include "src/state/shared_state.h"

namespace eccl::diloco {

// One tensor of the caller's parameters (the inner optimiser updates it in place).
struct Param {
  void* data = nullptr;
  size_t count = 0;  // elements of the loop's dtype
};

// The trailer each peer appends to its pseudo-gradient: the sums tell every
// peer the same counts, so decisions taken on them need no extra message.
struct Trailer {
  float weight = 0;   // peers that contributed a pseudo-gradient (joiners catching up add 0)
  float pending = 0;  // peers that saw a peer waiting for admission
};

class OuterState {
 public:
  // Copies the parameters' current values as the outer parameters and the
  // round start; zero momentum.
  OuterState(std::vector<Param> params, reduce::DType dtype);

  size_t count() const { return count_; }
  reduce::DType dtype() const { return dtype_; }

  // slot = round % 2. delta of the slot = start - params, with the trailer;
  // start = params afterwards.
  void pack(int slot, Trailer trailer);
  // Zero progress and the trailer (a joiner catching up on a round it did not train).
  void packNothing(int slot, Trailer trailer);
  // The slot's all-reduce buffers: count() + 2 elements each.
  const void* sendBuffer(int slot) const { return send_[slot].get(); }
  void* recvBuffer(int slot) { return recv_[slot].get(); }
  Trailer receivedTrailer(int slot) const;

  // The outer step on the average the slot received (nothing when its weight is 0).
  void applyNesterov(int slot, float lr, float mu);
  // params and start onto the outer parameters, less the packed progress of
  // carried_slot (-1: none), keeping the progress not yet packed.
  void rebase(int carried_slot);
  // After a sync brought the outer state: params = start = outer parameters.
  void adoptOuter();

  // The entries a joiner needs: outer parameters, momentum, and rounds
  // (applied, launched), under `prefix`.
  std::vector<state::Entry> entries(const std::string& prefix);
  uint64_t applied() const { return rounds_[0]; }
  uint64_t launched() const { return rounds_[1]; }
  void setApplied(uint64_t round) { rounds_[0] = round; }
  void setLaunched(uint64_t round) { rounds_[1] = round; }

 private:
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  using Buffer = std::unique_ptr<uint8_t, FreeDeleter>;
  static Buffer allocate(size_t bytes);
  uint8_t* at(const Buffer& buffer, size_t element) const;
  void writeTrailer(int slot, Trailer trailer);

  std::vector<Param> params_;
  reduce::DType dtype_;
  size_t count_ = 0;
  size_t element_size_ = 0;
  Buffer outer_, momentum_, start_;
  Buffer send_[2], recv_[2];
  uint64_t rounds_[2] = {0, 0};
};

}  // namespace eccl::diloco
