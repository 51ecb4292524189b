#include "transport/rdma/verbs_queue_pair.h"

#include <map>
#include <mutex>

#ifdef ECCL_HAVE_IBVERBS

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include "transport/rdma/verbs_library.h"

namespace eccl::transport::rdma {
namespace {

// Receives posted ahead: one is consumed by each write with an immediate.
constexpr uint32_t kReceiveSlots = 512;
constexpr uint32_t kSendSlots = 256;
constexpr uint64_t kSendId = 0;
constexpr uint64_t kReceiveId = 1;

Status verbsError(const std::string& what, int err = errno) {
  return connectionError(what + ": " + std::strerror(err != 0 ? err : EIO));
}

// Page-aligned memory that registration can pin.
struct PageBuffer {
  void* data = MAP_FAILED;
  size_t bytes = 0;
  explicit PageBuffer(size_t size) : bytes(size) {
    data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  ~PageBuffer() {
    if (data != MAP_FAILED) ::munmap(data, bytes);
  }
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  bool ok() const { return data != MAP_FAILED; }
  uint8_t* bytesAt() const { return static_cast<uint8_t*>(data); }
};

// The device and protection domain every queue pair of the factory shares.
class VerbsPort {
 public:
  VerbsPort(const VerbsLibrary& verbs, RdmaPort port) : verbs_(verbs), port_(std::move(port)) {}
  ~VerbsPort() {
    if (pd_ != nullptr) verbs_.dealloc_pd(pd_);
    if (context_ != nullptr) verbs_.close_device(context_);
  }
  VerbsPort(const VerbsPort&) = delete;
  VerbsPort& operator=(const VerbsPort&) = delete;

  Status open() {
    int count = 0;
    ibv_device** devices = verbs_.get_device_list(&count);
    if (devices == nullptr) return verbsError("ibv_get_device_list");
    for (int d = 0; d < count && context_ == nullptr; ++d) {
      if (port_.device == verbs_.get_device_name(devices[d])) {
        context_ = verbs_.open_device(devices[d]);
      }
    }
    verbs_.free_device_list(devices);
    if (context_ == nullptr) return verbsError("opening RDMA device " + port_.device);
    pd_ = verbs_.alloc_pd(context_);
    if (pd_ == nullptr) return verbsError("ibv_alloc_pd on " + port_.device);
    return Status::ok();
  }

  const VerbsLibrary& verbs() const { return verbs_; }
  const RdmaPort& port() const { return port_; }
  ibv_context* context() const { return context_; }
  ibv_pd* pd() const { return pd_; }

 private:
  const VerbsLibrary& verbs_;
  const RdmaPort port_;
  ibv_context* context_ = nullptr;
  ibv_pd* pd_ = nullptr;
};

class VerbsQueuePair final : public QueuePair {
 public:
  explicit VerbsQueuePair(std::shared_ptr<VerbsPort> port) : port_(std::move(port)) {}

  ~VerbsQueuePair() override {
    const VerbsLibrary& verbs = port_->verbs();
    if (qp_ != nullptr) verbs.destroy_qp(qp_);
    if (cq_ != nullptr) {
      if (unacked_events_ > 0) verbs.ack_cq_events(cq_, unacked_events_);
      verbs.destroy_cq(cq_);
    }
    if (channel_ != nullptr) verbs.destroy_comp_channel(channel_);
    for (ibv_mr* mr : {ring_mr_, credit_mr_, credit_out_mr_, staging_mr_}) {
      if (mr != nullptr) verbs.dereg_mr(mr);
    }
  }

