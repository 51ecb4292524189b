// The sending side and driver of `eccl-bench p2p` (protocol: p2p_protocol.h).
#include "tools/eccl-bench/p2p.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <random>

#include "src/common/log.h"
#include "tools/common/child_process.h"
#include "tools/eccl-bench/completion.h"
#include "tools/eccl-bench/iperf3.h"
#include "tools/eccl-bench/p2p_protocol.h"
#include "tools/eccl-bench/p2p_report.h"
#include "tools/eccl-bench/pattern.h"
#include "tools/eccl-bench/progress.h"
#include "tools/eccl-bench/size_parse.h"
#include "transport/channel_env.h"
#include "transport/tcp/tcp_transport.h"

namespace eccl::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using transport::Channel;

constexpr milliseconds kExitGrace{5'000};

milliseconds remaining(Clock::time_point deadline) {
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

transport::ChannelOptions channelOptions(const P2pOptions& options) {
  transport::ChannelOptions channel;
  channel.connections = options.connections;
  channel.max_connections_for_rtt = 0;  // the row measures exactly K
  channel.chunk_bytes = options.chunk_bytes;
  channel.hedge_tail_chunks = options.hedge;
  channel.notsent_lowat = options.notsent_lowat;
  channel.io_threads = options.io_threads;
  // main.cc checked the value.
  auto choice = transport::parseTransportChoice(options.transport, "--transport");
  channel.transport = choice ? *choice : transport::TransportChoice::kTcp;
  return channel;
}

// The receiving process (this binary, hidden subcommand p2p-receiver).
class ReceiverProcess {
 public:
  static Result<std::unique_ptr<ReceiverProcess>> start(const P2pOptions& options, uint64_t size,
                                                        uint64_t iterations, uint64_t seed) {
    SpawnOptions spawn;
    spawn.program = kSelfExecutable;
    spawn.argv = {"eccl-bench",    "p2p-receiver",
                  "--size",        std::to_string(size),
                  "--connections", std::to_string(options.connections),
                  "--chunk",       std::to_string(options.chunk_bytes),
                  "--host",        options.host,
                  "--iterations",  std::to_string(iterations),
                  "--seed",        std::to_string(seed),
                  "--timeout-ms",  std::to_string(options.timeout.count()),
                  "--io-threads",  std::to_string(options.io_threads),
                  "--transport",   options.transport};
    spawn.name = "the receiver";
    spawn.stdout_to = ChildOutput::kPipe;
    auto process = ChildProcess::spawn(spawn);
    if (!process) return process.status().withContext("starting the receiver");
    auto receiver = std::unique_ptr<ReceiverProcess>(new ReceiverProcess(std::move(*process)));
    auto line = receiver->process_->readLine(options.timeout);
    if (!line) return receiver->failure(line.status().message(), kExitGrace);
    const std::string_view prefix = p2p::kPortLinePrefix;
    if (!line->starts_with(prefix)) return receiver->failure(said(*line), kExitGrace);
    unsigned port = 0;
    const auto parsed =
        std::from_chars(line->data() + prefix.size(), line->data() + line->size(), port);
    if (parsed.ec != std::errc() || port == 0 || port > 65535) {
      return receiver->failure(said(*line), kExitGrace);
    }
    receiver->port_ = static_cast<uint16_t>(port);
    return receiver;
  }

  uint16_t port() const { return port_; }

  // Its verdict ("result ..." line) and exit status, once the sender is done.
  // `timeout` bounds the whole: its last line, its exit, and killing it if need be.
  Status finish(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    auto line = process_->readLine(timeout);
    auto exit = process_->wait(remaining(deadline));
    if (line && *line == p2p::kResultOk && exit && ChildProcess::exitedCleanly(*exit)) {
      return Status::ok();
    }
    return failure(line ? said(*line) : line.status().message(), remaining(deadline));
  }

 private:
  explicit ReceiverProcess(std::unique_ptr<ChildProcess> process) : process_(std::move(process)) {}

  // A line the receiver wrote, as an error text.
  static std::string said(std::string_view line) {
    const std::string_view fail = p2p::kResultFailPrefix;
    if (line.starts_with(fail)) line.remove_prefix(fail.size());
    return "the receiver reports: " + std::string(line);
  }

  // What went wrong plus how the receiver ended. It gets `grace` to exit by
  // itself; then it is killed outright (it holds nothing worth a SIGTERM).
  Status failure(const std::string& what, milliseconds grace) {
    if (!process_->reaped() && !process_->wait(grace)) process_->stop(milliseconds(0));
    return Status(Code::kInternalError,
                  what + " (receiver " + ChildProcess::describeExit(process_->waitStatus()) + ")");
  }

  std::unique_ptr<ChildProcess> process_;
  uint16_t port_ = 0;
};

// The sender's channel and buffers for one message size.
class SenderSession {
 public:
  SenderSession(const P2pOptions& options, uint64_t size, uint64_t seed)
      : options_(options),
        size_(size),
        seed_(seed),
        buffer_(std::make_unique_for_overwrite<uint8_t[]>(size)) {}

  ~SenderSession() {
    // The channel goes before the buffers it may still reference, the transport after it.
    channel_.reset();
    transport_.reset();
  }

  Status connect(uint16_t port) {
    auto transport = transport::tcp::TcpTransport::create(channelOptions(options_));
    if (!transport) return transport.status();
    transport_ = std::move(*transport);
    auto channel = transport_->connectAndWait(options_.host, port);
    if (!channel) return channel.status().withContext("connecting to the receiver");
    channel_ = std::move(*channel);
    channel_->setFailureHandler(stopped_.callback());
    channel_->recv(p2p::readyStream(0), ready_message_, ready_.callback());
    return Status::ok();
  }

  // One transfer; its time from the first send to the ack's arrival.
  Result<double> iterate(uint64_t iteration) {
    const std::span<uint8_t> data(buffer_.get(), size_);
    // Filled before waiting for "ready": it overlaps the receiver's verification.
    fillPattern(data, iterationSeed(seed_, iteration));
    const std::string name = "iteration " + std::to_string(iteration);
    ECCL_RETURN_IF_ERROR(ready_.wait(options_.timeout, "waiting for the receiver (" + name + ")"));
    receiver_failures_ = p2p::decodeControl(ready_message_);

    ready_ = Completion();
    channel_->recv(p2p::readyStream(iteration + 1), ready_message_, ready_.callback());
    Completion acked, sent;
    channel_->recv(p2p::ackStream(iteration), ack_message_, acked.callback());

    const auto start = Clock::now();
    channel_->send(p2p::dataStream(iteration), data, sent.callback());
    Status ack_status = acked.wait(options_.timeout, "ack of " + name);
    const auto stop = Clock::now();
    ECCL_RETURN_IF_ERROR(ack_status);
    ECCL_RETURN_IF_ERROR(sent.wait(options_.timeout, "sending " + name));
    if (p2p::decodeControl(ack_message_) != iteration) {
      return internalError("ack of " + name + " carries iteration " +
                           std::to_string(p2p::decodeControl(ack_message_)));
    }
    return std::chrono::duration<double>(stop - start).count();
  }

  // Takes the receiver's final count, then closes the channel.
  Status finish() {
    Status last = ready_.wait(options_.timeout, "waiting for the receiver's final report");
    if (last) receiver_failures_ = p2p::decodeControl(ready_message_);
    stats_ = channel_->stats();
    channel_->close("benchmark finished");
    // close() only queues the Goodbye: wait until it is out, so that the
    // receiver sees a clean close rather than a dropped connection.
    (void)stopped_.wait(kExitGrace, "closing the channel");
    channel_.reset();
    transport_.reset();
    return last;
  }

  uint64_t receiverFailures() const { return receiver_failures_; }
  const transport::ChannelStats& stats() const { return stats_; }

 private:
  const P2pOptions& options_;
  const uint64_t size_;
  const uint64_t seed_;
  std::unique_ptr<uint8_t[]> buffer_;
  p2p::ControlMessage ready_message_{};
  p2p::ControlMessage ack_message_{};
  Completion ready_;
  Completion stopped_;  // the channel's failure handler: it has stopped
  uint64_t receiver_failures_ = 0;
  transport::ChannelStats stats_;
  std::unique_ptr<transport::tcp::TcpTransport> transport_;
  std::unique_ptr<Channel> channel_;
};

std::string describeStats(const transport::ChannelStats& stats) {
  std::string text = "messages sent " + std::to_string(stats.messages_sent) + ", eager chunks " +
                     std::to_string(stats.eager_chunks_sent) + ", hedged chunks " +
                     std::to_string(stats.hedged_chunks_sent) + ", payload bytes sent " +
                     std::to_string(stats.payload_bytes_sent) + "; per connection MiB sent:";
  for (const auto& connection : stats.connections) {
    text.push_back(' ');
    text += std::to_string(connection.bytes_sent >> 20);
  }
  return text;
}

// Measures one message size: ECCL and the comparator in alternating rounds.
class SizeBenchmark {
 public:
  SizeBenchmark(const P2pOptions& options, uint64_t size, const std::string& iperf3_binary,
                ProgressLine& progress)
      : options_(options), size_(size), iperf3_binary_(iperf3_binary), progress_(progress) {
    row_.connections = options.connections;
    row_.bytes = size;
    row_.chunk_bytes = options.chunk_bytes;
    row_.warmup = options.warmup;
    row_.rounds = options.rounds;
    if (!options.compare.empty()) {
      row_.comparator = ComparatorRuns{options.compare, size * options.iters, {}, {}};
      if (iperf3_binary.empty()) row_.comparator->error = "iperf3 is not on PATH";
    }
  }

  P2pRow run() {
    Status status = measure();
    row_.ok = status.isOk();
    if (!status) row_.error = status.toString();
    return std::move(row_);
  }

 private:
  Status measure() {
    const uint64_t total = static_cast<uint64_t>(options_.warmup) +
                           static_cast<uint64_t>(options_.rounds) * options_.iters;
    std::random_device random;
    const uint64_t seed = (uint64_t{random()} << 32) | random();
    auto receiver = ReceiverProcess::start(options_, size_, total, seed);
    if (!receiver) return receiver.status();
    uint64_t receiver_failures = 0;
    Status sent = sendAll((*receiver)->port(), seed, receiver_failures);
    // With the channel closed, a receiver that is still waiting gives up at once.
    Status verdict = (*receiver)->finish(sent ? options_.timeout : kExitGrace);
    if (!sent) {
      return verdict ? sent : Status(sent.code(), sent.message() + "; " + verdict.message());
    }
    if (!verdict) return verdict;
    if (receiver_failures > 0) {
      return internalError("the receiver counted " + std::to_string(receiver_failures) +
                           " iterations with wrong bytes but reported success");
    }
    return Status::ok();
  }

  // Every iteration of every round, then the receiver's final failure count.
  Status sendAll(uint16_t port, uint64_t seed, uint64_t& receiver_failures) {
    SenderSession session(options_, size_, seed);
    ECCL_RETURN_IF_ERROR(session.connect(port));
    uint64_t iteration = 0;
    for (int round = 0; round < options_.rounds; ++round) {
      // Odd rounds run the comparator first, so that drift favours neither.
      const bool comparator_first = round % 2 == 1;
      if (comparator_first) runComparator(round);
      const int untimed = round == 0 ? options_.warmup : 0;
      for (int i = 0; i < untimed + options_.iters; ++i, ++iteration) {
        const bool warmup = i < untimed;
        showProgress(round, std::string(warmup ? "eccl warm-up " : "eccl iteration ") +
                                std::to_string(warmup ? i + 1 : i - untimed + 1));
        auto seconds = session.iterate(iteration);
        if (!seconds) return seconds.status();
        const double rate = gbitPerSecond(size_, *seconds);
        if (!warmup) row_.gbit_s.push_back(rate);
        if (options_.verbose) {
          progress_.clear();
          std::fprintf(stderr, "eccl-bench p2p: %s x%d iteration %llu%s: %.4f s, %.2f Gbit/s\n",
                       formatSize(size_).c_str(), options_.connections,
                       static_cast<unsigned long long>(iteration), warmup ? " (warm-up)" : "",
                       *seconds, rate);
        }
      }
      if (!comparator_first) runComparator(round);
    }
    Status finished = session.finish();
    receiver_failures = session.receiverFailures();
    if (options_.verbose) {
      progress_.clear();
      std::fprintf(stderr, "eccl-bench p2p: %s x%d channel: %s\n", formatSize(size_).c_str(),
                   options_.connections, describeStats(session.stats()).c_str());
    }
    return finished;
  }

  void runComparator(int round) {
    if (!row_.comparator || iperf3_binary_.empty()) return;
    showProgress(round, "iperf3");
    Iperf3Request request;
    request.binary = iperf3_binary_;
    request.host = options_.host;
    request.streams = options_.connections;
    request.bytes = row_.comparator->bytes_per_run;
    request.timeout = options_.timeout;
    auto result = runIperf3(request);
    if (!result) {
      row_.comparator->error = result.status().toString();
      progress_.clear();
      std::fprintf(stderr, "eccl-bench p2p: iperf3 run failed: %s\n",
                   row_.comparator->error.c_str());
      return;
    }
    row_.comparator->gbit_s.push_back(result->bits_per_second / 1e9);
    if (options_.verbose) {
      progress_.clear();
      std::fprintf(stderr, "eccl-bench p2p: %s x%d iperf3: %llu bytes in %.4f s, %.2f Gbit/s\n",
                   formatSize(size_).c_str(), options_.connections,
                   static_cast<unsigned long long>(result->bytes), result->seconds,
                   result->bits_per_second / 1e9);
    }
  }

  void showProgress(int round, const std::string& what) {
    progress_.update("eccl-bench p2p: " + formatSize(size_) + " x" +
                     std::to_string(options_.connections) + " round " + std::to_string(round + 1) +
                     "/" + std::to_string(options_.rounds) + ": " + what);
  }

  const P2pOptions& options_;
  const uint64_t size_;
  const std::string& iperf3_binary_;
  ProgressLine& progress_;
  P2pRow row_;
};

}  // namespace

int runP2p(const P2pOptions& options) {
  // Bad transport options fail here, not once per size in the receiver.
  if (Status valid = channelOptions(options).validate(); !valid) {
    std::fprintf(stderr, "eccl-bench p2p: %s\n", valid.message().c_str());
    return 2;
  }
  std::string iperf3_binary;
  if (options.compare == "iperf3") {
    iperf3_binary = findOnPath("iperf3");
    if (iperf3_binary.empty()) {
      std::fprintf(stderr,
                   "eccl-bench p2p: --compare iperf3: iperf3 is not on PATH "
                   "(apt-get install iperf3); measuring ECCL only\n");
    }
  }
  P2pReport report(options.json, options.compare);
  report.printHeader();
  ProgressLine progress;
  int exit_code = 0;
  for (uint64_t size : options.sizes) {
    P2pRow row;
    try {
      row = SizeBenchmark(options, size, iperf3_binary, progress).run();
    } catch (const std::exception& e) {  // e.g. std::bad_alloc for a huge --size
      row.connections = options.connections;
      row.bytes = size;
      row.error = std::string("exception: ") + e.what();
    }
    progress.clear();
    report.printRow(row);
    if (!row.ok) exit_code = 1;
  }
  return exit_code;
}

}  // namespace eccl::tools::bench
