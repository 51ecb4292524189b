#include "src/comm/communicator.h"

#include <algorithm>

#include "src/comm/recursive_doubling.h"
#include "src/comm/removal_memory.h"
#include "src/common/log.h"
#include "src/protocol/messages.h"
#include "transport/channel_env.h"

namespace eccl::comm {

using protocol::MessageType;
using protocol::PeerState;

namespace {

constexpr auto kLeaveWait = std::chrono::seconds(1);
constexpr auto kNoWait = std::chrono::milliseconds(0);

EventKind toEventKind(protocol::PeerEventKind kind) {
  switch (kind) {
    case protocol::PeerEventKind::kJoined:
      return EventKind::kJoined;
    case protocol::PeerEventKind::kLeft:
      return EventKind::kLeft;
    case protocol::PeerEventKind::kLost:
      return EventKind::kLost;
    case protocol::PeerEventKind::kEvicted:
      return EventKind::kEvicted;
  }
  return EventKind::kLost;
}

}  // namespace

const char* departureText(EventKind kind) {
  switch (kind) {
    case EventKind::kLeft:
      return "left the group";
    case EventKind::kEvicted:
      return "was evicted";
    default:
      return "was lost";
  }
}

Status CommOptions::validate() const {
  if (master_host.empty() || master_port == 0) {
    return invalidArgument("communicator: no master address (host:port; or set ECCL_MASTER)");
  }
  if (group.empty() || group.size() > protocol::kMaxGroupName) {
    return invalidArgument("communicator: group name must be 1.." +
                           std::to_string(protocol::kMaxGroupName) + " bytes");
  }
  if (advertise_host.size() > protocol::kMaxHostName) {
    return invalidArgument("communicator: advertised host name too long");
  }
  if (timeout.count() <= 0) return invalidArgument("communicator: timeout must be positive");
  ECCL_RETURN_IF_ERROR(validateStage(stage, num_stages));
  if (dump_signal < 0 || dump_signal >= NSIG || dump_signal == SIGKILL || dump_signal == SIGSTOP) {
    return invalidArgument("communicator: dump_signal " + std::to_string(dump_signal) +
                           " cannot be caught (0: no dump signal)");
  }
  ECCL_RETURN_IF_ERROR(collectives.validate());
  return channel.validate();
}

Result<std::unique_ptr<Communicator>> Communicator::create(CommOptions options) {
  ECCL_RETURN_IF_ERROR(transport::applyChannelEnvironment(options.channel));
  ECCL_RETURN_IF_ERROR(applyDumpSignalEnvironment(options));
  ECCL_RETURN_IF_ERROR(options.validate());
  auto comm = std::unique_ptr<Communicator>(new Communicator(std::move(options)));
  ECCL_RETURN_IF_ERROR(comm->open());
  return comm;
}

Communicator::Communicator(CommOptions options)
    : options_(std::move(options)), id_(EndpointId::random()) {}

Status Communicator::open() {
  auto transport = transport::tcp::TcpTransport::create(options_.channel, id_);
  if (!transport) return transport.status();
  transport_ = std::move(*transport);
  auto listener = transport_->listen(options_.listen_host, options_.listen_port,
                                     [this](std::unique_ptr<transport::Channel> channel) {
                                       vetAcceptedChannel(std::move(channel));
                                     });
  if (!listener) return listener.status().withContext("communicator data listener");
  listener_ = std::move(*listener);
  membership::ControlClient::Options control;
  control.master_host = options_.master_host;
  control.master_port = options_.master_port;
  control.secret = options_.channel.secret;
  control.tls = options_.channel.tls;
  membership::ControlClient::Owner& owner = *this;
  control_ = std::make_unique<membership::ControlClient>(control, owner);
  if (options_.dump_signal != 0) {
    auto registration = anomaly::dumpOnSignal(options_.dump_signal, [this] {
      logState("signal " + std::to_string(options_.dump_signal) + " asked for a dump");
    });
    if (!registration) return registration.status().withContext("communicator dump_signal");
    dump_registration_ = std::move(*registration);
  }
  return Status::ok();
}

void Communicator::sendControl(MessageType type, std::vector<uint8_t> frame) {
  std::lock_guard lock(control_mu_);
  if (control_open_) control_->send(type, std::move(frame));
}

Communicator::~Communicator() {
  // First: a callback running now may still use the comm; none runs after this.
  events_.setCallback(nullptr);
  dump_registration_.reset();  // no dump runs on a comm being taken apart
  // Outstanding collectives end at once with kAborted; nothing runs on the op
  // thread after this.
  if (ops_.outstanding() > 0) abort("the communicator was destroyed");
  // Fetches it serves end now (their fetchers get the rest from other sources).
  if (fetches_serving_.load() > 0) abort("the communicator was destroyed while serving a fetch");
  joinFetchServers(/*all=*/true);
  ops_.stop(abortedError("the communicator was destroyed"));
  bool registered;
  {
    std::lock_guard lock(mu_);
    registered = ever_registered_ && phase_ != Phase::kRemoved;
  }
  if (registered) control_->leave("communicator destroyed", kLeaveWait);
  {
    // Transport threads and control callbacks may still be about to send (a
    // channel came up, a re-vote): from here on they find the client closed.
    std::lock_guard lock(control_mu_);
    control_open_ = false;
  }
  control_.reset();  // no control callback runs after this
  std::map<EndpointId, std::shared_ptr<transport::Channel>> channels;
  std::map<EndpointId, ChannelInVetting> vetting;
  {
    std::lock_guard lock(mu_);
    setup_.reset();  // a channel failing from here on does not reconnect
    destroying_ = true;
    channels.swap(channels_);
    vetting.swap(vetting_);
  }
  for (auto& [peer, channel] : channels)
    channel->close("communicator destroyed");
  for (auto& [peer, waiting] : vetting)
    waiting.channel->close("communicator destroyed");
  channels.clear();
  vetting.clear();
  listener_.reset();
  transport_.reset();
}

// ---- Blocking calls ------------------------------------------------------------

Status Communicator::terminalStatusLocked() const {
  if (phase_ == Phase::kRemoved || phase_ == Phase::kAborted) return terminal_;
  return Status::ok();
}

Status Communicator::waitFor(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds timeout,
                             const char* what, const std::function<bool()>& done) {
  const bool finished = changed_.wait_for(lock, timeout, [&] {
    return done() || !terminalStatusLocked().isOk() || control_error_.has_value();
  });
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (control_error_) {
    Status error = *control_error_;
    control_error_.reset();
    return error.withContext(what);
  }
  if (!finished) {
    return timeoutError(std::string(what) + " did not complete within " +
                        std::to_string(timeout.count()) + " ms");
  }
  return Status::ok();
}

Status Communicator::connect(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (phase_ != Phase::kCreated) return invalidUsage("ecclCommConnect: already connected");
  phase_ = Phase::kConnecting;
  lock.unlock();
  control_->start();
  lock.lock();
  return waitFor(lock, timeout, "connecting to the master",
                 [&] { return phase_ == Phase::kAccepted; });
}

Status Communicator::updateTopology(std::chrono::milliseconds timeout) {
  // Exclusive: it waits for the ops before it and holds back the ones after it.
  auto request = ops_.submit(
      [this, timeout](coll::OpInfo*, uint64_t sequence) {
        header_turns_.done(sequence);  // it sends no op header
        return runUpdateTopology(timeout, sequence);
      },
      JobTraits{.exclusive = true});
  return request->wait();
}

Status Communicator::runUpdateTopology(std::chrono::milliseconds timeout, uint64_t sequence) {
  std::unique_lock lock(mu_);
  // The collectives after it number from 0 again (they run at the next revision).
  first_sequence_ = sequence + 1;
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (phase_ != Phase::kAccepted) {
    return invalidUsage("ecclCommUpdateTopology: this peer is not accepted into its group yet");
  }
  const uint64_t before = revision_;
  control_error_.reset();
  voting_ = true;
  lock.unlock();
  control_->send(MessageType::kTopologyVote, protocol::encodeFrame(protocol::TopologyVote{before}));
  lock.lock();
  Status status = waitFor(lock, timeout, "topology update", [&] { return revision_ > before; });
  voting_ = false;
  return status;
}

void Communicator::abort(const std::string& why) {
  std::lock_guard lock(mu_);
  if (phase_ == Phase::kAborted || phase_ == Phase::kRemoved) return;
  phase_ = Phase::kAborted;
  terminal_ = abortedError("communicator aborted: " + why);
  failAllOpsLocked(terminal_);
  changed_.notify_all();
}

// ---- Queries ---------------------------------------------------------------------

int Communicator::peersPending() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(pending_);
}

