// A peer's view of its group: the control client that keeps it a member, the
// data transport whose channels join it to its ring neighbours, and the state
// both of them change (rank, ring, revision, events).
//
// Thread safety: connect() and destruction must not overlap with any other
// call. Collectives and topology updates, blocking or asynchronous, start in
// call order on the communicator's op threads (op_queue.h: distinct tags run
// at once, updates alone), so they may be called from any thread; every other method, abort(),
// send(), recv() and the lookups included, may be called from any thread at any time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "src/anomaly/dump_signal.h"
#include "src/anomaly/flight_recorder.h"
#include "src/coll/allreduce_args.h"
#include "src/coll/coll_options.h"
#include "src/coll/header_turns.h"
#include "src/coll/op_state.h"
#include "src/coll/ring_view.h"
#include "src/comm/comm_event.h"
#include "src/comm/event_queue.h"
#include "src/comm/op_queue.h"
#include "src/comm/outcome_book.h"
#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "src/membership/control_client.h"
#include "src/protocol/control_messages.h"
#include "src/protocol/report_messages.h"
#include "src/protocol/state_messages.h"
#include "src/reduce/reduce.h"
#include "src/state/shared_state.h"
#include "transport/tcp/tcp_transport.h"

namespace eccl::comm {

// Fault injection for tests and the stress tool: called at named points, with
// this peer's id. On a collective's thread: "data-complete" (the op's data is
// complete here; it is not yet marked so for the agreement on its outcome),
// "lap-start" (marked complete; its completion lap starts next) and
// "state-serve" (a shared-state sync's sends to one partner are posted). On
// the fetchGroupState caller's thread: "group-fetch-requested" (its
// StateFetchRequest is queued to the master). On the control connection's
// thread (blocking there holds back every later control message):
// "fetch-plan" (a StateFetchPlan for this peer as the fetcher arrived, before
// it is taken or dropped).
using FaultHook = std::function<void(std::string_view point, const EndpointId& self)>;

struct CommOptions {
  std::string master_host;
  uint16_t master_port = 0;
  std::string group = "default";
  std::string listen_host = "0.0.0.0";  // the data listener
  uint16_t listen_port = 0;             // 0: a free port
  // What other peers connect to; empty: this end of the connection to the master.
  std::string advertise_host;
  uint16_t advertise_port = 0;  // 0: the listener's port
  transport::ChannelOptions channel;
  coll::CollOptions collectives;
  std::chrono::milliseconds timeout{30'000};  // default deadline of blocking calls
  FaultHook fault_hook;                       // none by default
  // The pipeline stage this peer's group holds (CheckFree recovery): -1 with
  // num_stages 0 (not a stage), or 0 <= stage < num_stages <= 4096.
  int32_t stage = -1;
  uint32_t num_stages = 0;
  // The signal on which the comm logs its state (dumpState; 0: none). See
  // src/anomaly/dump_signal.h: taking a signal replaces its default action.
  int dump_signal = SIGUSR1;

  Status validate() const;
};

// ECCL_DUMP_SIGNAL (a signal number; 0: none), when set, into options.dump_signal.
Status applyDumpSignalEnvironment(CommOptions& options);

// The stage fields of CommOptions, checked (comm_stages.cc).
Status validateStage(int32_t stage, uint32_t num_stages);

// "left the group", "was lost", "was evicted": how errors describe a departure.
const char* departureText(EventKind kind);

// The event a finding of the master's detectors is delivered as.
EventKind eventKindOf(protocol::AnomalyKind kind);

// The block sizes of an all-gather or reduce-scatter: one count per rank, or
// (per_rank empty) `each` for every rank of the ring the op runs on.
struct BlockCounts {
  std::vector<size_t> per_rank;
  size_t each = 0;
  std::vector<size_t> resolve(uint32_t world_size) const;
};

// A data channel to another peer as this peer sees it.
struct LinkStats {
  EndpointId peer;
  std::string address;  // "ip:port" of its first connection
  int32_t rank = -1;    // the peer's rank in this comm's ring; -1 outside it
  bool open = false;    // the channel works
  int connections = 0;
  transport::ChannelStats channel;  // counters since the channel opened
  // Bytes per second of the recorded ops that completed here sending to
  // (receiving from) the peer as ring neighbour, over their durations; 0: none.
  double send_bytes_per_s = 0;
  double recv_bytes_per_s = 0;
};

// One tensor of a batched all-reduce; send == recv is in place.
struct TensorRef {
  const void* send = nullptr;
  void* recv = nullptr;
  size_t count = 0;  // elements
};

// Where an accepted peer of the cluster is.
// Whether a shared-state plan's transfer lies inside its entry (every plan
// is checked before any byte moves; comm_state_sync.cc).
bool transferFits(const protocol::StateTransfer& t,
                  const std::vector<const state::Entry*>& entries);

// The failures after which the survivors of a ring can carry on together:
// every survivor gets one (they agree), and updateTopology() then forms the
// ring of the survivors (kPeerLost, kTimeout, kConnectionError).
bool retryableFailure(Code code);

struct PeerLocation {
  EndpointId id;
  std::string group;
  uint32_t rank = 0;
  std::string host;  // its advertised data address
  uint16_t port = 0;
};

class Communicator final : private membership::ControlClient::Owner {
 public:
  static constexpr size_t kMaxQueuedEvents = 4096;

