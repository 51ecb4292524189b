#include "transport/shm/shm_segment.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>

#include "src/common/log.h"

namespace eccl::transport::shm {
namespace {

constexpr std::string_view kPrefix = "/eccl-";
constexpr size_t kRandomHexDigits = 16;

std::string errnoText(int error) {
  return std::strerror(error);
}

std::string randomHex() {
  uint8_t bytes[kRandomHexDigits / 2];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return {};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

// The pid in "/eccl-<pid>-<hex>", or 0 when the name is not one of ours.
pid_t pidOf(std::string_view name) {
  if (!name.starts_with(kPrefix)) return 0;
  name.remove_prefix(kPrefix.size());
  const size_t dash = name.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash > 10) return 0;
  const std::string_view digits = name.substr(0, dash);
  const std::string_view hex = name.substr(dash + 1);
  if (hex.size() != kRandomHexDigits) return 0;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
  }
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (ec != std::errc() || end != digits.data() + digits.size() || pid <= 0) return 0;
  return pid;
}

Result<uint8_t*> mapShared(int fd, size_t bytes, const std::string& name) {
  void* data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) return systemError("cannot map " + name + ": " + errnoText(errno));
  return static_cast<uint8_t*>(data);
}

}  // namespace

Result<std::unique_ptr<ShmSegment>> ShmSegment::create(size_t bytes) {
  const std::string hex = randomHex();
  if (hex.empty()) return internalError("no random bytes for a shared-memory segment name");
  const std::string name = std::string(kPrefix) + std::to_string(::getpid()) + "-" + hex;
  const int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return systemError("cannot create " + name + ": " + errnoText(errno));
  // posix_fallocate reserves the pages: tmpfs would otherwise let the
  // mapping succeed and kill the process with SIGBUS once /dev/shm is full.
  const int reserved = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  Result<uint8_t*> data =
      reserved == 0
          ? mapShared(fd, bytes, name)
          : Result<uint8_t*>(systemError("cannot reserve " + std::to_string(bytes) + " bytes for " +
                                         name + ": " + errnoText(reserved)));
  ::close(fd);
  if (!data) {
    ::shm_unlink(name.c_str());
    return data.status();
  }
  return std::unique_ptr<ShmSegment>(new ShmSegment(name, *data, bytes, true));
}

Result<std::unique_ptr<ShmSegment>> ShmSegment::open(const std::string& name, size_t bytes) {
  if (!isSegmentName(name)) return protocolError("not an ECCL segment name");
  const int fd = ::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return systemError("cannot open " + name + ": " + errnoText(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != bytes) {
    ::close(fd);
    return protocolError(name + " is not " + std::to_string(bytes) + " bytes long");
  }
  auto data = mapShared(fd, bytes, name);
  ::close(fd);
  if (!data) return data.status();
  return std::unique_ptr<ShmSegment>(new ShmSegment(name, *data, bytes, false));
}

ShmSegment::~ShmSegment() {
  unlink();
  ::munmap(data_, size_);
}

void ShmSegment::unlink() {
  if (!linked_) return;
  linked_ = false;
  if (::shm_unlink(name_.c_str()) != 0 && errno != ENOENT) {
    ECCL_LOG_WARN("cannot remove {}: {}", name_, errnoText(errno));
  }
}

bool isSegmentName(std::string_view name) {
  return pidOf(name) != 0;
}

int removeSegmentsOfDeadProcesses() {
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr) return 0;
  int removed = 0;
  while (const dirent* entry = ::readdir(dir)) {
    std::string name = "/";
    name += entry->d_name;
    const pid_t pid = pidOf(name);
    if (pid == 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    if (::shm_unlink(name.c_str()) == 0) {
      ECCL_LOG_INFO("removed {}, left behind by process {} that no longer runs", name, pid);
      ++removed;
    }
  }
  ::closedir(dir);
  return removed;
}

void reapStaleSegments() {
  static std::once_flag once;
  std::call_once(once, [] { removeSegmentsOfDeadProcesses(); });
}

}  // namespace eccl::transport::shm