int Communicator::rank() const {
  std::lock_guard lock(mu_);
  return rank_;
}

int Communicator::worldSize() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(members_.size());
}

uint64_t Communicator::revision() const {
  std::lock_guard lock(mu_);
  return revision_;
}

std::vector<protocol::Member> Communicator::members() const {
  std::lock_guard lock(mu_);
  return members_;
}

std::optional<Event> Communicator::pollEvent() {
  return events_.poll();
}

uint64_t Communicator::eventsDropped() const {
  return events_.dropped();
}

void Communicator::setEventCallback(EventQueue::Callback callback) {
  events_.setCallback(std::move(callback));
}

// ---- Channels --------------------------------------------------------------------

std::vector<EndpointId> Communicator::ringPeersLocked(const protocol::Topology& topology) const {
  const auto& members = topology.members;
  auto me = std::find_if(members.begin(), members.end(),
                         [&](const protocol::Member& m) { return m.peer == id_; });
  std::vector<EndpointId> out;
  if (me == members.end() || members.size() < 2) return out;
  const auto n = static_cast<uint32_t>(members.size());
  const auto i = static_cast<uint32_t>(me - members.begin());
  auto add = [&](uint32_t rank) {
    const EndpointId& peer = members[rank].peer;
    if (std::find(out.begin(), out.end(), peer) == out.end()) out.push_back(peer);
  };
  add((i + 1) % n);
  add((i + n - 1) % n);
  if (options_.collectives.small_allreduce_bytes > 0) {
    for (const Exchange& x : recursiveDoublingPlan(n, i))
      add(x.partner);
  }
  return out;
}