  // Opens the data listener; nothing is said to the master before connect().
  static Result<std::unique_ptr<Communicator>> create(CommOptions options);
  // Leaves the group gracefully (the master tells the others "left").
  ~Communicator() override;

  // Registers with the master and waits until this peer is accepted into its
  // group's ring (at the next topology update of the accepted peers).
  Status connect(std::chrono::milliseconds timeout);
  // A collective point of the accepted peers: admits pending peers, settles
  // losses, and returns once the new ring's channels are up. Runs after the
  // collectives called before it have completed.
  Status updateTopology(std::chrono::milliseconds timeout);
  // Ends every blocking call of this communicator at once with kAborted; the
  // communicator is unusable afterwards (destroy it).
  void abort(const std::string& why);

  // Blocking ring all-reduce among the ring's members (src/coll/ring_allreduce.h):
  // recv[i] = op over peers of send[i]; send == recv is in place. Every member
  // calls it with the same tag, count, dtype and op. Errors: kInvalidArgument,
  // kInvalidUsage (not accepted, another op running, peers disagree),
  // kTimeout, kAborted, kPeerLost (a member left or was lost, or a
  // neighbour's channel failed), kConnectionError (no channel to a neighbour).
  // After a failed op the next one is kInvalidUsage until updateTopology().
  // quant (not null, algo not kNone): the ring sends quantized messages
  // (src/coll/quant_ring_op.h; never recursive doubling); every member passes
  // the same config (peers check it like the count).
  Status allReduce(const void* send, void* recv, size_t count, reduce::DType dtype,
                   reduce::ReduceOp op, uint64_t tag, std::chrono::milliseconds timeout,
                   coll::OpInfo* info, const quant::QuantConfig* quant = nullptr);
  // allReduce that carries on through failures: after a retryable error
  // (kPeerLost, kTimeout, kConnectionError: every survivor gets one, they
  // agree) it calls updateTopology and tries again on the new ring, at most
  // max_attempts times in all (>= 1); `timeout` applies to each attempt and
  // each update. In place, it restores the input before each retry (it keeps
  // a copy). Every ring member calls it the same way, so the survivors retry
  // together; a peer admitted by the update joins the retry if it calls the
  // same op. A retry runs at a new revision, so no message of a failed
  // attempt can reach it. `attempts` (when not null) tells how many ran.
  Status allReduceWithRetry(const void* send, void* recv, size_t count, reduce::DType dtype,
                            reduce::ReduceOp op, uint64_t tag, std::chrono::milliseconds timeout,
                            uint32_t max_attempts, coll::OpInfo* info, uint32_t* attempts,
                            const quant::QuantConfig* quant = nullptr);
  // The same, queued: returns at once (argument errors at once too); the
  // Request completes with the op's status. The timeout counts from the op's
  // start. Buffers must stay valid and untouched until it completes.
  Result<std::shared_ptr<Request>> allReduceAsync(const void* send, void* recv, size_t count,
                                                  reduce::DType dtype, reduce::ReduceOp op,
                                                  uint64_t tag, std::chrono::milliseconds timeout,
                                                  const quant::QuantConfig* quant = nullptr);
  // The other collectives of the ring (src/coll/ring_*.h), blocking and
  // queued, with the same rules and errors as allReduce. Root and counts are
  // checked against the ring the op runs on (a queued op may run after an
  // update changed the world size).
  Status broadcast(void* buffer, size_t count, reduce::DType dtype, uint32_t root, uint64_t tag,
                   std::chrono::milliseconds timeout, coll::OpInfo* info);
  Result<std::shared_ptr<Request>> broadcastAsync(void* buffer, size_t count, reduce::DType dtype,
                                                  uint32_t root, uint64_t tag,
                                                  std::chrono::milliseconds timeout);
  // recv: every rank's block in rank order; send: this rank's block.
  Status allGather(const void* send, void* recv, BlockCounts counts, reduce::DType dtype,
                   uint64_t tag, std::chrono::milliseconds timeout, coll::OpInfo* info);
  Result<std::shared_ptr<Request>> allGatherAsync(const void* send, void* recv, BlockCounts counts,
                                                  reduce::DType dtype, uint64_t tag,
                                                  std::chrono::milliseconds timeout);
  // send: every rank's block in rank order; recv: op over the peers of this rank's block.
  Status reduceScatter(const void* send, void* recv, BlockCounts counts, reduce::DType dtype,
                       reduce::ReduceOp op, uint64_t tag, std::chrono::milliseconds timeout,
                       coll::OpInfo* info);
  Result<std::shared_ptr<Request>> reduceScatterAsync(const void* send, void* recv,
                                                      BlockCounts counts, reduce::DType dtype,
                                                      reduce::ReduceOp op, uint64_t tag,
                                                      std::chrono::milliseconds timeout);
  // Block j (count elements) of send goes to rank j, which places it at block
  // `rank` of its recv; send and recv hold world-size blocks and must not
  // overlap. Pairs exchange directly (src/comm/comm_all_to_all.cc).
  Status allToAll(const void* send, void* recv, size_t count, reduce::DType dtype, uint64_t tag,
                  std::chrono::milliseconds timeout, coll::OpInfo* info);
  Result<std::shared_ptr<Request>> allToAllAsync(const void* send, void* recv, size_t count,
                                                 reduce::DType dtype, uint64_t tag,
                                                 std::chrono::milliseconds timeout);
  // Returns once every ring member has called it (a one-byte all-reduce).
  Status barrier(uint64_t tag, std::chrono::milliseconds timeout, coll::OpInfo* info);

