// The layer applier (snapshotter/apply): a layer tar, plain or compressed, from a registry or
// an archive, placed into a snapshot directory. Beyond memory errors, the property checked is
// the applier's promise: nothing is ever written outside the directory.
//
// Input: one byte of options (bit 0: overlay whiteouts; bit 1: allow devices; bit 2: apply the
// layer a second time over the first), then the layer.
//
// The directory is <work>/root, and <work>/outside is a sentinel that must stay untouched.
// When run as root under fuzz/run.sh (BERTH_FUZZ_WRITABLE set), the fuzzer first moves into a
// private mount namespace where <work> is a fresh tmpfs and every other mount, except the
// directories libFuzzer writes to, is read-only: an escape fails with EROFS instead of
// writing to the host, and is reported as a crash.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "fuzz/fuzz_target.h"
#include "snapshotter/apply/apply.h"

namespace {

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "apply_fuzzer: %s: %s\n", what.c_str(), strerror(errno));
  abort();
}

#ifndef BERTH_FUZZ_NO_MAIN
// Mount points in /proc/self/mountinfo (field 5, with its octal escapes undone).
std::vector<std::string> MountPoints() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mp;
    fields >> id >> parent >> dev >> root >> mp;
    std::string decoded;
    for (size_t i = 0; i < mp.size(); ++i) {
      if (mp[i] == '\\' && i + 3 < mp.size()) {
        decoded += static_cast<char>(std::stoi(mp.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        decoded += mp[i];
      }
    }
    out.push_back(decoded);
  }
  return out;
}

// As /proc/self/mountinfo spells it.
std::string RealPath(const std::string& p) {
  char buf[PATH_MAX];
  if (realpath(p.c_str(), buf) == nullptr) Die("realpath " + p);
  return buf;
}

// Root only, and only under run.sh: a private mount namespace where <work> is a tmpfs and
// everything else but the writable directories is read-only. Every remount carries MS_BIND, so
// it changes this namespace's mount, never the filesystem the host sees.
void Isolate(const std::string& work) {
  const char* writable = getenv("BERTH_FUZZ_WRITABLE");
  if (geteuid() != 0 || writable == nullptr) return;
  if (unshare(CLONE_NEWNS) != 0) Die("unshare(CLONE_NEWNS)");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) Die("make / rprivate");
  if (mount("berth-fuzz", work.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=0755") !=
      0) {
    Die("mount tmpfs on " + work);
  }
  std::vector<std::string> keep = {RealPath(work)};
  for (absl::string_view dir : absl::StrSplit(writable, ':', absl::SkipEmpty())) {
    const std::string d = RealPath(std::string(dir));
    if (mount(d.c_str(), d.c_str(), nullptr, MS_BIND, nullptr) != 0) Die("bind " + d);
    keep.push_back(d);
  }
  for (const std::string& mp : MountPoints()) {
    if (std::find(keep.begin(), keep.end(), mp) != keep.end()) continue;
    if (mount(nullptr, mp.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      // Mounts stacked under another at the same point are not reachable, and need nothing.
      fprintf(stderr, "apply_fuzzer: note: remount %s read-only: %s\n", mp.c_str(),
              strerror(errno));
    }
  }
}

#endif  // BERTH_FUZZ_NO_MAIN

// Removes everything inside `dir` (not `dir`), whatever modes the layer gave it.
void Wipe(int dir) {
  DIR* d = fdopendir(dup(dir));
  if (d == nullptr) Die("fdopendir");
  std::vector<std::pair<std::string, bool>> names;
  while (dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name, e->d_type == DT_DIR);
  }
  closedir(d);
  for (const auto& [name, is_dir] : names) {
    if (is_dir) {
      fchmodat(dir, name.c_str(), 0700, 0);
      int sub = openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) Die("open " + name);
      Wipe(sub);
      close(sub);
      if (unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0) Die("rmdir " + name);
    } else if (unlinkat(dir, name.c_str(), 0) != 0) {
      Die("unlink " + name);
    }
  }
}

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) Die("opendir " + dir);
  while (dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) out.push_back(e->d_name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

struct Workspace {
  std::string work, root, outside;
  int root_fd = -1;

  Workspace() {
    std::string tmpl;
    if (const char* w = getenv("BERTH_FUZZ_WORKDIR")) {
      tmpl = std::string(w) + "/apply-XXXXXX";
    } else {
      const char* t = getenv("TEST_TMPDIR");
      tmpl = std::string(t ? t : "/tmp") + "/berth-apply-fuzz-XXXXXX";
    }
    if (mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp " + tmpl);
    work = tmpl;
#ifndef BERTH_FUZZ_NO_MAIN
    Isolate(work);
#endif
    root = work + "/root";
    outside = work + "/outside";
    if (mkdir(root.c_str(), 0755) != 0 || mkdir(outside.c_str(), 0755) != 0) Die("mkdir");
    if (FILE* f = fopen((outside + "/canary").c_str(), "w")) {
      fputs("canary\n", f);
      fclose(f);
    }
    root_fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) Die("open " + root);
  }

  void CheckContained(const std::string& error) const {
    // EROFS can only come from a write outside <work>: the only writable mounts are <work>
    // and libFuzzer's own directories.
    if (absl::StrContains(error, "Read-only file system")) {
      fprintf(stderr, "apply_fuzzer: the layer reached outside the snapshot: %s\n", error.c_str());
      abort();
    }
    const std::vector<std::string> top = List(work);
    const std::vector<std::string> want_top = {"outside", "root"};
    const std::vector<std::string> want_outside = {"canary"};
    if (top != want_top || List(outside) != want_outside) {
      fprintf(stderr, "apply_fuzzer: the layer wrote beside the snapshot (%s)\n", error.c_str());
      abort();
    }
  }
};

Workspace& Get() {
  static Workspace* ws = new Workspace();
  return *ws;
}

}  // namespace

#ifndef BERTH_FUZZ_NO_MAIN
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Get();
  return 0;
}
#endif

BERTH_FUZZ_TARGET(FuzzApply) {
  using namespace berth::snapshotter;
  if (size < 1) return 0;
  Workspace& ws = Get();
  ApplyOptions options;
  options.overlay_whiteouts = data[0] & 1;
  options.allow_devices = data[0] & 2;
  const int passes = (data[0] & 4) ? 2 : 1;
  const std::string layer(reinterpret_cast<const char*>(data + 1), size - 1);
  for (int pass = 0; pass < passes; ++pass) {
    size_t pos = 0;
    LayerReader read = [&](char* buf, size_t n) -> absl::StatusOr<size_t> {
      // Small reads, so that entries straddle the reader's buffers.
      const size_t k = std::min({n, layer.size() - pos, size_t{4096}});
      memcpy(buf, layer.data() + pos, k);
      pos += k;
      return k;
    };
    absl::StatusOr<ApplyResult> r = ApplyLayer(read, ws.root, options);
    ws.CheckContained(r.ok() ? "" : std::string(r.status().message()));
  }
  Wipe(ws.root_fd);
  return 0;
}