void Communicator::progressSetupLocked(std::vector<std::function<void()>>& actions) {
  if (!setup_) return;
  bool all_up = true;
  for (const EndpointId& neighbour : ringPeersLocked(*setup_)) {
    auto channel = channels_.find(neighbour);
    if (channel != channels_.end() && channel->second->status().isOk()) continue;
    all_up = false;
    // One side of each pair connects (the smaller id), so a pair never gets two channels.
    if (id_ < neighbour && connecting_.insert(neighbour).second) {
      const auto& members = setup_->members;
      auto member = std::find_if(members.begin(), members.end(),
                                 [&](const protocol::Member& m) { return m.peer == neighbour; });
      // The transport pointer is read here, under the lock: the destructor
      // resets transport_ after it cleared setup_ under the same lock, and
      // the action may run on an I/O thread meanwhile (its destruction joins
      // that thread first).
      actions.push_back([this, transport = transport_.get(), neighbour, host = member->host,
                         port = member->port] {
        transport->connect(host, port, [this, neighbour](auto result) {
          onConnectResult(neighbour, std::move(result));
        });
      });
    }
  }
  if (all_up && ready_sent_ != setup_->revision) {
    ready_sent_ = setup_->revision;
    const uint64_t revision = setup_->revision;
    actions.push_back([this, revision] {
      sendControl(MessageType::kChannelsReady,
                  protocol::encodeFrame(protocol::ChannelsReady{revision}));
    });
  }
}

void Communicator::runActions(std::vector<std::function<void()>>& actions) {
  for (auto& action : actions)
    action();
  actions.clear();
}

void Communicator::adoptChannel(std::unique_ptr<transport::Channel> channel) {
  const EndpointId peer = channel->peer().id;
  transport::Channel* raw = channel.get();
  std::shared_ptr<transport::Channel> replaced;
  std::vector<std::function<void()>> actions;
  {
    std::lock_guard lock(mu_);
    // A connect or accept that completes during destruction must not outlive
    // the transport in channels_.
    if (destroying_ || phase_ == Phase::kAborted || phase_ == Phase::kRemoved) return;
    auto& slot = channels_[peer];
    replaced = std::move(slot);  // a channel the peer has given up on
    slot = std::move(channel);
    progressSetupLocked(actions);
    changed_.notify_all();  // a point-to-point op may wait for it
  }
  // Outside the lock: the handler may run at once if the channel has already failed.
  raw->setFailureHandler([this, peer, raw](Status why) {
    std::shared_ptr<transport::Channel> dead;  // stopped already: nothing to close
    std::vector<std::function<void()>> reconnect;
    {
      std::lock_guard lock(mu_);
      auto it = channels_.find(peer);
      if (it != channels_.end() && it->second.get() == raw) {
        ECCL_LOG_INFO("channel to peer {} ended: {}", peer.shortHex(), why.toString());
        dead = std::move(it->second);
        channels_.erase(it);
        // A ring being set up needs it again (a failed op may close channels
        // just before the update that follows it).
        if (phase_ != Phase::kAborted && phase_ != Phase::kRemoved) progressSetupLocked(reconnect);
      }
    }
    runActions(reconnect);
  });
  if (replaced) replaced->close("replaced by a new channel from the same peer");
  replaced.reset();
  runActions(actions);
}

