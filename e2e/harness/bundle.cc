#include "e2e/harness/bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "e2e/harness/process.h"
#include "runtime/spec.h"

namespace berth::e2e {

BusyboxBundle::BusyboxBundle(const std::string& dir, const std::vector<std::string>& args)
    : dir_(dir), spec_(nlohmann::json::parse(runtime::DefaultSpecJson())) {
  mkdir(dir_.c_str(), 0755);
  const std::string root = rootfs();
  for (const char* d : {"", "/bin", "/proc", "/sys", "/dev", "/etc", "/tmp", "/root"}) {
    mkdir((root + d).c_str(), 0755);
  }
  CommandResult cp = RunCommand({"/bin/cp", kBusybox, root + "/bin/busybox"});
  if (cp.exit_code != 0) throw std::runtime_error("copying busybox: " + cp.err);
  CommandResult list = RunCommand({kBusybox, "--list"});
  size_t start = 0;
  while (start < list.out.size()) {
    size_t end = list.out.find('\n', start);
    std::string applet = list.out.substr(start, end - start);
    start = end == std::string::npos ? list.out.size() : end + 1;
    if (applet.empty() || applet == "busybox") continue;
    symlink("busybox", (root + "/bin/" + applet).c_str());
  }
  std::ofstream(root + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
  std::ofstream(root + "/etc/group") << "root:x:0:\n";
  spec_["process"]["terminal"] = false;
  spec_["process"]["args"] = args;
  spec_["root"]["readonly"] = false;
  Write();
}

void BusyboxBundle::Write() const { std::ofstream(dir_ + "/config.json") << spec_.dump(2); }

}  // namespace berth::e2e
