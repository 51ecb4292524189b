// Per-message test knowledge: a sample with distinct values in every field,
// a field-by-field comparison, and the wire layout (field names and sizes in
// encoding order) that the truncation tests walk.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/protocol/messages.h"

namespace eccl::protocol::test {

// One field as it lies on the wire; a string is two fields (its u16 length, then its bytes),
// both named after the string, as the decoder names them.
struct WireField {
  std::string name;
  size_t size;
};

// Bytes 1..16 plus `base`, so no two ids and no two fields look alike.
inline EndpointId sampleId(uint8_t base) {
  EndpointId id;
  for (size_t i = 0; i < id.bytes.size(); ++i)
    id.bytes[i] = static_cast<uint8_t>(base + i + 1);
  return id;
}

inline AuthField sampleAuth(uint8_t base) {
  AuthField field{};
  for (size_t i = 0; i < field.size(); ++i)
    field[i] = static_cast<uint8_t>(base + i);
  return field;
}

template <typename Message>
struct MessageTraits;

template <>
struct MessageTraits<Hello> {
  static Hello sample() {
    Hello m;
    m.endpoint = sampleId(0x10);
    m.channel = sampleId(0x40);
    m.connection_index = 3;
    m.connection_count = 7;
    m.chunk_bytes = 1u << 20;
    m.pool_bytes = 0x0123456789abcdefULL;
    m.auth_nonce = sampleAuth(0x80);
    m.auth_tag = sampleAuth(0xa0);
    return m;
  }
  static void expectSame(const Hello& a, const Hello& b) {
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.endpoint, b.endpoint);
    EXPECT_EQ(a.channel, b.channel);
    EXPECT_EQ(a.connection_index, b.connection_index);
    EXPECT_EQ(a.connection_count, b.connection_count);
    EXPECT_EQ(a.chunk_bytes, b.chunk_bytes);
    EXPECT_EQ(a.pool_bytes, b.pool_bytes);
    EXPECT_EQ(a.auth_nonce, b.auth_nonce);
    EXPECT_EQ(a.auth_tag, b.auth_tag);
  }
  static std::vector<WireField> layout(const Hello&) {
    return {{"kind", 1},
            {"endpoint", 16},
            {"channel", 16},
            {"connection_index", 2},
            {"connection_count", 2},
            {"chunk_bytes", 4},
            {"pool_bytes", 8},
            {"auth_nonce", kAuthFieldSize},
            {"auth_tag", kAuthFieldSize}};
  }
};

template <>
struct MessageTraits<HelloAck> {
  static HelloAck sample() {
    HelloAck m;
    m.endpoint = sampleId(0x20);
    m.status = HandshakeStatus::kAccepted;
    m.chunk_bytes = 65536;
    m.pool_bytes = 0xfedcba9876543210ULL;
    m.auth_nonce = sampleAuth(0x30);
    m.auth_tag = sampleAuth(0x60);
    m.reason = "welcome";
    return m;
  }
  static void expectSame(const HelloAck& a, const HelloAck& b) {
    EXPECT_EQ(a.endpoint, b.endpoint);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.chunk_bytes, b.chunk_bytes);
    EXPECT_EQ(a.pool_bytes, b.pool_bytes);
    EXPECT_EQ(a.auth_nonce, b.auth_nonce);
    EXPECT_EQ(a.auth_tag, b.auth_tag);
    EXPECT_EQ(a.reason, b.reason);
  }
  static std::vector<WireField> layout(const HelloAck& m) {
    return {{"endpoint", 16},
            {"status", 1},
            {"chunk_bytes", 4},
            {"pool_bytes", 8},
            {"auth_nonce", kAuthFieldSize},
            {"auth_tag", kAuthFieldSize},
            {"reason", 2},
            {"reason", m.reason.size()}};
  }
};

template <>
struct MessageTraits<Credit> {
  static Credit sample() { return Credit{0x1122334455667788ULL, 0x0000123456789abcULL}; }
  static void expectSame(const Credit& a, const Credit& b) {
    EXPECT_EQ(a.stream, b.stream);
    EXPECT_EQ(a.bytes, b.bytes);
  }
  static std::vector<WireField> layout(const Credit&) { return {{"stream", 8}, {"bytes", 8}}; }
};

