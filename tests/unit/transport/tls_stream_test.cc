// TlsStream and startTls over loopback: mutual authentication and its
// refusals, the handshake's deadline, bulk transfer through the non-blocking
// ByteStream calls, half-close, and writeSome's promise not to hold the
// caller's buffer.
#include "transport/tls/tls_stream.h"

#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include "tests/support/tcp_proxy.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_env.h"
#include "transport/tls/tls_handshake.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
using transport::tls::formatFingerprint;
using transport::tls::startTls;
using transport::tls::TlsContext;
using transport::tls::TlsFiles;
using transport::tls::TlsRole;
using transport::tls::TlsStream;

using StreamResult = Result<std::unique_ptr<TlsStream>>;

bool isWouldBlock(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs fn on the executor and waits for it: a stream is used only from its strand.
template <typename Fn>
auto onStrand(asio::any_io_executor executor, Fn fn) {
  std::packaged_task<decltype(fn())()> task(std::move(fn));
  auto future = task.get_future();
  asio::post(executor, [&task] { task(); });
  return future.get();
}

void destroyOnStrand(std::unique_ptr<TlsStream> stream) {
  if (!stream) return;
  auto executor = stream->executor();
  onStrand(executor, [&stream] {
    stream.reset();
    return 0;
  });
}

// Sends `send` (in two-piece writes of varying split) and receives `expect`
// bytes, both at once on the stream's strand; optionally half-closes after
// sending and expects the peer's end of stream after receiving. The Pump owns
// the stream and destroys it on the strand.
class Pump : public std::enable_shared_from_this<Pump> {
 public:
  struct Options {
    size_t expect = 0;
    bool shutdown_after_send = false;
    bool expect_eof = false;
    // After every write, scribble over the bytes it was shown: the peer must
    // still get what was accepted, and later calls' bytes as they were then.
    bool mutate_after_write = false;
  };

  Pump(std::unique_ptr<TlsStream> stream, std::vector<uint8_t> send, Options options)
      : stream_(std::move(stream)),
        executor_(stream_->executor()),
        send_(std::move(send)),
        options_(options),
        received_(options.expect),
        read_done_(options.expect == 0 && !options.expect_eof) {}

  std::future<std::string> start() {
    auto future = done_.get_future();
    asio::post(executor_, [self = shared_from_this()] {
      self->write();
      self->read();
    });
    return future;
  }

  void destroyStream() {
    onStrand(executor_, [this] {
      stopped_ = true;
      stream_.reset();
      return 0;
    });
  }

  const std::vector<uint8_t>& received() const { return received_; }
  const std::vector<uint8_t>& committed() const { return committed_; }
  uint64_t writeBlocks() const { return write_blocks_; }
  uint64_t readBlocks() const { return read_blocks_; }

 private:
  void write() {
    while (!stopped_ && sent_ < send_.size()) {
      const size_t left = send_.size() - sent_;
      const size_t head = std::min(left, 1 + (calls_ * 7919) % 64);
      const size_t body = std::min(left - head, (calls_ * 104729) % (1 << 20));
      ++calls_;
      std::span<const uint8_t> first(send_.data() + sent_, head);
      std::span<const uint8_t> second(send_.data() + sent_ + head, body);
      std::error_code ec;
      const size_t n = stream_->writeSome(first, second, ec);
      if (isWouldBlock(ec)) {
        ++write_blocks_;
        stream_->waitWritable([self = shared_from_this()](std::error_code wait_ec) {
          if (self->stopped_) return;
          if (wait_ec) return self->finish("waitWritable: " + wait_ec.message());
          self->write();
        });
        return;
      }
      if (ec) return finish("writeSome: " + ec.message());
      if (n > head + body) return finish("writeSome reported more than it was given");
      if (options_.mutate_after_write) {
        committed_.insert(committed_.end(), send_.begin() + sent_, send_.begin() + sent_ + n);
        // Every byte this call was shown, accepted or not.
        for (size_t i = sent_; i < sent_ + head + body; ++i)
          send_[i] = static_cast<uint8_t>(send_[i] ^ (0x5A + calls_));
      }
      sent_ += n;
    }
    if (stopped_ || write_done_) return;
    write_done_ = true;
    if (options_.shutdown_after_send) stream_->shutdownSend();
    maybeDone();
  }

  void read() {
    while (!stopped_ && !read_done_) {
      uint8_t extra = 0;
      std::span<uint8_t> into = have_ < received_.size()
                                    ? std::span<uint8_t>(received_).subspan(have_)
                                    : std::span<uint8_t>(&extra, 1);
      std::error_code ec;
      const size_t n = stream_->readSome(into, ec);
      if (isWouldBlock(ec)) {
        ++read_blocks_;
        stream_->waitReadable([self = shared_from_this()](std::error_code wait_ec) {
          if (self->stopped_) return;
          if (wait_ec) return self->finish("waitReadable: " + wait_ec.message());
          self->read();
        });
        return;
      }
      if (ec == asio::error::eof && options_.expect_eof && have_ == received_.size()) {
        read_done_ = true;
        break;
      }
      if (ec) {
        return finish("readSome after " + std::to_string(have_) + " bytes: " + ec.message());
      }
      if (have_ == received_.size()) return finish("bytes after the expected end");
      have_ += n;
      if (have_ == received_.size() && !options_.expect_eof) read_done_ = true;
    }
    maybeDone();
  }

  void maybeDone() {
    if (write_done_ && read_done_) finish("");
  }

  void finish(const std::string& error) {
    if (finished_) return;
    finished_ = true;
    done_.set_value(error);
  }

  std::unique_ptr<TlsStream> stream_;
  asio::any_io_executor executor_;
  std::vector<uint8_t> send_;
  Options options_;
  std::vector<uint8_t> received_;
  std::vector<uint8_t> committed_;
  size_t sent_ = 0;
  size_t have_ = 0;
  size_t calls_ = 0;
  uint64_t write_blocks_ = 0;
  uint64_t read_blocks_ = 0;
  bool write_done_ = false;
  bool read_done_;
  bool finished_ = false;
  bool stopped_ = false;
  std::promise<std::string> done_;
};

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_.makeCa("ca");
    certs_.makeCa("other");
    server_cert_ = certs_.makeHost("server", "ca");
    client_cert_ = certs_.makeHost("client", "ca");
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    guard_.reset();
    thread_.join();
  }

  std::shared_ptr<const TlsContext> load(const TlsFiles& files) {
    auto context = TlsContext::load(files);
    EXPECT_TRUE(context) << context.status().toString();
    return context ? *context : nullptr;
  }

  // A connected pair of sockets, each on its own strand; through a proxy on
  // this port if one is given.
  std::pair<tcp::socket, tcp::socket> connectPair(uint16_t proxy_port = 0) {
    tcp::socket client(asio::make_strand(io_));
    tcp::socket server(asio::make_strand(io_));
    client.connect(proxy_port == 0
                       ? acceptor_.local_endpoint()
                       : tcp::endpoint(asio::ip::make_address("127.0.0.1"), proxy_port));
    acceptor_.accept(server);
    return {std::move(client), std::move(server)};
  }

  static std::future<StreamResult> handshake(tcp::socket socket, TlsRole role,
                                             std::shared_ptr<const TlsContext> context,
                                             std::chrono::milliseconds timeout = 5s) {
    auto promise = std::make_shared<std::promise<StreamResult>>();
    auto future = promise->get_future();
    startTls(std::move(socket), role, std::move(context), deadline(timeout),
             [promise](StreamResult result) { promise->set_value(std::move(result)); });
    return future;
  }

  static StreamResult wait(std::future<StreamResult>& future) {
    if (future.wait_for(deadline(10s)) != std::future_status::ready) {
      return Status(Code::kInternalError, "the handshake never called back");
    }
    return future.get();
  }

  // Both ends of a handshake between these identities.
  std::pair<StreamResult, StreamResult> handshakeBoth(const TlsFiles& client,
                                                      const TlsFiles& server,
                                                      uint16_t proxy_port = 0) {
    auto [client_socket, server_socket] = connectPair(proxy_port);
    auto client_done = handshake(std::move(client_socket), TlsRole::kClient, load(client));
    auto server_done = handshake(std::move(server_socket), TlsRole::kServer, load(server));
    StreamResult c = wait(client_done);
    StreamResult s = wait(server_done);
    return {std::move(c), std::move(s)};
  }

  void expectRejected(const StreamResult& result, const std::string& reason) {
    ASSERT_FALSE(result) << "the handshake should have failed with: " << reason;
    EXPECT_EQ(result.status().code(), Code::kConnectionError) << result.status().toString();
    EXPECT_EQ(result.status().message().rfind("TLS handshake with 127.0.0.1:", 0), 0u)
        << result.status().message();
    EXPECT_TRUE(contains(result.status().message(), reason)) << result.status().message();
  }

  TestCerts certs_;
  HostCert server_cert_;
  HostCert client_cert_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  tcp::acceptor acceptor_{io_};
  std::thread thread_;
};

