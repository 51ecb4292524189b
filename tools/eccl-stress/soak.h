// The soak: a master and peers as real processes, faults applied on the
// seeded schedule while they train, every step line checked as it arrives.
// One thread: it polls the peers' pipes, applies what is due, and checks that
// every running peer keeps finishing steps.
#pragma once

#include <cstdarg>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tools/eccl-stress/fault_schedule.h"
#include "tools/eccl-stress/master_child.h"
#include "tools/eccl-stress/step_checker.h"
#include "tools/eccl-stress/stress_options.h"
#include "tools/eccl-stress/stress_peer.h"
#include "tools/eccl-stress/summary.h"

namespace eccl::tools::stress {

class Soak {
 public:
  // bin_dir holds eccl-master and eccl-peer; work_dir takes their logs. With
  // a lab (outliving the soak) the master runs in host 0 and every peer in
  // the host with the fewest running peers.
  Soak(StressOptions options, std::string bin_dir, std::string work_dir,
       const bench::NetlabSession* lab = nullptr);

  // The process's exit code: 0 passed, 1 a check failed, 2 it could not run.
  int run();

 private:
  Status startFleet();
  void train();
  void shutDown();
  Summary summarize() const;

  Status spawnPeer();
  int leastBusyHost() const;
  void applyFault(const FaultEvent& fault);
  void endDueHangs();
  // Reads every peer's output so far; reaps and judges those that exited.
  void pumpAll();
  void pump(StressPeer& peer);
  void onLine(StressPeer& peer, const std::string& text);
  void judgeExit(StressPeer& peer);
  void checkStuck();
  void checkMaster();
  void printProgress();

  std::vector<StressPeer*> healthyPeers() const;
  int livePeers() const;  // not yet reaped and not being killed
  int stoppedPeers() const;
  // One line, stamped with the seconds since training began.
  void say(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void fail(StressPeer& peer, const std::string& what);

  const StressOptions options_;
  const std::string work_dir_;
  const std::string master_binary_;
  const bench::NetlabSession* const lab_;
  PeerLaunch launch_;
  std::unique_ptr<MasterChild> master_;
  std::vector<std::unique_ptr<StressPeer>> peers_;
  StepChecker checker_;
  std::set<uint64_t> failed_revisions_printed_;  // one line per failed op, not per peer
  Clock::time_point training_start_;
  std::chrono::system_clock::time_point training_start_wall_;  // for the master log's times
  Clock::time_point training_end_;
  Summary summary_;
};

}  // namespace eccl::tools::stress
