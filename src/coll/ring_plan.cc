#include "src/coll/ring_plan.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "src/coll/op_key.h"

namespace eccl::coll {

Result<RingPlan> RingPlan::allReduce(uint32_t world_size, uint32_t rank, size_t count,
                                     size_t chunk_elements) {
  if (world_size == 0) return internalError("ring plan: world size 0");
  std::vector<Span> segments(world_size);
  const size_t base = count / world_size;
  const size_t extra = count % world_size;  // the first `extra` segments get one more
  for (uint32_t i = 0; i < world_size; ++i)
    segments[i] = {i * base + std::min<size_t>(i, extra), base + (i < extra ? 1 : 0)};
  return ring("all-reduce", world_size, rank, std::move(segments), chunk_elements, 1,
              kReduceScatterPhase | kAllGatherPhase);
}

namespace {

// Blocks of the caller's counts, back to back; nothing when they overflow.
std::optional<std::vector<Span>> blocks(std::span<const size_t> counts) {
  std::vector<Span> out(counts.size());
  size_t offset = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    out[i] = {offset, counts[i]};
    if (counts[i] > std::numeric_limits<size_t>::max() - offset) return std::nullopt;
    offset += counts[i];
  }
  return out;
}

}  // namespace

Result<RingPlan> RingPlan::reduceScatter(uint32_t world_size, uint32_t rank,
                                         std::span<const size_t> counts, size_t chunk_elements) {
  auto segments = blocks(counts);
  if (!segments) return invalidArgument("reduce-scatter: the counts overflow");
  return ring("reduce-scatter", world_size, rank, std::move(*segments), chunk_elements, 0,
              kReduceScatterPhase);
}

Result<RingPlan> RingPlan::allGather(uint32_t world_size, uint32_t rank,
                                     std::span<const size_t> counts, size_t chunk_elements) {
  auto segments = blocks(counts);
  if (!segments) return invalidArgument("all-gather: the counts overflow");
  return ring("all-gather", world_size, rank, std::move(*segments), chunk_elements, 0,
              kAllGatherPhase);
}

Result<RingPlan> RingPlan::broadcast(uint32_t world_size, uint32_t rank, uint32_t root,
                                     size_t count, size_t chunk_elements) {
  if (world_size == 0 || rank >= world_size || root >= world_size || chunk_elements == 0) {
    return internalError("ring plan: bad world size, rank, root or chunk size");
  }
  RingPlan plan;
  plan.world_ = world_size;
  plan.rank_ = rank;
  plan.count_ = count;
  plan.chunk_ = chunk_elements;
  plan.segments_ = {Span{0, count}};
  const uint32_t position = plan.mod(int64_t{rank} - root);  // hops from the root
  if (world_size > 1) {
    if (position > 0) plan.steps_.push_back({RingStep::kNone, 0, false});
    if (position + 1 < world_size) plan.steps_.push_back({0, RingStep::kNone, false});
  }
  ECCL_RETURN_IF_ERROR(plan.finish("broadcast", world_size > 1 ? plan.chunksOf(count) : 0));
  return plan;
}

Result<RingPlan> RingPlan::ring(const char* what, uint32_t world_size, uint32_t rank,
                                std::vector<Span> segments, size_t chunk_elements, uint32_t shift,
                                int phases) {
  if (world_size == 0 || rank >= world_size || chunk_elements == 0 ||
      segments.size() != world_size) {
    return internalError("ring plan: bad world size, rank, segments or chunk size");
  }
  RingPlan plan;
  plan.world_ = world_size;
  plan.rank_ = rank;
  plan.chunk_ = chunk_elements;
  plan.segments_ = std::move(segments);
  plan.count_ = plan.segments_.back().offset + plan.segments_.back().count;
  auto owned = [&](int64_t r) { return plan.mod(r + shift); };

  // The busiest link: a reduce-scatter phase sends every segment but the
  // sender's own, an all-gather phase every segment but the receiver's.
  uint64_t total = 0;
  for (const Span& s : plan.segments_)
    total += plan.chunksOf(s.count);
  // Each phase is capped at the limit, so that the sum cannot wrap.
  auto capped = [](uint64_t chunks) { return std::min<uint64_t>(chunks, kMaxMessagesPerOp); };
  uint64_t max_link = 0;
  for (uint32_t r = 0; world_size > 1 && r < world_size; ++r) {
    uint64_t link = 0;
    if (phases & kReduceScatterPhase) {
      link += capped(total - plan.chunksOf(plan.segments_[owned(r)].count));
    }
    if (phases & kAllGatherPhase) {
      link += capped(total - plan.chunksOf(plan.segments_[owned(r + 1)].count));
    }
    max_link = std::max(max_link, link);
  }

  const int64_t o = owned(rank);
  for (int64_t t = 0; world_size > 1 && (phases & kReduceScatterPhase) && t + 1 < world_size; ++t)
    plan.steps_.push_back({plan.mod(o - 1 - t), plan.mod(o - 2 - t), true});
  for (int64_t s = 0; world_size > 1 && (phases & kAllGatherPhase) && s + 1 < world_size; ++s)
    plan.steps_.push_back({plan.mod(o - s), plan.mod(o - 1 - s), false});
  ECCL_RETURN_IF_ERROR(plan.finish(what, max_link));
  return plan;
}

Status RingPlan::finish(const char* what, uint64_t max_link_chunks) {
  const uint64_t messages = kFirstDataIndex + max_link_chunks;
  if (messages > kMaxMessagesPerOp) {
    return invalidArgument(std::string(what) + " of " + std::to_string(count_) + " elements over " +
                           std::to_string(world_) + " peers needs " + std::to_string(messages) +
                           " messages of " + std::to_string(chunk_) +
                           " elements on a link, more than the " +
                           std::to_string(kMaxMessagesPerOp) +
                           " an op may have: raise the chunk size or split the op");
  }
  uint64_t most = 0;
  for (const Span& s : segments_) {
    most = std::max(most, chunksOf(s.count));
    largest_ = std::max(largest_, s.count);
  }
  // Without steps (one peer) nothing is cut; keep the bound representable.
  max_chunks_ = static_cast<uint32_t>(std::min<uint64_t>(most, kMaxMessagesPerOp));
  uint32_t sent = 0;
  uint32_t received = 0;
  for (uint32_t t = 0; t < steps(); ++t) {
    send_base_.push_back(sent);
    recv_base_.push_back(received);
    sent += sendChunks(t);
    received += recvChunks(t);
  }
  return Status::ok();
}

uint32_t RingPlan::mod(int64_t v) const {
  const int64_t n = world_;
  return static_cast<uint32_t>(((v % n) + n) % n);
}

uint32_t RingPlan::sendChunks(uint32_t step) const {
  return hasSend(step) ? chunksIn(sendSegment(step)) : 0;
}

uint32_t RingPlan::recvChunks(uint32_t step) const {
  return hasRecv(step) ? chunksIn(recvSegment(step)) : 0;
}

uint32_t RingPlan::chunksIn(uint32_t seg) const {
  return static_cast<uint32_t>(chunksOf(segments_[seg].count));
}

Span RingPlan::chunk(uint32_t seg, uint32_t c) const {
  const Span s = segments_[seg];
  const size_t begin = size_t{c} * chunk_;
  return {s.offset + begin, std::min(chunk_, s.count - begin)};
}

}  // namespace eccl::coll