TEST_F(TlsStreamTest, HandshakeSucceedsAndEachSideSeesThePeersFingerprint) {
  auto [client, server] = handshakeBoth(client_cert_.files, server_cert_.files);
  ASSERT_TRUE(client) << client.status().toString();
  ASSERT_TRUE(server) << server.status().toString();
  EXPECT_EQ(formatFingerprint((*client)->peerFingerprint()),
            formatFingerprint(server_cert_.fingerprint));
  EXPECT_EQ(formatFingerprint((*server)->peerFingerprint()),
            formatFingerprint(client_cert_.fingerprint));
  EXPECT_NE(client_cert_.fingerprint, server_cert_.fingerprint);
  // What the master pins, through the ByteStream interface.
  const transport::ByteStream& as_stream = **server;
  EXPECT_EQ(as_stream.peerCertificate(), client_cert_.fingerprint);
  EXPECT_EQ(load(client_cert_.files)->localFingerprint(), client_cert_.fingerprint);
  EXPECT_EQ(formatFingerprint(client_cert_.fingerprint).size(), 64u);
  EXPECT_EQ((*client)->cipherName().rfind("TLS_AES_", 0), 0u) << (*client)->cipherName();
  EXPECT_EQ((*server)->remoteAddress().rfind("127.0.0.1:", 0), 0u);
  destroyOnStrand(std::move(*client));
  destroyOnStrand(std::move(*server));
}

