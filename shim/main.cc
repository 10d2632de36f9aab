// berth-shim --id ID --socket PATH --state DIR [--runtime BIN] [--runtime-root DIR]
//            [--runtime-timeout DURATION] [--log-max-size BYTES] [--log-max-files N]
//            [--foreground]
//
// Without --foreground it detaches: a double fork and setsid, so that init (or the nearest
// subreaper) adopts it and the daemon that started it may come and go. It prints nothing; the
// socket is listening before the command returns.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "shim/shim.h"

namespace {

int Usage(const char* why) {
  std::fprintf(stderr,
               "berth-shim: %s\nusage: berth-shim --id ID --socket PATH --state DIR "
               "[--runtime BIN] [--runtime-root DIR] [--runtime-timeout DURATION] "
               "[--log-max-size BYTES] [--log-max-files N] [--foreground]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  berth::shim::Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--id")
      ok = value(&o.id);
    else if (a == "--socket")
      ok = value(&o.socket);
    else if (a == "--state")
      ok = value(&o.state_dir);
    else if (a == "--runtime")
      ok = value(&o.runtime);
    else if (a == "--runtime-root")
      ok = value(&o.runtime_root);
    else if (a == "--runtime-timeout") {
      std::string v;
      if (!value(&v)) return Usage("--runtime-timeout needs a value");
      if (!absl::ParseDuration(v, &o.runtime_timeout) ||
          o.runtime_timeout <= absl::ZeroDuration()) {
        return Usage(("--runtime-timeout takes a duration above 0 such as \"60s\" or \"2m\", "
                      "not \"" +
                      v + "\"")
                         .c_str());
      }
    } else if (a == "--log-max-size" || a == "--log-max-files") {
      std::string v;
      uint64_t n = 0;
      if (!value(&v)) return Usage((a + " needs a value").c_str());
      if (!absl::SimpleAtoi(v, &n)) {
        return Usage((a + " takes a whole number, not \"" + v + "\"").c_str());
      }
      if (a == "--log-max-size") {
        o.log_limits.max_size = n;
      } else if (n < 1 || n > 1000) {
        return Usage("--log-max-files takes 1 to 1000 (the live log.json counts as one)");
      } else {
        o.log_limits.max_files = static_cast<int>(n);
      }
    } else if (a == "--foreground")
      o.foreground = true;
    else
      return Usage(("unknown argument " + a).c_str());
    if (!ok) return Usage((a + " needs a value").c_str());
  }
  if (o.id.empty() || o.socket.empty() || o.state_dir.empty()) {
    return Usage("--id, --socket and --state are required");
  }
  berth::shim::Shim shim(o);
  if (absl::Status st = shim.Listen(); !st.ok()) {
    std::fprintf(stderr, "berth-shim: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  if (!o.foreground) {
    pid_t first = fork();
    if (first < 0) return 1;
    if (first > 0) {
      int status = 0;
      waitpid(first, &status, 0);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    setsid();
    if (fork() != 0) _exit(0);  // the grandchild is adopted; its parent is gone
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
  }
  if (absl::Status st = shim.Serve(); !st.ok()) {
    std::fprintf(stderr, "berth-shim: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  return 0;
}
