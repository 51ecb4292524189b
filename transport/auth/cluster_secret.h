// The cluster's shared secret: the master and every peer that hold it prove
// so to each other on every connection (auth_stream.h) before any frame.
// Loaded from a file (ECCL_SECRET_FILE, eccl-master --secret-file); its bytes
// never reach a log line or an error message.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "src/common/status.h"

namespace eccl::transport::auth {

class ClusterSecret {
 public:
  // Shorter secrets are refused: the challenge-response must not be open to
  // guessing (`openssl rand -hex 32 > FILE` makes a good one).
  static constexpr size_t kMinBytes = 16;
  static constexpr size_t kMaxBytes = 4096;

  // The bytes as given; kInvalidArgument when too short or too long.
  static Result<std::shared_ptr<const ClusterSecret>> fromBytes(std::span<const uint8_t> bytes);
  // The file's contents without trailing line breaks and spaces (so that an
  // editor's final newline does not change the secret). Warns when the file is
  // readable by other users.
  static Result<std::shared_ptr<const ClusterSecret>> loadFile(const std::string& path);
  // ECCL_SECRET_FILE when it is set and not empty; null when it is not.
  static Result<std::shared_ptr<const ClusterSecret>> fromEnvironment();

  explicit ClusterSecret(std::vector<uint8_t> key);
  ~ClusterSecret();  // wipes the bytes
  ClusterSecret(const ClusterSecret&) = delete;
  ClusterSecret& operator=(const ClusterSecret&) = delete;

  std::span<const uint8_t> key() const { return key_; }

 private:
  std::vector<uint8_t> key_;
};

}  // namespace eccl::transport::auth
