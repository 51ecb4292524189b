// Little-endian, bounds-checked byte encoding used by every wire message.
//
// ByteReader never reads past its buffer: each read checks the remaining
// length first and, on underflow, records a sticky failure and returns zero.
// Decoders read all fields, then check ok() once; the first error message is kept.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace eccl::protocol {

template <typename T>
inline void storeLe(uint8_t* out, T value) {
  static_assert(std::is_unsigned_v<T>);
  for (size_t i = 0; i < sizeof(T); ++i)
    out[i] = static_cast<uint8_t>(value >> (8 * i));
}

template <typename T>
inline T loadLe(const uint8_t* in) {
  static_assert(std::is_unsigned_v<T>);
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= static_cast<T>(in[i]) << (8 * i);
  return value;
}

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

  template <typename T>
  void put(T value) {
    uint8_t bytes[sizeof(T)];
    storeLe(bytes, value);
    out_.insert(out_.end(), bytes, bytes + sizeof(T));
  }
  void putBytes(std::span<const uint8_t> bytes) {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }
  // u16 length, then the bytes. The caller keeps strings within the message's limit.
  void putString(std::string_view text) {
    put<uint16_t>(static_cast<uint16_t>(text.size()));
    out_.insert(out_.end(), text.begin(), text.end());
  }

 private:
  std::vector<uint8_t>& out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}

  template <typename T>
  T get(const char* field) {
    if (!need(sizeof(T), field)) return 0;
    T value = loadLe<T>(in_.data() + pos_);
    pos_ += sizeof(T);
    return value;
  }
  template <size_t N>
  std::array<uint8_t, N> getArray(const char* field) {
    std::array<uint8_t, N> out{};
    if (!need(N, field)) return out;
    std::memcpy(out.data(), in_.data() + pos_, N);
    pos_ += N;
    return out;
  }
  // A u16-length-prefixed string of at most max_length bytes.
  std::string getString(const char* field, size_t max_length);

  // Records a semantic error (bad enum, out-of-range value) found by the decoder.
  void fail(std::string message);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  bool need(size_t n, const char* field);

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  std::string error_;
};

inline std::string ByteReader::getString(const char* field, size_t max_length) {
  uint16_t length = get<uint16_t>(field);
  if (!ok()) return {};
  if (length > max_length) {
    fail(std::string(field) + " is " + std::to_string(length) + " bytes, limit " +
         std::to_string(max_length));
    return {};
  }
  if (!need(length, field)) return {};
  std::string out(reinterpret_cast<const char*>(in_.data() + pos_), length);
  pos_ += length;
  return out;
}

inline void ByteReader::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

inline bool ByteReader::need(size_t n, const char* field) {
  if (!ok()) return false;
  if (in_.size() - pos_ < n) {
    fail(std::string("truncated at ") + field + ": need " + std::to_string(n) + " bytes, have " +
         std::to_string(in_.size() - pos_));
    return false;
  }
  return true;
}

// Doubles travel as the bits of an IEEE binary64, little-endian.
inline void putDouble(ByteWriter& out, double value) {
  out.put<uint64_t>(std::bit_cast<uint64_t>(value));
}
inline double getDouble(ByteReader& in, const char* field) {
  return std::bit_cast<double>(in.get<uint64_t>(field));
}

}  // namespace eccl::protocol
