#include "src/coll/op_header.h"

#include <xxhash.h>

#include <cstring>
#include <vector>

namespace eccl::coll {

namespace {

template <typename T>
void put(OpHeaderBytes& out, size_t at, T value) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out[at + i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
}

template <typename T>
T get(const OpHeaderBytes& in, size_t at) {
  uint64_t value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= uint64_t{in[at + i]} << (8 * i);
  return static_cast<T>(value);
}

// A field's value as the error text shows it.
std::string dtypeText(reduce::DType d) {
  return reduce::isValid(d) ? reduce::dtypeName(d)
                            : "dtype #" + std::to_string(static_cast<int>(d));
}
std::string opText(reduce::ReduceOp o) {
  return reduce::isValid(o) ? reduce::opName(o) : "op #" + std::to_string(static_cast<int>(o));
}

std::string hex(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4)
    out[static_cast<size_t>(i)] = kDigits[v & 0xF];
  return out;
}

Status differs(const std::string& peer, const char* field, const std::string& theirs,
               const std::string& mine) {
  return invalidUsage(peer + " has " + field + " " + theirs + ", this peer " + mine);
}

}  // namespace

std::string collectiveName(Collective c) {
  switch (c) {
    case Collective::kAllReduce:
      return "allReduce";
    case Collective::kBroadcast:
      return "broadcast";
    case Collective::kAllGather:
      return "allGather";
    case Collective::kReduceScatter:
      return "reduceScatter";
    case Collective::kAllToAll:
      return "allToAll";
  }
  return "collective #" + std::to_string(static_cast<int>(c));
}

std::string quantText(const quant::QuantConfig& q) {
  if (q.algo == quant::QuantAlgo::kNone) return "none";
  const std::string algo_text = quant::isValid(q.algo)
                                    ? quant::algoName(q.algo)
                                    : "algorithm #" + std::to_string(static_cast<int>(q.algo));
  const std::string wire_text = quant::isValid(q.wire)
                                    ? quant::wireName(q.wire)
                                    : "wire #" + std::to_string(static_cast<int>(q.wire));
  return algo_text + "/" + wire_text + "/block " + std::to_string(q.block_elems);
}

uint64_t countsHash(std::span<const size_t> counts) {
  std::vector<uint8_t> bytes(counts.size() * 8);
  for (size_t i = 0; i < counts.size(); ++i) {
    for (size_t b = 0; b < 8; ++b)
      bytes[i * 8 + b] = static_cast<uint8_t>(static_cast<uint64_t>(counts[i]) >> (8 * b));
  }
  return XXH3_64bits(bytes.data(), bytes.size());
}

OpHeaderBytes encodeOpHeader(const OpDigest& d) {
  OpHeaderBytes out{};
  put<uint32_t>(out, 0, kOpHeaderMagic);
  put<uint16_t>(out, 4, kOpHeaderVersion);
  put<uint8_t>(out, 6, static_cast<uint8_t>(d.collective));
  put<uint8_t>(out, 7, static_cast<uint8_t>(d.dtype));
  put<uint8_t>(out, 8, static_cast<uint8_t>(d.op));
  const bool quantized = d.quant.algo != quant::QuantAlgo::kNone;
  put<uint8_t>(out, 9,
               quantized ? static_cast<uint8_t>((static_cast<unsigned>(d.quant.algo) << 4) |
                                                (static_cast<unsigned>(d.quant.wire) & 0xF))
                         : 0);
  put<uint16_t>(out, 10, quantized ? static_cast<uint16_t>(d.quant.block_elems / 16 - 1) : 0);
  put<uint32_t>(out, 12, d.world_size);
  put<uint32_t>(out, 16, d.rank);
  put<uint64_t>(out, 20, d.tag);
  put<uint64_t>(out, 28, d.count);
  put<uint64_t>(out, 36, d.revision);
  put<uint32_t>(out, 44, d.root);
  put<uint64_t>(out, 48, d.counts_hash);
  return out;
}

Result<OpDigest> decodeOpHeader(const OpHeaderBytes& in) {
  if (get<uint32_t>(in, 0) != kOpHeaderMagic) {
    return protocolError("collective op header has a bad magic number");
  }
  if (const auto version = get<uint16_t>(in, 4); version != kOpHeaderVersion) {
    return unsupportedError("collective op header version " + std::to_string(version) +
                            " (this build speaks " + std::to_string(kOpHeaderVersion) + ")");
  }
  const auto quant_code = get<uint8_t>(in, 9);
  const auto quant_block = get<uint16_t>(in, 10);
  if (quant_code == 0 && quant_block != 0) {
    return protocolError("collective op header has a quant block without quantization");
  }
  // Enum fields are kept raw: compareDigests names unknown values, never uses them.
  OpDigest d;
  d.collective = static_cast<Collective>(get<uint8_t>(in, 6));
  d.dtype = static_cast<reduce::DType>(get<uint8_t>(in, 7));
  d.op = static_cast<reduce::ReduceOp>(get<uint8_t>(in, 8));
  if (quant_code != 0) {
    d.quant = {static_cast<quant::QuantAlgo>(quant_code >> 4),
               static_cast<quant::WireType>(quant_code & 0xF), (uint32_t{quant_block} + 1) * 16};
  }
  d.world_size = get<uint32_t>(in, 12);
  d.rank = get<uint32_t>(in, 16);
  d.tag = get<uint64_t>(in, 20);
  d.count = get<uint64_t>(in, 28);
  d.revision = get<uint64_t>(in, 36);
  d.root = get<uint32_t>(in, 44);
  d.counts_hash = get<uint64_t>(in, 48);
  return d;
}

Status compareDigests(const OpDigest& mine, const OpDigest& theirs, uint32_t expected_rank,
                      const std::string& peer) {
  using std::to_string;
  if (theirs.collective != mine.collective) {
    return differs(peer, "collective", collectiveName(theirs.collective),
                   collectiveName(mine.collective));
  }
  if (theirs.tag != mine.tag)
    return differs(peer, "tag", to_string(theirs.tag), to_string(mine.tag));
  if (theirs.count != mine.count) {
    return differs(peer, "count", to_string(theirs.count), to_string(mine.count));
  }
  if (theirs.dtype != mine.dtype) {
    return differs(peer, "dtype", dtypeText(theirs.dtype), dtypeText(mine.dtype));
  }
  if (theirs.op != mine.op) return differs(peer, "op", opText(theirs.op), opText(mine.op));
  if (theirs.quant.algo != mine.quant.algo || theirs.quant.wire != mine.quant.wire ||
      theirs.quant.block_elems != mine.quant.block_elems) {
    return differs(peer, "quantization", quantText(theirs.quant), quantText(mine.quant));
  }
  if (theirs.revision != mine.revision) {
    return differs(peer, "topology revision", to_string(theirs.revision), to_string(mine.revision));
  }
  if (theirs.world_size != mine.world_size) {
    return differs(peer, "world size", to_string(theirs.world_size), to_string(mine.world_size));
  }
  if (theirs.root != mine.root) {
    return differs(peer, "root", to_string(theirs.root), to_string(mine.root));
  }
  if (theirs.counts_hash != mine.counts_hash) {
    return differs(peer, "counts hash", hex(theirs.counts_hash), hex(mine.counts_hash));
  }
  if (theirs.rank != expected_rank) {
    return invalidUsage(peer + " says it has rank " + to_string(theirs.rank) +
                        ", this peer's ring puts it at rank " + to_string(expected_rank));
  }
  return Status::ok();
}

}  // namespace eccl::coll
