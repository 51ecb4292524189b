#include "transport/tcp/recv_table.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace eccl::transport::tcp {

using protocol::ChunkHeader;
using protocol::FrameHeader;
using protocol::StreamErrorOrigin;

namespace {
// Bound on remembered finished-or-failed messages with stray copies in flight.
constexpr size_t kMaxDraining = 1u << 16;
std::string streamName(uint64_t stream) {
  return "stream " + std::to_string(stream);
}
}  // namespace

RecvTable::RecvTable(RecvTableConfig config) : config_(config) {}
RecvTable::~RecvTable() = default;

Status RecvTable::checkGeometry(const ChunkHeader& chunk, uint64_t payload) const {
  const uint64_t c = config_.peer_chunk_bytes;
  const uint64_t count = chunkCount(chunk.total, config_.peer_chunk_bytes);
  const uint64_t expected_offset = uint64_t{chunk.seq} * c;
  if (chunk.seq >= count || chunk.offset != expected_offset ||
      payload != std::min<uint64_t>(c, chunk.total - std::min(chunk.total, expected_offset))) {
    return protocolError("chunk " + std::to_string(chunk.seq) + " of " + streamName(chunk.stream) +
                         " (offset " + std::to_string(chunk.offset) + ", " +
                         std::to_string(payload) + " bytes of " + std::to_string(chunk.total) +
                         ") does not match the negotiated chunk size " + std::to_string(c));
  }
  return Status::ok();
}

ChunkTarget RecvTable::dropTarget() {
  ++stats_.duplicates_dropped;
  return ChunkTarget{};
}

Status RecvTable::post(uint64_t stream, std::span<uint8_t> buffer, RecvCallback&& done,
                       Effects& effects) {
  if (posted_.count(stream) != 0 || bound_streams_.count(stream) != 0) {
    return invalidUsage("a receive for " + streamName(stream) +
                        " is already posted on this channel");
  }
  auto posted = std::make_unique<Posted>();
  posted->stream = stream;
  posted->buffer = buffer;
  posted->done = std::move(done);
  // One credit per post: the sender matches them to its messages in order.
  effects.credits.push_back({stream, buffer.size()});

  auto unexpected = unexpected_by_stream_.find(stream);
  if (unexpected == unexpected_by_stream_.end()) {
    posted_.emplace(stream, std::move(posted));
    return Status::ok();
  }
  Incoming& in = *active_.at(unexpected->second);
  unexpected_by_stream_.erase(unexpected);
  if (in.total != buffer.size()) {
    Status mismatch = invalidUsage("peer sent a " + std::to_string(in.total) + "-byte message on " +
                                   streamName(stream) + ", the posted buffer holds " +
                                   std::to_string(buffer.size()) + " bytes");
    effects.stream_errors.push_back(
        {stream, in.number, StreamErrorOrigin::kReceiver, 0, mismatch.code(), mismatch.message()});
    in.posted = std::move(posted);  // so that failIncoming reports to this receive
    failIncoming(in, std::move(mismatch), effects);
    return Status::ok();
  }
  bind(in, std::move(posted), effects);
  return Status::ok();
}

void RecvTable::bind(Incoming& in, std::unique_ptr<Posted> posted, Effects& effects) {
  in.posted = std::move(posted);
  in.state.assign(in.chunk_count, 0);
  in.chunks_have = 0;
  bound_streams_[in.stream] = in.number;
  for (auto it = in.pooled.begin(); it != in.pooled.end();) {
    PooledChunk& chunk = it->second;
    if (chunk.reading) {  // endChunk will copy it once its payload is in
      in.state[it->first] = 1;
      ++it;
      continue;
    }
    const uint64_t offset = uint64_t{it->first} * config_.peer_chunk_bytes;
    if (chunk.length > 0)
      std::memcpy(in.posted->buffer.data() + offset, chunk.bytes.get(), chunk.length);
    in.state[it->first] = 2;
    ++in.chunks_have;
    stats_.payload_bytes_placed += chunk.length;
    effects.pool_credit += chunk.charge;
    pool_used_ -= chunk.charge;
    it = in.pooled.erase(it);
  }
  maybeRetire(in, effects);
}

