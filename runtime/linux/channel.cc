#include "runtime/linux/channel.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/path.h"
#include "common/syscall.h"

namespace berth::runtime {
namespace {

// A sockaddr for `path` that fits: long paths are reached through /proc/self/fd/<dirfd>/name.
absl::StatusOr<sockaddr_un> Addr(const std::string& path, UniqueFd* dir_keepalive) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::string p = path;
  if (p.size() >= sizeof(sa.sun_path)) {
    absl::StatusOr<UniqueFd> dir = sys::Open(path::Dir(path), O_PATH | O_DIRECTORY);
    if (!dir.ok()) return dir.status();
    *dir_keepalive = *std::move(dir);
    p = absl::StrCat("/proc/self/fd/", dir_keepalive->get(), "/", path::Base(path));
    if (p.size() >= sizeof(sa.sun_path)) {
      return absl::InvalidArgumentError(absl::StrCat("socket name too long: ", path));
    }
  }
  std::memcpy(sa.sun_path, p.c_str(), p.size());
  return sa;
}

}  // namespace

absl::Status SendMessage(int fd, const std::string& message) {
  ssize_t n =
      sys::RetryEintr([&] { return ::send(fd, message.data(), message.size(), MSG_NOSIGNAL); });
  if (n < 0) return ErrnoStatus("send(sync)", errno);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReceiveMessage(int fd) {
  char buf[8192];
  ssize_t n = sys::RetryEintr([&] { return ::recv(fd, buf, sizeof(buf), 0); });
  if (n < 0) return ErrnoStatus("recv(sync)", errno);
  if (n == 0) return absl::UnavailableError("peer closed");
  return std::string(buf, static_cast<size_t>(n));
}

absl::Status SendStatus(int fd, const absl::Status& status) {
  return SendMessage(
      fd, absl::StrCat("error ", static_cast<int>(status.code()), " ", status.message()));
}

absl::StatusOr<std::string> ParseReply(const std::string& message) {
  if (!absl::StartsWith(message, "error ")) return message;
  absl::string_view rest = absl::string_view(message).substr(6);
  size_t space = rest.find(' ');
  int code = 2;  // UNKNOWN
  if (space != absl::string_view::npos) {
    code = std::atoi(std::string(rest.substr(0, space)).c_str());
    rest = rest.substr(space + 1);
  }
  if (code <= 0 || code > 16) code = 2;
  return absl::Status(static_cast<absl::StatusCode>(code), rest);
}

absl::Status SendFd(int socket, int fd, const std::string& name) {
  msghdr msg{};
  iovec iov{.iov_base = const_cast<char*>(name.data()), .iov_len = name.size()};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (sys::RetryEintr([&] { return ::sendmsg(socket, &msg, MSG_NOSIGNAL); }) < 0) {
    return ErrnoStatus("sendmsg(console socket, SCM_RIGHTS)", errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ReceiveFd(int socket, std::string* name) {
  char buf[4096];
  iovec iov{.iov_base = buf, .iov_len = sizeof(buf)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = sys::RetryEintr([&] { return ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC); });
  if (n < 0) return ErrnoStatus("recvmsg(SCM_RIGHTS)", errno);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) {
    return absl::InvalidArgumentError("no file descriptor in the message");
  }
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  if (name != nullptr) name->assign(buf, static_cast<size_t>(n));
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path, int type) {
  UniqueFd keep;
  absl::StatusOr<sockaddr_un> sa = Addr(path, &keep);
  if (!sa.ok()) return sa.status();
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus("socket(AF_UNIX)", errno);
  if (sys::RetryEintr([&] {
        return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa));
      }) != 0) {
    return ErrnoStatus(absl::StrCat("connect(", path, ")"), errno);
  }
  return fd;
}

absl::StatusOr<UniqueFd> ListenUnix(const std::string& path, int type) {
  UniqueFd keep;
  absl::StatusOr<sockaddr_un> sa = Addr(path, &keep);
  if (!sa.ok()) return sa.status();
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus("socket(AF_UNIX)", errno);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) != 0) {
    return ErrnoStatus(absl::StrCat("bind(", path, ")"), errno);
  }
  if (::listen(fd.get(), 1) != 0) return ErrnoStatus(absl::StrCat("listen(", path, ")"), errno);
  return fd;
}

}  // namespace berth::runtime