TEST_F(TlsStreamTest, BidirectionalBulkTransferIsExact) {
  constexpr size_t kSize = 64u << 20;
  auto [client, server] = handshakeBoth(client_cert_.files, server_cert_.files);
  ASSERT_TRUE(client && server);
  std::vector<uint8_t> up = pattern(kSize, 1);
  std::vector<uint8_t> down = pattern(kSize, 2);
  auto client_pump = std::make_shared<Pump>(std::move(*client), up, Pump::Options{.expect = kSize});
  auto server_pump =
      std::make_shared<Pump>(std::move(*server), down, Pump::Options{.expect = kSize});
  const auto start = std::chrono::steady_clock::now();
  auto client_done = client_pump->start();
  auto server_done = server_pump->start();
  ASSERT_EQ(client_done.wait_for(deadline(20s)), std::future_status::ready);
  ASSERT_EQ(server_done.wait_for(deadline(20s)), std::future_status::ready);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(client_done.get(), "");
  EXPECT_EQ(server_done.get(), "");
  EXPECT_EQ(firstDifference(server_pump->received(), up), std::nullopt);
  EXPECT_EQ(firstDifference(client_pump->received(), down), std::nullopt);
  // Both directions had to wait for the socket at some point.
  EXPECT_GT(client_pump->writeBlocks() + server_pump->writeBlocks(), 0u);
  EXPECT_GT(client_pump->readBlocks() + server_pump->readBlocks(), 0u);
  std::printf("64 MiB each way in %.3f s: %.0f MB/s per direction (%lu/%lu write waits)\n", seconds,
              kSize / seconds / 1e6, static_cast<unsigned long>(client_pump->writeBlocks()),
              static_cast<unsigned long>(server_pump->writeBlocks()));
  client_pump->destroyStream();
  server_pump->destroyStream();
}

TEST_F(TlsStreamTest, ClientWithoutCertificateIsRejectedOnBothSides) {
  TlsFiles anonymous{client_cert_.files.ca_file, "", ""};
  auto [client, server] = handshakeBoth(anonymous, server_cert_.files);
  expectRejected(server, "peer did not return a certificate");
  expectRejected(client, "certificate required");
}

TEST_F(TlsStreamTest, ClientOfAnotherCaIsRejectedOnBothSides) {
  HostCert stranger = certs_.makeHost("stranger", "other");
  stranger.files.ca_file = client_cert_.files.ca_file;  // it trusts the server's CA
  auto [client, server] = handshakeBoth(stranger.files, server_cert_.files);
  expectRejected(server, "certificate verify failed: unable to get local issuer certificate");
  expectRejected(client, "unknown ca");
}

