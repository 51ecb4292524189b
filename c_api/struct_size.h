// The versioned-struct rule of the C API (eccl.h, "Versioned structs"): a
// caller's struct_size must cover the struct's first version and must not
// exceed today's sizeof; fields past struct_size are absent (take defaults).
#pragma once

#include <cstddef>
#include <string>

#include "src/common/status.h"

namespace eccl::capi {

// Whether a caller's struct of struct_size bytes contains the field at [offset, offset + size).
constexpr bool hasField(size_t struct_size, size_t offset, size_t size) {
  return offset <= struct_size && size <= struct_size - offset;
}

// what: "ecclCommCreate: config", named in the error text.
inline Status checkStructSize(size_t struct_size, size_t min_size, size_t max_size,
                              const std::string& what) {
  if (struct_size >= min_size && struct_size <= max_size && struct_size != 0) return Status::ok();
  return invalidArgument(what + "->struct_size is " + std::to_string(struct_size) + ", must be " +
                         std::to_string(min_size) + ".." + std::to_string(max_size) +
                         " (set it with the matching ...Init function or to sizeof)");
}

}  // namespace eccl::capi

// The end of a struct's field: the minimum struct_size of a version that ends with it.
#define ECCL_CAPI_FIELD_END(type, field) (offsetof(type, field) + sizeof(type::field))
// Whether the caller's struct *ptr (of C type `type`) contains `field`.
#define ECCL_CAPI_HAS_FIELD(ptr, type, field) \
  (::eccl::capi::hasField((ptr)->struct_size, offsetof(type, field), sizeof(type::field)))