Result<ChunkTarget> RecvTable::beginChunk(const FrameHeader& frame, const ChunkHeader& chunk,
                                          Effects& effects, int connection) {
  const uint64_t payload = frame.length - ChunkHeader::kEncodedSize;
  const bool eager = frame.has(protocol::kFlagEager);
  const bool hedge = frame.has(protocol::kFlagHedge);
  if (eager && hedge) return protocolError("a chunk cannot be both eager and a hedge copy");
  ECCL_RETURN_IF_ERROR(checkGeometry(chunk, payload));

  auto draining = draining_.find(chunk.message);
  if (draining != draining_.end()) {
    if (!hedge && ++draining->second.originals_seen >= draining->second.expected_originals) {
      draining_.erase(draining);
    }
    if (eager) effects.pool_credit += poolCharge(payload);
    return dropTarget();
  }

  auto active = active_.find(chunk.message);
  if (active != active_.end()) {
    Incoming& in = *active->second;
    if (in.stream != chunk.stream || in.total != chunk.total) {
      return protocolError("message " + std::to_string(chunk.message) +
                           " changed its stream or size between chunks");
    }
    return place(in, frame, chunk, static_cast<uint32_t>(payload), effects, connection);
  }

  // A message seen for the first time.
  if (hedge) return dropTarget();  // a late copy of a finished message; the original came first
  const uint64_t count = chunkCount(chunk.total, config_.peer_chunk_bytes);
  auto posted = posted_.find(chunk.stream);
  if (posted != posted_.end()) {
    std::unique_ptr<Posted> post = std::move(posted->second);
    posted_.erase(posted);
    if (post->buffer.size() != chunk.total) {
      Status mismatch =
          invalidUsage("peer sent a " + std::to_string(chunk.total) + "-byte message on " +
                       streamName(chunk.stream) + ", the posted buffer holds " +
                       std::to_string(post->buffer.size()) + " bytes");
      effects.stream_errors.push_back({chunk.stream, chunk.message, StreamErrorOrigin::kReceiver, 0,
                                       mismatch.code(), mismatch.message()});
      effects.callbacks.push_back(
          [cb = std::move(post->done), s = std::move(mismatch)]() mutable { cb(std::move(s)); });
      if (count > 1) draining_[chunk.message] = {count, 1};
      if (eager) effects.pool_credit += poolCharge(payload);
      return dropTarget();
    }
    auto in = std::make_unique<Incoming>();
    in->number = chunk.message;
    in->stream = chunk.stream;
    in->total = chunk.total;
    in->chunk_count = count;
    in->expected_originals = count;
    in->posted = std::move(post);
    in->state.assign(count, 0);
    bound_streams_[chunk.stream] = chunk.message;
    Incoming& ref = *in;
    active_.emplace(chunk.message, std::move(in));
    return place(ref, frame, chunk, static_cast<uint32_t>(payload), effects, connection);
  }
  if (!eager) {
    return protocolError("chunk for " + streamName(chunk.stream) +
                         " came without credit while no receive is posted");
  }
  if (unexpected_by_stream_.count(chunk.stream) != 0) {
    return protocolError(streamName(chunk.stream) +
                         " was reused before its previous message was received");
  }
  auto in = std::make_unique<Incoming>();
  in->number = chunk.message;
  in->stream = chunk.stream;
  in->total = chunk.total;
  in->chunk_count = count;
  in->expected_originals = count;
  unexpected_by_stream_[chunk.stream] = chunk.message;
  Incoming& ref = *in;
  active_.emplace(chunk.message, std::move(in));
  return place(ref, frame, chunk, static_cast<uint32_t>(payload), effects, connection);
}

Result<ChunkTarget> RecvTable::place(Incoming& in, const FrameHeader& frame,
                                     const ChunkHeader& chunk, uint32_t length, Effects& effects,
                                     int connection) {
  const bool eager = frame.has(protocol::kFlagEager);
  const bool hedge = frame.has(protocol::kFlagHedge);
  const uint64_t charge = poolCharge(length);
  if (!hedge) ++in.originals_seen;

  const bool duplicate =
      in.failed || (in.posted ? in.state[chunk.seq] != 0 : in.pooled.count(chunk.seq) != 0);
  if (duplicate) {
    if (eager) effects.pool_credit += charge;
    const bool first_still_read =
        !in.failed && in.posted && in.state[chunk.seq] == 1 && in.in_place.count(chunk.seq) != 0;
    if (first_still_read && in.spares.count(chunk.seq) == 0) {
      return raceSpare(in, chunk, length, connection);
    }
    return dropTarget();
  }

  ReadToken token{chunk.message, chunk.seq, length, connection, eager, false};
  ChunkTarget target;
  if (in.posted) {
    in.state[chunk.seq] = 1;
    target.destination = in.posted->buffer.data() + chunk.offset;
    if (eager) effects.pool_credit += charge;  // lands in place: the pool is not used
  } else {
    if (!eager) {
      return protocolError("chunk for unposted " + streamName(chunk.stream) +
                           " came without credit");
    }
    if (pool_used_ + charge > config_.pool_bytes) {
      return protocolError("peer overran the unexpected-chunk pool (" +
                           std::to_string(pool_used_ + charge) + " > " +
                           std::to_string(config_.pool_bytes) + " bytes)");
    }
    pool_used_ += charge;
    stats_.pool_bytes_peak = std::max(stats_.pool_bytes_peak, pool_used_);
    PooledChunk pooled;
    pooled.bytes = std::make_unique<uint8_t[]>(std::max<uint32_t>(length, 1));
    pooled.length = length;
    pooled.charge = charge;
    target.destination = pooled.bytes.get();
    in.pooled.emplace(chunk.seq, std::move(pooled));
    token.into_pool = true;
  }
  ++in.reads_in_progress;
  target.token = next_token_++;
  if (!token.into_pool) in.in_place[chunk.seq] = target.token;
  reads_.emplace(target.token, std::move(token));
  return target;
}

