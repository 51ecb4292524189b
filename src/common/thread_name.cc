#include "src/common/thread_name.h"

#include <pthread.h>

#include <string>

namespace eccl {

void nameThisThread(const char* name) {
  // The kernel takes 16 bytes with the terminator and refuses longer names.
  pthread_setname_np(pthread_self(), std::string(name).substr(0, 15).c_str());
}

}  // namespace eccl
