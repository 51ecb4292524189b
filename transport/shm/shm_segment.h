// A POSIX shared-memory segment (/dev/shm) mapped into this process.
//
// Segments live in /dev/shm only while two peers set up a channel: the
// creator names it "/eccl-<pid>-<random>", the other side maps it and both
// unlink it at once, so the memory goes away with the last mapping, however
// the processes end. A creator killed before that leaves its segment behind;
// reapStaleSegments() removes those of processes that no longer exist.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "src/common/status.h"

namespace eccl::transport::shm {

class ShmSegment {
 public:
  // Creates, reserves (so that a full /dev/shm is an error here, not a
  // SIGBUS later) and maps a new segment of `bytes` with mode 0600.
  static Result<std::unique_ptr<ShmSegment>> create(size_t bytes);
  // Maps an existing segment, which must be exactly `bytes` long.
  static Result<std::unique_ptr<ShmSegment>> open(const std::string& name, size_t bytes);

  ~ShmSegment();  // unmaps; unlinks the name if this side created it and has not yet
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;

  // Removes the name from /dev/shm (the mappings stay valid). Idempotent.
  void unlink();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& name() const { return name_; }

 private:
  ShmSegment(std::string name, uint8_t* data, size_t size, bool linked)
      : name_(std::move(name)), data_(data), size_(size), linked_(linked) {}

  std::string name_;
  uint8_t* data_;
  size_t size_;
  bool linked_;
};

// Whether `name` is one ShmSegment::create makes ("/eccl-<pid>-<16 hex>"):
// the other side opens nothing else.
bool isSegmentName(std::string_view name);

// Unlinks /dev/shm/eccl-<pid>-* of processes that no longer exist; returns
// how many it removed.
int removeSegmentsOfDeadProcesses();
// The same, at most once per process (the first shared-memory channel calls it).
void reapStaleSegments();

}  // namespace eccl::transport::shm
