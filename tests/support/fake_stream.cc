#include "tests/support/fake_stream.h"

#include <algorithm>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <utility>

namespace eccl::test {

std::vector<uint8_t> FakeStreamLog::written() const {
  std::vector<uint8_t> all;
  for (const auto& write : writes)
    all.insert(all.end(), write.begin(), write.end());
  return all;
}

FakeStream::FakeStream(asio::io_context& io, FakeStreamLog& log,
                       std::deque<std::vector<uint8_t>> reads)
    : executor_(io.get_executor()), log_(log), reads_(std::move(reads)) {}

void FakeStream::arrive(std::vector<uint8_t> piece) {
  reads_.push_back(std::move(piece));
  if (auto ready = std::exchange(pending_, nullptr)) ready({});
}

void FakeStream::peerCloses() {
  peer_closed_ = true;
  if (auto ready = std::exchange(pending_, nullptr)) ready({});
}

size_t FakeStream::readSome(std::span<uint8_t> into, std::error_code& ec) {
  ++log_.reads;
  if (closed_) {
    ec = asio::error::bad_descriptor;
    return 0;
  }
  if (reads_.empty()) {
    ec = peer_closed_ ? make_error_code(asio::error::eof)
                      : make_error_code(asio::error::would_block);
    return 0;
  }
  std::vector<uint8_t>& piece = reads_.front();
  const size_t n = std::min(into.size(), piece.size());
  std::copy_n(piece.begin(), n, into.begin());
  piece.erase(piece.begin(), piece.begin() + static_cast<ptrdiff_t>(n));
  if (piece.empty()) reads_.pop_front();
  ec.clear();
  return n;
}

size_t FakeStream::writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                             std::error_code& ec) {
  std::vector<uint8_t> bytes(first.begin(), first.end());
  bytes.insert(bytes.end(), second.begin(), second.end());
  log_.writes.push_back(std::move(bytes));
  ec.clear();
  return first.size() + second.size();
}

void FakeStream::waitReadable(WaitHandler ready) {
  pending_ = std::move(ready);
}

void FakeStream::close() {
  closed_ = true;
  if (auto ready = std::exchange(pending_, nullptr)) {
    asio::post(executor_, [ready] { ready(asio::error::operation_aborted); });
  }
}

void FakeStream::abort() {
  log_.aborted = true;
  close();
}

}  // namespace eccl::test
