#include "tools/eccl-netlab/tun_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace eccl::tools::netlab {
namespace {

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Opens the TUN device in whatever namespace the thread is in now.
Result<int> openTunHere(const std::string& device, bool gso) {
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return unsupportedError(errnoText("open /dev/net/tun"));
  ifreq request{};
  request.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  std::strncpy(request.ifr_name, device.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &request) != 0) {
    const Status error = systemError(errnoText("TUNSETIFF " + device));
    close(fd);
    return error;
  }
  const unsigned offloads = gso ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
  if (ioctl(fd, TUNSETOFFLOAD, offloads) != 0) {
    const Status error = systemError(errnoText("TUNSETOFFLOAD " + device));
    close(fd);
    return error;
  }
  return fd;
}

}  // namespace

Result<int> openTunInNamespace(const std::string& namespace_name, const std::string& device,
                               bool gso) {
  const int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) return systemError(errnoText("open /proc/thread-self/ns/net"));
  const std::string target_path = "/run/netns/" + namespace_name;
  const int target = open(target_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    close(home);
    return systemError(errnoText("open " + target_path));
  }
  Result<int> tun = systemError("setns " + namespace_name);
  if (setns(target, CLONE_NEWNET) == 0) {
    tun = openTunHere(device, gso);
    if (setns(home, CLONE_NEWNET) != 0) {
      // Staying in the lab's namespace would misplace every later device.
      if (tun) close(*tun);
      tun = systemError(errnoText("setns back to the original namespace"));
    }
  } else {
    tun = systemError(errnoText("setns " + namespace_name));
  }
  close(target);
  close(home);
  return tun;
}

}  // namespace eccl::tools::netlab