  // All-reduces a list of tensors of one dtype as ONE all-reduce of their
  // concatenation (one pipelined stream, one header): the caller does not
  // pack them; the op does, through a staging buffer of their total size
  // (a single tensor needs none).
  Status allReduceBatch(std::vector<TensorRef> tensors, reduce::DType dtype, reduce::ReduceOp op,
                        uint64_t tag, std::chrono::milliseconds timeout, coll::OpInfo* info,
                        const quant::QuantConfig* quant = nullptr);
  Result<std::shared_ptr<Request>> allReduceBatchAsync(std::vector<TensorRef> tensors,
                                                       reduce::DType dtype, reduce::ReduceOp op,
                                                       uint64_t tag,
                                                       std::chrono::milliseconds timeout,
                                                       const quant::QuantConfig* quant = nullptr);

  // Brings every member's shared state to the popular content of each entry
  // (src/state/consensus.h has the rules; comm_state_sync.cc the transfers).
  // A collective of the group, exclusive like updateTopology. On success every
  // compared entry is bit-identical on every member and shared.revision is the
  // group's new revision. Errors: kInvalidArgument (a bad state: names, NULL,
  // overlap), kInvalidUsage (members disagree on the entries or break the
  // revision rules: nothing was written), kPeerLost (a receiver could not get
  // an entry from any holder: that entry may be partly written, the text
  // names it), kTimeout, kAborted.
  Status syncSharedState(state::SharedState& shared, state::SyncStrategy strategy,
                         std::chrono::milliseconds timeout, state::SyncInfo* info);

