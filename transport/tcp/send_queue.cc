#include "transport/tcp/send_queue.h"

#include <algorithm>
#include <string>

namespace eccl::transport::tcp {

using protocol::StreamErrorOrigin;

SendQueue::SendQueue(SendQueueConfig config)
    : config_(config),
      eager_available_(config.peer_pool_bytes),
      // One message may take at most half of the peer's pool, so that a large
      // unposted message cannot starve the eager path of all the others.
      eager_cap_per_message_(std::max<uint64_t>(config.peer_pool_bytes / 2, config.chunk_bytes)) {}

uint32_t SendQueue::chunkLength(const Message& m, uint64_t seq) const {
  const uint64_t offset = seq * config_.chunk_bytes;
  return static_cast<uint32_t>(std::min<uint64_t>(config_.chunk_bytes, m.size - offset));
}

void SendQueue::enqueue(uint64_t stream, std::span<const uint8_t> data, SendCallback done,
                        Effects& effects) {
  auto m = std::make_unique<Message>();
  m->number = next_number_++;
  m->stream = stream;
  m->data = data.data();
  m->size = data.size();
  m->chunk_count = chunkCount(m->size, config_.chunk_bytes);
  m->chunks.resize(m->chunk_count);
  m->done = std::move(done);

  auto banked = banked_credits_.find(stream);
  if (banked != banked_credits_.end()) {
    const uint64_t posted = banked->second.front();
    banked->second.pop_front();
    --banked_count_;
    if (banked->second.empty()) banked_credits_.erase(banked);
    m->credited = true;
    if (posted != m->size) {
      std::vector<std::pair<int, ChunkRef>> unused;
      failMessage(*m,
                  invalidUsage("stream " + std::to_string(stream) + ": the peer posted a " +
                               std::to_string(posted) + "-byte buffer for a " +
                               std::to_string(m->size) + "-byte message"),
                  unused);
      effects.stream_errors.push_back(senderError(*m));
    }
  } else {
    waiting_for_credit_[stream].push_back({m->number, false});
  }
  Message& ref = *m;
  live_.emplace(m->number, std::move(m));
  maybeFinish(ref, effects);
}

bool SendQueue::hasSendable() const {
  uint64_t eager = eager_available_;
  for (const auto& [number, m] : live_) {
    if (m->failed || m->next_unsent >= m->chunk_count) continue;
    if (m->credited) return true;
    const uint64_t charge = poolCharge(chunkLength(*m, m->next_unsent));
    if (charge <= eager && m->eager_bytes + charge <= eager_cap_per_message_) return true;
  }
  return false;
}

bool SendQueue::mayHedge() const {
  if (!config_.hedge) return false;
  for (const auto& [number, m] : live_) {
    if (!m->failed && m->credited && m->next_unsent >= m->chunk_count &&
        m->first_not_done < m->chunk_count) {
      return true;
    }
  }
  return false;
}

ChunkAssignment SendQueue::assign(Message& m, uint64_t seq, int connection, bool eager,
                                  bool hedge) {
  ChunkAssignment a;
  a.header.stream = m.stream;
  a.header.message = m.number;
  a.header.offset = seq * config_.chunk_bytes;
  a.header.total = m.size;
  a.header.seq = static_cast<uint32_t>(seq);
  a.length = chunkLength(m, seq);
  a.data = m.data + a.header.offset;
  a.eager = eager;
  a.hedge = hedge;
  ChunkState& c = m.chunks[seq];
  c.connection[c.copies] = static_cast<int16_t>(connection);
  ++c.copies;
  ++m.caller_refs;
  if (hedge) {
    c.hedged = true;
    ++stats_.hedged_chunks;
  }
  if (eager) ++stats_.eager_chunks;
  return a;
}

std::optional<ChunkAssignment> SendQueue::next(int connection, const LateBytesFn& late_bytes) {
  for (auto& [number, mp] : live_) {
    Message& m = *mp;
    if (m.failed || m.next_unsent >= m.chunk_count) continue;
    const uint64_t seq = m.next_unsent;
    if (m.credited) {
      ++m.next_unsent;
      return assign(m, seq, connection, false, false);
    }
    const uint64_t charge = poolCharge(chunkLength(m, seq));
    if (charge <= eager_available_ && m.eager_bytes + charge <= eager_cap_per_message_) {
      eager_available_ -= charge;
      m.eager_bytes += charge;
      ++m.next_unsent;
      return assign(m, seq, connection, true, false);
    }
  }
  if (config_.hedge) return nextHedge(connection, late_bytes);
  return std::nullopt;
}

bool SendQueue::tailMayHedge(const Message& m) {
  return !m.failed && m.credited && m.next_unsent >= m.chunk_count;
}

bool SendQueue::mayCopy(const ChunkState& c) {
  return !c.done && !c.hedged && c.copies == 1;
}

std::vector<int> SendQueue::hedgeHolders() const {
  std::vector<int> holders;
  if (!config_.hedge) return holders;
  for (const auto& [number, mp] : live_) {
    const Message& m = *mp;
    if (!tailMayHedge(m)) continue;
    for (uint64_t seq = m.first_not_done; seq < m.chunk_count; ++seq) {
      const ChunkState& c = m.chunks[seq];
      if (!mayCopy(c)) continue;
      if (std::find(holders.begin(), holders.end(), c.connection[0]) == holders.end())
        holders.push_back(c.connection[0]);
    }
  }
  return holders;
}

std::optional<ChunkAssignment> SendQueue::nextHedge(int connection, const LateBytesFn& late_bytes) {
  for (auto& [number, mp] : live_) {
    Message& m = *mp;
    if (!tailMayHedge(m)) continue;
    for (uint64_t seq = m.first_not_done; seq < m.chunk_count; ++seq) {
      ChunkState& c = m.chunks[seq];
      if (!mayCopy(c) || c.connection[0] == connection) continue;
      if (late_bytes(c.connection[0]) < config_.hedge_min_bytes) continue;
      return assign(m, seq, connection, false, true);
    }
  }
  return std::nullopt;
}

void SendQueue::onWritten(int connection, const ChunkRef& chunk, bool used_caller_memory,
                          Effects& effects, std::vector<std::pair<int, ChunkRef>>& detach) {
  auto it = live_.find(chunk.message);
  if (it == live_.end()) return;
  Message& m = *it->second;
  ChunkState& c = m.chunks[chunk.seq];
  // Forget this copy's connection.
  if (c.connection[0] == connection) {
    c.connection[0] = c.connection[1];
  }
  c.connection[1] = -1;
  --c.copies;
  if (used_caller_memory) --m.caller_refs;
  if (!c.done) {
    c.done = true;
    ++m.chunks_done;
    stats_.payload_bytes_written += chunkLength(m, chunk.seq);
    while (m.first_not_done < m.chunk_count && m.chunks[m.first_not_done].done)
      ++m.first_not_done;
    // A slower copy elsewhere may still read the caller's buffer: free it.
    if (c.copies > 0 && c.connection[0] >= 0) {
      detach.emplace_back(c.connection[0], ChunkRef{m.number, chunk.seq, !chunk.hedge});
    }
  }
  maybeFinish(m, effects);
}

void SendQueue::onDetached(const ChunkRef& chunk, Effects& effects) {
  auto it = live_.find(chunk.message);
  if (it == live_.end()) return;
  --it->second->caller_refs;
  maybeFinish(*it->second, effects);
}

void SendQueue::failMessage(Message& m, Status status,
                            std::vector<std::pair<int, ChunkRef>>& detach) {
  if (m.failed) return;
  m.failed = true;
  m.error = std::move(status);
  for (uint64_t seq = m.first_not_done; seq < m.next_unsent; ++seq) {
    const ChunkState& c = m.chunks[seq];
    for (int i = 0; i < c.copies; ++i) {
      detach.emplace_back(c.connection[i], ChunkRef{m.number, static_cast<uint32_t>(seq), false});
    }
  }
}

void SendQueue::maybeFinish(Message& m, Effects& effects) {
  if (m.caller_refs != 0) return;
  if (!m.failed && (m.chunks_done < m.chunk_count || !m.delivered)) return;
  // Copies still being written from private buffers no longer involve the caller.
  if (!m.credited) {
    auto waiters = waiting_for_credit_.find(m.stream);
    if (waiters != waiting_for_credit_.end()) {
      for (auto& w : waiters->second) {
        if (w.number == m.number) w.finished = true;
      }
    }
  }
  if (!m.failed) ++stats_.messages_completed;
  auto callback = std::move(m.done);
  Status status = m.failed ? m.error : Status::ok();
  live_.erase(m.number);
  if (callback) {
    effects.callbacks.push_back(
        [cb = std::move(callback), s = std::move(status)]() mutable { cb(std::move(s)); });
  }
}

Status SendQueue::onCredit(const protocol::Credit& credit, Effects& effects,
                           std::vector<std::pair<int, ChunkRef>>& detach) {
  auto waiters = waiting_for_credit_.find(credit.stream);
  if (waiters == waiting_for_credit_.end()) {
    if (banked_count_ >= kMaxBankedCredits) {
      return protocolError("peer banked more than " + std::to_string(kMaxBankedCredits) +
                           " credits for streams never sent");
    }
    banked_credits_[credit.stream].push_back(credit.bytes);
    ++banked_count_;
    return Status::ok();
  }
  CreditWaiter waiter = waiters->second.front();
  waiters->second.pop_front();
  if (waiters->second.empty()) waiting_for_credit_.erase(waiters);
  if (waiter.finished) return Status::ok();  // the message went out eagerly and is done
  auto it = live_.find(waiter.number);
  if (it == live_.end()) return Status::ok();
  Message& m = *it->second;
  m.credited = true;
  // The eager chunks still count against the pool until the receiver returns them.
  if (credit.bytes != m.size && !m.failed) {
    failMessage(m,
                invalidUsage("stream " + std::to_string(m.stream) + ": the peer posted a " +
                             std::to_string(credit.bytes) + "-byte buffer for a " +
                             std::to_string(m.size) + "-byte message"),
                detach);
    effects.stream_errors.push_back(senderError(m));
  }
  maybeFinish(m, effects);
  return Status::ok();
}

Status SendQueue::onPoolCredit(uint64_t bytes) {
  if (bytes > config_.peer_pool_bytes - eager_available_) {
    return protocolError("peer returned " + std::to_string(bytes) +
                         " pool bytes that were never used");
  }
  eager_available_ += bytes;
  return Status::ok();
}

Status SendQueue::onDelivered(uint64_t message, Effects& effects) {
  if (message >= next_number_) {
    return protocolError("peer reports delivery of message " + std::to_string(message) +
                         ", which was never sent");
  }
  auto it = live_.find(message);
  if (it == live_.end()) return Status::ok();  // failed here meanwhile
  it->second->delivered = true;
  maybeFinish(*it->second, effects);
  return Status::ok();
}

void SendQueue::onStreamError(const protocol::StreamError& error, Effects& effects,
                              std::vector<std::pair<int, ChunkRef>>& detach) {
  if (error.origin != StreamErrorOrigin::kReceiver) return;  // only receivers report to senders
  auto it = live_.find(error.message);
  // A message that already ended needs no answer: every one of its chunks was sent.
  if (it == live_.end() || it->second->failed) return;
  Message& m = *it->second;
  failMessage(m,
              Status(error.code, "receiver failed stream " + std::to_string(m.stream) + ": " +
                                     protocol::printable(error.text)),
              detach);
  effects.stream_errors.push_back(senderError(m));
  maybeFinish(m, effects);
}

protocol::StreamError SendQueue::senderError(const Message& m) const {
  protocol::StreamError e;
  e.stream = m.stream;
  e.message = m.number;
  e.origin = StreamErrorOrigin::kSender;
  e.dispatched = m.next_unsent;
  e.code = m.error.code() == Code::kOk ? Code::kInvalidUsage : m.error.code();
  e.text = m.error.message();
  return e;
}

void SendQueue::failAll(const Status& status, Effects& effects) {
  for (auto& [number, m] : live_) {
    if (m->done) {
      Status s = m->failed ? m->error : status;
      effects.callbacks.push_back(
          [cb = std::move(m->done), s = std::move(s)]() mutable { cb(std::move(s)); });
    }
  }
  live_.clear();
  waiting_for_credit_.clear();
  banked_credits_.clear();
  banked_count_ = 0;
}

}  // namespace eccl::transport::tcp
