#include "services/tasks/shim_connection.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/syscall.h"

namespace berth::tasks {
namespace {

namespace v1 = ::berth::shim::v1;

constexpr size_t kMaxPacket = 1 << 20;  // a Pids or State answer is far smaller
constexpr size_t kMaxFds = 8;
// How often a waiting call looks at its `cancelled` predicate.
constexpr absl::Duration kCancelPoll = absl::Milliseconds(200);

}  // namespace

absl::StatusOr<std::shared_ptr<ShimConnection>> ShimConnection::Dial(const std::string& socket,
                                                                     EventHandler on_event,
                                                                     CloseHandler on_close) {
  sockaddr_un sa{};
  if (socket.size() >= sizeof(sa.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("shim socket path is too long for a unix socket: ", socket));
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket", errno);
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, socket.c_str(), socket.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the shim at ", socket, ": ", std::strerror(errno)));
  }
  std::shared_ptr<ShimConnection> c(new ShimConnection(std::move(fd), socket));
  c->on_event_ = std::move(on_event);
  c->on_close_ = std::move(on_close);
  c->reader_ = std::thread([raw = c.get()] { raw->ReadLoop(); });
  v1::Request hello;
  hello.mutable_connect()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  absl::StatusOr<Reply> r = c->Call(std::move(hello), nullptr, absl::Seconds(10));
  if (!r.ok()) {
    c->Close();
    return r.status();
  }
  c->hello_ = r->response.connect();
  return c;
}

ShimConnection::~ShimConnection() { Close(); }

bool ShimConnection::closed() const {
  absl::MutexLock l(&mu_);
  return closed_;
}

void ShimConnection::Close() {
  if (fd_.valid()) ::shutdown(fd_.get(), SHUT_RDWR);  // wakes the reader with end-of-file
  if (reader_.joinable()) {
    if (reader_.get_id() == std::this_thread::get_id()) {
      reader_.detach();  // closed from a handler: the loop ends on its own
    } else {
      reader_.join();
    }
  }
}

absl::StatusOr<ShimConnection::Reply> ShimConnection::Call(v1::Request request,
                                                           const std::function<bool()>& cancelled,
                                                           absl::Duration timeout,
                                                           ReplyHook on_reply) {
  auto pending = std::make_shared<Pending>();
  pending->on_reply = std::move(on_reply);
  uint64_t id;
  {
    absl::MutexLock l(&mu_);
    if (closed_) return absl::UnavailableError(absl::StrCat("the shim at ", socket_, " is gone"));
    id = ++next_id_;
    pending_[id] = pending;
  }
  request.set_id(id);
  const std::string wire = request.SerializeAsString();
  if (::send(fd_.get(), wire.data(), wire.size(), MSG_NOSIGNAL) < 0) {
    const int err = errno;
    absl::MutexLock l(&mu_);
    pending_.erase(id);
    return absl::UnavailableError(
        absl::StrCat("sending to the shim at ", socket_, ": ", std::strerror(err)));
  }
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock l(&mu_);
  while (!pending->done) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      pending_.erase(id);
      return absl::DeadlineExceededError(absl::StrCat(
          "the shim at ", socket_, " did not answer in ", absl::FormatDuration(timeout)));
    }
    mu_.AwaitWithTimeout(absl::Condition(&pending->done), std::min(left, kCancelPoll));
    if (!pending->done && cancelled && cancelled()) {
      pending_.erase(id);
      return absl::CancelledError("the call was cancelled");
    }
  }
  if (!pending->error.ok()) return pending->error;
  const v1::Response& resp = pending->reply.response;
  if (resp.code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(resp.code()), resp.message());
  }
  return std::move(pending->reply);
}

void ShimConnection::ReadLoop() {
  // Sized to each packet as it comes: most are a few hundred bytes, and a buffer of kMaxPacket
  // kept by every connection would be a resident MiB per container in berthd.
  std::string buf(4096, '\0');
  for (;;) {
    const ssize_t next = ::recv(fd_.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC);
    if (next < 0 && errno == EINTR) continue;
    if (next > static_cast<ssize_t>(buf.size())) {
      buf.resize(std::min(static_cast<size_t>(next), kMaxPacket));
    }
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    std::vector<UniqueFd> fds;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int f;
        std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds.emplace_back(f);
      }
    }
    if (n <= 0) break;  // the shim hung up (or the connection was shut down)
    v1::ShimPacket packet;
    if (!packet.ParseFromArray(buf.data(), static_cast<int>(n))) continue;  // not ours to judge
    if (packet.has_event()) {
      if (on_event_) on_event_(packet.event());
      continue;
    }
    if (!packet.has_response()) continue;
    std::shared_ptr<Pending> p;
    {
      absl::MutexLock l(&mu_);
      auto it = pending_.find(packet.response().id());
      if (it == pending_.end()) continue;  // its caller gave up
      p = it->second;
      pending_.erase(it);
    }
    if (p->on_reply && packet.response().code() == 0) p->on_reply(packet.response());
    absl::MutexLock l(&mu_);
    p->reply.response = packet.response();
    p->reply.fds = std::move(fds);
    p->done = true;
  }
  {
    absl::MutexLock l(&mu_);
    closed_ = true;
    for (auto& [id, p] : pending_) {
      p->error = absl::UnavailableError(
          absl::StrCat("the shim at ", socket_, " hung up before answering (did it exit?)"));
      p->done = true;
    }
    pending_.clear();
  }
  if (on_close_) on_close_();
}

}  // namespace berth::tasks