  // connect() for a peer that joins a group with shared state
  // (comm_state_fetch.cc): while pending it fetches a snapshot of the state,
  // the result of the group's next successful syncSharedState, from the
  // members, which send it at bytes_per_s in total (0: unpaced) while their
  // training goes on; it is admitted (at an updateTopology of the members)
  // only once the fetch ended, and returns when accepted. Entries whose hash
  // already matches are not sent; what did not arrive (a source lost) the
  // first sync after admission brings. shared.revision is the snapshot's
  // revision. In a group without members it is admitted at once, fetching
  // nothing. Errors: those of connect(); kInvalidUsage when the entries do not
  // match the group's (names, counts, dtypes, flags).
  Status connectWithState(state::SharedState& shared, uint64_t bytes_per_s,
                          std::chrono::milliseconds timeout, state::SyncInfo* info);
  // Fetches a snapshot of another group's shared state (comm_group_fetch.cc)
  // without joining it: the result of that group's next successful sync,
  // sent by its members (striped, at bytes_per_s in total, 0: unpaced) while
  // they go on; every entry is rehashed on arrival. Any connected peer
  // (pending or accepted) may ask, one fetch at a time; the deadline covers
  // the wait for that sync. On success every entry holds the snapshot's bytes
  // and shared.revision is its revision. Errors: kInvalidArgument (a bad
  // state or name; no such group), kInvalidUsage (not connected, another
  // fetch runs, the entries do not match the group's, the own group while a
  // member), kPeerLost (the group has no members; entries did not arrive:
  // fetch again), kTimeout, kAborted. A fetch that returned is over (a
  // timeout too): each fetch has a number of its own that the master's plan
  // echoes, so a late plan of an earlier fetch is never this one's.
  Status fetchGroupState(const std::string& group, state::SharedState& shared, uint64_t bytes_per_s,
                         std::chrono::milliseconds timeout, state::SyncInfo* info);
  // Fetches of other peers this member is serving now (in the background).
  int fetchesServing() const { return fetches_serving_.load(); }

  // Collectives and updates submitted and not yet completed.
  size_t opsOutstanding() const { return ops_.outstanding(); }

  // Point-to-point, between this peer and any accepted peer of the cluster (of
  // any group; src/comm/comm_p2p.cc). send() returns once the receiver holds
  // the whole message in the buffer of its matching recv() (synchronous, like
  // MPI_Ssend: two peers that both send to each other first wait for each
  // other until the deadline). The k-th send to a peer with a tag matches the
  // peer's k-th recv from this peer with that tag; sizes must agree (else
  // kInvalidUsage on both sides). Channels are opened on first use and kept.
  // Errors: kInvalidArgument (self, zero id, tag >= 2^32, null buffer),
  // kInvalidUsage (not accepted yet; sizes differ), kTimeout, kAborted,
  // kPeerLost (the peer departed or its channel broke: a timeout or abort also
  // closes the channel, since the transport cannot take back a posted buffer),
  // kConnectionError (no channel could be opened), and the lookup's errors.
  Status send(const EndpointId& peer, const void* data, size_t bytes, uint64_t tag,
              std::chrono::milliseconds timeout, coll::OpInfo* info);
  Status recv(const EndpointId& peer, void* data, size_t bytes, uint64_t tag,
              std::chrono::milliseconds timeout, coll::OpInfo* info);
  // Asks the master where an accepted peer is (answered locally for this
  // peer's own ring when it can be). kInvalidArgument: no accepted peer with
  // that id / at that rank of that group (the text says which, and whether it
  // is still pending); kTimeout when the master does not answer in time.
  Result<PeerLocation> lookupPeer(const EndpointId& peer, std::chrono::milliseconds timeout);
  Result<PeerLocation> lookupRank(const std::string& group, uint32_t rank,
                                  std::chrono::milliseconds timeout);

  int peersPending() const;
  int rank() const;       // -1 until accepted
  int worldSize() const;  // 0 until accepted
  uint64_t revision() const;
  const EndpointId& peerId() const { return id_; }
  const std::string& group() const { return options_.group; }
  const CommOptions& options() const { return options_; }
  std::vector<protocol::Member> members() const;
  // The next membership event, oldest first.
  std::optional<Event> pollEvent();
  // How many events were dropped because nobody polled (the queue is bounded).
  uint64_t eventsDropped() const;
  // While set, events go to the callback, on the comm's event thread, instead
  // of the queue; empty removes it (EventQueue::setCallback says when it has
  // stopped running). The destructor removes it first.
  void setEventCallback(EventQueue::Callback callback);
  // Whether the calling thread is the one that runs the event callback.
  bool onEventThread() const { return events_.onDeliveryThread(); }

  // Observability (comm_observe.cc). The flight recorder's collectives,
  // oldest first, running ones included with their progress.
  std::vector<anomaly::OpRecord> opStats() const;
  // Every pooled data channel, ring neighbours first.
  std::vector<LinkStats> linkStats() const;
  // This peer's state as text: membership, links, the flight recorder.
  std::string dumpState() const;
  // Logs dumpState() at warn level, headed by `why`.
  void logState(const std::string& why) const;

