// The Shim fixture shared by the shim_*_test.cc files: a berth-shim on a busybox bundle, a
// client speaking its SOCK_SEQPACKET protocol (fds by SCM_RIGHTS), and reading helpers.
#ifndef BERTH_E2E_SHIM_FIXTURE_H_
#define BERTH_E2E_SHIM_FIXTURE_H_

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "berth/shim/v1/shim.pb.h"
#include "e2e/harness/runtime_fixture.h"

namespace berth::e2e {

namespace v1 = berth::shim::v1;

inline const std::string kShim = Runfile("shim/berth-shim");

class ShimClient {
 public:
  explicit ShimClient(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  }
  ~ShimClient() { close(fd_); }
  bool connected() const { return connected_; }

  // The response to `req`; fds that came with it (SCM_RIGHTS) are appended to `fds`, or closed.
  v1::Response Call(v1::Request req, std::vector<int>* fds = nullptr) {
    req.set_id(++next_id_);
    std::string out = req.SerializeAsString();
    send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
    for (;;) {
      std::vector<int> got;
      v1::ShimPacket p = Receive(&got);
      if (fds != nullptr) {
        fds->insert(fds->end(), got.begin(), got.end());
      } else {
        for (int fd : got) close(fd);
      }
      if (p.has_event()) {
        events_.push_back(p.event());
        continue;
      }
      if (!p.has_response()) return {};
      return p.response();
    }
  }
  std::vector<v1::Event>& events() { return events_; }

 private:
  v1::ShimPacket Receive(std::vector<int>* fds) {
    std::string buf(65536, '\0');
    iovec iov{.iov_base = buf.data(), .iov_len = buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds->push_back(fd);
      }
    }
    v1::ShimPacket p;
    if (n > 0) p.ParseFromArray(buf.data(), static_cast<int>(n));
    return p;
  }
  int fd_ = -1;
  bool connected_ = false;
  uint64_t next_id_ = 0;
  std::vector<v1::Event> events_;
};

// Reads `fd` until EOF, or until `until` appears when it is not empty, or the timeout passes.
struct Read {
  std::string data;
  bool eof = false;
};
inline Read ReadFd(int fd, const std::string& until = "",
                   std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  Read r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  for (;;) {
    if (!until.empty() && r.data.find(until) != std::string::npos) return r;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return r;
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      r.eof = n == 0;
      return r;
    }
    r.data.append(buf, static_cast<size_t>(n));
  }
}

inline std::string Slurp(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}

class Shim : public RuntimeTest {
 protected:
  void TearDown() override {
    for (int fd : fds_) close(fd);
    RuntimeTest::TearDown();
  }
  std::unique_ptr<Child> StartShim(const std::vector<std::string>& flags = {}) {
    sock_ = tmp_.path() + "/shim.sock";
    std::vector<std::string> argv = {kShim,
                                     "--id",
                                     id_,
                                     "--socket",
                                     sock_,
                                     "--state",
                                     tmp_.path() + "/shim",
                                     "--runtime",
                                     kRuntime,
                                     "--runtime-root",
                                     tmp_.path() + "/state",
                                     "--foreground"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto child = std::make_unique<Child>(argv);
    EXPECT_TRUE(WaitForListener(sock_, *child, std::chrono::seconds(10), SOCK_SEQPACKET))
        << child->Stderr();
    return child;
  }
  v1::Request Connect() {
    v1::Request r;
    r.mutable_connect()->set_protocol_version(v1::PROTOCOL_VERSION_1);
    return r;
  }
  v1::Request Create(const BusyboxBundle& b) {
    v1::Request r;
    r.mutable_create()->set_id(id_);
    r.mutable_create()->set_bundle(b.dir());
    return r;
  }
  template <typename Fn>
  v1::Request Make(Fn fill) {
    v1::Request r;
    fill(r);
    return r;
  }
  // Attach; the fds received are closed at the end of the test.
  v1::Response Attach(ShimClient& c, const std::string& exec_id, bool in, bool out, bool err,
                      std::vector<int>* fds) {
    v1::Request r;
    r.mutable_attach()->set_exec_id(exec_id);
    r.mutable_attach()->set_stdin(in);
    r.mutable_attach()->set_stdout(out);
    r.mutable_attach()->set_stderr(err);
    fds->clear();
    v1::Response resp = c.Call(r, fds);
    fds_.insert(fds_.end(), fds->begin(), fds->end());
    return resp;
  }
  v1::Request Resize(const std::string& exec_id, uint32_t width, uint32_t height) {
    v1::Request r;
    r.mutable_resize_pty()->set_exec_id(exec_id);
    r.mutable_resize_pty()->set_width(width);
    r.mutable_resize_pty()->set_height(height);
    return r;
  }
  v1::Request ExecOf(const std::string& exec_id, const std::string& script, bool terminal,
                     bool stdin_open) {
    v1::Request r;
    r.mutable_exec()->set_exec_id(exec_id);
    nlohmann::json process = {
        {"args", {"sh", "-c", script}}, {"cwd", "/"}, {"env", {"PATH=/bin", "TERM=xterm"}}};
    r.mutable_exec()->set_process(process.dump());
    r.mutable_exec()->set_terminal(terminal);
    r.mutable_exec()->mutable_stdio()->set_stdin_open(stdin_open);
    return r;
  }
  v1::Request Start(const std::string& exec_id = "") {
    v1::Request r;
    r.mutable_start()->set_exec_id(exec_id);
    return r;
  }
  v1::Request Wait(const std::string& exec_id = "") {
    v1::Request r;
    r.mutable_wait()->set_exec_id(exec_id);
    return r;
  }
  // Kills and deletes the task, then shuts the shim down.
  void Finish(ShimClient& c, Child& shim) {
    c.Call(Make([](v1::Request& r) {
      r.mutable_kill()->set_signal(SIGKILL);
      r.mutable_kill()->set_all(true);
    }));
    c.Call(Wait());
    EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
    c.Call(Make([](v1::Request& r) { r.mutable_shutdown()->set_now(true); }));
    EXPECT_EQ(shim.Wait(), 0) << shim.Stderr();
  }
  std::string sock_;
  std::vector<int> fds_;
};

inline constexpr int kFailedPrecondition = static_cast<int>(absl::StatusCode::kFailedPrecondition);

}  // namespace berth::e2e

#endif  // BERTH_E2E_SHIM_FIXTURE_H_
