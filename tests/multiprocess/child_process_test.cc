// ChildProcess (tools/common) on /bin/sh: lines, timeouts, end of output,
// signals, and no child left behind, stopped or not.
#include "tools/common/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>

#include "tests/support/test_env.h"

namespace eccl::tools {
namespace {

using namespace std::chrono_literals;
using test::deadline;

std::unique_ptr<ChildProcess> shell(const std::string& script) {
  auto child =
      ChildProcess::spawn({.argv = {"/bin/sh", "-c", script}, .stdout_to = ChildOutput::kPipe});
  EXPECT_TRUE(child) << child.status().toString();
  return child ? std::move(*child) : nullptr;
}

TEST(ChildProcess, ReadsLinesUntilEndOfOutput) {
  auto child = shell("echo one; echo two");
  ASSERT_TRUE(child);
  EXPECT_EQ(child->name(), "sh[" + std::to_string(child->pid()) + "]");
  auto one = child->readLine(deadline(5s));
  ASSERT_TRUE(one) << one.status().toString();
  EXPECT_EQ(*one, "one");
  auto two = child->readLine(deadline(5s));
  ASSERT_TRUE(two) << two.status().toString();
  EXPECT_EQ(*two, "two");
  auto end = child->readLine(deadline(5s));
  ASSERT_FALSE(end);
  EXPECT_EQ(end.status().code(), Code::kConnectionError);
  EXPECT_TRUE(child->endOfOutput());
  auto status = child->wait(deadline(5s));
  ASSERT_TRUE(status) << status.status().toString();
  EXPECT_TRUE(ChildProcess::exitedCleanly(*status)) << ChildProcess::describeExit(*status);
}

TEST(ChildProcess, ReadLineTimesOutOnASilentChild) {
  auto child = shell("exec sleep 30");
  ASSERT_TRUE(child);
  auto line = child->readLine(50ms);
  ASSERT_FALSE(line);
  EXPECT_EQ(line.status().code(), Code::kTimeout);
  EXPECT_FALSE(child->endOfOutput());
  EXPECT_FALSE(child->hasExited());
}

TEST(ChildProcess, SignalIsFalseOnceReaped) {
  auto child = shell("exit 3");
  ASSERT_TRUE(child);
  auto status = child->wait(deadline(5s));
  ASSERT_TRUE(status) << status.status().toString();
  EXPECT_EQ(ChildProcess::describeExit(*status), "exited with code 3");
  EXPECT_FALSE(child->signal(SIGTERM));
}

TEST(ChildProcess, DestructorKillsAndReapsAStoppedChild) {
  auto child = shell("exec sleep 30");
  ASSERT_TRUE(child);
  const pid_t pid = child->pid();
  ASSERT_TRUE(child->signal(SIGSTOP));
  child.reset();
  errno = 0;
  EXPECT_EQ(kill(pid, 0), -1);  // reaped: no such process
  EXPECT_EQ(errno, ESRCH);
}

// Its SIGTERM handler runs only once it is continued.
TEST(ChildProcess, StopContinuesAStoppedChildThatHandlesSigterm) {
  auto child = shell("trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done");
  ASSERT_TRUE(child);
  ASSERT_TRUE(child->readLine(deadline(5s)));
  ASSERT_TRUE(child->signal(SIGSTOP));
  child->stop(deadline(5s));
  ASSERT_TRUE(child->reaped());
  EXPECT_EQ(ChildProcess::describeExit(child->waitStatus()), "exited with code 7");
}

TEST(ChildProcess, SpawnFailsForAMissingProgram) {
  auto child = ChildProcess::spawn({.argv = {"/nonexistent/eccl-no-such-tool"}});
  ASSERT_FALSE(child);
  EXPECT_EQ(child.status().code(), Code::kSystemError);
}

}  // namespace
}  // namespace eccl::tools