  // Pipeline stages (comm_stages.cc). Queues this stage's metric for a round
  // (e.g. its gradient norm) to the master without waiting; a report made
  // while the master is unreachable is lost (report every round). Errors:
  // kInvalidArgument (not finite, or < 0), kInvalidUsage (this comm has no
  // stage, or is not accepted yet), the comm's terminal error.
  Status reportMetric(uint64_t round, double value);
  // What the master knows about any stage of the pipeline: its group, state,
  // accepted peers and latest metric. Blocks for the answer. Errors:
  // kInvalidArgument (stage >= 4096), kInvalidUsage (not connected), kTimeout,
  // kAborted, kPeerLost (this peer was removed).
  Result<protocol::StageInfo> stageInfo(uint32_t stage, std::chrono::milliseconds timeout);
  // This accepted stage peer holds its stage's weights again (rebuilt from
  // its neighbours): a recovering stage becomes active, and every stage peer
  // hears kStageRestored with `round` (the round from which the stage trains
  // again). Announcing an active stage changes nothing. Blocks for the
  // master's answer: its view of this peer's stage afterwards. Errors:
  // kInvalidUsage (no stage, not accepted yet), kTimeout, kAborted, kPeerLost
  // (this peer was removed).
  Result<protocol::StageInfo> announceStageRecovered(uint64_t round,
                                                     std::chrono::milliseconds timeout);

 private:
  enum class Phase { kCreated, kConnecting, kPending, kAccepted, kRemoved, kAborted };
  using Clock = std::chrono::steady_clock;
  struct Lookup {
    protocol::PeerLookup request;
    std::optional<protocol::PeerAddress> answer;
  };
  // Message numbering of the point-to-point streams to one peer; it restarts
  // with each new channel (both ends see the same channels come and go).
  struct P2pLink {
    std::weak_ptr<transport::Channel> channel;
    std::map<uint64_t, uint16_t> sent;      // tag -> next message number
    std::map<uint64_t, uint16_t> received;  // tag -> next message number
  };
  struct P2pOp {
    EndpointId peer;
    std::shared_ptr<coll::OpState> state;
  };
  struct RingOpInProgress {
    protocol::OpRef ref;
    std::shared_ptr<coll::OpState> state;
  };