Result<ChunkTarget> RecvTable::raceSpare(Incoming& in, const ChunkHeader& chunk, uint32_t length,
                                         int connection) {
  // Not counted in reads_in_progress: it writes into its own buffer, so the
  // message may end without it.
  ReadToken token{chunk.message, chunk.seq, length, connection};
  token.spare = std::make_unique<uint8_t[]>(std::max<uint32_t>(length, 1));
  ChunkTarget target;
  target.destination = token.spare.get();
  target.token = next_token_++;
  Spare& spare = in.spares[chunk.seq];
  spare.token = target.token;
  spare.first_token = in.in_place.at(chunk.seq);
  reads_.emplace(target.token, std::move(token));
  return target;
}

void RecvTable::endSpare(uint64_t token_id, ReadToken& token, Effects& effects) {
  auto active = active_.find(token.message);
  if (active == active_.end()) {  // the first copy won and the message ended
    ++stats_.duplicates_dropped;
    return;
  }
  Incoming& in = *active->second;
  auto spare = in.spares.find(token.seq);
  if (in.failed || spare == in.spares.end() || spare->second.token != token_id) {
    ++stats_.duplicates_dropped;
    return;
  }
  auto first = reads_.find(spare->second.first_token);
  if (first == reads_.end()) {  // cannot happen: the first copy's end removes its spare
    in.spares.erase(spare);
    ++stats_.duplicates_dropped;
    return;
  }
  // The first copy still writes into the buffer: its connection must stop
  // before the spare may go there (onReadDropped).
  spare->second.token = 0;
  spare->second.bytes = std::move(token.spare);
  effects.reads_to_drop.emplace_back(first->second.connection, spare->second.first_token);
}

void RecvTable::onReadDropped(uint64_t token_id, Effects& effects) {
  auto read = reads_.find(token_id);
  // Already ended (in full, before the request came): the spare lost.
  if (read == reads_.end() || read->second.spare || read->second.dropped) return;
  ReadToken& token = read->second;
  auto active = active_.find(token.message);
  if (active == active_.end()) return;
  Incoming& in = *active->second;
  auto spare = in.spares.find(token.seq);
  if (spare == in.spares.end() || !spare->second.bytes) return;
  token.dropped = true;  // its endChunk only forgets it
  --in.reads_in_progress;
  in.in_place.erase(token.seq);
  if (!in.failed) {
    const uint64_t offset = uint64_t{token.seq} * config_.peer_chunk_bytes;
    if (token.length > 0) {
      std::memcpy(in.posted->buffer.data() + offset, spare->second.bytes.get(), token.length);
    }
    in.state[token.seq] = 2;
    ++in.chunks_have;
    stats_.payload_bytes_placed += token.length;
    ++stats_.spares_won;
  }
  in.spares.erase(spare);
  maybeRetire(in, effects);
}

Status RecvTable::endChunk(const ChunkTarget& target, Effects& effects) {
  if (target.token == 0) return Status::ok();  // read and dropped
  auto read = reads_.extract(target.token);
  if (read.empty()) return internalError("unknown chunk read token");
  ReadToken& token = read.mapped();
  if (token.spare) {
    endSpare(target.token, token, effects);
    return Status::ok();
  }
  if (token.dropped) return Status::ok();  // the spare took its place already
  auto active = active_.find(token.message);
  if (active == active_.end()) return internalError("chunk finished for an unknown message");
  Incoming& in = *active->second;
  --in.reads_in_progress;

  if (!in.failed) {
    if (token.into_pool) {
      auto pooled = in.pooled.find(token.seq);
      if (in.posted) {  // posted while this chunk was being read: move it into place
        const uint64_t offset = uint64_t{token.seq} * config_.peer_chunk_bytes;
        if (token.length > 0) {
          std::memcpy(in.posted->buffer.data() + offset, pooled->second.bytes.get(), token.length);
        }
        effects.pool_credit += pooled->second.charge;
        pool_used_ -= pooled->second.charge;
        in.pooled.erase(pooled);
        in.state[token.seq] = 2;
        ++in.chunks_have;
        stats_.payload_bytes_placed += token.length;
      } else {
        pooled->second.reading = false;
      }
    } else {
      in.state[token.seq] = 2;
      ++in.chunks_have;
      stats_.payload_bytes_placed += token.length;
    }
  }
  if (!token.into_pool) {
    in.in_place.erase(token.seq);
    // It beat its spare. A spare still being read counts as dropped when it ends.
    auto spare = in.spares.find(token.seq);
    if (spare != in.spares.end()) {
      if (spare->second.bytes) ++stats_.duplicates_dropped;
      in.spares.erase(spare);
    }
  }
  maybeRetire(in, effects);
  return Status::ok();
}

