// Dumps on a signal: every communicator registers how to dump its state, and
// one watcher thread per signal (SIGUSR1 by default) runs all of them when
// the process gets it, so that `kill -USR1 <pid>` shows what a hung trainer
// is waiting for. The watcher runs while any registration lives.
//
// Taking the signal replaces its default action (SIGUSR1 would end the
// process) and any handler the application installed for it;
// CommOptions::dump_signal = 0 (env ECCL_DUMP_SIGNAL=0) leaves it alone.
#pragma once

#include <functional>
#include <memory>

#include "src/common/status.h"

namespace eccl::anomaly {

class DumpRegistration {
 public:
  virtual ~DumpRegistration() = default;  // unregisters; waits for a dump running now
};

// `dump` runs on the watcher's thread at each delivery of `signal` while the
// registration lives. kInvalidArgument for a signal that cannot be caught.
Result<std::unique_ptr<DumpRegistration>> dumpOnSignal(int signal, std::function<void()> dump);

}  // namespace eccl::anomaly
