// The all-reduce of small buffers: recursive doubling between partners over
// direct channels (set up with the ring, see recursive_doubling.h; ring
// neighbours share their channel). Latency, not bandwidth, decides
// small ops: the ring takes 2(N-1) sequential steps, this about log2(N).
//
// The schedule: recursive_doubling.h. Every op is commutative bit for bit
// (reduce.h), so both partners of an exchange compute the same bits, and so
// does every rank in the end.
//
// Each exchange carries the op's header first, so partners that disagree fail
// on both sides naming each other and the field. A failure, an abort or the
// deadline closes every channel the op used (the only way to end transfers
// that hold its buffers) and returns once none does.
//
// A peer that learns of a disagreement (from a partner's header, or from a
// notice) sends a mismatch notice (op_header.h) in place of its header to
// every partner it has yet to send to, and lets those notices and its other
// sends arrive (at most 2 s) before it closes. A rank moves to its next
// exchange only once the partner's header checked out, so whatever a rank
// learns reaches, through the notices, every rank its data would have reached:
// all of them. So every peer of an op whose peers disagree fails with
// kInvalidUsage naming the field, not only the partners of the peer that
// differs (the others would see their channels close: kPeerLost). The success
// path sends and waits for nothing more than before.
#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <vector>

#include "src/coll/op_header.h"
#include "src/coll/op_progress.h"
#include "src/coll/ring_op.h"
#include "src/comm/communicator.h"
#include "src/comm/p2p_stream.h"
#include "src/comm/recursive_doubling.h"