  explicit Communicator(CommOptions options);
  Status open();
  Status waitFor(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds timeout,
                 const char* what, const std::function<bool()>& done);
  Status terminalStatusLocked() const;
  // The peers this one keeps channels to in a ring: its two neighbours and
  // the partners of the small all-reduce (recursive_doubling.h).
  std::vector<EndpointId> ringPeersLocked(const protocol::Topology& topology) const;
  // Connects or waits for the channels a topology being set up needs; reports ready.
  void progressSetupLocked(std::vector<std::function<void()>>& actions);
  // Sends to the master unless the communicator is being destroyed.
  void sendControl(protocol::MessageType type, std::vector<uint8_t> frame);
  // reportMetric's and announceStageRecovered's precondition: an accepted
  // peer of a stage, not ended. `caller` prefixes the error.
  Status checkStagePeerLocked(const char* caller) const;
  // A numbered request answered by the master with a StageInfo (a stage query
  // or announcement): `frame(id)` encodes it. Called with `lock` held; kTimeout
  // names `what`.
  Result<protocol::StageInfo> askStageAnswer(
      std::unique_lock<std::mutex>& lock, protocol::MessageType type,
      const std::function<std::vector<uint8_t>(uint64_t)>& frame, Clock::time_point deadline,
      const std::string& what);
  void runActions(std::vector<std::function<void()>>& actions);
  void adoptChannel(std::unique_ptr<transport::Channel> channel);
  void onConnectResult(const EndpointId& peer, Result<std::unique_ptr<transport::Channel>> result);
  // Vetting of TLS data channels (comm_channel_vetting.cc). An accepted
  // channel's peer id is only claimed: over TLS it is pooled once its
  // certificate is the one the master announced for that id (ring members
  // carry theirs; others are looked up), else closed. Plaintext channels are
  // pooled at once.
  void vetAcceptedChannel(std::unique_ptr<transport::Channel> channel);
  // Why a connected channel's certificate is not the announced one (nothing:
  // it is, or nothing was announced yet: the address came from the master).
  std::optional<Status> connectedCertificateMismatchLocked(const transport::Channel& channel) const;
  void rememberCertificateLocked(const EndpointId& peer,
                                 const protocol::CertificateFingerprint& certificate);
  // A PeerAddress that answers a vetting lookup: pools or closes the channel.
  // False: the answer is not for one.
  bool onVettingAnswer(const protocol::PeerAddress& address);
  // The lookups of channels still in vetting (re-sent after a re-registration).
  std::vector<protocol::PeerLookup> vettingLookupsLocked() const;
  // The ring as an op starting now sees it; an error (naming `name`) if the op cannot run.
  Status ringViewLocked(const std::string& name, coll::RingView& view) const;
  // What a collective does with the ring it is lent, on the op thread.
  using RingJob = std::function<Status(const coll::RingView&, coll::OpState&, Clock::time_point,
                                       coll::OpInfo*)>;
  // `preserve`: the caller's bytes that a failed op puts back as they were at
  // its start (CollOptions::preserve_input; empty: none).
  Result<std::shared_ptr<Request>> submitRingOp(std::string name, uint64_t tag,
                                                std::chrono::milliseconds timeout, RingJob job,
                                                std::span<uint8_t> preserve = {});
  Status runRingOp(const std::string& name, uint64_t tag, std::chrono::milliseconds timeout,
                   const RingJob& job, coll::OpInfo* info, uint64_t sequence,
                   std::span<uint8_t> preserve, anomaly::FlightRecorder::Entry& recorded);
  // After an op's data completed here: the completion lap, and when it
  // breaks, the master's verdict (outcome_book.h). The op's final status.
  Status agreeOnOutcome(const std::string& name, const coll::RingView& view,
                        const protocol::OpRef& ref, coll::OpState& state,
                        Clock::time_point deadline);
  Status awaitVerdict(const std::string& name, const protocol::OpRef& ref, const Status& why,
                      Clock::time_point deadline);
  // The working channels to this peer's ring neighbours.
  std::vector<std::shared_ptr<transport::Channel>> ringChannelsLocked() const;
  // Closes them with `why` (not under mu_: a close may call failure handlers).
  static void closeChannels(const std::vector<std::shared_ptr<transport::Channel>>& channels,
                            const std::string& why);
  // Ends every collective in progress with `why`; failAllOpsLocked also the
  // point-to-point ones (abort, this peer's removal).
  void failActiveOpsLocked(const Status& why);
  void failAllOpsLocked(const Status& why);
  Status runUpdateTopology(std::chrono::milliseconds timeout, uint64_t sequence);
  // Shared-state sync (comm_state_sync.cc): the vote and the master's rounds;
  // one round's transfers; those with one partner.
  Status runStateSync(state::SharedState& shared, state::SyncStrategy strategy,
                      std::chrono::milliseconds timeout, state::SyncInfo* info);
  // `verified`: gains the entries that arrived whole with the expected hash.
  protocol::StateDone runStateRound(const protocol::StatePlan& plan,
                                    const std::vector<const state::Entry*>& entries,
                                    Clock::time_point deadline, state::SyncInfo& report,
                                    std::set<uint32_t>& verified);
  // What one partner's exchange did: the transfers to this peer that did not
  // arrive, entry bytes moved and what crossed the wire for them (zstd pieces:
  // less), and its first failure.
  struct StateExchange {
    std::vector<uint32_t> failed;
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t wire_sent = 0;
    uint64_t wire_received = 0;
    std::string reason;
  };
  // One exchangeState per partner, each on a thread of its own (a dead or
  // slow partner fails only its own transfers); their results, in map order.
  std::vector<StateExchange> exchangeWithPartners(
      uint64_t sync, const std::map<EndpointId, std::vector<protocol::StateTransfer>>& by_partner,
      const std::vector<const state::Entry*>& entries, Clock::time_point deadline);
  Status exchangeState(const EndpointId& partner, uint64_t sync,
                       const std::vector<protocol::StateTransfer>& transfers,
                       const std::vector<const state::Entry*>& entries, Clock::time_point deadline,
                       StateExchange& result);
  // Fetches (comm_state_fetch.cc): a source's serving after the sync whose
  // result is the snapshot (it copies its ranges first: the caller may change
  // the entries once the sync returns), on a thread of its own; and the
  // fetcher's transfers from every source.
  struct PinnedRanges;
  void startFetchServers(uint64_t sync, const std::vector<const state::Entry*>& entries);
  void serveFetch(const protocol::StateFetchPlan& plan, const PinnedRanges& pinned);
  Status runFetch(const protocol::StateFetchPlan& plan,
                  const std::vector<const state::Entry*>& entries, Clock::time_point deadline,
                  state::SyncInfo& report, protocol::StateFetchDone& done);
  void joinFetchServers(bool all);
  // The data addresses a fetch plan names (the fetcher is no ring member,
  // nor are its sources to it), for p2pChannel.
  void rememberAddresses(const protocol::StateFetchPlan& plan);
  // The all-reduce algorithm for the op's size: the ring, or for small
  // buffers recursive doubling (comm_rd_allreduce.cc).
  Status runAllReduce(const coll::RingView& view, const coll::AllReduceArgs& args,
                      coll::OpState& state, Clock::time_point deadline, coll::OpInfo* info);
  Status runSmallAllReduce(const coll::RingView& view, const coll::AllReduceArgs& args,
                           coll::OpState& state, Clock::time_point deadline, coll::OpInfo* info);
  Status runAllToAll(const coll::RingView& view, const void* send, void* recv, size_t count,
                     reduce::DType dtype, uint64_t tag, coll::OpState& state,
                     Clock::time_point deadline, coll::OpInfo* info);
  // Point-to-point (comm_p2p.cc).
  Status pointToPoint(bool sending, EndpointId peer, void* data, size_t bytes, uint64_t tag,
                      std::chrono::milliseconds timeout, coll::OpInfo* info);
  Result<std::shared_ptr<transport::Channel>> p2pChannel(const EndpointId& peer,
                                                         Clock::time_point deadline);
  // Host and port of a ring member or a looked-up peer; nothing if unknown.
  std::optional<std::pair<std::string, uint16_t>> dataAddressLocked(const EndpointId& peer) const;
  Result<PeerLocation> lookup(protocol::PeerLookup request, Clock::time_point deadline);
  // Ends the point-to-point ops with `peer` (all of them when null) with `why`.
  void failP2pOpsLocked(const EndpointId* peer, const Status& why);

