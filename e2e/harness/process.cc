#include "e2e/harness/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace berth::e2e {
namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr ? v : fallback;
}

std::vector<char*> Argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

bool WaitForPath(const std::string& path, Child* owner, std::chrono::milliseconds timeout);

namespace {

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string Runfile(const std::string& workspace_path) {
  return EnvOr("TEST_SRCDIR", ".") + "/" + EnvOr("TEST_WORKSPACE", "berth") + "/" + workspace_path;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = EnvOr("TEST_TMPDIR", "/tmp") + "/" + prefix + ".XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

ShortTempDir::ShortTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + ".XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

ShortTempDir::~ShortTempDir() {
  // nftw would do, but rm is simpler and these trees are small.
  RunCommand({"/bin/rm", "-rf", "--one-file-system", path_});
}

CommandResult RunCommand(const std::vector<std::string>& argv) {
  // Output goes to memory files, not pipes: a command may leave a process behind that keeps
  // its stdout (berth-runtime create leaves the container), and we wait for the command's
  // exit, not for the end of its output.
  int out = memfd_create("stdout", MFD_CLOEXEC);
  int err = memfd_create("stderr", MFD_CLOEXEC);
  if (out < 0 || err < 0) throw std::runtime_error("memfd_create failed");
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> args = Argv(argv);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  lseek(out, 0, SEEK_SET);
  lseek(err, 0, SEEK_SET);
  r.out = ReadAll(out);
  r.err = ReadAll(err);
  close(out);
  close(err);
  return r;
}

Child::Child(const std::vector<std::string>& argv) {
  stderr_file_ = MakeTempDir("child") + "/stderr";
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(stderr_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    std::vector<char*> args = Argv(argv);
    execv(args[0], args.data());
    _exit(127);
  }
}

Child::~Child() {
  if (Running()) Stop(SIGKILL);
}

bool Child::Running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

int Child::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return DecodeStatus(status_);
}

int Child::Stop(int sig, std::chrono::milliseconds timeout) {
  if (Running()) kill(pid_, sig);
  return Wait(timeout);
}

std::string Child::Stderr() const {
  int fd = open(stderr_file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string s = ReadAll(fd);
  close(fd);
  return s;
}

bool LoopbackPortAnswers(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int FreeLoopbackPort(int type) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);
  return ntohs(sa.sin_port);
}

bool WaitForPath(const std::string& path, std::chrono::milliseconds timeout) {
  return WaitForPath(path, nullptr, timeout);
}

bool WaitForPath(const std::string& path, Child& owner, std::chrono::milliseconds timeout) {
  return WaitForPath(path, &owner, timeout);
}

bool WaitForPath(const std::string& path, Child* owner, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  struct stat st;
  while (lstat(path.c_str(), &st) != 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (owner != nullptr && !owner->Running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace berth::e2e

namespace berth::e2e {

bool WaitForListener(const std::string& path, Child& owner, std::chrono::milliseconds timeout,
                     int type) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) return false;
  std::memcpy(sa.sun_path, path.c_str(), path.size());
  for (;;) {
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
    close(fd);
    if (ok) return true;
    if (std::chrono::steady_clock::now() > deadline || !owner.Running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace berth::e2e