template <>
struct MessageTraits<PoolCredit> {
  static PoolCredit sample() { return PoolCredit{0xa1b2c3d4e5f60718ULL}; }
  static void expectSame(const PoolCredit& a, const PoolCredit& b) { EXPECT_EQ(a.bytes, b.bytes); }
  static std::vector<WireField> layout(const PoolCredit&) { return {{"bytes", 8}}; }
};

template <>
struct MessageTraits<StreamError> {
  static StreamError sample() {
    StreamError m;
    m.stream = 0x0102030405060708ULL;
    m.message = 0x1112131415161718ULL;
    m.origin = StreamErrorOrigin::kSender;
    m.dispatched = 0x2122232425262728ULL;
    m.code = Code::kOutOfMemory;
    m.text = "buffer too small";
    return m;
  }
  static void expectSame(const StreamError& a, const StreamError& b) {
    EXPECT_EQ(a.stream, b.stream);
    EXPECT_EQ(a.message, b.message);
    EXPECT_EQ(a.origin, b.origin);
    EXPECT_EQ(a.dispatched, b.dispatched);
    EXPECT_EQ(a.code, b.code);
    EXPECT_EQ(a.text, b.text);
  }
  static std::vector<WireField> layout(const StreamError& m) {
    return {{"stream", 8}, {"message", 8}, {"origin", 1},          {"dispatched", 8},
            {"code", 2},   {"text", 2},    {"text", m.text.size()}};
  }
};

template <>
struct MessageTraits<Ping> {
  static Ping sample() { return Ping{0xdeadbeefcafef00dULL}; }
  static void expectSame(const Ping& a, const Ping& b) { EXPECT_EQ(a.nonce, b.nonce); }
  static std::vector<WireField> layout(const Ping&) { return {{"nonce", 8}}; }
};

template <>
struct MessageTraits<Goodbye> {
  static Goodbye sample() {
    Goodbye m;
    m.code = Code::kAborted;
    m.text = "shutting down";
    return m;
  }
  static void expectSame(const Goodbye& a, const Goodbye& b) {
    EXPECT_EQ(a.code, b.code);
    EXPECT_EQ(a.text, b.text);
  }
  static std::vector<WireField> layout(const Goodbye& m) {
    return {{"code", 2}, {"text", 2}, {"text", m.text.size()}};
  }
};

template <>
struct MessageTraits<Delivered> {
  static Delivered sample() {
    Delivered m;
    m.messages = {1, 0x0102030405060708ULL, 3};
    return m;
  }
  static void expectSame(const Delivered& a, const Delivered& b) {
    EXPECT_EQ(a.messages, b.messages);
  }
  static std::vector<WireField> layout(const Delivered& m) {
    std::vector<WireField> fields = {{"count", 2}};
    for (size_t i = 0; i < m.messages.size(); ++i)
      fields.push_back({"message", 8});
    return fields;
  }
};

// The payload bytes of a message, without a frame header.
template <typename Message>
std::vector<uint8_t> encodePayload(const Message& message) {
  std::vector<uint8_t> out;
  ByteWriter writer(out);
  message.encode(writer);
  return out;
}

// Little-endian bytes of an integer, for building expected encodings by hand.
template <typename T>
void appendLe(std::vector<uint8_t>& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

inline void appendBytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

inline void appendString(std::vector<uint8_t>& out, std::string_view text) {
  // Sized up front: GCC 12 misreads an insert after a push_back as an overflow.
  const size_t at = out.size();
  out.resize(at + 2 + text.size());
  out[at] = static_cast<uint8_t>(text.size());
  out[at + 1] = static_cast<uint8_t>(text.size() >> 8);
  std::copy(text.begin(), text.end(), out.begin() + static_cast<ptrdiff_t>(at + 2));
}

}  // namespace eccl::protocol::test
