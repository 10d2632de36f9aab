// Test helpers that run berth's real binaries: find them in the test's runfiles, start them
// with their output captured, and stop exactly the processes a test started.
#ifndef BERTH_E2E_HARNESS_PROCESS_H_
#define BERTH_E2E_HARNESS_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace berth::e2e {

// The path of a binary built by this workspace, e.g. Runfile("services/daemon/berthd").
std::string Runfile(const std::string& workspace_path);

// A fresh directory under the test's TEST_TMPDIR.
std::string MakeTempDir(const std::string& prefix);

// A fresh directory under /tmp, removed with everything in it on destruction. For paths that
// must stay short: a unix socket path has at most 107 bytes, and Bazel's TEST_TMPDIR is long.
class ShortTempDir {
 public:
  explicit ShortTempDir(const std::string& prefix);
  ~ShortTempDir();
  ShortTempDir(const ShortTempDir&) = delete;
  ShortTempDir& operator=(const ShortTempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv to completion and returns its exit code and output.
CommandResult RunCommand(const std::vector<std::string>& argv);

// A child process started by the test and stopped by it: SIGKILL on destruction if still
// running, then reaped. Its stderr goes to a file the test can read.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `sig` and waits up to `timeout` for the exit. Returns the exit code, 128+signal if
  // killed, or -1 on timeout (the child is then killed).
  int Stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for the child to exit by itself; same return values as Stop.
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool Running();
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string stderr_file_;
};

// A loopback port that nobody listens on right now, of a socket of `type` (SOCK_STREAM or
// SOCK_DGRAM): the kernel's pick for a bind to port 0.
int FreeLoopbackPort(int type = 1 /* SOCK_STREAM */);
// Whether something accepts TCP connections on 127.0.0.1:`port`.
bool LoopbackPortAnswers(int port);

// The whole file at `path` ("" when it cannot be read).
std::string ReadWholeFile(const std::string& path);

// Polls until `path` exists or the timeout passes.
bool WaitForPath(const std::string& path,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
// The same, giving up early if `owner` (the process that should create it) exits.
bool WaitForPath(const std::string& path, Child& owner,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Polls until a unix socket at `path` accepts a connection, giving up early if `owner` exits.
// `type` is the socket's type: SOCK_STREAM (gRPC) or SOCK_SEQPACKET (the shim).
bool WaitForListener(const std::string& path, Child& owner,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10),
                     int type = 1 /* SOCK_STREAM */);

}  // namespace berth::e2e

#endif  // BERTH_E2E_HARNESS_PROCESS_H_