void Communicator::onConnectResult(const EndpointId& peer,
                                   Result<std::unique_ptr<transport::Channel>> result) {
  if (result) {
    std::optional<Status> mismatch;
    {
      std::lock_guard lock(mu_);
      mismatch = connectedCertificateMismatchLocked(**result);
    }
    if (mismatch) {
      (*result)->close(mismatch->message());
      result = *mismatch;
    }
  }
  if (!result) {
    // The master notices a dead neighbour and sets up another ring; nothing to retry here.
    ECCL_LOG_WARN("cannot open a channel to peer {}: {}", peer.shortHex(),
                  result.status().toString());
  } else {
    adoptChannel(std::move(*result));
  }
  // Only now: whoever waits for the connect finds the channel pooled, or the failure.
  std::lock_guard lock(mu_);
  connecting_.erase(peer);
  if (!result) connect_failures_[peer] = result.status();
  changed_.notify_all();
}

// ---- ControlClient::Owner ----------------------------------------------------------

protocol::Register Communicator::makeRegister(const std::string& local_ip) {
  std::lock_guard lock(mu_);
  protocol::Register request;
  request.peer = id_;
  request.token = token_;  // zero until the first registration
  request.group = options_.group;
  request.host = options_.advertise_host.empty() ? local_ip : options_.advertise_host;
  request.data_port = options_.advertise_port != 0 ? options_.advertise_port : listener_->port();
  if (fetch_state_) request.flags |= protocol::Register::kFlagFetchState;
  request.stage = options_.stage;
  request.num_stages = options_.num_stages;
  if (!ever_registered_) {
    // A communicator of this process was removed from the group before: say
    // so, and the master applies that eviction's back-off to this one.
    if (auto past = pastRemoval(masterKey(), options_.group); past && past->id != id_) {
      request.flags |= protocol::Register::kFlagEvictedBefore;
      request.evicted_as = past->id;
      request.evicted_token = past->token;
      announced_removal_ = past->id;
    }
  }
  if (ever_registered_) {
    request.state = phase_ == Phase::kAccepted ? PeerState::kAccepted : PeerState::kPending;
    request.revision = revision_;
    request.rank = rank_ < 0 ? 0 : static_cast<uint32_t>(rank_);
    request.world_size = static_cast<uint32_t>(members_.size());
  }
  return request;
}