namespace eccl::comm {
namespace {

enum Transfer : uint64_t { kRecvHeader = 0, kRecvData = 1, kSendHeader = 2, kSendData = 3 };

uint64_t token(uint32_t exchange, Transfer what) {
  return uint64_t{exchange} * 4 + what;
}

}  // namespace

Status Communicator::runSmallAllReduce(const coll::RingView& view, const coll::AllReduceArgs& args,
                                       coll::OpState& state, Clock::time_point deadline,
                                       coll::OpInfo* info) {
  const auto started = Clock::now();
  header_turns_.done(view.ticket);  // its headers travel on streams of its own
  const uint32_t n = view.world_size;
  const size_t bytes = args.count * reduce::dtypeSize(args.dtype);
  if (info != nullptr) info->world_size = n;
  if (n < 2 || args.count == 0) {
    if (bytes > 0 && args.send != args.recv) std::memmove(args.recv, args.send, bytes);
    if (info != nullptr) info->wall_time = Clock::now() - started;
    return Status::ok();
  }
  const std::vector<Exchange> exchanges = recursiveDoublingPlan(n, view.rank);
  if (view.progress != nullptr) view.progress->setPhase(coll::OpPhase::kData);

  std::vector<protocol::Member> members;
  std::vector<std::shared_ptr<transport::Channel>> channels(n);
  auto describe = [&](uint32_t rank) {
    return "peer " + members[rank].peer.shortHex() + " (rank " + std::to_string(rank) + ")";
  };
  Status missing;
  {
    // The ring's set-up opened every partner's channel; one that is gone
    // (a failed op closed it) waits for the next topology update.
    std::lock_guard lock(mu_);
    members = members_;
    if (members.size() != n) return internalError("allReduce: the ring changed under the op");
    for (const Exchange& x : exchanges) {
      auto it = channels_.find(members[x.partner].peer);
      if (it == channels_.end() || !it->second->status().isOk()) {
        if (missing.isOk()) {
          missing = connectionError("allReduce: no working channel to " + describe(x.partner) +
                                    " (it failed, or an earlier op failed and closed it): call "
                                    "updateTopology first");
        }
        continue;
      }
      channels[x.partner] = it->second;
    }
  }
  if (!missing.isOk()) {
    // The partners would wait for this peer until their deadline: closing the
    // channels it still has fails their ops at once, as any failed op does.
    std::vector<std::shared_ptr<transport::Channel>> open;
    for (const auto& channel : channels)
      if (channel) open.push_back(channel);
    closeChannels(open, "allReduce failed on peer " + id_.shortHex() + ": " + missing.toString());
    return missing;
  }

  coll::OpDigest digest =
      coll::ringDigest(coll::Collective::kAllReduce, args.tag, args.count, args.dtype);
  digest.op = args.op;
  digest = coll::withRing(digest, view);
  const coll::OpHeaderBytes header = coll::encodeOpHeader(digest);
  std::vector<coll::OpHeaderBytes> headers(exchanges.size() + 1);

  // Three buffers: the partial result (being sent), the partner's data
  // arriving, and the previous partial result, whose send may still run.
  std::vector<uint8_t> scratch(3 * bytes);
  auto buffer = [&](int b) { return scratch.data() + static_cast<size_t>(b) * bytes; };
  std::memcpy(buffer(0), args.send, bytes);
  int acc = 0;
  int sends_in_flight[3] = {0, 0, 0};
  std::vector<int> sent_from(exchanges.size(), 0);
  std::vector<bool> arrived(exchanges.size(), false);
  std::vector<bool> checked(exchanges.size(), false);  // the partner's header arrived
  // The partner's header was a notice: it never reads what this peer sent it.
  std::vector<bool> notified(exchanges.size(), false);
  std::vector<uint32_t> sends_pending(exchanges.size(), 0);  // headers, notices and data
  size_t next_exchange = 0;  // the first exchange whose transfers are not posted yet
  std::optional<coll::OpHeaderBytes> notice_out;  // what this peer forwards once it knows
  std::vector<std::optional<Status>> refused(exchanges.size());
  size_t last_reduce = exchanges.size();
  for (size_t i = 0; i < exchanges.size(); ++i) {
    if (exchanges[i].reduce) last_reduce = i;
  }
  uint64_t outstanding = 0;
  uint64_t sent = 0;
  uint64_t received = 0;
  std::optional<Status> cause;
  bool closed = false;
  uint64_t header_sends = 0;  // in flight
  Clock::time_point linger_until;
  std::vector<uint32_t> pending(n, 0);  // transfers in flight per partner
  auto closeAll = [&] {
    closed = true;
    const bool timeout = cause->code() == Code::kTimeout;
    for (uint32_t j = 0; j < n; ++j) {
      if (channels[j] && (!timeout || pending[j] > 0)) {
        channels[j]->close("allReduce failed on peer " + id_.shortHex() + ": " + cause->toString());
      }
    }
  };
  // After a mismatch this peer first lets what it sent reach partners that
  // still read it (at most 2 s): its headers, so that both sides name the
  // mismatch, its notices, and its data, whose receives a close would fail
  // before a notice arrives.
  auto lingering = [&] {
    if (!notice_out) return header_sends > 0;
    for (size_t j = 0; j < exchanges.size(); ++j) {
      if (sends_pending[j] > 0 && !notified[j]) return true;
    }
    return false;
  };
  // Closing ends the transfers that hold the op's buffers and tells the
  // partners at once (after a timeout only channels with transfers in flight:
  // the other partners reach their own deadlines); after a mismatch, once
  // lingering() ends.
  auto fail = [&](Status why, std::optional<coll::OpHeaderBytes> notice = std::nullopt) {
    if (cause) return;
    cause = std::move(why);
    linger_until = std::min(deadline, Clock::now() + std::chrono::seconds(2));
    if (notice) {
      // The partners this peer has yet to send to would otherwise wait for its
      // header until its channels close: they get the notice in its place.
      notice_out = *notice;
      for (size_t j = next_exchange; j < exchanges.size(); ++j) {
        const Exchange& x = exchanges[j];
        if (!x.send) continue;
        outstanding += 1;
        pending[x.partner] += 1;
        sends_pending[j] += 1;
        ++header_sends;
        channels[x.partner]->send(
            smallAllReduceStreamId(view.revision, args.tag, static_cast<uint16_t>(2 * x.id)),
            *notice_out, state.callback(token(static_cast<uint32_t>(j), kSendHeader)));
      }
    }
    if (cause->code() != Code::kInvalidUsage || !lingering()) closeAll();
  };
  // Handles completions until `done()` holds; after a failure, until every
  // transfer has ended (they hold `scratch` and `headers`).
  std::vector<coll::Completion> batch;
  auto progress = [&](const std::function<bool()>& done) {
    while (cause ? outstanding > 0 : !done()) {
      if (cause && !closed && (!lingering() || Clock::now() >= linger_until)) closeAll();
      batch.clear();
      const auto until = !cause   ? deadline
                         : closed ? Clock::now() + std::chrono::seconds(1)
                                  : linger_until;
      std::optional<Status> external = state.wait(until, batch);
      for (const coll::Completion& completion : batch) {
        --outstanding;
        const auto index = static_cast<size_t>(completion.token / 4);
        const auto what = static_cast<Transfer>(completion.token % 4);
        const Exchange& x = exchanges[index];
        --pending[x.partner];
        if (what == kSendData) --sends_in_flight[sent_from[index]];
        if (what == kSendHeader) --header_sends;
        if (what == kSendHeader || what == kSendData) --sends_pending[index];
        if (!completion.status.isOk()) {
          Status failed(coll::transferFailureCode(completion.status.code()),
                        "allReduce: transfer with " + describe(x.partner) +
                            " failed: " + completion.status.toString());
          // A refused message (sizes differ): the headers, on their own
          // streams, explain it on both sides; wait for the partner's.
          if (completion.status.code() == Code::kInvalidUsage && !checked[index]) {
            refused[index] = std::move(failed);
          } else {
            fail(std::move(failed));
          }
          continue;
        }
        if (what == kRecvHeader) {
          checked[index] = true;
          received += coll::kOpHeaderSize;
          if (coll::isMismatchNotice(headers[index])) {
            // The partner learned that two peers disagree: so does this one,
            // and it tells its own later partners (the same notice).
            notified[index] = true;
            auto notice = coll::decodeMismatchNotice(headers[index]);
            if (!notice) {
              fail(notice.status().withContext("allReduce: notice from " + describe(x.partner)));
            } else {
              fail(coll::noticeStatus(*notice, describe(x.partner)).withContext("allReduce"),
                   headers[index]);
            }
            continue;
          }
          auto theirs = coll::decodeOpHeader(headers[index]);
          std::optional<coll::DigestMismatch> mismatch;
          if (theirs) mismatch = coll::firstMismatch(digest, *theirs, x.partner);
          if (!theirs) {
            fail(theirs.status().withContext("allReduce"));
          } else if (mismatch) {
            fail(coll::compareDigests(digest, *theirs, x.partner, describe(x.partner))
                     .withContext("allReduce"),
                 coll::encodeMismatchNotice(coll::mismatchNotice(*mismatch, x.partner, view.rank)));
          }
          if (refused[index]) fail(*refused[index]);
        } else if (what == kRecvData) {
          arrived[index] = true;
          received += bytes;
        } else {
          sent += what == kSendData ? bytes : coll::kOpHeaderSize;
        }
      }
      if (external) fail(*external);
      if (!cause && !done() && Clock::now() >= deadline) {
        fail(timeoutError("allReduce (recursive doubling) timed out at revision " +
                          std::to_string(view.revision)));
      }
    }
  };

  for (size_t i = 0; i < exchanges.size() && !cause; ++i) {
    const Exchange& x = exchanges[i];
    transport::Channel& channel = *channels[x.partner];
    const auto header_stream =
        smallAllReduceStreamId(view.revision, args.tag, static_cast<uint16_t>(2 * x.id));
    const auto data_stream =
        smallAllReduceStreamId(view.revision, args.tag, static_cast<uint16_t>(2 * x.id + 1));
    int into = -1;
    if (x.recv) {
      progress([&] {
        for (int b = 0; b < 3 && into < 0; ++b) {
          if (b != acc && sends_in_flight[b] == 0) into = b;
        }
        return into >= 0;
      });
      if (cause) break;
      outstanding += 2;
      pending[x.partner] += 2;
      channel.recv(header_stream, headers[i], state.callback(token(i, kRecvHeader)));
      channel.recv(data_stream, {buffer(into), bytes}, state.callback(token(i, kRecvData)));
    }
    if (x.send) {
      outstanding += 2;
      pending[x.partner] += 2;
      sends_pending[i] += 2;
      ++sends_in_flight[acc];
      ++header_sends;
      sent_from[i] = acc;
      channel.send(header_stream, header, state.callback(token(i, kSendHeader)));
      channel.send(data_stream, {buffer(acc), bytes}, state.callback(token(i, kSendData)));
    }
    next_exchange = i + 1;
    if (!x.recv) continue;
    // The header too: a mismatch it shows must be known before this peer
    // sends its next header (then a notice instead).
    progress([&] { return arrived[i] && checked[i]; });
    if (cause) break;
    if (x.reduce) reduce::reduceInto(buffer(into), buffer(acc), args.count, args.dtype, args.op);
    acc = into;
    if (i == last_reduce && args.op == reduce::ReduceOp::kAvg) {
      reduce::finishAverage(buffer(acc), args.count, args.dtype, n);
    }
  }
  // Every transfer ends before its buffers go: the last sends wait for their delivery.
  progress([&] { return outstanding == 0; });
  if (cause && !closed) closeAll();
  if (info != nullptr) {
    info->wall_time = Clock::now() - started;
    info->bytes_sent = sent;
    info->bytes_received = received;
  }
  if (cause) return *cause;
  std::memcpy(args.recv, buffer(acc), bytes);
  return Status::ok();
}

}  // namespace eccl::comm
