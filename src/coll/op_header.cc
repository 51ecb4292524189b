#include "src/coll/op_header.h"

#include <xxhash.h>

#include <cstring>
#include <optional>
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

namespace {

uint64_t packQuant(const quant::QuantConfig& q) {
  if (q.algo == quant::QuantAlgo::kNone) return 0;
  return (uint64_t{static_cast<uint8_t>(q.algo)} << 40) |
         (uint64_t{static_cast<uint8_t>(q.wire)} << 32) | q.block_elems;
}

quant::QuantConfig unpackQuant(uint64_t v) {
  return {static_cast<quant::QuantAlgo>(static_cast<uint8_t>(v >> 40)),
          static_cast<quant::WireType>(static_cast<uint8_t>(v >> 32)), static_cast<uint32_t>(v)};
}

// How the error texts name a field ("count", "topology revision", ...).
const char* fieldName(DigestField field) {
  switch (field) {
    case DigestField::kCollective:
      return "collective";
    case DigestField::kTag:
      return "tag";
    case DigestField::kCount:
      return "count";
    case DigestField::kDtype:
      return "dtype";
    case DigestField::kOp:
      return "op";
    case DigestField::kQuant:
      return "quantization";
    case DigestField::kRevision:
      return "topology revision";
    case DigestField::kWorldSize:
      return "world size";
    case DigestField::kRoot:
      return "root";
    case DigestField::kCountsHash:
      return "counts hash";
    case DigestField::kRank:
      return "rank";
  }
  return "field";
}

bool knownField(uint8_t code) {
  return code >= static_cast<uint8_t>(DigestField::kCollective) &&
         code <= static_cast<uint8_t>(DigestField::kRank);
}

// A field's value (as DigestMismatch holds it) as the error texts show it.
std::string valueText(DigestField field, uint64_t v) {
  switch (field) {
    case DigestField::kCollective:
      return collectiveName(static_cast<Collective>(static_cast<uint8_t>(v)));
    case DigestField::kDtype:
      return dtypeText(static_cast<reduce::DType>(static_cast<uint8_t>(v)));
    case DigestField::kOp:
      return opText(static_cast<reduce::ReduceOp>(static_cast<uint8_t>(v)));
    case DigestField::kQuant:
      return quantText(unpackQuant(v));
    case DigestField::kCountsHash:
      return hex(v);
    default:
      return std::to_string(v);
  }
}

}  // namespace

std::optional<DigestMismatch> firstMismatch(const OpDigest& mine, const OpDigest& theirs,
                                            uint32_t expected_rank) {
  auto at = [](DigestField field, uint64_t t, uint64_t m) {
    return std::optional<DigestMismatch>(DigestMismatch{field, t, m});
  };
  if (theirs.collective != mine.collective) {
    return at(DigestField::kCollective, static_cast<uint8_t>(theirs.collective),
              static_cast<uint8_t>(mine.collective));
  }
  if (theirs.tag != mine.tag) return at(DigestField::kTag, theirs.tag, mine.tag);
  if (theirs.count != mine.count) return at(DigestField::kCount, theirs.count, mine.count);
  if (theirs.dtype != mine.dtype) {
    return at(DigestField::kDtype, static_cast<uint8_t>(theirs.dtype),
              static_cast<uint8_t>(mine.dtype));
  }
  if (theirs.op != mine.op) {
    return at(DigestField::kOp, static_cast<uint8_t>(theirs.op), static_cast<uint8_t>(mine.op));
  }
  if (theirs.quant.algo != mine.quant.algo || theirs.quant.wire != mine.quant.wire ||
      theirs.quant.block_elems != mine.quant.block_elems) {
    return at(DigestField::kQuant, packQuant(theirs.quant), packQuant(mine.quant));
  }
  if (theirs.revision != mine.revision) {
    return at(DigestField::kRevision, theirs.revision, mine.revision);
  }
  if (theirs.world_size != mine.world_size) {
    return at(DigestField::kWorldSize, theirs.world_size, mine.world_size);
  }
  if (theirs.root != mine.root) return at(DigestField::kRoot, theirs.root, mine.root);
  if (theirs.counts_hash != mine.counts_hash) {
    return at(DigestField::kCountsHash, theirs.counts_hash, mine.counts_hash);
  }
  if (theirs.rank != expected_rank) return at(DigestField::kRank, theirs.rank, expected_rank);
  return std::nullopt;
}