void Communicator::onRegistered(const protocol::Registered& registered) {
  std::unique_lock lock(mu_);
  token_ = registered.token;
  loss_detection_ = std::chrono::milliseconds(uint64_t{registered.heartbeat_ms} *
                                              std::max<uint16_t>(registered.miss_limit, 1));
  // A restarted master (new incarnation) forgot the vote in flight and any ring
  // it was setting up: vote again so that the waiting update completes.
  const bool master_restarted = ever_registered_ && registered.incarnation != incarnation_;
  incarnation_ = registered.incarnation;
  bool revote = false;
  bool leave = false;
  if (ever_registered_ && phase_ == Phase::kAccepted && registered.state != PeerState::kAccepted) {
    // The master no longer counts this peer in its ring (it was declared lost
    // while cut off, or evicted): this communicator's ring is gone for good.
    phase_ = Phase::kRemoved;
    terminal_ = Status(Code::kPeerLost, "this peer was removed from group '" + options_.group +
                                            "' by the master while it was cut off");
    rememberRemoval(masterKey(), options_.group, {id_, token_});
    failAllOpsLocked(terminal_);
    // The master took this registration for a newcomer's: leave, or the
    // group's next ring would wait for a member that never sets it up.
    leave = true;
  } else if (phase_ == Phase::kConnecting) {
    phase_ = Phase::kPending;
    // The master took the past removal into account: it is this one's now.
    if (!announced_removal_.isZero())
      forgetRemoval(masterKey(), options_.group, announced_removal_);
  } else if (master_restarted && phase_ == Phase::kAccepted) {
    setup_.reset();
    ready_sent_ = 0;
    revote = voting_;
  }
  ever_registered_ = true;
  const uint64_t revision = revision_;
  // Frames sent while the master was away were dropped: ask again for the
  // unanswered lookups, and (a restarted master forgot them) for the watches
  // on the point-to-point partners of other groups.
  std::vector<protocol::PeerLookup> lookups;
  for (const auto& [request, lookup] : lookups_) {
    if (!lookup.answer) lookups.push_back(lookup.request);
  }
  for (const auto& lookup : vettingLookupsLocked())
    lookups.push_back(lookup);
  if (master_restarted) {
    for (const auto& [peer, location] : p2p_addresses_) {
      protocol::PeerLookup watch;
      watch.peer = peer;  // request 0: nobody waits for the answer
      lookups.push_back(watch);
    }
  }
  // A restarted master forgot this peer's fetch request.
  std::optional<protocol::StateFetchRequest> fetch;
  if (master_restarted && fetch_state_ && !fetch_plan_) fetch = fetch_request_;
  changed_.notify_all();
  lock.unlock();
  if (leave) {
    std::lock_guard control(control_mu_);
    // On the control thread this only queues the Leave (no wait).
    if (control_open_) control_->leave("removed from its group while cut off", kNoWait);
    return;
  }
  if (fetch) sendControl(MessageType::kStateFetchRequest, protocol::encodeFrame(*fetch));
  if (revote) {
    sendControl(MessageType::kTopologyVote,
                protocol::encodeFrame(protocol::TopologyVote{revision}));
  }
  for (const auto& lookup : lookups)
    sendControl(MessageType::kPeerLookup, protocol::encodeFrame(lookup));
}

void Communicator::onTopology(const protocol::Topology& topology) {
  std::vector<std::function<void()>> actions;
  {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::kAborted || phase_ == Phase::kRemoved) return;
    for (const protocol::Member& member : topology.members)
      rememberCertificateLocked(member.peer, member.certificate);
    setup_ = topology;
    progressSetupLocked(actions);
  }
  runActions(actions);
}

void Communicator::onCommit(const protocol::TopologyCommit& commit) {
  std::lock_guard lock(mu_);
  if (!setup_ || setup_->revision != commit.revision) return;
  members_ = std::move(setup_->members);
  setup_.reset();
  departed_.clear();  // the master commits no ring with a departed member
  op_failed_.reset();
  revision_ = commit.revision;
  outcomes_.reset(revision_);
  auto me = std::find_if(members_.begin(), members_.end(),
                         [&](const protocol::Member& m) { return m.peer == id_; });
  rank_ = me == members_.end() ? -1 : static_cast<int>(me - members_.begin());
  if (phase_ == Phase::kPending || phase_ == Phase::kConnecting) {
    phase_ = Phase::kAccepted;
    first_sequence_ = ops_.nextSequence();  // admitted: its first collective is the ring's next
  }
  changed_.notify_all();
}

void Communicator::onPeerEvent(const protocol::PeerEvent& event) {
  std::shared_ptr<transport::Channel> dead;
  {
    std::lock_guard lock(mu_);
    const EventKind kind = toEventKind(event.kind);
    if (event.peer == id_) {
      phase_ = Phase::kRemoved;
      terminal_ = Status(Code::kPeerLost,
                         "the master removed this peer from group '" + options_.group + "'");
      if (kind == EventKind::kEvicted) rememberRemoval(masterKey(), options_.group, {id_, token_});
      failAllOpsLocked(terminal_);
    } else if (kind != EventKind::kJoined) {
      // A point-to-point op with it can no longer complete (a graceful leaver
      // finished its sends before leaving: they completed on both sides).
      failP2pOpsLocked(&event.peer, Status(Code::kPeerLost, "peer " + event.peer.shortHex() + " " +
                                                                departureText(kind)));
      p2p_addresses_.erase(event.peer);
      p2p_links_.erase(event.peer);
      if (p2p_departed_.size() >= kMaxQueuedEvents) p2p_departed_.clear();
      p2p_departed_[event.peer] = kind;
      // A peer that left gracefully closes its own channels once its last
      // messages are delivered: closing them here first could fail an op that
      // is finishing on both sides (our last send awaits its delivery). Only a
      // lost or evicted peer's channels are cut at once.
      const bool graceful = kind == EventKind::kLeft;
      auto it = channels_.find(event.peer);
      if (it != channels_.end() && !graceful) {
        dead = std::move(it->second);
        channels_.erase(it);
      }
      auto member = std::find_if(members_.begin(), members_.end(),
                                 [&](const protocol::Member& m) { return m.peer == event.peer; });
      if (member != members_.end()) {
        departed_[event.peer] = kind;
        if (!graceful) {
          failActiveOpsLocked(Status(Code::kPeerLost,
                                     "peer " + event.peer.shortHex() + " (rank " +
                                         std::to_string(member - members_.begin()) + ") " +
                                         departureText(kind) + " (the master said so at revision " +
                                         std::to_string(event.revision) + ")"));
        }
      }
    }
    queueEventLocked({kind, event.peer, event.revision});
  }
  if (dead) dead->close("the master says this peer is gone");
}