void RecvTable::failIncoming(Incoming& in, Status status, Effects& effects) {
  if (in.failed) return;
  in.failed = true;
  in.failure = std::move(status);
  maybeRetire(in, effects);
}

void RecvTable::freePool(Incoming& in, Effects& effects) {
  for (auto& [seq, chunk] : in.pooled) {
    effects.pool_credit += chunk.charge;
    pool_used_ -= chunk.charge;
  }
  in.pooled.clear();
}

void RecvTable::maybeRetire(Incoming& in, Effects& effects) {
  if (in.reads_in_progress > 0) return;  // a connection is still writing into the buffer
  if (!in.failed && (!in.posted || in.chunks_have < in.chunk_count)) return;

  if (in.posted && in.posted->done) {
    Status status = in.failed ? in.failure : Status::ok();
    effects.callbacks.push_back(
        [cb = std::move(in.posted->done), s = std::move(status)]() mutable { cb(std::move(s)); });
  }
  if (!in.failed) {
    ++stats_.messages_completed;
    effects.delivered.push_back(in.number);
  }
  freePool(in, effects);
  if (in.originals_seen < in.expected_originals) {
    draining_[in.number] = {in.expected_originals, in.originals_seen};
  }
  auto bound = bound_streams_.find(in.stream);
  if (bound != bound_streams_.end() && bound->second == in.number) bound_streams_.erase(bound);
  auto unexpected = unexpected_by_stream_.find(in.stream);
  if (unexpected != unexpected_by_stream_.end() && unexpected->second == in.number) {
    unexpected_by_stream_.erase(unexpected);
  }
  active_.erase(in.number);  // destroys `in`
}

Status RecvTable::onStreamError(const protocol::StreamError& error, Effects& effects) {
  if (error.origin != StreamErrorOrigin::kSender) {
    return internalError("receiver-side stream error routed to the receive table");
  }
  Status failure(error.code, "sender failed " + streamName(error.stream) + ": " +
                                 protocol::printable(error.text));
  auto draining = draining_.find(error.message);
  if (draining != draining_.end()) {
    draining->second.expected_originals =
        std::min(draining->second.expected_originals, error.dispatched);
    if (draining->second.originals_seen >= draining->second.expected_originals) {
      draining_.erase(draining);
    }
    return Status::ok();
  }
  auto active = active_.find(error.message);
  if (active != active_.end()) {
    Incoming& in = *active->second;
    in.expected_originals = std::min(in.expected_originals, error.dispatched);
    failIncoming(in, std::move(failure), effects);
    return Status::ok();
  }
  // Not seen yet: the receive posted for it will never be filled.
  auto posted = posted_.find(error.stream);
  if (posted != posted_.end()) {
    effects.callbacks.push_back([cb = std::move(posted->second->done),
                                 s = std::move(failure)]() mutable { cb(std::move(s)); });
    posted_.erase(posted);
  }
  if (error.dispatched > 0) {
    if (draining_.size() >= kMaxDraining) {
      return protocolError("peer reported more failed streams than can be tracked");
    }
    draining_[error.message] = {error.dispatched, 0};
  }
  return Status::ok();
}

void RecvTable::failAll(const Status& status, Effects& effects) {
  for (auto& [stream, posted] : posted_) {
    if (posted->done) {
      effects.callbacks.push_back(
          [cb = std::move(posted->done), s = status]() mutable { cb(std::move(s)); });
    }
  }
  for (auto& [number, in] : active_) {
    if (in->posted && in->posted->done) {
      Status s = in->failed ? in->failure : status;
      effects.callbacks.push_back(
          [cb = std::move(in->posted->done), s = std::move(s)]() mutable { cb(std::move(s)); });
    }
  }
  posted_.clear();
  active_.clear();
  unexpected_by_stream_.clear();
  bound_streams_.clear();
  draining_.clear();
  reads_.clear();
  pool_used_ = 0;
}

}  // namespace eccl::transport::tcp