Status compareDigests(const OpDigest& mine, const OpDigest& theirs, uint32_t expected_rank,
                      const std::string& peer) {
  const std::optional<DigestMismatch> m = firstMismatch(mine, theirs, expected_rank);
  if (!m) return Status::ok();
  if (m->field == DigestField::kRank) {
    return invalidUsage(peer + " says it has rank " + std::to_string(m->theirs) +
                        ", this peer's ring puts it at rank " + std::to_string(m->mine));
  }
  return differs(peer, fieldName(m->field), valueText(m->field, m->theirs),
                 valueText(m->field, m->mine));
}

MismatchNotice mismatchNotice(const DigestMismatch& mismatch, uint32_t sender, uint32_t receiver) {
  return {mismatch.field, sender, receiver, mismatch.theirs, mismatch.mine};
}

OpHeaderBytes encodeMismatchNotice(const MismatchNotice& n) {
  OpHeaderBytes out{};
  put<uint32_t>(out, 0, kMismatchNoticeMagic);
  put<uint16_t>(out, 4, kMismatchNoticeVersion);
  put<uint8_t>(out, 6, static_cast<uint8_t>(n.field));
  put<uint32_t>(out, 8, n.rank_a);
  put<uint32_t>(out, 12, n.rank_b);
  put<uint64_t>(out, 16, n.value_a);
  put<uint64_t>(out, 24, n.value_b);
  return out;
}

bool isMismatchNotice(const OpHeaderBytes& bytes) {
  return get<uint32_t>(bytes, 0) == kMismatchNoticeMagic;
}

Result<MismatchNotice> decodeMismatchNotice(const OpHeaderBytes& in) {
  if (!isMismatchNotice(in)) return protocolError("mismatch notice has a bad magic number");
  if (const auto version = get<uint16_t>(in, 4); version != kMismatchNoticeVersion) {
    return unsupportedError("mismatch notice version " + std::to_string(version) +
                            " (this build speaks " + std::to_string(kMismatchNoticeVersion) + ")");
  }
  const auto field = get<uint8_t>(in, 6);
  if (!knownField(field)) {
    return protocolError("mismatch notice names field #" + std::to_string(field));
  }
  if (in[7] != 0) return protocolError("mismatch notice has a nonzero reserved byte");
  for (size_t i = 32; i < kOpHeaderSize; ++i) {
    if (in[i] != 0) return protocolError("mismatch notice has nonzero padding");
  }
  MismatchNotice n;
  n.field = static_cast<DigestField>(field);
  n.rank_a = get<uint32_t>(in, 8);
  n.rank_b = get<uint32_t>(in, 12);
  n.value_a = get<uint64_t>(in, 16);
  n.value_b = get<uint64_t>(in, 24);
  return n;
}

Status noticeStatus(const MismatchNotice& n, const std::string& from) {
  using std::to_string;
  const std::string a = "rank " + to_string(n.rank_a);
  const std::string b = "rank " + to_string(n.rank_b);
  if (n.field == DigestField::kRank) {
    return invalidUsage(from + " reports that the peers disagree: the peer that " + b +
                        "'s ring puts at " + a + " says it has rank " + to_string(n.value_a));
  }
  return invalidUsage(from + " reports that the peers disagree: " + a + " has " +
                      fieldName(n.field) + " " + valueText(n.field, n.value_a) + ", " + b + " " +
                      valueText(n.field, n.value_b));
}

}  // namespace eccl::coll