  // ControlClient::Owner (on the control client's thread)
  protocol::Register makeRegister(const std::string& local_ip) override;
  void onRegistered(const protocol::Registered& registered) override;
  void onTopology(const protocol::Topology& topology) override;
  void onCommit(const protocol::TopologyCommit& commit) override;
  void onPeerEvent(const protocol::PeerEvent& event) override;
  void onGroupStatus(const protocol::GroupStatus& status) override;
  void onControlError(const protocol::ControlError& error) override;
  void onPeerAddress(const protocol::PeerAddress& address) override;
  void onOpVerdict(const protocol::OpVerdict& verdict) override;
  void onStatePlan(const protocol::StatePlan& plan) override;
  void onStateFetchPlan(const protocol::StateFetchPlan& plan) override;
  void onStageInfo(const protocol::StageInfo& info) override;
  void onStageEvent(const protocol::StageEvent& event) override;
  void onMasterLost(const Status& why) override;
  // The master's "host:port": the key of this process's memory of removals.
  std::string masterKey() const;
  uint64_t opsCompleted() const override { return ops_completed_.load(); }
  std::optional<protocol::PeerReport> peerReport() override;
  void onAnomalyEvent(const protocol::AnomalyEvent& event) override;
  // Queues an event for pollEvent (or the event callback), dropping the
  // oldest when the queue is full.
  void queueEventLocked(Event event);

