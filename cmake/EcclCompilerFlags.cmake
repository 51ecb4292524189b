# Warnings, floating-point reproducibility and sanitizer flags shared by every target.

add_library(eccl_warnings INTERFACE)
target_compile_options(eccl_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
  -Wimplicit-fallthrough -Wno-missing-field-initializers)

# The same bits on every SIMD path and every peer: no fused multiply-add contraction.
add_compile_options(-ffp-contract=off)

if(ECCL_SANITIZER STREQUAL "address")
  set(ECCL_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer)
elseif(ECCL_SANITIZER STREQUAL "thread")
  set(ECCL_SANITIZER_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT ECCL_SANITIZER STREQUAL "")
  message(FATAL_ERROR "ECCL_SANITIZER must be empty, 'address' or 'thread' (got '${ECCL_SANITIZER}')")
endif()
if(ECCL_SANITIZER_FLAGS)
  add_compile_options(${ECCL_SANITIZER_FLAGS})
  add_link_options(${ECCL_SANITIZER_FLAGS})
endif()

# libFuzzer needs clang; the fuzz targets are built only where it links.
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer")
check_cxx_source_compiles([[
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }
]] ECCL_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_FLAGS)