  Status create(uint64_t ring_bytes) {
    const VerbsLibrary& verbs = port_->verbs();
    ring_ = std::make_unique<PageBuffer>(ring_bytes);
    words_ = std::make_unique<PageBuffer>(4096);  // the credit word and its outgoing copy
    if (!ring_->ok() || !words_->ok()) return verbsError("mapping RDMA buffers");
    const int remote = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
    ring_mr_ = verbs.reg_mr(port_->pd(), ring_->data, ring_bytes, remote);
    credit_mr_ = verbs.reg_mr(port_->pd(), words_->bytesAt(), 8, remote);
    credit_out_mr_ = verbs.reg_mr(port_->pd(), words_->bytesAt() + 64, 8, IBV_ACCESS_LOCAL_WRITE);
    if (ring_mr_ == nullptr || credit_mr_ == nullptr || credit_out_mr_ == nullptr) {
      return verbsError("registering RDMA buffers");
    }
    channel_ = verbs.create_comp_channel(port_->context());
    if (channel_ == nullptr) return verbsError("ibv_create_comp_channel");
    const int flags = ::fcntl(channel_->fd, F_GETFL);
    if (flags < 0 || ::fcntl(channel_->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
      return verbsError("making the completion channel non-blocking");
    }
    cq_ = verbs.create_cq(port_->context(), kSendSlots + kReceiveSlots, nullptr, channel_, 0);
    if (cq_ == nullptr) return verbsError("ibv_create_cq");
    if (ibv_req_notify_cq(cq_, 0) != 0) return verbsError("ibv_req_notify_cq");

    ibv_qp_init_attr init{};
    init.send_cq = cq_;
    init.recv_cq = cq_;
    init.qp_type = IBV_QPT_RC;
    init.cap.max_send_wr = kSendSlots;
    init.cap.max_recv_wr = kReceiveSlots;
    init.cap.max_send_sge = 1;
    init.cap.max_recv_sge = 1;
    qp_ = verbs.create_qp(port_->pd(), &init);
    if (qp_ == nullptr) return verbsError("ibv_create_qp");

    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_INIT;
    attr.pkey_index = 0;
    attr.port_num = port_->port().port;
    attr.qp_access_flags = IBV_ACCESS_REMOTE_WRITE;
    if (int err = verbs.modify_qp(
            qp_, &attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
        err != 0) {
      return verbsError("moving the queue pair to INIT", err);
    }
    for (uint32_t i = 0; i < kReceiveSlots; ++i) {
      ECCL_RETURN_IF_ERROR(postReceive());
    }

    std::random_device random;
    const RdmaPort& p = port_->port();
    address_.link_layer = p.link_layer;
    address_.mtu = p.active_mtu;
    address_.lid = p.lid;
    address_.gid = p.gid;
    address_.qp_number = qp_->qp_num;
    address_.first_psn = random() & 0xFFFFFF;
    address_.ring = {reinterpret_cast<uintptr_t>(ring_->data), ring_mr_->rkey, ring_bytes};
    address_.credit = {reinterpret_cast<uintptr_t>(words_->data), credit_mr_->rkey, 8};
    return Status::ok();
  }

  const QueuePairAddress& address() const override { return address_; }

  Status connect(const QueuePairAddress& remote) override {
    ECCL_RETURN_IF_ERROR(checkReachable(port_->port(), remote));
    const VerbsLibrary& verbs = port_->verbs();
    remote_ = remote;
    staging_ = std::make_unique<PageBuffer>(remote.ring.bytes);
    if (!staging_->ok()) return verbsError("mapping the RDMA staging buffer");
    staging_mr_ =
        verbs.reg_mr(port_->pd(), staging_->data, remote.ring.bytes, IBV_ACCESS_LOCAL_WRITE);
    if (staging_mr_ == nullptr) return verbsError("registering the RDMA staging buffer");

    ibv_qp_attr rtr{};
    rtr.qp_state = IBV_QPS_RTR;
    rtr.path_mtu = static_cast<ibv_mtu>(pathMtu(port_->port(), remote));
    rtr.dest_qp_num = remote.qp_number;
    rtr.rq_psn = remote.first_psn;
    rtr.max_dest_rd_atomic = 1;
    rtr.min_rnr_timer = 12;
    rtr.ah_attr.port_num = port_->port().port;
    if (remote.link_layer == LinkLayer::kInfiniBand) {
      rtr.ah_attr.dlid = remote.lid;
    } else {
      rtr.ah_attr.is_global = 1;
      std::memcpy(rtr.ah_attr.grh.dgid.raw, remote.gid.data(), remote.gid.size());
      rtr.ah_attr.grh.sgid_index = static_cast<uint8_t>(port_->port().gid_index);
      rtr.ah_attr.grh.hop_limit = 64;
    }
    if (int err =
            verbs.modify_qp(qp_, &rtr,
                            IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
                                IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
        err != 0) {
      return verbsError("moving the queue pair to RTR", err);
    }
    ibv_qp_attr rts{};
    rts.qp_state = IBV_QPS_RTS;
    rts.timeout = 14;   // 4.096 us * 2^14 = 67 ms per try
    rts.retry_cnt = 7;  // then the write fails: the other end is gone
    rts.rnr_retry = 7;  // "forever": the other end always has receives posted
    rts.sq_psn = address_.first_psn;
    rts.max_rd_atomic = 1;
    if (int err = verbs.modify_qp(qp_, &rts,
                                  IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
                                      IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
        err != 0) {
      return verbsError("moving the queue pair to RTS", err);
    }
    return Status::ok();
  }

  std::span<uint8_t> receiveRing() override { return {ring_->bytesAt(), ring_->bytes}; }
  std::span<uint8_t> sendStaging() override {
    if (!staging_) return {};
    return {staging_->bytesAt(), staging_->bytes};
  }
  uint64_t creditWord() const override {
    return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(words_->data))
        .load(std::memory_order_acquire);
  }

  Status postWrite(uint64_t offset, uint64_t bytes, std::optional<uint32_t> immediate) override {
    if (!staging_ || offset + bytes > staging_->bytes) {
      return invalidArgument("an RDMA write outside the other end's ring");
    }
    ibv_sge sge{};
    sge.addr = reinterpret_cast<uintptr_t>(staging_->bytesAt() + offset);
    sge.length = static_cast<uint32_t>(bytes);
    sge.lkey = staging_mr_->lkey;
    return post(sge, bytes > 0, remote_.ring.address + offset, remote_.ring.rkey, immediate);
  }

  Status postCredit(uint64_t value, uint32_t immediate) override {
    // The NIC reads the word when it sends: a later credit may overwrite an
    // earlier one still queued, which only makes that one newer.
    uint64_t* out = reinterpret_cast<uint64_t*>(words_->bytesAt() + 64);
    std::atomic_ref<uint64_t>(*out).store(value, std::memory_order_release);
    ibv_sge sge{};
    sge.addr = reinterpret_cast<uintptr_t>(out);
    sge.length = sizeof(uint64_t);
    sge.lkey = credit_out_mr_->lkey;
    return post(sge, true, remote_.credit.address, remote_.credit.rkey, immediate);
  }

  uint32_t sendSlots() const override { return kSendSlots; }
  int eventFd() const override { return channel_->fd; }

  Status poll(std::vector<QueuePairEvent>& out) override {
    if (!failure_.isOk()) return failure_;
    const VerbsLibrary& verbs = port_->verbs();
    ibv_cq* event_cq = nullptr;
    void* event_context = nullptr;
    if (verbs.get_cq_event(channel_, &event_cq, &event_context) == 0) {
      // Acknowledged in batches: ibv_destroy_cq waits for every event to be.
      if (++unacked_events_ >= 64) {
        verbs.ack_cq_events(cq_, unacked_events_);
        unacked_events_ = 0;
      }
    }
    // Re-armed before polling: a completion after the poll below raises a new event.
    if (ibv_req_notify_cq(cq_, 0) != 0) return failure_ = verbsError("ibv_req_notify_cq");
    ibv_wc completions[32];
    for (;;) {
      const int n = ibv_poll_cq(cq_, 32, completions);
      if (n < 0) return failure_ = verbsError("ibv_poll_cq");
      for (int i = 0; i < n; ++i) {
        const ibv_wc& wc = completions[i];
        if (wc.status != IBV_WC_SUCCESS) {
          // The opcode is undefined then; the work request id says which it was.
          return failure_ = connectionError(
                     std::string("an RDMA ") + (wc.wr_id == kReceiveId ? "receive" : "write") +
                     " failed (work completion status " + std::to_string(wc.status) +
                     "): the other end is gone or refused it");
        }
        if (wc.opcode == IBV_WC_RECV_RDMA_WITH_IMM) {
          out.push_back({QueuePairEvent::Kind::kImmediate, ntohl(wc.imm_data)});
          ECCL_RETURN_IF_ERROR(postReceive());
        } else {
          out.push_back({QueuePairEvent::Kind::kSent, 0});
        }
      }
      if (n < 32) return Status::ok();
    }
  }

 private:
  Status post(ibv_sge& sge, bool with_sge, uint64_t remote_address, uint32_t rkey,
              std::optional<uint32_t> immediate) {
    ibv_send_wr wr{};
    ibv_send_wr* bad = nullptr;
    wr.wr_id = kSendId;
    wr.sg_list = with_sge ? &sge : nullptr;
    wr.num_sge = with_sge ? 1 : 0;
    wr.opcode = immediate ? IBV_WR_RDMA_WRITE_WITH_IMM : IBV_WR_RDMA_WRITE;
    wr.send_flags = IBV_SEND_SIGNALED;
    if (immediate) wr.imm_data = htonl(*immediate);
    wr.wr.rdma.remote_addr = remote_address;
    wr.wr.rdma.rkey = rkey;
    if (int err = ibv_post_send(qp_, &wr, &bad); err != 0) return verbsError("ibv_post_send", err);
    return Status::ok();
  }

  Status postReceive() {
    ibv_recv_wr wr{};
    ibv_recv_wr* bad = nullptr;
    wr.wr_id = kReceiveId;
    wr.num_sge = 0;  // writes with an immediate consume a receive but place nothing
    if (int err = ibv_post_recv(qp_, &wr, &bad); err != 0) return verbsError("ibv_post_recv", err);
    return Status::ok();
  }

  std::shared_ptr<VerbsPort> port_;
  std::unique_ptr<PageBuffer> ring_;
  std::unique_ptr<PageBuffer> words_;
  std::unique_ptr<PageBuffer> staging_;
  ibv_mr* ring_mr_ = nullptr;
  ibv_mr* credit_mr_ = nullptr;
  ibv_mr* credit_out_mr_ = nullptr;
  ibv_mr* staging_mr_ = nullptr;
  ibv_comp_channel* channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
  ibv_qp* qp_ = nullptr;
  unsigned int unacked_events_ = 0;
  QueuePairAddress address_;
  QueuePairAddress remote_;
  Status failure_;
};

class VerbsFactory final : public QueuePairFactory {
 public:
  explicit VerbsFactory(std::shared_ptr<VerbsPort> port) : port_(std::move(port)) {}
  Result<std::unique_ptr<QueuePair>> create(uint64_t ring_bytes) override {
    auto qp = std::make_unique<VerbsQueuePair>(port_);
    ECCL_RETURN_IF_ERROR(qp->create(ring_bytes));
    return std::unique_ptr<QueuePair>(std::move(qp));
  }
  const RdmaPort& port() const override { return port_->port(); }

 private:
  std::shared_ptr<VerbsPort> port_;
};

}  // namespace

Result<std::shared_ptr<QueuePairFactory>> verbsQueuePairs(std::optional<uint32_t> gid_index) {
  auto ports = usableRdmaPorts(gid_index);
  if (!ports) return ports.status();
  auto loaded = verbsLibrary();
  if (!loaded) return loaded.status();
  auto port = std::make_shared<VerbsPort>(**loaded, ports->front());
  ECCL_RETURN_IF_ERROR(port->open());
  return std::shared_ptr<QueuePairFactory>(std::make_shared<VerbsFactory>(std::move(port)));
}

}  // namespace eccl::transport::rdma

#else

namespace eccl::transport::rdma {

Result<std::shared_ptr<QueuePairFactory>> verbsQueuePairs(std::optional<uint32_t>) {
  return unsupportedError("this build of ECCL has no RDMA (built without the libibverbs headers)");
}

}  // namespace eccl::transport::rdma

#endif  // ECCL_HAVE_IBVERBS

namespace eccl::transport::rdma {

Result<std::shared_ptr<QueuePairFactory>> sharedVerbsQueuePairs(std::optional<uint32_t> gid_index) {
  static std::mutex mu;
  static std::map<std::optional<uint32_t>, Result<std::shared_ptr<QueuePairFactory>>> made;
  std::lock_guard lock(mu);
  auto it = made.find(gid_index);
  if (it == made.end()) it = made.emplace(gid_index, verbsQueuePairs(gid_index)).first;
  return it->second;
}

}  // namespace eccl::transport::rdma
