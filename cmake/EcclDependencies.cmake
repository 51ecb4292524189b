# Every dependency comes from a Debian package (scripts/install-deps.sh installs them).
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(zstd CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)

# Standalone Asio is header-only and ships no CMake or pkg-config file.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(eccl_asio INTERFACE)
target_include_directories(eccl_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# Asio picks aligned_alloc/free or operator new/delete for its handler memory
# from the standard library's macros, so a file that includes asio before any
# standard header would get the other pair (an ODR split that AddressSanitizer
# reports as alloc-dealloc-mismatch). Pin one choice for every file.
target_compile_definitions(eccl_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
                                               ASIO_HAS_STD_ALIGNED_ALLOC=1)

# libibverbs is optional at build time; the RDMA transport is compiled only where it is found.
pkg_check_modules(IBVERBS IMPORTED_TARGET libibverbs)

# zstd's Debian config names the targets zstd::libzstd_shared / _static.
if(TARGET zstd::libzstd_shared)
  set(ECCL_ZSTD_TARGET zstd::libzstd_shared)
else()
  set(ECCL_ZSTD_TARGET zstd::libzstd_static)
endif()

add_library(eccl_deps INTERFACE)
target_link_libraries(eccl_deps INTERFACE
  Threads::Threads OpenSSL::Crypto OpenSSL::SSL ${ECCL_ZSTD_TARGET} spdlog::spdlog
  PkgConfig::XXHASH eccl_asio)

if(ECCL_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(ECCL_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
if(ECCL_BUILD_TOOLS)
  find_package(CLI11 CONFIG REQUIRED)
  find_package(nlohmann_json 3 CONFIG REQUIRED)
  # Debian builds cpp-httplib as a library (with OpenSSL, zlib, brotli): link it, not just the header.
  pkg_check_modules(CPPHTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
endif()
