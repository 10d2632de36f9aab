// The shim protocol decoder: a packet on berth-shim's socket parsed as a berth.shim.v1.Request
// (protobuf-lite, as shim/shim.cc's OnClient does) and handed to the shim's request handler,
// which is where each request's fields are checked (exec ids, JSON process documents, pty
// sizes, attach flags). The same bytes are also decoded as a ShimPacket, what the daemon's
// side reads back.
//
// Input: a sequence of packets, each a 2-byte little-endian length and that many bytes, served
// in order by one shim, so that requests act on what earlier ones made. The shim serves a task
// whose init is "running" (a stand-in: no process, nothing to signal), and requests that would
// run the OCI runtime (Create, Start, Kill of the init, Pause, Resume, Pids, Stats, Update)
// are decoded but not executed.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "berth/shim/v1/shim.pb.h"
#include "common/unique_fd.h"
#include "fuzz/fuzz_target.h"
#include "shim/console.h"
#include "shim/log_writer.h"
#include "shim/oom.h"
#include "shim/ports.h"
#include "shim/runtime_driver.h"

// Handle() and the process table are private: the fuzzer is the shim's socket, so it may see
// what the socket sees. Only shim.h is read with this.
#define private public
#include "shim/shim.h"
#undef private

namespace {

namespace v1 = berth::shim::v1;

// The runtime is never run here; if a path slipped through, it would fail at once.
constexpr char kNoRuntime[] = "/bin/false";

bool RunsTheRuntime(const v1::Request& req) {
  switch (req.kind_case()) {
    case v1::Request::kCreate:
    case v1::Request::kStart:
    case v1::Request::kPause:
    case v1::Request::kResume:
    case v1::Request::kPids:
    case v1::Request::kStats:
    case v1::Request::kUpdate:
      return true;
    case v1::Request::kKill:
      return req.kill().exec_id().empty();
    default:
      return false;
  }
}

const std::string& StateDir() {
  static const std::string* dir = [] {
    const char* base = getenv("BERTH_FUZZ_WORKDIR");
    if (base == nullptr) base = getenv("TEST_TMPDIR");
    std::string tmpl = absl::StrCat(base ? base : "/tmp", "/shim-fuzz-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) abort();
    return new std::string(tmpl);
  }();
  return *dir;
}

}  // namespace

BERTH_FUZZ_TARGET(FuzzShimPacket) {
  using berth::shim::Shim;
  berth::shim::Options opts;
  opts.id = "fuzz";
  opts.socket = StateDir() + "/shim.sock";
  opts.state_dir = StateDir();
  opts.runtime = kNoRuntime;
  opts.runtime_root = StateDir() + "/runtime";
  opts.foreground = true;
  Shim shim(opts);
  Shim::Process& init = shim.processes_[""];
  init.state = Shim::State::kRunning;
  init.pid = 0x7ffffff0;  // no such process; never signalled (Kill of the init is not run)

  size_t pos = 0;
  while (pos + 2 <= size) {
    const size_t len = std::min<size_t>(data[pos] | (data[pos + 1] << 8), size - pos - 2);
    const uint8_t* packet = data + pos + 2;
    pos += 2 + len;

    v1::ShimPacket back;  // the daemon's side of the socket
    if (back.ParseFromArray(packet, static_cast<int>(len))) (void)back.SerializeAsString();

    v1::Request req;
    if (!req.ParseFromArray(packet, static_cast<int>(len))) continue;
    if (RunsTheRuntime(req)) continue;
    bool defer = false;
    std::vector<berth::UniqueFd> fds;
    v1::Response resp = shim.Handle(/*client=*/-1, req, &defer, &fds);
    resp.set_id(req.id());
    (void)resp.SerializeAsString();
  }
  return 0;
}