  const CommOptions options_;
  const EndpointId id_;
  std::unique_ptr<transport::tcp::TcpTransport> transport_;
  std::unique_ptr<transport::Listener> listener_;
  std::unique_ptr<membership::ControlClient> control_;
  // Sends from threads that may race with destruction go through sendControl().
  std::mutex control_mu_;
  bool control_open_ = true;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  Phase phase_ = Phase::kCreated;
  Status terminal_;  // why the communicator stopped (kRemoved, kAborted)
  bool ever_registered_ = false;
  // The destructor took the channels: a channel that comes up later is closed, not pooled.
  bool destroying_ = false;
  protocol::PeerToken token_{};
  // The removed communicator this one's first registration spoke for (zero: none).
  EndpointId announced_removal_;
  uint64_t revision_ = 0;
  std::vector<protocol::Member> members_;  // the committed ring
  int rank_ = -1;
  std::optional<protocol::Topology> setup_;  // the ring being set up
  uint64_t ready_sent_ = 0;
  uint64_t incarnation_ = 0;  // of the master that registered this peer last
  bool voting_ = false;       // an updateTopology() waits for its vote's outcome
  uint32_t pending_ = 0;
  std::optional<Status> control_error_;
  // Has a lock of its own, taken under mu_ (queueEventLocked) and never the other way.
  EventQueue events_{kMaxQueuedEvents};
  // Pooled by peer id; shared with the op using them. Dropping one does not
  // close it while an op holds it: whoever drops a live channel closes it.
  std::map<EndpointId, std::shared_ptr<transport::Channel>> channels_;
  std::set<EndpointId> connecting_;
  std::map<EndpointId, Status> connect_failures_;  // the last failed connect per peer
  // Point-to-point: addresses of peers outside the ring, message numbering,
  // ops in progress (abort and departures end them), the master's answers.
  std::map<EndpointId, PeerLocation> p2p_addresses_;
  std::map<EndpointId, P2pLink> p2p_links_;
  std::map<EndpointId, EventKind> p2p_departed_;  // departures the master announced (bounded)
  std::vector<P2pOp> p2p_ops_;
  std::map<uint64_t, Lookup> lookups_;
  uint64_t next_lookup_ = 0;
  // Certificates the master announced, by peer (Topology members, lookups).
  std::map<EndpointId, protocol::CertificateFingerprint> announced_certificates_;
  // Accepted TLS channels waiting for the master's answer, by claimed peer id
  // (a newer channel of the same id replaces an older one); bounded.
  struct ChannelInVetting {
    std::unique_ptr<transport::Channel> channel;
    uint64_t lookup = 0;  // the request id of its PeerLookup
  };
  static constexpr size_t kMaxChannelsInVetting = 64;
  std::map<EndpointId, ChannelInVetting> vetting_;
  // Members of the committed ring that left or were lost since the commit.
  std::map<EndpointId, EventKind> departed_;
  std::vector<RingOpInProgress> active_ops_;  // the collectives in progress
  // How far this revision's collectives got, for the agreement on their
  // outcome; they are numbered by op sequence from first_sequence_ on (the
  // first op after the update or the admission that began the revision).
  OutcomeBook outcomes_;
  uint64_t first_sequence_ = 0;
  std::chrono::milliseconds loss_detection_{1'000};  // the master's heartbeat x miss limit
  coll::HeaderTurns header_turns_;                   // concurrent ops' turns on the header streams
  // Why the last collective failed after it had exchanged messages: its
  // channels may hold stale messages or be closed, so the next op waits for
  // a topology update (a new revision, re-validated channels).
  std::optional<Status> op_failed_;
  std::atomic<uint64_t> ops_completed_{0};
  std::atomic<uint64_t> ops_failed_{0};
  // Time the ended collectives waited for each peer's op header, in total:
  // how late it entered them (PeerReport).
  std::map<EndpointId, uint64_t> link_late_ns_;
  // The master's plans for the running shared-state sync; plans of a sync
  // this peer gave up on (abandoned_sync_ and older) are dropped.
  static constexpr size_t kMaxQueuedPlans = 64;
  std::deque<protocol::StatePlan> state_plans_;
  uint64_t abandoned_sync_ = 0;
  // Fetching the state before admission: registrations carry the flag until
  // the fetch ended; the request (sent again to a restarted master) and the
  // master's answer.
  bool fetch_state_ = false;
  std::optional<protocol::StateFetchRequest> fetch_request_;
  std::optional<protocol::StateFetchPlan> fetch_plan_;
  // Fetching another group's state (exclusive with the above): the running
  // fetch's number (StateFetchRequest::fetch: 1, 2, ... per comm; the last
  // one used while none runs) and the master's answer, taken only when it
  // echoes that number (a late plan of an abandoned fetch is dropped).
  bool group_fetching_ = false;
  uint64_t group_fetch_id_ = 0;
  std::optional<protocol::StateFetchPlan> group_fetch_plan_;
  // A source's orders, by sync, until that sync's final plan (bounded).
  std::map<uint64_t, std::vector<protocol::StateFetchPlan>> serve_orders_;
  struct FetchServer {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };
  std::vector<FetchServer> fetch_servers_;  // guarded by fetch_servers_mu_
  std::mutex fetch_servers_mu_;
  std::atomic<int> fetches_serving_{0};
  // Stage queries waiting for the master's StageInfo, by request number.
  std::map<uint64_t, std::optional<protocol::StageInfo>> stage_queries_;
  uint64_t next_stage_query_ = 0;
  anomaly::FlightRecorder recorder_;
  std::unique_ptr<anomaly::DumpRegistration> dump_registration_;  // options_.dump_signal
  // Last member: its threads stop before anything they use is destroyed.
  OpQueue ops_{options_.collectives.max_ops_in_flight};
};

}  // namespace eccl::comm
