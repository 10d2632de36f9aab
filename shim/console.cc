#include "shim/console.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/syscall.h"

namespace berth::shim {
namespace {

constexpr char kName[] = "console.sock";

absl::Status WaitReadable(int fd, int timeout_ms, const char* what) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  int n = sys::RetryEintr([&] { return ::poll(&p, 1, timeout_ms); });
  if (n < 0) return ErrnoStatus("poll(console socket)", errno);
  if (n == 0) {
    return absl::DeadlineExceededError(absl::StrCat("the runtime did not ", what,
                                                    " the console socket within ", timeout_ms,
                                                    " ms; does it support --console-socket?"));
  }
  return absl::OkStatus();
}

}  // namespace

ConsoleSocket::ConsoleSocket(ConsoleSocket&& other) noexcept
    : dir_(std::move(other.dir_)),
      listen_(std::move(other.listen_)),
      path_(std::exchange(other.path_, "")),
      unlink_(std::exchange(other.unlink_, "")) {}

ConsoleSocket::~ConsoleSocket() {
  if (!unlink_.empty()) ::unlink(unlink_.c_str());
}

absl::StatusOr<ConsoleSocket> ConsoleSocket::Listen(const std::string& dir) {
  ConsoleSocket c;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::string bind_path = absl::StrCat(dir, "/", kName);
  c.path_ = bind_path;
  if (bind_path.size() >= sizeof(sa.sun_path)) {
    absl::StatusOr<UniqueFd> d = sys::Open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (!d.ok()) return d.status();
    c.dir_ = *std::move(d);
    bind_path = absl::StrCat("/proc/self/fd/", c.dir_.get(), "/", kName);
    c.path_ = absl::StrCat("/proc/", ::getpid(), "/fd/", c.dir_.get(), "/", kName);
  }
  std::memcpy(sa.sun_path, bind_path.c_str(), bind_path.size());
  c.listen_.Reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!c.listen_) return ErrnoStatus("socket(AF_UNIX, SOCK_STREAM)", errno);
  ::unlink(bind_path.c_str());  // left over from a shim that died mid-create
  if (::bind(c.listen_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return ErrnoStatus(absl::StrCat("bind(", c.path_, ")"), errno);
  }
  c.unlink_ = bind_path;
  ::chmod(bind_path.c_str(), 0600);
  if (::listen(c.listen_.get(), 1) != 0) return ErrnoStatus("listen(console socket)", errno);
  return c;
}

absl::StatusOr<UniqueFd> ConsoleSocket::ReceiveMaster(int timeout_ms) {
  if (absl::Status st = WaitReadable(listen_.get(), timeout_ms, "connect to"); !st.ok()) return st;
  UniqueFd conn(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return ErrnoStatus("accept4(console socket)", errno);
  if (absl::Status st = WaitReadable(conn.get(), timeout_ms, "send a pty over"); !st.ok()) {
    return st;
  }
  char name[256];
  iovec iov{.iov_base = name, .iov_len = sizeof(name)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  // Room for more than the one fd expected, so extra ones are received (and closed) rather
  // than leaving the message truncated.
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = sys::RetryEintr([&] { return ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC); });
  if (n < 0) return ErrnoStatus("recvmsg(console socket)", errno);
  UniqueFd master;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (!master) {
        master.Reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  if (!master) {
    return absl::FailedPreconditionError(
        "the runtime connected to the console socket but sent no file descriptor");
  }
  if (!::isatty(master.get())) {
    return absl::FailedPreconditionError(
        "the runtime sent a file descriptor over the console socket that is not a terminal");
  }
  int flags = ::fcntl(master.get(), F_GETFL);
  if (flags < 0 || ::fcntl(master.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoStatus("fcntl(pty master, O_NONBLOCK)", errno);
  }
  return master;
}

}  // namespace berth::shim
