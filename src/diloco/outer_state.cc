#include "src/diloco/outer_state.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "src/reduce/half.h"

namespace eccl::diloco {
namespace {

constexpr size_t kAlignment = 64;

float loadElement(const uint8_t* p, reduce::DType dtype) {
  if (dtype == reduce::DType::kF32) {
    float value;
    std::memcpy(&value, p, sizeof value);
    return value;
  }
  uint16_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return reduce::bf16ToF32(bits);
}

void storeElement(uint8_t* p, reduce::DType dtype, float value) {
  if (dtype == reduce::DType::kF32) {
    std::memcpy(p, &value, sizeof value);
    return;
  }
  const uint16_t bits = reduce::f32ToBf16(value);
  std::memcpy(p, &bits, sizeof bits);
}

}  // namespace

void OuterState::FreeDeleter::operator()(void* p) const {
  std::free(p);
}

OuterState::Buffer OuterState::allocate(size_t bytes) {
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, rounded == 0 ? kAlignment : rounded);
  return Buffer(static_cast<uint8_t*>(p));
}

OuterState::OuterState(std::vector<Param> params, reduce::DType dtype)
    : params_(std::move(params)), dtype_(dtype), element_size_(reduce::dtypeSize(dtype)) {
  for (const Param& p : params_)
    count_ += p.count;
  const size_t bytes = count_ * element_size_;
  const size_t message = (count_ + 2) * element_size_;
  outer_ = allocate(bytes);
  momentum_ = allocate(bytes);
  start_ = allocate(bytes);
  for (int slot = 0; slot < 2; ++slot) {
    send_[slot] = allocate(message);
    recv_[slot] = allocate(message);
  }
  size_t offset = 0;
  for (const Param& p : params_) {
    if (p.count == 0) continue;
    std::memcpy(at(outer_, offset), p.data, p.count * element_size_);
    offset += p.count;
  }
  std::memcpy(start_.get(), outer_.get(), bytes);
}

uint8_t* OuterState::at(const Buffer& buffer, size_t element) const {
  return buffer.get() + element * element_size_;
}

void OuterState::writeTrailer(int slot, Trailer trailer) {
  storeElement(at(send_[slot], count_), dtype_, trailer.weight);
  storeElement(at(send_[slot], count_ + 1), dtype_, trailer.pending);
}

void OuterState::pack(int slot, Trailer trailer) {
  const OuterKernels& kernels = outerKernels(dtype_);
  size_t offset = 0;
  for (const Param& p : params_) {
    kernels.pack(at(start_, offset), p.data, at(send_[slot], offset), p.count);
    offset += p.count;
  }
  writeTrailer(slot, trailer);
}

void OuterState::packNothing(int slot, Trailer trailer) {
  std::memset(send_[slot].get(), 0, count_ * element_size_);
  writeTrailer(slot, trailer);
}

Trailer OuterState::receivedTrailer(int slot) const {
  return Trailer{loadElement(at(recv_[slot], count_), dtype_),
                 loadElement(at(recv_[slot], count_ + 1), dtype_)};
}

void OuterState::applyNesterov(int slot, float lr, float mu) {
  const float weight = receivedTrailer(slot).weight;
  if (weight <= 0) return;  // nobody trained this round: no step, and momentum kept
  outerKernels(dtype_).nesterov(outer_.get(), momentum_.get(), recv_[slot].get(), weight, lr, mu,
                                count_);
}

void OuterState::rebase(int carried_slot) {
  const OuterKernels& kernels = outerKernels(dtype_);
  size_t offset = 0;
  for (const Param& p : params_) {
    const void* carried = carried_slot < 0 ? nullptr : at(send_[carried_slot], offset);
    kernels.rebase(at(outer_, offset), carried, at(start_, offset), p.data, p.count);
    offset += p.count;
  }
}

void OuterState::adoptOuter() {
  size_t offset = 0;
  for (const Param& p : params_) {
    if (p.count == 0) continue;
    std::memcpy(p.data, at(outer_, offset), p.count * element_size_);
    offset += p.count;
  }
  std::memcpy(start_.get(), outer_.get(), count_ * element_size_);
}

std::vector<state::Entry> OuterState::entries(const std::string& prefix) {
  std::vector<state::Entry> out(3);
  out[0].name = prefix + "outer_params";
  out[0].data = outer_.get();
  out[0].count = count_;
  out[0].dtype = dtype_;
  out[1].name = prefix + "outer_momentum";
  out[1].data = momentum_.get();
  out[1].count = count_;
  out[1].dtype = dtype_;
  out[2].name = prefix + "rounds";
  out[2].data = rounds_;
  out[2].count = 2;
  out[2].dtype = reduce::DType::kU64;
  return out;
}

}  // namespace eccl::diloco