void Communicator::onGroupStatus(const protocol::GroupStatus& status) {
  std::lock_guard lock(mu_);
  pending_ = status.pending;
  changed_.notify_all();
}

void Communicator::onControlError(const protocol::ControlError& error) {
  bool refused = false;
  {
    std::lock_guard lock(mu_);
    control_error_ = Status(error.code, "master says: " + protocol::printable(error.text));
    // Before its first registration an error is the master refusing it (a
    // registration it cannot take, or an evicted process's back-off): the
    // comm ends there, rather than register again in the background later.
    if (phase_ == Phase::kConnecting) {
      refused = true;
      phase_ = Phase::kRemoved;
      terminal_ = control_error_->withContext("registration refused");
      failAllOpsLocked(terminal_);
    }
    changed_.notify_all();
  }
  if (refused) {
    std::lock_guard control(control_mu_);
    if (control_open_) control_->stopConnecting();
  }
}

void Communicator::onPeerAddress(const protocol::PeerAddress& address) {
  if (onVettingAnswer(address)) return;
  std::lock_guard lock(mu_);
  if (address.result != protocol::LookupResult::kUnknown) {
    rememberCertificateLocked(address.peer, address.certificate);
  }
  auto it = lookups_.find(address.request);
  if (it == lookups_.end() || it->second.answer) return;  // a watch renewal, or stale
  it->second.answer = address;
  changed_.notify_all();
}

void Communicator::onOpVerdict(const protocol::OpVerdict& verdict) {
  std::optional<protocol::OpProgress> answer;
  {
    std::lock_guard lock(mu_);
    if (verdict.decision != protocol::OpDecision::kQuery) {
      outcomes_.setVerdict(verdict.op, verdict.decision == protocol::OpDecision::kSucceeded);
      changed_.notify_all();
      return;
    }
    bool doomed_now = false;
    answer = outcomes_.answer(verdict.op, &doomed_now);
    if (doomed_now) {
      // It must not complete now: end it (its neighbours' ops end with it).
      for (const auto& op : active_ops_) {
        if (op.ref == verdict.op) {
          op.state->fail(doomedOpError("collective with tag " + std::to_string(op.ref.tag),
                                       "while its data was arriving here"));
        }
      }
    }
  }
  sendControl(MessageType::kOpReport,
              protocol::encodeFrame(protocol::OpReport{verdict.op, *answer}));
}

std::string Communicator::masterKey() const {
  return options_.master_host + ":" + std::to_string(options_.master_port);
}

void Communicator::onMasterLost(const Status& why) {
  if (why.code() == Code::kAuthError) {
    // This peer and the master hold different cluster secrets: no retry can
    // help until someone changes one, so a peer still connecting ends here.
    // (A connected peer keeps its ring and keeps retrying: an operator may be
    // restarting the master with the right secret.)
    bool refused = false;
    {
      std::lock_guard lock(mu_);
      if (phase_ == Phase::kConnecting) {
        refused = true;
        phase_ = Phase::kRemoved;
        terminal_ = why.withContext("connecting to the master " + masterKey());
        failAllOpsLocked(terminal_);
        changed_.notify_all();
      }
    }
    if (refused) {
      std::lock_guard control(control_mu_);
      if (control_open_) control_->stopConnecting();
      return;
    }
  }
  ECCL_LOG_WARN("peer {}: master connection lost ({}); reconnecting", id_.shortHex(),
                why.message());
}

}  // namespace eccl::comm
