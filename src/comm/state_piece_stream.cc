#include "src/comm/state_piece_stream.h"

#include <algorithm>
#include <string>

namespace eccl::comm {

PieceStream::PieceStream(bool sending, std::span<uint8_t> data, uint64_t stream, size_t index)
    : sending_(sending),
      data_(data),
      stream_(stream),
      index_(index),
      pieces_(std::max<size_t>(1, (data.size() + state::kPieceBytes - 1) / state::kPieceBytes)),
      headers_(pieces_),
      decoded_(pieces_) {}

std::span<uint8_t> PieceStream::piece(size_t k) const {
  const size_t begin = k * state::kPieceBytes;
  return data_.subspan(begin, std::min(state::kPieceBytes, data_.size() - begin));
}

uint64_t PieceStream::token(size_t k, bool payload) const {
  return (uint64_t{index_ + 1} << kTokenShift) | (uint64_t{k} << 1) | (payload ? 1 : 0);
}

uint64_t PieceStream::streamOf(size_t k, bool payload) const {
  return stream_ | (uint64_t{k} * 2 + (payload ? 1 : 0));
}

void PieceStream::postPiece(size_t k, transport::Channel& channel, coll::OpState& state) {
  auto& encoded = buffers_[k];
  const state::PieceHeader header = state::encodePiece(piece(k), encoded);
  state::encodePieceHeader(header, headers_[k]);
  wire_bytes_ += state::PieceHeader::kSize + encoded.size();
  channel.send(streamOf(k, false), headers_[k], state.callback(token(k, false)));
  channel.send(streamOf(k, true), encoded, state.callback(token(k, true)));
}

size_t PieceStream::start(transport::Channel& channel, coll::OpState& state) {
  if (!sending_) {
    for (size_t k = 0; k < pieces_; ++k) {
      channel.recv(streamOf(k, false), headers_[k], state.callback(token(k, false)));
    }
    return pieces_;
  }
  size_t posted = 0;
  for (; next_piece_ < pieces_ && next_piece_ < kWindow; ++next_piece_, posted += 2) {
    postPiece(next_piece_, channel, state);
  }
  return posted;
}

Result<size_t> PieceStream::onCompletion(uint64_t token, const Status& status,
                                         transport::Channel& channel, coll::OpState& state) {
  const size_t k = (token & ((uint64_t{1} << kTokenShift) - 1)) >> 1;
  const bool payload = (token & 1) != 0;
  if (!status.isOk()) return status;
  if (!payload) {
    ++headers_done_;
    if (sending_) return size_t{0};
    auto header = state::decodePieceHeader(headers_[k], piece(k).size());
    if (!header) return header.status();
    decoded_[k] = *header;
    wire_bytes_ += state::PieceHeader::kSize + header->length;
    if (header->codec == state::PieceCodec::kRaw) {
      channel.recv(streamOf(k, true), piece(k), state.callback(this->token(k, true)));
    } else {
      auto& buffer = buffers_[k];
      buffer.resize(header->length);
      channel.recv(streamOf(k, true), buffer, state.callback(this->token(k, true)));
    }
    return size_t{1};
  }
  ++payloads_done_;
  if (sending_) {
    buffers_.erase(k);  // delivered: its slot goes to the next piece
    if (next_piece_ == pieces_) return size_t{0};
    postPiece(next_piece_++, channel, state);
    return size_t{2};
  }
  if (decoded_[k].codec == state::PieceCodec::kZstd) {
    Status decoded = state::decodePiece(decoded_[k], buffers_[k], piece(k));
    buffers_.erase(k);
    if (!decoded.isOk()) return decoded;
  }
  return size_t{0};
}

}  // namespace eccl::comm
