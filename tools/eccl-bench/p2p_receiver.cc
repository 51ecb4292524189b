// The receiving process of `eccl-bench p2p` (see p2p_protocol.h).
#include <sys/prctl.h>

#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>

#include "src/common/log.h"
#include "tools/eccl-bench/completion.h"
#include "tools/eccl-bench/p2p.h"
#include "tools/eccl-bench/p2p_protocol.h"
#include "tools/eccl-bench/pattern.h"
#include "transport/channel_env.h"
#include "transport/tcp/tcp_transport.h"

namespace eccl::tools::bench {
namespace {

using transport::Channel;

// Holds the first channel the listener assembles.
class FirstChannel {
 public:
  transport::AcceptCallback callback() {
    return [this](std::unique_ptr<Channel> channel) {
      std::lock_guard lock(mu_);
      if (channel_) {
        ECCL_LOG_WARN("p2p receiver: dropping an extra channel from {}",
                      channel->peer().describe());
        return;
      }
      channel_ = std::move(channel);
      cv_.notify_all();
    };
  }
  std::unique_ptr<Channel> wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return channel_ != nullptr; });
    return std::move(channel_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<Channel> channel_;
};

void report(const std::string& line) {
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

class Receiver {
 public:
  explicit Receiver(const P2pReceiverOptions& options)
      : options_(options), buffer_(std::make_unique_for_overwrite<uint8_t[]>(options.size)) {}

  // Runs every iteration; the first transport error, if any. Verification
  // failures are counted, not errors. After an error the channel may still
  // hold this object's buffers: close it before destroying the Receiver.
  Status run(Channel& channel) {
    const std::span<uint8_t> data(buffer_.get(), options_.size);
    for (uint64_t i = 0; i < options_.iterations; ++i) {
      Completion received;
      channel.recv(p2p::dataStream(i), data, received.callback());
      ECCL_RETURN_IF_ERROR(sendReady(channel, i));
      ECCL_RETURN_IF_ERROR(received.wait(waitLimit(), "receiving iteration " + std::to_string(i)));
      // The ack stops the sender's clock; it must leave before verification.
      ack_message_ = p2p::encodeControl(i);
      Completion ack_sent;
      channel.send(p2p::ackStream(i), ack_message_, ack_sent.callback());
      verify(data, i);
      ECCL_RETURN_IF_ERROR(ack_sent.wait(waitLimit(), "sending ack " + std::to_string(i)));
    }
    return sendReady(channel, options_.iterations);
  }

  uint64_t failures() const { return failures_; }
  const std::string& firstFailure() const { return first_failure_; }

 private:
  // The sender may run a comparator between two iterations: waits cover that too.
  std::chrono::milliseconds waitLimit() const { return options_.timeout * 3; }

  // "Ready for iteration i", with the verification failures so far.
  Status sendReady(Channel& channel, uint64_t iteration) {
    ready_message_ = p2p::encodeControl(failures_);
    Completion sent;
    channel.send(p2p::readyStream(iteration), ready_message_, sent.callback());
    // Small, and the sender posts for it early: this completes within a round trip.
    return sent.wait(waitLimit(), "sending ready " + std::to_string(iteration));
  }

  void verify(std::span<const uint8_t> data, uint64_t iteration) {
    const auto mismatch = checkPattern(data, iterationSeed(options_.seed, iteration));
    if (!mismatch) return;
    char text[256];
    std::snprintf(text, sizeof(text),
                  "iteration %" PRIu64 ": byte %" PRIu64 " of %" PRIu64
                  " is 0x%02x, expected 0x%02x (%" PRIu64 " of %" PRIu64 " 8-byte words wrong)",
                  iteration, mismatch->offset, static_cast<uint64_t>(data.size()), mismatch->actual,
                  mismatch->expected, mismatch->bad_words,
                  static_cast<uint64_t>((data.size() + 7) / 8));
    std::fprintf(stderr, "eccl-bench p2p receiver: %s\n", text);
    if (failures_++ == 0) first_failure_ = text;
  }

  const P2pReceiverOptions& options_;
  std::unique_ptr<uint8_t[]> buffer_;
  p2p::ControlMessage ready_message_{};
  p2p::ControlMessage ack_message_{};
  uint64_t failures_ = 0;
  std::string first_failure_;
};

}  // namespace

int runP2pReceiver(const P2pReceiverOptions& options) {
  // Exec'd as /proc/self/exe, it would show as "exe" in ps, top and perf.
  prctl(PR_SET_NAME, "eccl-bench-recv");
  transport::ChannelOptions channel_options;
  channel_options.connections = options.connections;
  channel_options.chunk_bytes = options.chunk_bytes;
  channel_options.io_threads = options.io_threads;
  auto choice = transport::parseTransportChoice(options.transport, "--transport");
  if (!choice) {
    report(p2p::kResultFailPrefix + choice.status().toString());
    return 2;
  }
  channel_options.transport = *choice;
  auto transport = transport::tcp::TcpTransport::create(channel_options);
  if (!transport) {
    report(p2p::kResultFailPrefix + transport.status().toString());
    return 2;
  }
  FirstChannel accepted;
  auto listener = (*transport)->listen(options.host, 0, accepted.callback());
  if (!listener) {
    report(p2p::kResultFailPrefix + listener.status().toString());
    return 2;
  }
  report(p2p::kPortLinePrefix + std::to_string((*listener)->port()));

  std::unique_ptr<Channel> channel = accepted.wait(options.timeout);
  if (!channel) {
    report(std::string(p2p::kResultFailPrefix) + "no channel was connected within " +
           std::to_string(options.timeout.count()) + " ms");
    return 2;
  }
  Completion closed;
  channel->setFailureHandler(closed.callback());

  Receiver receiver(options);
  Status status = receiver.run(*channel);
  if (status) {
    // The sender closes once it has the final count; closing first could
    // abort its last receive.
    if (!closed.done() && channel->status()) {
      (void)closed.wait(options.timeout, "waiting for the sender to close");
    }
  }
  channel.reset();
  listener->reset();
  transport->reset();

  if (!status) {
    report(p2p::kResultFailPrefix + status.toString());
    return 2;
  }
  if (receiver.failures() > 0) {
    report(p2p::kResultFailPrefix + std::to_string(receiver.failures()) + " of " +
           std::to_string(options.iterations) +
           " iterations had wrong bytes; first: " + receiver.firstFailure());
    return 1;
  }
  report(p2p::kResultOk);
  return 0;
}

}  // namespace eccl::tools::bench
