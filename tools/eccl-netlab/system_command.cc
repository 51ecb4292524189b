#include "tools/eccl-netlab/system_command.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tools/common/child_process.h"

namespace eccl::tools::netlab {
namespace {

// A private file for the child's stderr, removed when done.
class StderrFile {
 public:
  StderrFile() {
    char path[] = "/tmp/eccl-netlab-stderr-XXXXXX";
    const int fd = mkstemp(path);
    if (fd >= 0) {
      close(fd);
      path_ = path;
    }
  }
  ~StderrFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string contents() const {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    std::string out = text.str();
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
      out.pop_back();
    return out;
  }

 private:
  std::string path_;
};

}  // namespace

std::string joinCommand(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line.push_back(' ');
    line += arg;
  }
  return line;
}

std::vector<std::string> inNamespace(const std::string& name, std::vector<std::string> argv) {
  std::vector<std::string> full = {"ip", "netns", "exec", name};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

Result<std::string> runCommand(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout) {
  const std::string& name = argv.at(0);
  const std::string program = name.find('/') != std::string::npos ? name : findOnPath(name);
  if (program.empty()) return unsupportedError(name + " not found on PATH");
  StderrFile errors;
  SpawnOptions options;
  options.argv = argv;
  options.program = program;
  options.stdout_to = ChildOutput::kPipe;
  options.stderr_to = errors.path().empty() ? ChildOutput::kDevNull : ChildOutput::kFile;
  options.output_file = errors.path();
  auto child = ChildProcess::spawn(options);
  if (!child) return child.status();
  auto output = (*child)->readAll(timeout);
  if (!output) {
    (*child)->stop(std::chrono::milliseconds(200));
    return output.status().withContext(joinCommand(argv));
  }
  auto status = (*child)->wait(timeout);
  if (!status) return status.status().withContext(joinCommand(argv));
  if (!ChildProcess::exitedCleanly(*status)) {
    const std::string stderr_text = errors.contents();
    return systemError(joinCommand(argv) + " " + ChildProcess::describeExit(*status) +
                       (stderr_text.empty() ? "" : ": " + stderr_text));
  }
  return std::move(*output);
}

}  // namespace eccl::tools::netlab
