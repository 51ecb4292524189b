#include "transport/tcp/tcp_transport.h"

#include <set>
#include <thread>

#include "src/common/log.h"
#include "transport/tcp/handshake.h"

namespace eccl::transport::tcp {
namespace {

class TcpListener final : public Listener {
 public:
  explicit TcpListener(std::shared_ptr<Acceptor> acceptor) : acceptor_(std::move(acceptor)) {}
  ~TcpListener() override { acceptor_->close(); }
  uint16_t port() const override { return acceptor_->port(); }
  std::string address() const override { return acceptor_->address(); }

 private:
  std::shared_ptr<Acceptor> acceptor_;
};

}  // namespace

Result<std::unique_ptr<TcpTransport>> TcpTransport::create(ChannelOptions options, EndpointId id) {
  ECCL_RETURN_IF_ERROR(options.validate());
  if (id.isZero()) return invalidArgument("transport endpoint id must not be zero");
  return std::unique_ptr<TcpTransport>(new TcpTransport(std::move(options), id));
}

TcpTransport::TcpTransport(ChannelOptions options, EndpointId id)
    : io_(std::make_unique<IoPool>(options.io_threads)),
      context_(std::make_shared<EndpointContext>(*io_, std::move(options), id)) {}

TcpTransport::~TcpTransport() {
  // A connector or acceptor may hand over a channel while it is shut down:
  // the channel is tracked before the object counts as quiesced, so another
  // look at the live objects finds it. Until no new object appears, or the
  // deadline (the held pointers keep addresses from being reused).
  std::vector<std::shared_ptr<Stoppable>> held;
  std::set<const Stoppable*> stopped;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  const bool on_io_thread = io_->onIoThread();
  if (on_io_thread) {
    ECCL_LOG_ERROR("TcpTransport destroyed on its own I/O thread; connections are cut, not closed");
  }
  while (true) {
    std::vector<std::shared_ptr<Stoppable>> fresh;
    for (auto& object : context_->liveObjects()) {
      if (stopped.insert(object.get()).second) fresh.push_back(object);
    }
    if (fresh.empty()) break;
    for (const auto& object : fresh)
      object->shutdown(abortedError("transport shut down"));
    held.insert(held.end(), fresh.begin(), fresh.end());
    if (on_io_thread) break;
    // Let the connections close in order (callbacks run, sockets shut down).
    for (const auto& object : fresh) {
      while (!object->quiesced() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  io_->stop();
}

Result<std::unique_ptr<Listener>> TcpTransport::listen(const std::string& host, uint16_t port,
                                                       AcceptCallback on_channel) {
  auto acceptor = Acceptor::open(context_, host, port, std::move(on_channel));
  if (!acceptor) return acceptor.status();
  context_->track(*acceptor);
  (*acceptor)->start();
  return std::unique_ptr<Listener>(std::make_unique<TcpListener>(std::move(*acceptor)));
}

void TcpTransport::connect(const std::string& host, uint16_t port, ConnectCallback done) {
  auto connector = std::make_shared<Connector>(context_, host, port, std::move(done));
  context_->track(connector);
  connector->start();
}

}  // namespace eccl::transport::tcp