TEST_F(TlsStreamTest, ServerOfAnotherCaIsRejectedOnBothSides) {
  HostCert stranger = certs_.makeHost("stranger", "other");
  auto [client, server] = handshakeBoth(client_cert_.files, stranger.files);
  // The server sends its CA along (OpenSSL builds the chain from its store),
  // so the client's reason may also be "self-signed certificate in certificate chain".
  expectRejected(client, "certificate verify failed: ");
  expectRejected(server, "unknown ca");
}

TEST_F(TlsStreamTest, ExpiredClientCertificateIsRejectedOnBothSides) {
  HostCert expired = certs_.makeHost("expired", "ca", -10, -1);
  auto [client, server] = handshakeBoth(expired.files, server_cert_.files);
  expectRejected(server, "certificate verify failed: certificate has expired");
  expectRejected(client, "certificate expired");
}

TEST_F(TlsStreamTest, SilentServerTimesOut) {
  auto [client_socket, server_socket] = connectPair();  // the server never speaks
  const auto timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto done =
      handshake(std::move(client_socket), TlsRole::kClient, load(client_cert_.files), timeout);
  StreamResult result = wait(done);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), Code::kTimeout) << result.status().toString();
  EXPECT_TRUE(contains(result.status().message(), "timed out")) << result.status().message();
  EXPECT_GE(elapsed, deadline(timeout));
  EXPECT_LT(elapsed, deadline(timeout) + deadline(2s));
}

TEST_F(TlsStreamTest, GarbageInsteadOfClientHelloFailsCleanly) {
  auto [client_socket, server_socket] = connectPair();
  auto done = handshake(std::move(server_socket), TlsRole::kServer, load(server_cert_.files));
  const std::string garbage = "GET / HTTP/1.1\r\nHost: eccl\r\n\r\n";
  asio::write(client_socket, asio::buffer(garbage));
  StreamResult result = wait(done);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), Code::kConnectionError) << result.status().toString();
  EXPECT_EQ(result.status().message().rfind("TLS handshake with 127.0.0.1:", 0), 0u)
      << result.status().message();
  // The server closed its end: the raw client reads its alert, then the end.
  std::error_code ec;
  std::vector<uint8_t> sink(4096);
  while (!ec)
    client_socket.read_some(asio::buffer(sink), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}

TEST_F(TlsStreamTest, GarbageInsteadOfServerHelloFailsCleanly) {
  auto [client_socket, server_socket] = connectPair();
  auto done = handshake(std::move(client_socket), TlsRole::kClient, load(client_cert_.files));
  std::vector<uint8_t> hello(512);
  std::error_code ec;
  server_socket.read_some(asio::buffer(hello), ec);  // the ClientHello
  ASSERT_FALSE(ec) << ec.message();
  asio::write(server_socket, asio::buffer(pattern(1000, 3)));
  StreamResult result = wait(done);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), Code::kConnectionError) << result.status().toString();
}

TEST_F(TlsStreamTest, ShutdownSendGivesTheOtherSideEofAfterAllData) {
  constexpr size_t kUp = 4u << 20;
  constexpr size_t kDown = 1u << 20;
  auto [client, server] = handshakeBoth(client_cert_.files, server_cert_.files);
  ASSERT_TRUE(client && server);
  std::vector<uint8_t> up = pattern(kUp, 4);
  std::vector<uint8_t> down = pattern(kDown, 5);
  // Each side half-closes after its data while the other may still be sending.
  auto client_pump = std::make_shared<Pump>(
      std::move(*client), up,
      Pump::Options{.expect = kDown, .shutdown_after_send = true, .expect_eof = true});
  auto server_pump = std::make_shared<Pump>(
      std::move(*server), down,
      Pump::Options{.expect = kUp, .shutdown_after_send = true, .expect_eof = true});
  auto client_done = client_pump->start();
  auto server_done = server_pump->start();
  ASSERT_EQ(client_done.wait_for(deadline(10s)), std::future_status::ready);
  ASSERT_EQ(server_done.wait_for(deadline(10s)), std::future_status::ready);
  EXPECT_EQ(client_done.get(), "");
  EXPECT_EQ(server_done.get(), "");
  EXPECT_EQ(firstDifference(server_pump->received(), up), std::nullopt);
  EXPECT_EQ(firstDifference(client_pump->received(), down), std::nullopt);
  client_pump->destroyStream();
  server_pump->destroyStream();
}

