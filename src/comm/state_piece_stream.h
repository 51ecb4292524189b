// One zstd-coded shared-state transfer over a channel (state/compression.h
// has the format): the sender encodes piece after piece with a few in
// flight, the receiver posts every piece's header at once and, as each
// arrives, the piece's payload (raw: straight into the entry; zstd: into a
// buffer it then decodes into the entry). Driven by the exchange loop of
// comm_state_sync.cc with the completions of the tokens it hands out.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "src/coll/op_state.h"
#include "src/common/status.h"
#include "src/state/compression.h"
#include "transport/transport.h"

namespace eccl::comm {

class PieceStream {
 public:
  // Tokens (index + 1) << 32 | piece << 1 | payload: apart from the raw
  // transfers' tokens, which are their indexes.
  static constexpr uint64_t kTokenShift = 32;
  static constexpr size_t kWindow = 4;  // pieces the sender has in flight

  // `data`: the transfer's bytes of the entry; `stream`: its stream id, whose
  // low 24 bits number the pieces' messages.
  PieceStream(bool sending, std::span<uint8_t> data, uint64_t stream, size_t index);

  // Posts the first operations; returns how many.
  size_t start(transport::Channel& channel, coll::OpState& state);
  // One of its operations completed: the number it posts next, or the error
  // that ends the transfer (a failed operation or a piece that does not decode).
  Result<size_t> onCompletion(uint64_t token, const Status& status, transport::Channel& channel,
                              coll::OpState& state);
  bool done() const { return payloads_done_ == pieces_ && headers_done_ == pieces_; }
  // Bytes that crossed the wire for it (headers and encoded payloads).
  uint64_t wireBytes() const { return wire_bytes_; }

  static bool ownsToken(uint64_t token) { return (token >> kTokenShift) != 0; }
  static size_t indexOf(uint64_t token) { return (token >> kTokenShift) - 1; }

 private:
  std::span<uint8_t> piece(size_t k) const;
  uint64_t token(size_t k, bool payload) const;
  uint64_t streamOf(size_t k, bool payload) const;
  void postPiece(size_t k, transport::Channel& channel, coll::OpState& state);

  const bool sending_;
  const std::span<uint8_t> data_;
  const uint64_t stream_;
  const size_t index_;
  const size_t pieces_;
  std::vector<std::array<uint8_t, state::PieceHeader::kSize>> headers_;
  std::vector<state::PieceHeader> decoded_;  // the receiver's, per piece
  // The sender's encoded pieces in flight, and the receiver's zstd payloads.
  std::map<size_t, std::vector<uint8_t>> buffers_;
  size_t next_piece_ = 0;
  size_t headers_done_ = 0;
  size_t payloads_done_ = 0;
  uint64_t wire_bytes_ = 0;
};

}  // namespace eccl::comm
