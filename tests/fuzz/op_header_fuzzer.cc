// libFuzzer target for the collective op header (src/coll/op_header.h), the
// first message of every ring op: any 56 bytes decode to a digest or to an
// error, never a crash; a decoded digest compares with a valid one without
// trouble, and re-encodes to bytes that decode to the same fields. The same
// for the mismatch notice, which travels on the same streams: a decoded one
// is named without trouble and re-encodes to the very same bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "src/coll/op_header.h"

namespace {

using eccl::coll::OpDigest;

bool sameFields(const OpDigest& a, const OpDigest& b) {
  return a.collective == b.collective && a.tag == b.tag && a.count == b.count &&
         a.dtype == b.dtype && a.op == b.op && a.quant.algo == b.quant.algo &&
         a.revision == b.revision && a.world_size == b.world_size && a.rank == b.rank &&
         a.root == b.root && a.counts_hash == b.counts_hash;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size != eccl::coll::kOpHeaderSize) return 0;
  eccl::coll::OpHeaderBytes bytes;
  std::memcpy(bytes.data(), data, size);
  if (eccl::coll::isMismatchNotice(bytes)) {
    auto notice = eccl::coll::decodeMismatchNotice(bytes);
    if (!notice) return 0;
    (void)eccl::coll::noticeStatus(*notice, "peer");
    if (eccl::coll::encodeMismatchNotice(*notice) != bytes) std::abort();
    return 0;
  }
  auto decoded = eccl::coll::decodeOpHeader(bytes);
  if (!decoded) return 0;
  OpDigest mine;
  mine.quant = {eccl::quant::QuantAlgo::kMinMax, eccl::quant::WireType::kU8, 1024};
  (void)eccl::coll::compareDigests(mine, *decoded, decoded->rank, "peer");
  auto again = eccl::coll::decodeOpHeader(eccl::coll::encodeOpHeader(*decoded));
  if (!again || !sameFields(*decoded, *again)) std::abort();
  return 0;
}