TEST_F(TlsStreamTest, ACorruptRecordIsATlsErrorNamingTheReason) {
  TcpProxy proxy(acceptor_.local_endpoint().port());
  proxy.corruptAt(0, 1 << 20, 0x01);  // well past the handshake
  auto [client, server] = handshakeBoth(client_cert_.files, server_cert_.files, proxy.port());
  ASSERT_TRUE(client && server);
  auto sender = std::make_shared<Pump>(std::move(*client), pattern(4u << 20, 7),
                                       Pump::Options{.expect_eof = true});
  auto receiver = std::make_shared<Pump>(std::move(*server), std::vector<uint8_t>{},
                                         Pump::Options{.expect = 4u << 20});
  auto sender_done = sender->start();
  auto receiver_done = receiver->start();
  ASSERT_EQ(receiver_done.wait_for(deadline(10s)), std::future_status::ready);
  const std::string error = receiver_done.get();
  EXPECT_TRUE(contains(error, "bad record mac")) << error;
  // The receiver's alert (or, if it came too late, the reset) ends the sender too.
  receiver->destroyStream();
  ASSERT_EQ(sender_done.wait_for(deadline(10s)), std::future_status::ready);
  const std::string sender_error = sender_done.get();
  EXPECT_TRUE(contains(sender_error, "bad record mac") || contains(sender_error, "reset"))
      << sender_error;
  sender->destroyStream();
}

TEST_F(TlsStreamTest, WriteSomeDoesNotHoldTheCallersBuffer) {
  constexpr size_t kSize = 32u << 20;  // more than the socket buffers hold
  auto [client, server] = handshakeBoth(client_cert_.files, server_cert_.files);
  ASSERT_TRUE(client && server);
  auto writer = std::make_shared<Pump>(std::move(*client), pattern(kSize, 6),
                                       Pump::Options{.mutate_after_write = true});
  auto reader = std::make_shared<Pump>(std::move(*server), std::vector<uint8_t>{},
                                       Pump::Options{.expect = kSize});
  // The reader starts late, so that the writer meets a full socket (would_block).
  auto writer_done = writer->start();
  std::this_thread::sleep_for(200ms);
  auto reader_done = reader->start();
  ASSERT_EQ(writer_done.wait_for(deadline(10s)), std::future_status::ready);
  ASSERT_EQ(reader_done.wait_for(deadline(10s)), std::future_status::ready);
  EXPECT_EQ(writer_done.get(), "");
  EXPECT_EQ(reader_done.get(), "");
  ASSERT_EQ(writer->committed().size(), kSize);
  EXPECT_EQ(firstDifference(reader->received(), writer->committed()), std::nullopt);
  EXPECT_GT(writer->writeBlocks(), 0u);
  writer->destroyStream();
  reader->destroyStream();
}

TEST_F(TlsStreamTest, CertificatesFromEcclCertsWork) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "the openssl command is not installed";
  }
  const std::string dir = certs_.path("from-script");  // removed with certs_
  const std::string script = std::string("sh ") + ECCL_CERTS_SCRIPT;
  const std::string quiet = " >/dev/null";
  ASSERT_EQ(std::system((script + " ca " + dir + quiet).c_str()), 0);
  ASSERT_EQ(std::system((script + " host " + dir + " alpha 127.0.0.1" + quiet).c_str()), 0);
  ASSERT_EQ(std::system((script + " host " + dir + " beta 127.0.0.1" + quiet).c_str()), 0);
  const std::string ca = dir + "/ca.pem";
  TlsFiles alpha{ca, dir + "/alpha.pem", dir + "/alpha.key"};
  TlsFiles beta{ca, dir + "/beta.pem", dir + "/beta.key"};
  auto [client, server] = handshakeBoth(alpha, beta);
  ASSERT_TRUE(client) << client.status().toString();
  ASSERT_TRUE(server) << server.status().toString();
  EXPECT_EQ((*server)->peerFingerprint(), load(alpha)->localFingerprint());
  destroyOnStrand(std::move(*client));
  destroyOnStrand(std::move(*server));
}

TEST_F(TlsStreamTest, LoadNamesTheFileThatFails) {
  TlsFiles missing = client_cert_.files;
  missing.key_file = certs_.path("nowhere.key");
  auto context = TlsContext::load(missing);
  ASSERT_FALSE(context);
  EXPECT_EQ(context.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(contains(context.status().message(), "nowhere.key")) << context.status().message();
  TlsFiles mismatched = client_cert_.files;
  mismatched.key_file = server_cert_.files.key_file;
  context = TlsContext::load(mismatched);
  ASSERT_FALSE(context);
  EXPECT_EQ(context.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(contains(context.status().message(), "server.key")) << context.status().message();
}

}  // namespace
}  // namespace eccl::test
